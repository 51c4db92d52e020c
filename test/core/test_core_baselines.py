# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Baselines (``doc/design.md`` §9) behind the learner interface."""

import json

import numpy as np
import pytest

from core_helpers import M, assert_on_simplex, random_event, small_config
from moral_compass_ros.core import (
    ContextualAggregationLearner,
    FeedbackEvent,
    MonistLearner,
)


def _batch(rng, b=5):
    profiles = rng.dirichlet(np.ones(M), size=b)
    return profiles.copy(), rng.normal(size=2), profiles


@pytest.mark.parametrize(
    "factory",
    [
        lambda c: MonistLearner(c),
        lambda c: MonistLearner(c, np.array([0.6, 0.1, 0.1, 0.1, 0.1])),
        ContextualAggregationLearner,
    ],
)
def test_common_interface_idempotency_and_state_round_trip(factory):
    config = small_config()
    learner = factory(config)
    rng = np.random.default_rng(0)
    events = [random_event(rng, i, config) for i in range(4)]
    for event in events:
        assert learner.update(event).applied
    assert learner.update(events[0]).reason == "duplicate"
    assert learner.version == 4
    features, context, hints = _batch(np.random.default_rng(1))
    scores = learner.score(features, context, reward_mean=np.zeros(5), value_hints=hints)
    assert scores.total.shape == (5,) and scores.selected == int(np.argmax(scores.total))
    assert np.all((scores.predicted_approval >= 0) & (scores.predicted_approval <= 1))
    assert_on_simplex(learner.compass.particles)
    state = json.loads(json.dumps(learner.state_dict(), default=lambda v: v.tolist()))
    restored = type(learner).from_state_dict(config, state)
    if hasattr(learner, "reset_warm_start"):  # the restored one starts its solves cold too
        learner.reset_warm_start()
    np.testing.assert_allclose(
        restored.score(features, context, value_hints=hints).total,
        learner.score(features, context, value_hints=hints).total,
        atol=1e-9,
    )
    with pytest.raises(ValueError, match="empty candidate set"):
        learner.score(features[:0], context)


def test_monist_ignores_value_feedback():
    config = small_config()
    learner = MonistLearner(config, np.array([0.6, 0.1, 0.1, 0.1, 0.1]))
    features, context, hints = _batch(np.random.default_rng(2))
    before = learner.score(features, context, value_hints=hints)
    event = FeedbackEvent(
        feedback_id="x",
        action_id="a",
        features=hints[0],
        context=context,
        approved=False,
        value_hint=hints[0],
    )
    learner.update(event)
    after = learner.score(features, context, value_hints=hints)
    np.testing.assert_array_equal(before.alignment, after.alignment)
    np.testing.assert_allclose(
        after.alignment, hints @ np.array([0.6, 0.1, 0.1, 0.1, 0.1]), atol=0.05
    )
    np.testing.assert_array_equal(after.info_gain, 0.0)


def test_contextual_aggregation_profile_moves_toward_approved_value():
    config = small_config(gradient_steps=5)
    learner = ContextualAggregationLearner(config, learning_rate=1.0)
    rng = np.random.default_rng(3)
    start = learner.compass.mean.copy()
    for i in range(40):
        profile = rng.dirichlet(np.ones(M))
        learner.update(
            FeedbackEvent(
                feedback_id=str(i),
                action_id="a",
                features=profile,
                context=np.zeros(2),
                approved=bool(profile[0] > 0.3),
                value_hint=profile,
            )
        )
    assert learner.compass.mean[0] > start[0] + 0.05  # the "care" weight of c grew
    assert learner.compass.n_particles == 1  # a point estimate


def test_a_pretrained_logistic_starts_from_the_pooled_fit_and_keeps_it_as_its_prior():
    from moral_compass_ros.core import LogisticLearner

    config = small_config(n_particles=8)
    rng = np.random.default_rng(2)
    truth = rng.normal(size=config.feature_dim)
    pooled = []
    for i in range(600):
        features, context = (
            rng.normal(size=config.feature_dim),
            rng.normal(size=config.context_dim),
        )
        approved = rng.random() < 1.0 / (1.0 + np.exp(-features @ truth))
        pooled.append(
            FeedbackEvent(
                feedback_id=f"p{i}",
                action_id="a",
                features=features,
                context=context,
                approved=approved,
                task_reward=0.0,
                operator=f"person_{i % 20}",
            )
        )
    learner = LogisticLearner(config)
    learner.pretrain(pooled)
    weights = learner.state_dict()["weights"][: config.feature_dim]
    assert np.corrcoef(weights, truth)[0, 1] > 0.9  # the pooled fit found the shared rule
    np.testing.assert_array_equal(
        learner.state_dict()["prior_mean"], learner.state_dict()["weights"]
    )
    own = FeedbackEvent(
        feedback_id="own",
        action_id="a",
        features=pooled[0].features,
        context=pooled[0].context,
        approved=True,
        task_reward=0.0,
    )
    learner.update(own)
    restored = LogisticLearner.from_state_dict(config, learner.state_dict())
    np.testing.assert_array_equal(
        restored.state_dict()["prior_mean"], learner.state_dict()["prior_mean"]
    )


