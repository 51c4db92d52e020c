# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Fuzzing: arbitrary messages for every conversion function and every callback.

Hypothesis strategies build messages a sender could put on the wire: any length, NaN, ±inf,
huge and tiny floats, empty and odd strings, with a good share of "almost valid" messages
(right dimensions, valid ids) so the fuzzing reaches past the first check. The contract:

* a conversion returns a valid value or raises :class:`InvalidMessage` (nothing else), and
  what it returns is finite and of the configured shape;
* a callback never raises, and the node's invariants hold afterwards (the compass is a valid
  distribution, its version equals the number of journaled answers, the selector only selects
  one of the offered candidates).

Examples per target: 200 (derandomised: the same examples every run);
``MC_FULL_RELIABILITY=1``: 2,000 with a fresh random seed.
"""

from __future__ import annotations

import math
import string

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rclpy.parameter import Parameter
from sensor_msgs.msg import Joy

from moral_compass_ros.conversions import (
    InvalidMessage,
    candidates_from_msg,
    compass_from_msg,
    feedback_from_msg,
    model_from_msg,
    model_to_msg,
)
from moral_compass_ros.core import DynamicValueLearner
from moral_compass_ros.msg import (
    ActionScore,
    ActionSelection,
    CandidateAction,
    CandidateActions,
    FeedbackAck,
    HumanFeedback,
    ModelParameters,
    MoralCompass,
    ParameterBlock,
)
from moral_compass_ros.nodes.action_selector_node import ActionSelectorNode
from moral_compass_ros.nodes.compass_node import CompassNode
from moral_compass_ros.nodes.feedback_node import FeedbackNode
from moral_compass_ros.nodes.visualization_node import VisualizationNode
from reliability_helpers import (
    FULL,
    SMALL_LEARNER,
    count,
    in_process,
    learner_parameters,
    node_learner_config,
)

pytestmark = pytest.mark.ros

EXAMPLES = count(200, 2000)
F, C = 8, SMALL_LEARNER["context_dim"]
NAMES = ["care", "fairness", "loyalty", "authority", "sanctity"]
M = len(NAMES)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not FULL,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# ------------------------------------------------------------------------------ strategies
nasty_floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [0.0, -0.0, 1.0, -1.0, math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, 1e-300]
    ),
    st.floats(-10, 10),
)
unit = st.floats(0.0, 1.0)
ids = st.one_of(
    st.sampled_from(["", "a", "r1", "r1-a0", "visitor", "alice", " ", "x" * 300]),
    st.text(string.printable, max_size=12),
    st.text(max_size=6),
)


def vectors(length: int | None = None, elements=nasty_floats):
    """Lists of floats: any length, or mostly ``length`` (so deeper checks are reached)."""
    anything = st.lists(elements, max_size=12)
    if length is None:
        return anything
    return st.one_of(
        st.lists(st.floats(-5, 5), min_size=length, max_size=length),
        st.lists(elements, min_size=length, max_size=length),
        anything,
    )


def simplex_points(m: int = M):
    """Points on the simplex (often), empty lists and arbitrary vectors."""
    point = st.lists(st.floats(0.01, 1.0), min_size=m, max_size=m).map(
        lambda v: (np.asarray(v) / np.sum(v)).tolist()
    )
    return st.one_of(st.just([]), point, vectors(m))


@st.composite
def candidate_actions(draw, with_hint=True):
    return CandidateAction(
        id=draw(ids),
        label=draw(st.text(max_size=10)),
        features=draw(vectors(F)),
        expected_task_reward=draw(nasty_floats),
        task_reward_std=draw(nasty_floats),
        value_hint=draw(simplex_points()) if with_hint else [],
    )


@st.composite
def candidate_sets(draw):
    n = draw(st.integers(0, 6))
    candidates = draw(st.lists(candidate_actions(), min_size=n, max_size=n))
    if draw(st.booleans()):  # unique, non-empty ids: the common case of a real planner
        for i, c in enumerate(candidates):
            c.id = f"c{i}"
    return CandidateActions(request_id=draw(ids), context=draw(vectors(C)), candidates=candidates)


@st.composite
def human_feedback(draw):
    msg = HumanFeedback(
        feedback_id=draw(st.one_of(ids, st.uuids().map(str))),
        request_id=draw(ids),
        action=draw(candidate_actions()),
        context=draw(vectors(C)),
        approved=draw(st.booleans()),
        task_reward=draw(nasty_floats),
        responses=draw(vectors()),
        source=draw(st.one_of(st.sampled_from(["joy", "tablet", "topic", "sim", ""]), ids)),
        operator_id=draw(ids),
        weight=draw(st.one_of(unit, nasty_floats)),
    )
    msg.header.stamp.sec = draw(st.integers(-(2**31), 2**31 - 1))
    msg.header.stamp.nanosec = draw(st.integers(0, 2**32 - 1))
    return msg


@st.composite
def compasses(draw):
    names = draw(st.one_of(st.just(NAMES), st.lists(st.text(max_size=5), max_size=6)))
    n = draw(st.integers(0, 6))
    m = len(names)
    particles = draw(
        st.one_of(
            st.lists(simplex_points(m).filter(lambda p: len(p) == m), min_size=n, max_size=n).map(
                lambda rows: [x for row in rows for x in row]
            ),
            vectors(n * m),
        )
    )
    weights = draw(st.one_of(st.just([1.0 / n] * n if n else []), vectors(n)))
    return MoralCompass(
        value_names=names,
        particles=particles,
        weights=weights,
        mean=draw(vectors(m)),
        version=draw(st.integers(0, 2**64 - 1)),
        applied_events=draw(st.integers(0, 2**64 - 1)),
    )


@st.composite
def models(draw, base: ModelParameters | None = None):
    if base is not None and draw(st.booleans()):  # a real model, possibly damaged
        msg = ModelParameters(
            version=draw(st.integers(0, 50)),
            blocks=[
                ParameterBlock(name=b.name, shape=list(b.shape), data=list(b.data))
                for b in base.blocks
            ],
        )
        if msg.blocks and draw(st.booleans()):
            block = draw(st.sampled_from(msg.blocks))
            block.data = draw(vectors(len(block.data)))
        return msg
    blocks = draw(
        st.lists(
            st.builds(
                ParameterBlock,
                name=ids,
                shape=st.lists(st.integers(0, 2**32 - 1), max_size=3),
                data=vectors(),
            ),
            max_size=3,
        )
    )
    return ModelParameters(version=draw(st.integers(0, 2**64 - 1)), blocks=blocks)


@st.composite
def joys(draw):
    return Joy(
        axes=draw(st.lists(st.floats(-1, 1, width=32), max_size=8)),
        buttons=draw(st.lists(st.integers(-(2**31), 2**31 - 1) | st.integers(0, 1), max_size=14)),
    )


@st.composite
def selections(draw):
    n = draw(st.integers(0, 3))
    width = draw(st.sampled_from([M, 0, 3]))
    return ActionSelection(
        request_id=draw(ids),
        selected_id=draw(ids),
        selected=draw(candidate_actions()),
        context=draw(vectors(C)),
        compass_version=draw(st.integers(0, 2**64 - 1)),
        scores=[
            ActionScore(
                id=draw(ids),
                total=draw(nasty_floats),
                predicted_approval=draw(nasty_floats),
                fingerprint_mean=draw(vectors(width)),
            )
            for _ in range(n)
        ],
    )


# ------------------------------------------------------------------------------ conversions
def _finite(*arrays) -> bool:
    return all(np.all(np.isfinite(a)) for a in arrays)


def test_fuzz_candidates_from_msg():
    @FUZZ
    @given(candidate_sets())
    def run(msg):
        try:
            batch = candidates_from_msg(msg, F, C, M)
        except InvalidMessage:
            return
        assert batch.features.shape == (batch.size, F) and batch.context.shape == (C,)
        assert _finite(batch.features, batch.context) and len(set(batch.ids)) == batch.size
        hints = batch.value_hints[~np.isnan(batch.value_hints).any(axis=1)]
        np.testing.assert_allclose(hints.sum(axis=1), 1.0, atol=1e-9)
        assert np.all(hints >= 0)

    run()


def test_fuzz_feedback_from_msg():
    @FUZZ
    @given(human_feedback())
    def run(msg):
        try:
            event = feedback_from_msg(msg, F, C, M)
        except InvalidMessage:
            return
        assert event.feedback_id and event.action_id and 0.0 <= event.weight <= 1.0
        assert event.features.shape == (F,) and event.context.shape == (C,)
        assert _finite(event.features, event.context, event.responses)
        assert not math.isinf(event.task_reward)

    run()


def test_fuzz_compass_from_msg():
    @FUZZ
    @given(compasses())
    def run(msg):
        try:
            compass = compass_from_msg(msg)
        except InvalidMessage:
            return
        particles, weights = compass.to_arrays()
        assert _finite(particles, weights) and np.all(weights >= 0)
        np.testing.assert_allclose(weights.sum(), 1.0, atol=1e-6)

    run()


def test_fuzz_model_from_msg():
    base = model_to_msg(DynamicValueLearner(node_learner_config()).model_parameters(), 0)

    @FUZZ
    @given(models(base))
    def run(msg):
        try:
            parameters = model_from_msg(msg)
        except InvalidMessage:
            return
        assert all(_finite(v) for v in parameters.values())

    run()


# ------------------------------------------------------------------------------ callbacks
def _check_compass(node) -> None:
    particles, weights = node.learner.compass.to_arrays()
    assert _finite(particles, weights) and np.all(weights >= 0)
    np.testing.assert_allclose(weights.sum(), 1.0, atol=1e-6)
    # nothing applied without being journaled first, nothing journaled twice (the learner may
    # still refuse a journaled answer whose update is not finite: it is rolled back, counted)
    journaled = [e.feedback_id for _, e in node._store.journal.read()]
    assert len(journaled) == len(set(journaled)) == node._store.applied_events
    assert node.learner.version == len(journaled) - len(node.learner.rejected)


def test_fuzz_compass_node_on_feedback(tmp_path):
    params = learner_parameters() + [
        Parameter("state_dir", value=str(tmp_path / "state")),
        Parameter("snapshot_every", value=10),
    ]
    with in_process(CompassNode, params) as harness:
        node = harness.node

        @FUZZ
        @given(human_feedback())
        def run(msg):
            node._on_feedback(msg)
            _check_compass(node)

        run()
        print(
            f"\nRELIABILITY fuzz compass_node: {EXAMPLES} examples, "
            f"{node.learner.version} applied, counters {dict(node._health.counts)}"
        )


def test_fuzz_action_selector_node_callbacks():
    with in_process(ActionSelectorNode, learner_parameters()) as harness:
        node = harness.node
        base = model_to_msg(node._learner.model_parameters(), 0)
        published = []
        node._selection_pub.publish = published.append

        @FUZZ
        @given(
            st.one_of(
                candidate_sets().map(lambda m: ("candidates", m)),
                compasses().map(lambda m: ("compass", m)),
                models(base).map(lambda m: ("model", m)),
            )
        )
        def run(item):
            kind, msg = item
            version = node.model_version
            published.clear()
            getattr(node, f"_on_{kind}")(msg)
            assert node.model_version >= version  # never goes back
            particles, weights = node._learner.compass.to_arrays()
            assert _finite(particles, weights)
            for selection in published:
                offered = {c.id for c in msg.candidates}
                assert selection.selected_id == "" or selection.selected_id in offered
                assert all(math.isfinite(s.total) for s in selection.scores)

        run()


def test_fuzz_feedback_node_callbacks():
    with in_process(
        FeedbackNode, [Parameter("debounce_s", value=0.0), Parameter("max_rate_hz", value=1000.0)]
    ) as harness:
        node = harness.node
        sent = []
        node._feedback_pub.publish = sent.append

        @FUZZ
        @given(
            st.one_of(
                joys().map(lambda m: ("joy", m)),
                human_feedback().map(lambda m: ("raw_feedback", m)),
                selections().map(lambda m: ("selection", m)),
                st.builds(FeedbackAck, feedback_id=ids, status=st.integers(0, 255)).map(
                    lambda m: ("ack", m)
                ),
            )
        )
        def run(item):
            kind, msg = item
            sent.clear()
            getattr(node, f"_on_{kind}")(msg)
            for feedback in sent:  # whatever goes out is bound to an executed action
                assert feedback.feedback_id and feedback.action.id
                assert feedback.request_id in node._selections
                assert node._selections[feedback.request_id].msg.selected_id == feedback.action.id
            assert len(node._selections) <= node._params["selection_memory"]

        run()


def test_fuzz_visualization_node_callbacks():
    with in_process(VisualizationNode) as harness:
        node = harness.node

        @FUZZ
        @given(
            st.one_of(
                compasses().map(lambda m: ("compass", m)),
                selections().map(lambda m: ("selection", m)),
            )
        )
        def run(item):
            kind, msg = item
            counts = node._health.counts
            before = counts["markers.published"] + counts["rejected.compass"]
            getattr(node, f"_on_{kind}")(msg)
            node._publish()  # the timer's work: draw whatever arrived
            # every new compass, or decision once a compass is known, is drawn or refused with
            # a reason, exactly once; a refused request changes nothing
            redraw = kind == "compass" or (
                node._compass is not None and msg.status != ActionSelection.STATUS_REFUSED
            )
            after = counts["markers.published"] + counts["rejected.compass"]
            assert after - before == int(redraw), (kind, msg)

        run()
