# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The bad-input table: every kind of bad input a node can receive at run time.

Each row is one test: the input is handed to the node's real callback (in-process node, private
rclpy context); the row passes only if

* the node logs a clear reason (captured from the node's stderr log),
* ``/diagnostics`` carries it (a WARN/ERROR status published by the node, heard by a probe),
* the node's counters record the refusal,
* the state is unchanged (compass version and particles, journal length, selections,
  unacknowledged answers), and
* the node is alive: a good input right after it is handled normally.

The bad-input table of doc/reliability.md is this list. Config and storage faults (which happen at
start-up) are in ``test_bad_input_config_storage.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional

import pytest
from rclpy.parameter import Parameter
from diagnostic_msgs.msg import DiagnosticStatus
from sensor_msgs.msg import Joy

from moral_compass_ros.conversions import MAX_CANDIDATES, MAX_VECTOR_LENGTH
from moral_compass_ros.msg import (
    ActionSelection,
    CandidateAction,
    CandidateActions,
    FeedbackAck,
    HumanFeedback,
    MoralCompass,
)
from moral_compass_ros.nodes.action_selector_node import ActionSelectorNode
from moral_compass_ros.nodes.compass_node import CompassNode
from moral_compass_ros.nodes.feedback_node import FeedbackNode
from reliability_helpers import (
    SMALL_LEARNER,
    event_to_msg,
    in_process,
    learner_parameters,
    make_events,
)

pytestmark = pytest.mark.ros

F, C, M = 8, SMALL_LEARNER["context_dim"], 5


# ------------------------------------------------------------------------------ messages
def candidates(n: int = 3, request_id: str = "r-bad", **changes) -> CandidateActions:
    """A valid candidate set, then ``changes`` applied to it: ``context=...`` or
    ``candidate_<i>_<field>=...``."""
    msg = CandidateActions(request_id=request_id, context=[0.1] * C)
    for i in range(n):
        msg.candidates.append(
            CandidateAction(
                id=f"{request_id}-a{i}",
                label=f"action {i}",
                features=[0.1 * (i + 1)] * F,
                expected_task_reward=1.0,
                task_reward_std=0.5,
            )
        )
    for key, value in changes.items():
        if key == "context":
            msg.context = value
        else:
            _, index, name = key.split("_", 2)
            setattr(msg.candidates[int(index)], name, value)
    return msg


def feedback(feedback_id: str = "fb-bad", **changes) -> HumanFeedback:
    """A valid ``HumanFeedback`` for the compass node, then ``changes`` (``action_<field>``
    changes the action)."""
    msg = event_to_msg(make_events(1, seed=5, prefix=feedback_id)[0])
    msg.feedback_id = feedback_id
    for key, value in changes.items():
        if key.startswith("action_"):
            setattr(msg.action, key.removeprefix("action_"), value)
        else:
            setattr(msg, key, value)
    return msg


def selection(request_id: str = "r1", action_id: str = "r1-a0") -> ActionSelection:
    """An ``ActionSelection`` that executed ``action_id``."""
    return ActionSelection(
        request_id=request_id,
        selected_id=action_id,
        context=[0.0] * C,
        selected=CandidateAction(id=action_id, label="go", features=[0.2] * F),
    )


def raw(request_id: str = "", action_id: str = "", source: str = "topic") -> HumanFeedback:
    """A ``feedback/raw`` answer naming a request and/or an action."""
    msg = HumanFeedback(
        request_id=request_id,
        approved=True,
        task_reward=math.nan,
        source=source,
        operator_id="alice",
    )
    msg.action.id = action_id
    return msg


def compass_msg(
    version: int,
    names=("care", "fairness", "loyalty", "authority", "sanctity"),
    particles=None,
    weights=None,
) -> MoralCompass:
    """A ``MoralCompass`` of 4 particles (uniform unless given)."""
    n = 4
    particles = particles if particles is not None else [1.0 / len(names)] * (n * len(names))
    weights = weights if weights is not None else [1.0 / n] * n
    return MoralCompass(
        value_names=list(names), particles=list(particles), weights=list(weights), version=version
    )


def model_msg(node: ActionSelectorNode, version: int, break_shape: bool = False):
    """The selector's own model parameters as a ``ModelParameters`` at ``version``."""
    from moral_compass_ros.conversions import model_to_msg

    msg = model_to_msg(node._learner.model_parameters(), version)
    if break_shape:
        msg.blocks[0].shape = [int(s) + 1 for s in msg.blocks[0].shape]
    return msg


def joy(*pressed: int, n_buttons: int = 12) -> Joy:
    buttons = [0] * n_buttons
    for b in pressed:
        buttons[b] = 1
    return Joy(axes=[0.0] * 6, buttons=buttons)


# ------------------------------------------------------------------------------ nodes
def compass_harness(tmp_path, extra=()):
    params = learner_parameters() + [Parameter("state_dir", value=str(tmp_path / "state")), *extra]
    return in_process(CompassNode, params)  # the shipped legitimacy policy


def selector_harness(tmp_path, extra=()):
    return in_process(ActionSelectorNode, learner_parameters() + list(extra))


def feedback_harness(tmp_path, extra=()):
    return in_process(FeedbackNode, [Parameter("debounce_s", value=0.0), *extra])


HARNESS = {"compass": compass_harness, "selector": selector_harness, "feedback": feedback_harness}


def state_of(kind: str, node):
    """Everything a bad input must leave unchanged."""
    if kind == "compass":
        particles, weights = node.learner.compass.to_arrays()
        return (
            node.learner.version,
            particles.tobytes(),
            weights.tobytes(),
            node._store.applied_events,
        )
    if kind == "selector":
        particles, weights = node._learner.compass.to_arrays()
        return (
            node._learner.version,
            particles.tobytes(),
            weights.tobytes(),
            node._health.counts["selections.published"],
        )
    return (
        tuple(node._unacked),
        tuple(node._selections),
        sum(v for k, v in node._health.counts.items() if k.startswith("feedback.sent")),
    )


def prove_alive(kind: str, harness) -> None:
    """A good input right after the bad one is handled normally."""
    node = harness.node
    if kind == "compass":
        version = node.learner.version
        node._on_feedback(feedback("fb-good-after"))
        assert node.learner.version == version + 1
    elif kind == "selector":
        published = node._health.counts["selections.published"]
        node._on_candidates(candidates(request_id="r-good-after"))
        assert node._health.counts["selections.published"] == published + 1
    else:
        node._on_selection(selection("r-good-after", "r-good-after-a0"))
        unacked = len(node._unacked)
        node._on_raw_feedback(raw("r-good-after", source="alive-check"))
        assert len(node._unacked) == unacked + 1


@dataclass(frozen=True)
class Row:
    """One kind of bad input: which node gets it, how, and the reason it must give."""

    kind: str
    node: str
    inject: Callable
    reason: str
    prepare: Optional[Callable] = None
    params: tuple = field(default_factory=tuple)
    counter: str = ""


def _sel(msg):
    return lambda h: h.node._on_candidates(msg)


def _fb(msg):
    return lambda h: h.node._on_feedback(msg)


def _seed_compass(h, version=5):
    h.node._on_model(model_msg(h.node, version))
    h.node._on_compass(compass_msg(version))
    assert h.node._learner.version == version


def _after_release(pressed: Joy):
    """Release every button, then send ``pressed`` (a press counts only after a release)."""
    return lambda h: (h.node._on_joy(joy()), h.node._on_joy(pressed))


def _seed_selection(h):
    h.node._on_selection(selection())


def _stale(h):
    h.spin_for(0.4)  # older than stale_after_s = 0.1
    h.node._on_raw_feedback(raw("r1"))


def _unknown_request(h):
    h.node._on_raw_feedback(raw("r-unknown"))  # held for its selection, which never comes
    assert h.health.counts["feedback.held"] == 1
    h.spin_until(lambda: not h.node._held, timeout_s=10.0)


def _drain_bucket(h):
    _seed_selection(h)
    h.node._on_raw_feedback(raw("r1", source="flooder"))  # max_rate_hz 0.5: a bucket of 1
    assert len(h.node._unacked) == 1


def _rate(h):
    for i in range(3):  # the bucket is empty: all refused (distinct operators: not chatter)
        msg = raw("r1", source="flooder")
        msg.operator_id = f"operator-{i}"
        h.node._on_raw_feedback(msg)


def _duplicate(h):
    h.node._on_feedback(feedback("fb-dup-1"))
    h.node._on_feedback(feedback("fb-dup-1"))


def _compass_nan(h):
    h.node._on_model(model_msg(h.node, 6))
    h.node._on_compass(compass_msg(6, particles=[math.nan] * 20))


def _model_shape(h):
    h.node._on_compass(compass_msg(7))
    h.node._on_model(model_msg(h.node, 7, break_shape=True))


HUGE = [0.0] * (MAX_VECTOR_LENGTH + 1)
ROWS = [
    # --- planner candidate sets -> action_selector_node --------------------------------
    Row(
        "candidates: NaN in features",
        "selector",
        _sel(candidates(candidate_0_features=[math.nan] + [0.0] * (F - 1))),
        "features contains NaN or inf",
    ),
    Row(
        "candidates: inf in context",
        "selector",
        _sel(candidates(context=[math.inf] * C)),
        "context contains NaN or inf",
    ),
    Row(
        "candidates: wrong feature dimension",
        "selector",
        _sel(candidates(candidate_1_features=[0.0] * 5)),
        "has length 5, expected 8",
    ),
    Row(
        "candidates: wrong context dimension",
        "selector",
        _sel(candidates(context=[0.0] * (C + 2))),
        f"context has length {C + 2}, expected {C}",
    ),
    Row(
        "candidates: empty set",
        "selector",
        _sel(CandidateActions(request_id="r-empty", context=[0.0] * C)),
        "candidate set is empty",
    ),
    Row(
        "candidates: empty candidate id",
        "selector",
        _sel(candidates(candidate_1_id="")),
        "a candidate has an empty id",
    ),
    Row(
        "candidates: duplicate candidate ids",
        "selector",
        _sel(candidates(candidate_1_id="r-bad-a0")),
        "duplicate candidate ids",
    ),
    Row(
        "candidates: empty request_id",
        "selector",
        _sel(candidates(request_id="")),
        "request_id is empty",
    ),
    Row(
        "candidates: huge set",
        "selector",
        _sel(candidates(n=MAX_CANDIDATES + 1)),
        f"(limit {MAX_CANDIDATES})",
    ),
    Row(
        "candidates: huge feature array",
        "selector",
        _sel(candidates(candidate_0_features=HUGE)),
        f"(limit {MAX_VECTOR_LENGTH})",
    ),
    Row(
        "candidates: infinite expected reward",
        "selector",
        _sel(candidates(candidate_2_expected_task_reward=math.inf)),
        "expected_task_reward is infinite",
    ),
    Row(
        "candidates: negative reward spread",
        "selector",
        _sel(candidates(candidate_0_task_reward_std=-1.0)),
        "task_reward_std is negative or infinite",
    ),
    Row(
        "candidates: off-simplex value hint",
        "selector",
        _sel(candidates(candidate_0_value_hint=[0.5] * M)),
        "is not on the simplex",
    ),
    Row(
        "candidates: negative value-hint weights",
        "selector",
        _sel(candidates(candidate_0_value_hint=[-0.5, 1.5, 0.0, 0.0, 0.0])),
        "is not on the simplex",
    ),
    # --- compass/model mirror -> action_selector_node ----------------------------------
    Row(
        "compass: non-monotonic version",
        "selector",
        lambda h: (h.node._on_model(model_msg(h.node, 3)), h.node._on_compass(compass_msg(3))),
        "version 3 is not newer than 5",
        prepare=_seed_compass,
    ),
    Row(
        "compass: foreign value names",
        "selector",
        lambda h: h.node._on_compass(compass_msg(9, names=("a", "b", "c", "d", "e"))),
        "value names",
    ),
    Row("compass: NaN particles", "selector", _compass_nan, "version 6 unusable"),
    Row(
        "model: block shape does not match its data",
        "selector",
        _model_shape,
        "version 7 unusable",
    ),
    # --- answers on `feedback` -> compass_node ------------------------------------------
    Row(
        "feedback: NaN in features",
        "compass",
        _fb(feedback(action_features=[math.nan] * F)),
        "action.features contains NaN or inf",
    ),
    Row(
        "feedback: NaN in context",
        "compass",
        _fb(feedback(context=[math.nan] * C)),
        "context contains NaN or inf",
    ),
    Row(
        "feedback: infinite task reward",
        "compass",
        _fb(feedback(task_reward=-math.inf)),
        "task_reward is infinite",
    ),
    Row(
        "feedback: wrong feature dimension",
        "compass",
        _fb(feedback(action_features=[0.0] * 3)),
        "action.features has length 3, expected 8",
    ),
    Row(
        "feedback: empty feedback id",
        "compass",
        _fb(feedback(feedback_id="")),
        "feedback_id is empty",
    ),
    Row("feedback: empty action id", "compass", _fb(feedback(action_id="")), "action.id is empty"),
    Row(
        "feedback: weight outside [0, 1]",
        "compass",
        _fb(feedback(weight=1.5)),
        "weight must be in [0, 1]",
    ),
    Row(
        "feedback: NaN weight",
        "compass",
        _fb(feedback(weight=math.nan)),
        "weight must be in [0, 1]",
    ),
    Row(
        "feedback: off-simplex value hint",
        "compass",
        _fb(feedback(action_value_hint=[0.9, 0.9, 0.0, 0.0, 0.0])),
        "is not on the simplex",
    ),
    Row(
        "feedback: huge responses array",
        "compass",
        _fb(feedback(responses=HUGE)),
        f"(limit {MAX_VECTOR_LENGTH})",
    ),
    Row(
        "feedback: forbidden operator",
        "compass",
        _fb(feedback(operator_id="visitor")),
        "operator 'visitor' may not shape the compass",
        counter="rejected.policy",
    ),
    Row(
        "feedback: unknown source",
        "compass",
        _fb(feedback(source="intruder")),
        "source 'intruder' may not shape the compass",
        counter="rejected.policy",
    ),
    Row(
        "feedback: duplicate feedback id (applied once)",
        "compass",
        _duplicate,
        "already applied",
        prepare=None,
        counter="feedback.duplicate",
    ),
    # --- operator input -> feedback_node -------------------------------------------------
    Row(
        "joy: too few buttons",
        "feedback",
        lambda h: h.node._on_joy(Joy(buttons=[1])),
        "message has 1 buttons",
        prepare=_seed_selection,
    ),
    Row(
        "joy: thumbs up and down together",
        "feedback",
        _after_release(joy(0, 1)),
        "thumbs up and down pressed together",
        prepare=_seed_selection,
    ),
    Row(
        "joy: press before any selection",
        "feedback",
        _after_release(joy(0)),
        "before any action was selected",
    ),
    Row(
        "feedback/raw: action never selected",
        "feedback",
        lambda h: h.node._on_raw_feedback(raw(action_id="never-run")),
        "action 'never-run' was never executed",
        prepare=_seed_selection,
    ),
    Row(
        "feedback/raw: unknown request (after waiting for its selection)",
        "feedback",
        _unknown_request,
        "request 'r-unknown' is unknown",
        prepare=_seed_selection,
        params=(("unknown_request_wait_s", 0.2),),
    ),
    Row(
        "feedback/raw: action not the one executed",
        "feedback",
        lambda h: h.node._on_raw_feedback(raw("r1", action_id="r1-a2")),
        "action 'r1-a2' was not the one executed",
        prepare=_seed_selection,
    ),
    Row(
        "feedback/raw: names neither request nor action",
        "feedback",
        lambda h: h.node._on_raw_feedback(raw()),
        "names neither a request_id nor an action id",
        prepare=_seed_selection,
    ),
    Row(
        "selection: selected action differs from selected_id",
        "feedback",
        lambda h: h.node._on_selection(
            ActionSelection(
                request_id="r9", selected_id="r9-a0", selected=CandidateAction(id="r9-a1")
            )
        ),
        "differs from selected_id",
    ),
    Row(
        "feedback/raw: stale answer",
        "feedback",
        _stale,
        "is stale",
        prepare=_seed_selection,
        params=(("stale_after_s", 0.1),),
    ),
    Row(
        "feedback/raw: rate limit exceeded",
        "feedback",
        _rate,
        "source 'flooder' exceeds 0.5 answers/s",
        prepare=_drain_bucket,
        params=(("max_rate_hz", 0.5),),
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.kind for r in ROWS])
def test_bad_input_is_refused_with_a_reason_and_changes_nothing(row: Row, tmp_path, capfd):
    extra = [Parameter(k, value=v) for k, v in row.params]
    with HARNESS[row.node](tmp_path, extra) as harness:
        node = harness.node
        acks = []
        if row.node == "compass":
            node._ack_pub.publish = acks.append  # observe the acknowledgements directly
        replies = []
        if row.node == "selector":
            node._selection_pub.publish = replies.append
        if row.prepare is not None:
            row.prepare(harness)
        before = state_of(row.node, node)
        counts_before = dict(node._health.counts)
        row.inject(harness)  # must not raise
        after = state_of(row.node, node)
        if row.kind.startswith("feedback: duplicate"):  # the first copy applies, once
            assert after[0] == before[0] + 1 and after[3] == before[3] + 1
            assert [a.status for a in acks] == [
                FeedbackAck.STATUS_APPLIED,
                FeedbackAck.STATUS_DUPLICATE,
            ]
            assert node._health.counts["feedback.duplicate"] == 1
            status = harness.diagnostic_with(
                "feedback.duplicate=1",
                levels=(DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR),
            )
        else:
            assert after == before, f"{row.kind} changed the state"
            counter = row.counter or next(
                (
                    k
                    for k in node._health.counts
                    if k.startswith("rejected.")
                    and node._health.counts[k] > counts_before.get(k, 0)
                ),
                None,
            )
            assert counter and node._health.counts[counter] > counts_before.get(counter, 0)
            assert row.reason in node._health.last_problem, node._health.last_problem
            status = harness.diagnostic_with(row.reason)
            if row.node == "compass":  # the sender learns why
                assert acks and acks[-1].status == FeedbackAck.STATUS_REJECTED
                assert row.reason in acks[-1].reason
            if row.kind.startswith("candidates:"):  # the planner learns why, at once
                assert [r.status for r in replies] == [ActionSelection.STATUS_REFUSED]
                assert row.reason in replies[0].reason and not replies[0].selected_id
        assert status is not None, f"no /diagnostics status carried {row.reason!r}"
        prove_alive(row.node, harness)
    if not row.kind.startswith("feedback: duplicate"):
        logged = capfd.readouterr().err
        assert row.reason in logged, f"the reason was not logged:\n{logged[-2000:]}"


def test_the_table_has_at_least_25_kinds():
    assert len(ROWS) >= 25
    assert len({r.kind for r in ROWS}) == len(ROWS)
