# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""compass_node in-process: the legitimacy policy is enforced on every source, refused answers
are acknowledged with the reason and leave the compass unchanged; pluralism is published."""

import math

import numpy as np
import pytest
import rclpy.node
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter

from moral_compass_ros import topics
from moral_compass_ros.msg import (
    CandidateAction,
    FeedbackAck,
    HumanFeedback,
    MoralCompass,
    Pluralism,
)
from moral_compass_ros.nodes.compass_node import CompassNode
from moral_compass_ros.qos import FEEDBACK_QOS, STATE_QOS
from ros_helpers import ros_context, spin_until

pytestmark = pytest.mark.ros

SOURCES = (
    HumanFeedback.SOURCE_JOY,
    HumanFeedback.SOURCE_TABLET,
    HumanFeedback.SOURCE_TOPIC,
    HumanFeedback.SOURCE_SIM,
)


def _feedback(i: int, source: str, operator: str) -> HumanFeedback:
    return HumanFeedback(
        feedback_id=f"{source}-{operator}-{i}",
        request_id="r",
        action=CandidateAction(id="a", features=[0.1 * i] * 8),
        context=[0.0] * 3,
        approved=True,
        task_reward=math.nan,
        source=source,
        operator_id=operator,
        weight=1.0,
    )


@pytest.fixture
def compass(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "sources: {'*': {allowed: true}}\n"
        "operators: {'*': {allowed: true}, visitor: {allowed: false}}\n"
    )
    with ros_context() as context:
        node = CompassNode(
            context=context,
            parameter_overrides=[
                Parameter("state_dir", value=str(tmp_path / "state")),
                Parameter("legitimacy_file", value=str(policy)),
                Parameter("per_operator_models", value=True),
                Parameter("context_dim", value=3),
                Parameter("n_particles", value=32),
                Parameter("n_fingerprint_samples", value=8),
            ],
        )
        probe = rclpy.node.Node("probe", context=context)
        seen = {"acks": [], "compass": [], "pluralism": []}
        probe.create_subscription(
            FeedbackAck, topics.FEEDBACK_ACK, seen["acks"].append, FEEDBACK_QOS
        )
        probe.create_subscription(MoralCompass, topics.COMPASS, seen["compass"].append, STATE_QOS)
        probe.create_subscription(Pluralism, topics.PLURALISM, seen["pluralism"].append, STATE_QOS)
        publisher = probe.create_publisher(HumanFeedback, topics.FEEDBACK, FEEDBACK_QOS)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        executor.add_node(probe)
        assert spin_until(
            executor, lambda: seen["compass"] and publisher.get_subscription_count() > 0, 30
        )
        yield node, publisher, executor, seen
        executor.shutdown()
        probe.destroy_node()
        node.destroy_node()


def test_a_forbidden_operator_cannot_move_the_compass_through_any_source(compass):
    node, publisher, executor, seen = compass
    particles_before = node.learner.compass.particles.copy()
    version_before = node.learner.version
    for i, source in enumerate(SOURCES):
        publisher.publish(_feedback(i, source, "visitor"))
    assert spin_until(executor, lambda: len(seen["acks"]) == len(SOURCES), 30)
    for ack in seen["acks"]:
        assert ack.status == FeedbackAck.STATUS_REJECTED
        assert "operator 'visitor' may not shape the compass" in ack.reason
    assert node.learner.version == version_before
    np.testing.assert_array_equal(node.learner.compass.particles, particles_before)
    assert node._store.applied_events == 0  # nothing journaled either


def test_allowed_operators_shape_it_and_pluralism_counts_them(compass):
    node, publisher, executor, seen = compass
    publisher.publish(_feedback(1, HumanFeedback.SOURCE_JOY, "alice"))
    publisher.publish(_feedback(2, HumanFeedback.SOURCE_TABLET, "bob"))
    publisher.publish(_feedback(3, HumanFeedback.SOURCE_JOY, "visitor"))
    assert spin_until(executor, lambda: len(seen["acks"]) == 3, 60)
    assert node.learner.version == 2
    assert spin_until(
        executor, lambda: seen["pluralism"] and seen["pluralism"][-1].refused_by_policy == 1, 10
    )
    pluralism = seen["pluralism"][-1]
    assert list(pluralism.operators) == ["alice", "bob"]
    assert list(pluralism.operator_events) == [1, 1]
    assert pluralism.refused_by_policy == 1
    assert len(pluralism.operator_means) == 2 * 5
    assert 1.0 <= pluralism.criteria_pluralism <= 5.0


def test_each_applied_answer_is_one_info_line(compass, capfd):
    node, publisher, executor, seen = compass
    publisher.publish(_feedback(1, HumanFeedback.SOURCE_JOY, "alice"))
    publisher.publish(_feedback(1, HumanFeedback.SOURCE_JOY, "alice"))  # a resend: no line
    publisher.publish(_feedback(2, HumanFeedback.SOURCE_JOY, "visitor"))  # refused: no line
    assert spin_until(executor, lambda: len(seen["acks"]) == 3, 60)
    applied = [line for line in capfd.readouterr().err.splitlines() if "applied answer" in line]
    assert len(applied) == 1, applied
    assert "[INFO]" in applied[0]
    assert (
        "applied answer joy-alice-1: operator alice thumbs up on 'a', compass version 1"
        in applied[0]
    )


def test_a_correction_is_journaled_as_one_answer_marked_as_a_correction(compass, capfd):
    node, publisher, executor, seen = compass
    correction = _feedback(4, HumanFeedback.SOURCE_TABLET, "alice")
    correction.corrects_feedback_id = "tablet-alice-3"  # the answer it replaced, never sent
    publisher.publish(correction)
    assert spin_until(executor, lambda: len(seen["acks"]) == 1, 60)
    journaled = [event for _, event in node._store.journal.read()]
    assert [(e.feedback_id, e.corrects) for e in journaled] == [
        ("tablet-alice-4", "tablet-alice-3")
    ]
    assert "(a correction of tablet-alice-3)" in capfd.readouterr().err
