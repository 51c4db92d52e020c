# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Launch test for robots: the real launch file starts the graph and the nodes come up.

Written the standard way (launch_testing: ``generate_test_description`` + ``ReadyToTest``, an
rclpy probe, exit codes after shutdown). The probe subscribes with the package's latched QoS:
``launch_testing_ros.WaitForTopics`` subscribes volatile, and ``value_cards`` is published once,
so a volatile subscriber that matches after that publication never receives it. It needs
``launch``, ``launch_ros`` and
``launch_testing``, which a ROS install has and PyPI does not: on the development machines here
the module is skipped with that reason, and
``test/graph/test_launch_and_config.py`` checks the same
launch file against the package's own runner instead. On a robot:

    launch_test test/graph/test_launch_robot.py
"""

import os
import time
import unittest

import pytest

launch = pytest.importorskip(
    "launch",
    reason="launch/launch_ros/launch_testing are not "
    "installable from PyPI; run with `launch_test` on a ROS install",
)
pytest.importorskip("launch_testing")
pytest.importorskip("launch_ros")

import launch_testing.actions  # noqa: E402
import launch_testing.asserts  # noqa: E402
from launch.actions import IncludeLaunchDescription  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
import rclpy  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402

from moral_compass_ros import topics  # noqa: E402
from moral_compass_ros.msg import ModelParameters, MoralCompass, ValueCards  # noqa: E402
from moral_compass_ros.qos import STATE_QOS  # noqa: E402

NAMESPACE = "launch_test"

LAUNCH_FILE = os.path.join(
    os.path.dirname(__file__), "..", "..", "launch", "moral_compass.launch.py"
)


@pytest.mark.launch_test
def generate_test_description():
    """The package's launch file in a namespace, then ready."""
    return launch.LaunchDescription(
        [
            IncludeLaunchDescription(
                PythonLaunchDescriptionSource(LAUNCH_FILE),
                launch_arguments={"namespace": NAMESPACE}.items(),
            ),
            launch_testing.actions.ReadyToTest(),
        ]
    )


class TestGraphComesUp(unittest.TestCase):
    """The compass node publishes its latched state in the launch namespace."""

    def test_latched_state_is_published(self):
        context = rclpy.Context()
        rclpy.init(context=context)
        try:
            node = rclpy.create_node("launch_test_probe", context=context)
            received = {}
            for name, msg_type in (
                (topics.COMPASS, MoralCompass),
                (topics.MODEL, ModelParameters),
                (topics.VALUE_CARDS, ValueCards),
            ):
                topic = f"/{NAMESPACE}/{name}"
                received.setdefault(topic, None)
                node.create_subscription(
                    msg_type,
                    topic,
                    lambda msg, topic=topic: received.update({topic: msg}),
                    STATE_QOS,
                )
            executor = SingleThreadedExecutor(context=context)
            executor.add_node(node)
            deadline = time.monotonic() + 60.0
            while None in received.values() and time.monotonic() < deadline:
                executor.spin_once(timeout_sec=0.1)
            missing = sorted(topic for topic, msg in received.items() if msg is None)
            self.assertEqual(missing, [], f"no message on {missing}")
            node.destroy_node()
        finally:
            rclpy.try_shutdown(context=context)


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):
    """Every node exits cleanly on shutdown."""

    def test_exit_codes(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info)
