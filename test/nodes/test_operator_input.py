# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Operator input as robots deliver it: latched selections after a restart, held buttons,
bouncing buttons and corrections (feedback_node).

Each test counts what the node sent; none depends on how fast the machine is.
"""

from __future__ import annotations

import math

import pytest
from rclpy.parameter import Parameter
from sensor_msgs.msg import Joy

from moral_compass_ros.msg import ActionSelection, CandidateAction, HumanFeedback
from moral_compass_ros.nodes.feedback_node import FeedbackNode
from reliability_helpers import in_process

pytestmark = pytest.mark.ros


def selection(node, request_id: str = "r1", age_s: float = 0.0) -> ActionSelection:
    """A selection stamped ``age_s`` seconds ago by the node's clock."""
    msg = ActionSelection(
        request_id=request_id,
        selected_id=f"{request_id}-a0",
        context=[0.0] * 3,
        selected=CandidateAction(id=f"{request_id}-a0", features=[0.2] * 8),
    )
    stamp_ns = node.get_clock().now().nanoseconds - int(age_s * 1e9)
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 10**9)
    return msg


def raw(request_id: str = "r1", approved: bool = True, operator: str = "alice") -> HumanFeedback:
    return HumanFeedback(
        request_id=request_id,
        approved=approved,
        task_reward=math.nan,
        source="topic",
        operator_id=operator,
    )


def joy(*pressed: int, n_buttons: int = 11) -> Joy:
    return Joy(axes=[0.0] * 6, buttons=[int(b in pressed) for b in range(n_buttons)])


def sent(harness) -> list:
    return [feedback for feedback, _, _ in harness.node._unacked.values()]


def test_age_is_measured_from_the_selection_stamp_not_its_arrival():
    """A latched selection re-delivered after a restart arrives 'now' but is 20.7 s old."""
    with in_process(FeedbackNode, [Parameter("stale_after_s", value=5.0)]) as h:
        h.node._on_selection(selection(h.node, "r-old", age_s=20.7))
        h.node._on_raw_feedback(raw("r-old"))
        assert sent(h) == []
        assert "is stale (21 s old)" in h.health.last_problem
        h.node._on_selection(selection(h.node, "r-new", age_s=1.0))
        h.node._on_raw_feedback(raw("r-new"))
        assert [f.request_id for f in sent(h)] == ["r-new"]


def test_a_button_held_across_a_restart_is_not_a_press_until_released():
    with in_process(FeedbackNode, [Parameter("debounce_s", value=0.0)]) as h:
        h.node._on_selection(selection(h.node))
        for _ in range(20):  # joy_node re-sends the held state at 20 Hz
            h.node._on_joy(joy(0))
        assert sent(h) == []
        h.node._on_joy(joy())
        h.node._on_joy(joy(0))
        assert [f.approved for f in sent(h)] == [True]


def test_a_change_of_button_count_does_not_turn_a_held_button_into_a_press():
    with in_process(FeedbackNode, [Parameter("debounce_s", value=0.0)]) as h:
        h.node._on_selection(selection(h.node))
        h.node._on_joy(joy(n_buttons=11))
        h.node._on_joy(joy(1, n_buttons=11))
        h.node._on_selection(selection(h.node, "r2"))
        h.node._on_joy(joy(1, n_buttons=12))  # same held button, another mapping
        assert [(f.request_id, f.approved) for f in sent(h)] == [("r1", False)]


def test_one_answer_per_selection_and_operator_and_chatter_is_a_warning():
    with in_process(
        FeedbackNode, [Parameter("debounce_s", value=0.0), Parameter("max_rate_hz", value=1000.0)]
    ) as h:
        h.node._on_selection(selection(h.node))
        for _ in range(5):  # a bouncing button: release/press pairs
            h.node._on_joy(joy())
            h.node._on_joy(joy(0))
        for _ in range(5):
            h.node._on_raw_feedback(raw(approved=False, operator="joy_operator"))
        h.node._on_raw_feedback(raw(operator="bob"))  # another operator may answer too
        assert [(f.operator_id, f.approved) for f in sent(h)] == [
            ("joy_operator", True),
            ("bob", True),
        ]
        assert h.health.counts["rejected.chatter"] == 9
        assert "already answered request 'r1'" in h.health.last_problem
        assert h.diagnostic_with("one answer per selection") is not None


def test_a_correction_replaces_the_earlier_answer_and_only_one_is_sent():
    with in_process(FeedbackNode, [Parameter("correction_window_s", value=30.0)]) as h:
        h.node._on_selection(selection(h.node))
        h.node._on_raw_feedback(raw(approved=True))
        h.node._on_raw_feedback(raw(approved=False))  # "no, I meant thumbs down"
        assert sent(h) == [] and h.health.counts["feedback.corrected"] == 1
        replaced_id = next(iter(h.node._pending.values()))[0].corrects_feedback_id
        h.node._send_due(h.node._now_s() + 31.0)  # the window closes
        assert [f.approved for f in sent(h)] == [False]
        assert replaced_id and sent(h)[0].corrects_feedback_id == replaced_id  # a correction
        h.node._on_raw_feedback(raw(approved=True))  # after the window: chatter, refused
        h.node._send_due(h.node._now_s() + 62.0)
        assert len(sent(h)) == 1 and h.health.counts["rejected.chatter"] == 1
