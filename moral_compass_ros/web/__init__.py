# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The operator tablet page: static files, the aiohttp server and its ROS hookup.

* :mod:`.auth`: operator tokens hashed at rest (scrypt), the operators file, login limits.
* :mod:`.server`: :class:`~.server.TabletServer` (ROS-free; sessions, CSRF, SSE).
* :mod:`.tablet_bridge`: :func:`~.tablet_bridge.attach_tablet`, used by the feedback node.
"""
