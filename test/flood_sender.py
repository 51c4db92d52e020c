# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""A flood of ``HumanFeedback`` from an unauthorised source (a child process of the load test).

Usage: ``python test/flood_sender.py RATE SECONDS [SOURCE]``. Waits until the compass node's
subscription is matched, prints ``FLOODING``, publishes ``RATE`` messages per second (in 10 ms
bursts, every one with its own feedback id) for ``SECONDS``, then prints one JSON line
``{"sent": n, "seconds": s}``. Inherits ``ROS_DOMAIN_ID`` and the loopback rule.
"""

import json
import sys
import time

import rclpy
import rclpy.node

from moral_compass_ros import topics
from moral_compass_ros.msg import CandidateAction, HumanFeedback
from moral_compass_ros.qos import FEEDBACK_QOS


def main() -> int:
    rate, seconds = float(sys.argv[1]), float(sys.argv[2])
    source = sys.argv[3] if len(sys.argv) > 3 else "intruder"
    rclpy.init()
    node = rclpy.node.Node("flood_sender")
    publisher = node.create_publisher(HumanFeedback, topics.FEEDBACK, FEEDBACK_QOS)
    msg = HumanFeedback(
        request_id="flood",
        approved=False,
        task_reward=float("nan"),
        context=[0.0] * 3,
        source=source,
        operator_id="mallory",
        weight=1.0,
        action=CandidateAction(id="flood-action", features=[9.0] * 8),
    )
    deadline = time.monotonic() + 120
    while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    print("FLOODING", flush=True)
    sent, start, burst_s = 0, time.monotonic(), 0.01
    while (now := time.monotonic()) - start < seconds:
        due = int((now - start + burst_s) * rate)
        while sent < due:
            msg.feedback_id = f"flood-{sent}"
            publisher.publish(msg)
            sent += 1
        time.sleep(max(0.0, start + (sent / rate) - time.monotonic()))
    elapsed = time.monotonic() - start
    time.sleep(1.0)  # let the last samples leave before the participant goes away
    print(json.dumps({"sent": sent, "seconds": elapsed}), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
