# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The mathematical core of moral_compass_ros: Dynamic Value Spaces without ROS.

Pure Python on numpy, torch, POT and numba (the compiled Sinkhorn loops); nothing here imports
rclpy (a test enforces it), so the simulator, the replay tools and the nodes share one
implementation. See ``doc/design.md`` for the specification.

The names below are imported on first use, so that a module that needs only the light parts
(``core.config``, ``core.events``, ``core.results``, ``core.compass``: numpy alone) does not
load torch, POT and numba with them.
"""

from __future__ import annotations

import importlib

#: Exported name -> the module of this package that defines it.
_EXPORTS = {
    "DEFAULT_VALUE_NAMES": "value_space",
    "ValueSpace": "value_space",
    "SimplexError": "value_space",
    "Compass": "compass",
    "LearnerConfig": "config",
    "DynamicValueLearner": "learner",
    "Scores": "results",
    "UpdateResult": "results",
    "MonistLearner": "baselines",
    "ContextualAggregationLearner": "baselines",
    "LogisticLearner": "baselines",
    "BayesLearner": "bayes",
    "sinkhorn_divergence": "sinkhorn",
    "FeedbackEvent": "events",
    "FingerprintLibrary": "fingerprint_library",
    "PretrainedFingerprints": "pretrain",
    "pretrain_fingerprints": "pretrain",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
