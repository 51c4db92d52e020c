# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Two real processes exchange every message type of the package over loopback DDS."""

import rclpy.node
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from msg_samples import all_samples, same
from ros_helpers import REPO_ROOT, ros_context, spin_until, start_python, stop_process

LATCHED = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)


def test_the_samples_cover_every_message_of_the_package():

    defined = {p.stem for p in (REPO_ROOT / "msg").glob("*.msg")}
    assert defined == set(all_samples())


def test_every_message_type_crosses_processes_unchanged():
    expected = all_samples()
    received = {}
    talker = start_python(["test/smoke_talker.py"])
    try:
        with ros_context() as context:
            node = rclpy.node.Node("smoke_listener", context=context)
            for name, msg in expected.items():
                node.create_subscription(
                    type(msg),
                    f"smoke/{name}",
                    lambda m, name=name: received.__setitem__(name, m),
                    LATCHED,
                )
            executor = SingleThreadedExecutor(context=context)
            executor.add_node(node)
            spin_until(executor, lambda: len(received) == len(expected), timeout_s=30.0)
            node.destroy_node()
    finally:
        output = stop_process(talker)
    assert sorted(received) == sorted(expected), (
        f"missing {set(expected) - set(received)}; talker said:\n{output}"
    )
    for name, msg in expected.items():
        assert same(received[name], msg), f"{name} changed in transit: {received[name]} != {msg}"
