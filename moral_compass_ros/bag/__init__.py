# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Rosbag2 record and deterministic offline replay (``rosbags``: sqlite3 and MCAP).

* :func:`typestore` — the package's message types plus the standard ones, for ``rosbags``.
* :class:`BagRecorder` — records the package's topics from inside any rclpy node.
* :func:`read_bag` — reads a bag (either storage, damaged or old ones too) into messages the
  :mod:`moral_compass_ros.conversions` functions accept, with warnings instead of tracebacks.
* :func:`replay` — re-runs the selector and the compass offline, in the causal order the
  recorded selections imply, and measures agreement with the recorded run.
"""

from moral_compass_ros.bag._types import package_type_names, type_name, typestore
from moral_compass_ros.bag._reader import BagContents, BagError, BagMessage, locate, read_bag
from moral_compass_ros.bag._replay import (
    PARAMS_KEY,
    ParameterError,
    ReplayParameters,
    ReplayResult,
    build_parameters,
    find_parameters,
    metrics,
    parse_override,
    replay,
)
from moral_compass_ros.bag._output import write_output_bag, write_plots
from moral_compass_ros.bag._recorder import (
    BagRecorder,
    RecordedTopic,
    package_topics,
    subscription_qos,
)

__all__ = [
    "PARAMS_KEY",
    "ParameterError",
    "ReplayParameters",
    "ReplayResult",
    "build_parameters",
    "find_parameters",
    "metrics",
    "parse_override",
    "replay",
    "write_output_bag",
    "write_plots",
    "BagContents",
    "BagError",
    "BagMessage",
    "locate",
    "read_bag",
    "BagRecorder",
    "RecordedTopic",
    "package_topics",
    "package_type_names",
    "subscription_qos",
    "type_name",
    "typestore",
]
