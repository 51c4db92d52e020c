# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Named QoS profiles: every publisher and subscription of the package uses one of these.

* State (compass, model, value cards, markers): reliable + transient_local, depth 1, so a late
  rviz, tablet or selector sees the current value at once.
* Streams (candidates): reliable, keep-last, small depth: a stale plan is worthless.
* Selections: reliable, keep-last 10 and transient_local: the executed action is what a late
  feedback node, tablet or rviz must still be able to bind an answer to (stale answers are
  refused by age in the feedback node).
* Feedback (human answers and their acknowledgements): reliable with a generous depth; the
  compass node also journals every accepted answer durably before applying it.
* Joy: best-effort sensor data, as joystick drivers publish it.
"""

from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)

STATE_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)

STREAM_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=10,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
)

SELECTION_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=10,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)

FEEDBACK_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1000,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
)

JOY_QOS = qos_profile_sensor_data

DIAGNOSTICS_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=10,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
)
