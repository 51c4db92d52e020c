# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""visualization_node in-process (private rclpy context): compass + selection -> latched
markers."""

import numpy as np
import rclpy.node
from rclpy.executors import SingleThreadedExecutor
from visualization_msgs.msg import MarkerArray

from moral_compass_ros import topics
from moral_compass_ros.msg import ActionScore, ActionSelection, CandidateAction, MoralCompass
from moral_compass_ros.nodes.visualization_node import VisualizationNode
from moral_compass_ros.qos import SELECTION_QOS, STATE_QOS
from ros_helpers import ros_context, spin_until

NAMES = ["care", "fairness", "loyalty", "authority", "sanctity"]


def _compass(version, n=16):
    particles = np.random.default_rng(version).dirichlet(np.ones(5), size=n)
    return MoralCompass(
        value_names=NAMES,
        particles=particles.reshape(-1).tolist(),
        weights=[1.0 / n] * n,
        version=version,
        entropy=float(np.log(n)),
    )


def test_node_publishes_latched_markers_for_compass_and_selection():
    with ros_context() as context:
        viz = VisualizationNode(
            context=context,
            parameter_overrides=[
                rclpy.parameter.Parameter("frame_id", value="map"),
                rclpy.parameter.Parameter("max_rate_hz", value=20.0),
            ],
        )
        test = rclpy.node.Node("viz_test", context=context)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(viz)
        executor.add_node(test)
        try:
            compass_pub = test.create_publisher(MoralCompass, topics.COMPASS, STATE_QOS)
            selection_pub = test.create_publisher(ActionSelection, topics.SELECTION, SELECTION_QOS)
            compass_pub.publish(_compass(1))
            received = []
            test.create_subscription(MarkerArray, topics.MARKERS, received.append, STATE_QOS)

            def count(ns):
                return sum(m.ns == ns for m in received[-1].markers) if received else -1

            assert spin_until(executor, lambda: count("particles") == 16, 20.0)
            assert received[-1].markers[1].header.frame_id == "map"
            assert spin_until(executor, lambda: test.count_subscribers(topics.SELECTION) > 0, 10)
            selection_pub.publish(
                ActionSelection(
                    selected_id="a1",
                    selected=CandidateAction(id="a1", label="wave"),
                    scores=[ActionScore(id=f"a{k}", fingerprint_mean=[0.2] * 5) for k in range(3)],
                )
            )
            assert spin_until(executor, lambda: count("candidates") == 3, 20.0)
            compass_pub.publish(_compass(2, n=24))
            assert spin_until(executor, lambda: count("particles") == 24, 20.0)
            info = [m for m in received[-1].markers if m.ns == "info"][0]
            assert info.text.startswith("compass v2")

            late = []  # transient_local: a late subscriber (rviz) gets the current array
            test.create_subscription(MarkerArray, topics.MARKERS, late.append, STATE_QOS)
            assert spin_until(executor, lambda: bool(late), 10.0)
            assert sum(m.ns == "particles" for m in late[-1].markers) == 24
        finally:
            executor.shutdown()
            viz.destroy_node()
            test.destroy_node()
