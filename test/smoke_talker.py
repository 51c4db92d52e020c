# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Child process of test_smoke_two_process.py: publish one sample of every message type."""

import os
import sys

import rclpy
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from msg_samples import all_samples

LATCHED = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)


def main() -> None:
    rclpy.init(domain_id=int(os.environ["ROS_DOMAIN_ID"]))
    node = Node("smoke_talker")
    publishers = []
    for name, msg in all_samples().items():
        pub = node.create_publisher(type(msg), f"smoke/{name}", LATCHED)
        pub.publish(msg)
        publishers.append(pub)
    sys.stdout.write("published\n")
    sys.stdout.flush()
    try:
        rclpy.spin(node)  # keep the latched samples available until the test stops us
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
