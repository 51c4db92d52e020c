# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The live robot loop over real DDS: three node processes, this worker's isolated domain."""

import math

import numpy as np
import pytest

from graph_fixture import node_logs, running_graph
from moral_compass_ros.msg import (
    ActionSelection,
    CandidateAction,
    CandidateActions,
    FeedbackAck,
    HumanFeedback,
)

pytestmark = pytest.mark.ros


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("graph")
    with running_graph(tmp_path) as (runner, probe):
        yield runner, probe, tmp_path


def test_selection_has_every_term_and_picks_the_best_total(graph):
    runner, probe, tmp_path = graph
    probe.request("r-scores", n=4)
    assert probe.spin_until(lambda: probe.selection_for("r-scores")), node_logs(tmp_path)
    selection = probe.selection_for("r-scores")
    assert [s.id for s in selection.scores] == [f"r-scores-a{i}" for i in range(4)]
    sign = -1.0 if selection.information_mode == "avoid" else 1.0
    assert selection.selection_rule == "predictive"
    for s in selection.scores:
        p = s.predicted_approval
        expected = (
            np.log(p / (1 - p))
            + sign * selection.lambda_info * s.information_gain
            + (selection.lambda_task - 1.0) * s.task_term
        )
        np.testing.assert_allclose(s.total, expected, rtol=1e-9, atol=1e-9)
        assert s.divergence >= -1e-12 and s.information_gain >= -1e-12
        assert s.fingerprint_source in ("hint", "library", "learned")
        assert 0.0 <= s.predicted_approval <= 1.0
        np.testing.assert_allclose(sum(s.fingerprint_mean), 1.0, atol=1e-9)
    best = max(selection.scores, key=lambda s: s.total)
    assert selection.selected_id == best.id == selection.selected.id
    assert len(selection.value_cards_hash) == 64
    assert selection.compass_version == probe.latest_version()


def test_a_held_joy_button_is_one_answer_and_one_version_bump(graph):
    runner, probe, tmp_path = graph
    probe.request("r-joy")
    assert probe.spin_until(lambda: probe.selection_for("r-joy")), node_logs(tmp_path)
    version_before, feedback_before = probe.latest_version(), len(probe.feedback)
    assert probe.wait_feedback_node_saw("r-joy"), node_logs(tmp_path)
    probe.press(0, held_messages=8)  # joy re-publishes a held button
    assert probe.spin_until(lambda: probe.latest_version() == version_before + 1), node_logs(
        tmp_path
    )
    probe.spin_for(1.5)  # anything extra would arrive by now
    # The feedback node re-sends an answer until it is acknowledged, always under its one id.
    joy_ids = {f.feedback_id for f in probe.feedback[feedback_before:]}
    assert len(joy_ids) == 1, joy_ids
    answer = probe.feedback[feedback_before]
    assert answer.approved and answer.source == HumanFeedback.SOURCE_JOY
    assert (
        answer.request_id == "r-joy"
        and answer.action.id == probe.selection_for("r-joy").selected_id
    )
    assert probe.latest_version() == version_before + 1
    statuses = [a.status for a in probe.acks if a.feedback_id == answer.feedback_id]
    assert statuses.count(FeedbackAck.STATUS_APPLIED) == 1
    assert set(statuses) <= {FeedbackAck.STATUS_APPLIED, FeedbackAck.STATUS_DUPLICATE}


def test_a_repeated_feedback_id_is_applied_once(graph):
    runner, probe, tmp_path = graph
    probe.request("r-dup")
    assert probe.spin_until(lambda: probe.selection_for("r-dup"))
    selection = probe.selection_for("r-dup")
    feedback = HumanFeedback(
        feedback_id="fixed-id-1",
        request_id="r-dup",
        action=selection.selected,
        context=list(selection.context),
        approved=False,
        task_reward=math.nan,
        source="topic",
        weight=1.0,
    )
    version_before = probe.latest_version()
    for _ in range(3):
        probe.feedback_pub.publish(feedback)
    assert probe.spin_until(
        lambda: len([a for a in probe.acks if a.feedback_id == "fixed-id-1"]) == 3
    )
    statuses = sorted(a.status for a in probe.acks if a.feedback_id == "fixed-id-1")
    assert statuses == [FeedbackAck.STATUS_APPLIED] + [FeedbackAck.STATUS_DUPLICATE] * 2
    probe.spin_for(0.5)
    assert probe.latest_version() == version_before + 1


def _bad_requests():
    nan_features = CandidateActions(
        request_id="bad-nan",
        context=[0.0] * 3,
        candidates=[CandidateAction(id="x", features=[math.nan] + [0.0] * 7)],
    )
    wrong_dim = CandidateActions(
        request_id="bad-dim",
        context=[0.0] * 3,
        candidates=[CandidateAction(id="x", features=[0.0] * 5)],
    )
    duplicate = CandidateActions(
        request_id="bad-dup",
        context=[0.0] * 3,
        candidates=[
            CandidateAction(id="x", features=[0.0] * 8),
            CandidateAction(id="x", features=[0.0] * 8),
        ],
    )
    empty = CandidateActions(request_id="bad-empty", context=[0.0] * 3)
    bad_context = CandidateActions(
        request_id="bad-ctx",
        context=[math.inf] * 3,
        candidates=[CandidateAction(id="x", features=[0.0] * 8)],
    )
    return [nan_features, wrong_dim, duplicate, empty, bad_context]


def test_malformed_inputs_leave_every_node_alive_and_the_compass_unchanged(graph):
    runner, probe, tmp_path = graph
    version_before = probe.latest_version()
    for msg in _bad_requests():
        probe.candidates_pub.publish(msg)
    from sensor_msgs.msg import Joy

    probe.joy_pub.publish(Joy(buttons=[1]))  # too few buttons for thumbs down
    wrong = HumanFeedback(
        feedback_id="bad-fb",
        approved=True,
        context=[0.0],
        action=CandidateAction(id="x", features=[1.0]),
        weight=1.0,
    )
    probe.feedback_pub.publish(wrong)
    unknown = HumanFeedback(request_id="never-selected", approved=True)
    probe.raw_pub.publish(unknown)
    assert probe.spin_until(lambda: any(a.feedback_id == "bad-fb" for a in probe.acks))
    ack = next(a for a in probe.acks if a.feedback_id == "bad-fb")
    assert ack.status == FeedbackAck.STATUS_REJECTED and "features" in ack.reason
    probe.spin_for(1.0)
    assert probe.spin_until(
        lambda: (
            len({s.request_id for s in probe.selections if s.request_id.startswith("bad-")}) == 5
        )
    )
    refused = {s.request_id: s for s in probe.selections if s.request_id.startswith("bad-")}
    assert all(
        s.status == ActionSelection.STATUS_REFUSED and s.reason and not s.selected_id
        for s in refused.values()
    ), refused  # every planner hears why, nothing selected
    assert "duplicate candidate ids" in refused["bad-dup"].reason
    assert runner.dead() == {}, node_logs(tmp_path)
    assert probe.latest_version() == version_before
    probe.request("r-after-bad")  # still serving
    assert probe.spin_until(lambda: probe.selection_for("r-after-bad")), node_logs(tmp_path)
    logs = node_logs(tmp_path)
    for reason in (
        "contains NaN or inf",
        "expected 8",
        "duplicate candidate ids",
        "candidate set is empty",
        "buttons",
    ):
        assert reason in logs, f"no logged reason {reason!r}"
