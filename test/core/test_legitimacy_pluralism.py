# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The legitimacy policy and the pluralism measures, against cases with known answers."""

import math

import numpy as np
import pytest

from moral_compass_ros.core.compass_state import CompassModel
from moral_compass_ros.core.config import LearnerConfig
from moral_compass_ros.core.events import FeedbackEvent
from moral_compass_ros.core.legitimacy import LegitimacyPolicy, PolicyError
from moral_compass_ros.core.pluralism import (
    criteria_pluralism,
    effective_number,
    movement_shares,
    origin_pluralism,
)

POLICY = {
    "sources": {
        "joy": {"allowed": True, "weight": 1.0},
        "tablet": {"allowed": True, "weight": 0.5},
        "topic": {"allowed": False},
    },
    "operators": {
        "*": {"allowed": True, "weight": 0.8},
        "visitor": {"allowed": False},
        "lead": {"allowed": True, "weight": 1.0},
    },
}


@pytest.mark.parametrize(
    "source, operator, allowed, weight",
    [
        ("joy", "lead", True, 1.0),
        ("tablet", "lead", True, 0.5),
        ("tablet", "someone", True, 0.4),
        ("joy", "visitor", False, 0.0),
        ("topic", "lead", False, 0.0),
        ("unlisted_source", "lead", False, 0.0),
    ],
)
def test_policy_decisions(source, operator, allowed, weight):
    decision = LegitimacyPolicy.from_dict(POLICY).decide(source, operator)
    assert decision.allowed is allowed
    assert decision.weight == pytest.approx(weight)
    assert allowed or decision.reason


def test_without_a_wildcard_only_listed_operators_may_answer():
    policy = LegitimacyPolicy.from_dict(
        {"sources": {"*": {"allowed": True}}, "operators": {"alice": {"allowed": True}}}
    )
    assert policy.decide("joy", "alice").allowed
    assert "bob" in policy.decide("joy", "bob").reason


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"operators": {"*": {"allowed": True}}}, "sources"),
        (
            {"sources": {"joy": {"allowed": "yes"}}, "operators": {"*": {"allowed": True}}},
            "sources.joy.allowed",
        ),
        (
            {
                "sources": {"joy": {"allowed": True, "weight": 2}},
                "operators": {"*": {"allowed": True}},
            },
            "sources.joy.weight",
        ),
        (
            {"sources": {"joy": {"allowed": True}}, "operators": {"*": {"allowed": True}}, "x": 1},
            "unknown policy keys",
        ),
        (
            {
                "sources": {"joy": {"allowed": True}},
                "operators": {"*": {"allowed": True}},
                "quorum": {"enabled": True, "min_operators": 0},
            },
            "min_operators",
        ),
    ],
)
def test_malformed_policies_name_the_entry(bad, message):
    with pytest.raises(PolicyError, match=message):
        LegitimacyPolicy.from_dict(bad)


def test_shipped_policy_is_valid():
    from ros_helpers import REPO_ROOT

    policy = LegitimacyPolicy.load(REPO_ROOT / "config" / "legitimacy.yaml")
    assert not policy.decide("joy", "visitor").allowed
    assert policy.decide("sim", "operator_0").allowed


def test_effective_number_known_cases():
    assert effective_number(np.ones(4)) == pytest.approx(4.0)
    assert effective_number(np.array([3.0, 0.0, 0.0])) == pytest.approx(1.0)
    assert effective_number(np.zeros(3)) == 0.0
    # two operators with shares 3/4 and 1/4: exp(H) with H = -(.75 ln .75 + .25 ln .25)
    expected = math.exp(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    assert origin_pluralism({"a": 0.3, "b": 0.1}) == pytest.approx(expected)
    assert criteria_pluralism(np.full(5, 0.2)) == pytest.approx(5.0)
    assert movement_shares({"a": 0.3, "b": 0.1}) == pytest.approx({"a": 0.75, "b": 0.25})
    with pytest.raises(ValueError):
        effective_number(np.array([-1.0, 2.0]))


CONFIG = LearnerConfig(
    feature_dim=3, context_dim=2, n_particles=48, n_fingerprint_samples=8, seed=3
)


def _event(i, operator, approved, features):
    return FeedbackEvent(
        feedback_id=f"{operator}-{i}",
        action_id=f"a{i}",
        features=np.asarray(features, dtype=float),
        context=np.zeros(2),
        approved=approved,
        operator=operator,
        source="sim",
    )


def test_identical_answers_from_two_operators_show_no_disagreement():
    model = CompassModel(CONFIG, per_operator=True)
    rng = np.random.default_rng(0)
    for i in range(2):
        features, approved = rng.normal(size=3), bool(i % 2)
        model.update(_event(i, "alice", approved, features))
        model.update(_event(i, "bob", approved, features))
    measures = model.measures()
    np.testing.assert_allclose(
        measures["operator_means"]["alice"], measures["operator_means"]["bob"], atol=1e-12
    )
    assert abs(measures["disagreement"]) < 1e-8
    assert measures["operator_events"] == {"alice": 2, "bob": 2}


def test_opposite_answers_show_disagreement_and_shares_sum_to_one():
    model = CompassModel(CONFIG, per_operator=True)
    rng = np.random.default_rng(1)
    for i in range(2):
        features = rng.normal(size=3)
        model.update(_event(i, "alice", True, features))
        model.update(_event(i, "bob", False, features))
    measures = model.measures()
    assert measures["disagreement"] > 1e-6
    assert sum(measures["movement_share"].values()) == pytest.approx(1.0)
    assert 1.0 <= measures["origin_pluralism"] <= 2.0 + 1e-12
    assert 1.0 <= measures["criteria_pluralism"] <= 5.0


def test_compass_model_state_round_trip_is_exact():
    model = CompassModel(CONFIG, per_operator=True)
    rng = np.random.default_rng(2)
    for i in range(2):
        model.update(_event(i, ["alice", "bob"][i % 2], bool(i % 2), rng.normal(size=3)))
    restored = CompassModel.from_state_dict(CONFIG, model.state_dict(), per_operator=True)
    event = _event(9, "alice", True, rng.normal(size=3))
    model.update(event)
    restored.update(event)
    np.testing.assert_allclose(
        restored.learner.compass.particles, model.learner.compass.particles, atol=1e-9
    )
    assert restored.measures()["movement_share"] == pytest.approx(
        model.measures()["movement_share"]
    )
    with pytest.raises(ValueError, match="per_operator"):
        CompassModel.from_state_dict(CONFIG, model.state_dict(), per_operator=False)
