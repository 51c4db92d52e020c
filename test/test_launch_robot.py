"""Launch test for robots: the real launch file starts the graph and the nodes come up.

Written the standard way (launch_testing: ``generate_test_description`` + ``ReadyToTest``,
``WaitForTopics``, exit codes after shutdown). It needs ``launch``, ``launch_ros`` and
``launch_testing``, which a ROS install has and PyPI does not: on the development machines here
the module is skipped with that reason, and ``test/test_launch_and_config.py`` checks the same
launch file against the package's own runner instead. On a robot:

    launch_test test/test_launch_robot.py
"""
import os
import unittest

import pytest

launch = pytest.importorskip("launch", reason="launch/launch_ros/launch_testing are not "
                             "installable from PyPI; run with `launch_test` on a ROS install")
launch_testing = pytest.importorskip("launch_testing")
pytest.importorskip("launch_ros")

import launch_testing.actions  # noqa: E402
import launch_testing.asserts  # noqa: E402
from launch.actions import IncludeLaunchDescription  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
from launch_testing_ros import WaitForTopics  # noqa: E402

from moral_compass_ros.msg import ModelParameters, MoralCompass, ValueCards  # noqa: E402

LAUNCH_FILE = os.path.join(os.path.dirname(__file__), "..", "launch",
                           "moral_compass.launch.py")


@pytest.mark.launch_test
def generate_test_description():
    """The package's launch file in a namespace, then ready."""
    return launch.LaunchDescription([
        IncludeLaunchDescription(PythonLaunchDescriptionSource(LAUNCH_FILE),
                                 launch_arguments={"namespace": "launch_test"}.items()),
        launch_testing.actions.ReadyToTest(),
    ])


class TestGraphComesUp(unittest.TestCase):
    """The compass node publishes its latched state in the launch namespace."""

    def test_latched_state_is_published(self):
        topics = [("/launch_test/compass", MoralCompass),
                  ("/launch_test/compass/model", ModelParameters),
                  ("/launch_test/value_cards", ValueCards)]
        with WaitForTopics(topics, timeout=60.0):
            pass


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):
    """Every node exits cleanly on shutdown."""

    def test_exit_codes(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info)
