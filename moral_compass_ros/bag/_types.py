# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Message types of the package for ``rosbags``: one typestore used by recorder, reader, replay.

The package's own types are registered from the text of their ``.msg`` files (installed in the
package's share directory, or the source tree's ``msg/``); the standard types (std, sensor,
visualization, diagnostic, ...) come from the ROS 2 Kilted typestore ``rosbags`` ships (the same
definitions as Jazzy for these packages). The RIHS01 hash ``rosbags`` computes equals the one
rosidl generates, so ``ros2 bag info`` on a ROS install sees matching types.
"""

from __future__ import annotations

import functools
from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

PACKAGE = "moral_compass_ros"
_SOURCE_MSG_DIR = Path(__file__).resolve().parents[2] / "msg"


def msg_directory() -> Path:
    """The directory of the package's ``.msg`` files (installed share dir, else source tree).

    Raises
    ------
    FileNotFoundError
        When neither holds a ``.msg`` file.
    """
    candidates = []
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

        try:
            candidates.append(Path(get_package_share_directory(PACKAGE)) / "msg")
        except PackageNotFoundError:
            pass
    except ImportError:
        pass
    candidates.append(_SOURCE_MSG_DIR)
    for directory in candidates:
        if any(directory.glob("*.msg")):
            return directory
    raise FileNotFoundError(
        f"no .msg files of {PACKAGE} found in {', '.join(str(c) for c in candidates)}"
    )


def package_type_names() -> tuple[str, ...]:
    """``rosbags`` names (``moral_compass_ros/msg/X``) of every message of the package."""
    return tuple(f"{PACKAGE}/msg/{path.stem}" for path in sorted(msg_directory().glob("*.msg")))


@functools.lru_cache(maxsize=1)
def typestore() -> Typestore:
    """The shared typestore: Kilted standard types plus every ``msg/*.msg`` of the package.

    Returns
    -------
    rosbags.typesys.store.Typestore
        Cached; treat it as read-only.
    """
    store = get_typestore(Stores.ROS2_KILTED)
    types = {}
    for path in sorted(msg_directory().glob("*.msg")):
        types.update(
            get_types_from_msg(path.read_text(encoding="utf-8"), f"{PACKAGE}/msg/{path.stem}")
        )
    store.register(types)
    return store


def type_name(msg_class: type) -> str:
    """The ``pkg/msg/Type`` name of an rclpy message class (e.g. ``sensor_msgs/msg/Joy``).

    Raises
    ------
    TypeError
        If ``msg_class`` is not a generated ROS message class.
    """
    module = getattr(msg_class, "__module__", "")
    parts = module.split(".")
    if len(parts) < 3 or parts[-2] != "msg":
        raise TypeError(f"{msg_class!r} is not a generated ROS 2 message class")
    return f"{parts[0]}/msg/{msg_class.__name__}"
