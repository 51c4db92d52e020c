# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Start the moral compass node graph on a robot.

    ros2 launch moral_compass_ros moral_compass.launch.py namespace:=robot_1

The nodes, their names and their arguments come from ``moral_compass_ros.graph`` (the same list
``moral-compass run`` uses), parameters from the installed ``config/moral_compass.yaml`` unless
``params_file`` names another. The compass and the action selector are required: if either exits,
even at start-up, the whole launch shuts down rather than run a graph that cannot answer.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, Shutdown
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from moral_compass_ros.graph import GRAPH_NODES, PACKAGE


def generate_launch_description() -> LaunchDescription:
    """The compass, action selector, feedback and visualization nodes in one (optional)
    namespace."""
    arguments = [
        DeclareLaunchArgument(
            "namespace",
            default_value="",
            description="Namespace of every node and topic (e.g. robot_1).",
        ),
        DeclareLaunchArgument(
            "params_file",
            default_value=PathJoinSubstitution(
                [FindPackageShare(PACKAGE), "config", "moral_compass.yaml"]
            ),
            description="Parameter YAML of the four nodes.",
        ),
        DeclareLaunchArgument(
            "use_sim_time",
            default_value="false",
            description="Use /clock (true when replaying a bag).",
        ),
        DeclareLaunchArgument(
            "log_level",
            default_value="info",
            description="Log level of every node (debug, info, warn, error).",
        ),
    ]
    nodes = [
        Node(
            package=PACKAGE,
            executable=node.executable,
            name=node.name,
            namespace=LaunchConfiguration("namespace"),
            parameters=[
                LaunchConfiguration("params_file"),
                {"use_sim_time": LaunchConfiguration("use_sim_time")},
            ],
            arguments=["--ros-args", "--log-level", LaunchConfiguration("log_level")],
            output="screen",
            emulate_tty=True,
            on_exit=[Shutdown(reason=f"required node {node.name} exited")]
            if node.required
            else None,
        )
        for node in GRAPH_NODES
    ]
    return LaunchDescription(arguments + nodes)
