# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""An answer may reach the feedback node before the selection it names.

The planner (or a person's UI) hears the ``ActionSelection`` and answers on ``feedback/raw``;
the feedback node hears the same selection on its own subscription, which on a busy machine can
be later. The answer must then wait for its selection and be delivered exactly once -- not
refused as "unknown" and lost.
"""

from __future__ import annotations

import math

import pytest
from rclpy.parameter import Parameter

from moral_compass_ros.msg import ActionSelection, CandidateAction, HumanFeedback
from moral_compass_ros.nodes.feedback_node import FeedbackNode
from reliability_helpers import in_process

pytestmark = pytest.mark.ros


def raw(request_id: str, action_id: str = "") -> HumanFeedback:
    msg = HumanFeedback(
        request_id=request_id,
        approved=True,
        task_reward=math.nan,
        source="topic",
        operator_id="alice",
    )
    msg.action.id = action_id
    return msg


def selection(request_id: str, action_id: str) -> ActionSelection:
    return ActionSelection(
        request_id=request_id,
        selected_id=action_id,
        context=[0.0] * 3,
        selected=CandidateAction(id=action_id, features=[0.2] * 8),
    )


def _published(harness) -> list:
    return [feedback for feedback, _, _ in harness.node._unacked.values()]


def test_an_answer_that_arrives_before_its_selection_is_delivered_once_it_arrives():
    with in_process(FeedbackNode, [Parameter("unknown_request_wait_s", value=5.0)]) as h:
        early = raw("r7", action_id="r7-a0")
        early.feedback_id = "fb-early"
        h.node._on_raw_feedback(early)
        assert _published(h) == [] and h.health.counts["feedback.held"] == 1
        h.spin_for(0.6)  # one expiry check passes; the answer still waits
        assert len(h.node._held) == 1 and not h.health.last_problem

        h.node._on_selection(selection("r7", "r7-a0"))
        sent = _published(h)
        assert [f.feedback_id for f in sent] == ["fb-early"]
        assert sent[0].request_id == "r7" and sent[0].action.id == "r7-a0"
        assert sent[0].action.features.tolist() == pytest.approx([0.2] * 8)
        assert h.node._held == [] and h.health.counts["feedback.released"] == 1

        h.node._on_selection(selection("r7", "r7-a0"))  # a re-published selection (re-send)
        assert len(_published(h)) == 1  # the answer is not delivered twice


def test_answers_waiting_for_a_selection_are_bounded_and_the_oldest_refused():
    params = [
        Parameter("unknown_request_wait_s", value=60.0),
        Parameter("selection_memory", value=3),
    ]
    with in_process(FeedbackNode, params) as h:
        for i in range(5):
            h.node._on_raw_feedback(raw(f"ghost-{i}"))
        assert [m.request_id for m, _ in h.node._held] == ["ghost-2", "ghost-3", "ghost-4"]
        assert "'ghost-1' is unknown" in h.health.last_problem
        assert h.health.counts["rejected.feedback"] == 2


def test_with_no_wait_an_unknown_request_is_refused_at_once():
    with in_process(FeedbackNode, [Parameter("unknown_request_wait_s", value=0.0)]) as h:
        h.node._on_raw_feedback(raw("nobody-asked"))
        assert h.node._held == [] and _published(h) == []
        assert "'nobody-asked' is unknown" in h.health.last_problem