def _profile_world(rng, n, config):
    """``n`` candidates whose approval is a logistic model of their value profile h alone.

    Returns features (n, F) (pure noise), contexts (n, C), profiles h (n, M) (peaked, as
    planner hints are) and the true P(approve) (n,).
    """
    truth = np.array([8.0, -5.0, 3.0, 0.0, -5.0])  # log-odds per unit weight on each value
    profiles = rng.dirichlet(np.full(M, 0.3), size=n)
    features = rng.normal(size=(n, config.feature_dim))
    contexts = rng.normal(size=(n, config.context_dim))
    return features, contexts, profiles, 1.0 / (1.0 + np.exp(-(profiles @ truth)))


def test_logistic_sees_known_value_profiles():
    """Answers from a logistic model over h: with the profiles as hints the logistic bound
    learns it in 200 answers (through clr(h), not the truth's own coordinates); without them
    (NaN hints) it is at chance."""
    from moral_compass_ros.core import LogisticLearner

    config = small_config(gamma=1.0)
    rng = np.random.default_rng(11)
    features, contexts, profiles, truth = _profile_world(rng, 200, config)
    approved = rng.random(200) < truth
    seeing, blind = LogisticLearner(config), LogisticLearner(config)
    for j in range(200):
        for learner, hint in ((seeing, profiles[j]), (blind, np.zeros(0))):
            event = FeedbackEvent(
                f"e{j}",
                f"a{j}",
                features[j],
                contexts[j],
                bool(approved[j]),
                task_reward=0.0,
                value_hint=hint,
            )
            assert learner.update(event).applied
    test_features, _, test_profiles, test_truth = _profile_world(
        np.random.default_rng(12), 300, config
    )
    context = np.zeros(config.context_dim)
    unknown = np.full_like(test_profiles, np.nan)
    predicted = seeing.predict_approval(test_features, context, test_profiles)
    assert np.corrcoef(predicted, test_truth)[0, 1] > 0.8
    np.testing.assert_allclose(
        seeing.score(
            test_features, context, np.zeros(300), value_hints=test_profiles
        ).predicted_approval,
        predicted,
        rtol=1e-12,
    )
    for learner, hints in ((seeing, unknown), (blind, unknown), (blind, None)):
        chance = learner.predict_approval(test_features, context, hints)
        assert abs(np.corrcoef(chance, test_truth)[0, 1]) < 0.3


def test_logistic_design_size_state_round_trip_and_hint_shapes():
    from moral_compass_ros.core import LogisticLearner

    config = small_config()
    learner = LogisticLearner(config)
    expected = config.feature_dim + config.context_dim + config.n_values + 3
    assert learner.n_weights == expected == len(learner.state_dict()["weights"])
    rng = np.random.default_rng(5)
    for i in range(6):
        assert learner.update(random_event(rng, i, config, hint=i % 2 == 0)).applied
    features, context, hints = _batch(np.random.default_rng(6))
    hints[1] = np.nan
    state = json.loads(json.dumps(learner.state_dict(), default=lambda v: v.tolist()))
    restored = LogisticLearner.from_state_dict(config, state)
    np.testing.assert_array_equal(
        restored.score(features, context, np.zeros(5), value_hints=hints).total,
        learner.score(features, context, np.zeros(5), value_hints=hints).total,
    )
    assert len(restored.state_dict()["weights"]) == expected
    old = dict(state, weights=state["weights"][: expected - config.n_values - 1])
    with pytest.raises(ValueError, match="weights"):
        LogisticLearner.from_state_dict(config, old)
    with pytest.raises(ValueError, match="value_hints"):
        learner.score(features, context, value_hints=np.ones((5, M + 1)) / (M + 1))
    with pytest.raises(ValueError, match="value_hints"):
        learner.score(features, context, value_hints=hints[:4])
    bad = random_event(rng, 99, config)
    bad = FeedbackEvent(
        bad.feedback_id, bad.action_id, bad.features, bad.context, True, value_hint=np.ones(M - 1)
    )
    with pytest.raises(ValueError, match="value_hint"):
        learner.update(bad)
