# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Learning that works (design §10): the bounds, the likelihood fit, the library, the lexicon."""

from __future__ import annotations

import math

import numpy as np
import pytest
from core_helpers import random_event, small_config

from moral_compass_ros.core import (
    DynamicValueLearner,
    FeedbackEvent,
    FingerprintLibrary,
    LearnerConfig,
    LogisticLearner,
)
from moral_compass_ros.core.learner_store import LearnerStore
from moral_compass_ros.sim import IdealLearner, make_scenario
from moral_compass_ros.sim._lexicon import LexiconPlanner, load_emfd
from moral_compass_ros.tools.evaluate import credible_ball_covers


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_ideal_learner_equals_exact_grid_posterior():
    """M = 2: θ = (x, 1 − x); the particle posterior's predictions match quadrature on a grid."""
    rng = np.random.default_rng(7)
    alphas = [np.array([1.0, 5.0]), np.array([5.0, 1.0])]
    beta, tau, reward_weight, mistake = 30.0, 0.3, 0.05, 0.1
    ideal = IdealLearner(
        alphas, beta, tau, reward_weight, mistake_prob=mistake, n_particles=40000, seed=3
    )
    x = np.linspace(0.0, 1.0, 4001)[1:-1]
    grid = np.stack([x, 1.0 - x], axis=1)
    log_post = np.log((1 - x) ** 4 + x**4)  # equal mixture of Beta(1, 5) and Beta(5, 1) densities

    def approve(theta, fp, reward):
        p = _sigmoid(beta * (tau - ((theta - fp) ** 2).sum(-1) + reward_weight * reward))
        return (1 - mistake) * p + mistake * (1 - p)

    for _ in range(12):
        fp = rng.dirichlet([1.0, 1.0])
        reward = float(rng.normal())
        answer = bool(rng.random() < 0.5)
        ideal.update(fp, reward, answer)
        p = approve(grid, fp, reward)
        log_post += np.log(p if answer else 1 - p)
    post = np.exp(log_post - log_post.max())
    post /= post.sum()
    tests = rng.dirichlet([1.0, 1.0], size=6)
    rewards = rng.normal(size=6)
    exact = np.array([post @ approve(grid, fp, r) for fp, r in zip(tests, rewards)])
    np.testing.assert_allclose(ideal.predict(tests, rewards), exact, atol=0.02)
    np.testing.assert_allclose(ideal.mean[0], post @ x, atol=0.02)


def _logistic_world(seed: int, n_events: int):
    rng = np.random.default_rng(seed)
    truth = np.array([1.5, -1.0, 0.8, 0.0])
    features = rng.normal(size=(n_events, 4))
    approved = rng.random(n_events) < _sigmoid(features @ truth)
    return truth, features, approved


def test_residual_makes_dvs_match_logistic_regression():
    """Answers from a logistic model of the features, no value structure, no hints: DVS's
    residual term predicts as the logistic regression does (and without it, DVS cannot)."""
    truth, features, approved = _logistic_world(0, 150)
    base = dict(
        feature_dim=4,
        context_dim=0,
        n_particles=64,
        n_fingerprint_samples=8,
        lr_psi=0.0,
        seed=0,
    )
    dvs = DynamicValueLearner(LearnerConfig(**base))
    without = DynamicValueLearner(LearnerConfig(**base, residual_prior_scales=(0.0,)))
    logistic = LogisticLearner(LearnerConfig(**base))
    for j, (phi, y) in enumerate(zip(features, approved)):
        event = FeedbackEvent(f"e{j}", f"a{j}", phi, np.zeros(0), bool(y), task_reward=0.0)
        for learner in (dvs, without, logistic):
            assert learner.update(event).applied
    test_x = np.random.default_rng(9).normal(size=(200, 4))
    true_p = _sigmoid(test_x @ truth)
    p_dvs = dvs.predict_approval(test_x, np.zeros(0))
    p_logistic = logistic.predict_approval(test_x, np.zeros(0))
    p_without = without.predict_approval(test_x, np.zeros(0))
    assert np.mean(np.abs(p_dvs - p_logistic)) < 0.05
    assert np.corrcoef(p_dvs, true_p)[0, 1] > 0.95
    assert np.mean(np.abs(p_without - true_p)) > 2 * np.mean(np.abs(p_dvs - true_p))


def test_known_fingerprints_compass_reaches_true_profile():
    """Exact hints (known fingerprints), a compass starting uniform: after 60 answers its mean is
    the person's profile (cosine ≥ 0.95). (Whether the 90 % credible region covers it is a
    property over many seeds: ``moral-compass eval`` reports it.)"""
    # the person draws their own response model; the profile is drawn at the base
    # concentration (this seed's own draw, c ≈ 0.5, is a flat profile: 60 answers give 0.94)
    scenario = make_scenario(
        "fixed_profile", seed=4, hint_noise=0.0, concentration_scale_range=(1.0, 1.0)
    )
    config = LearnerConfig(
        feature_dim=8, context_dim=3, n_particles=256, n_fingerprint_samples=16, seed=4
    )
    learner = DynamicValueLearner(config)
    start = learner.compass.mean
    np.testing.assert_allclose(start, 0.2, atol=0.03)
    truth = scenario.true_profile()
    for t in range(60):
        cs = scenario.propose()
        scores = learner.score(
            np.array(cs.features),
            np.array(cs.context),
            np.array(cs.reward_mean),
            np.array(cs.reward_std),
            np.array(cs.value_hints),
        )
        index = scores.selected if t % 2 else t % len(cs)  # half the answers to fixed picks
        response = scenario.respond(cs, index)
        result = learner.update(
            FeedbackEvent(
                f"f{t}",
                cs.ids[index],
                np.array(cs.features[index]),
                np.array(cs.context),
                bool(response.approved),
                task_reward=response.task_reward,
                value_hint=np.array(cs.value_hints[index]),
            )
        )
        assert result.applied
    mean = learner.compass.mean
    cosine = mean @ truth / (np.linalg.norm(mean) * np.linalg.norm(truth))
    assert cosine >= 0.95, (mean, truth)
    assert np.linalg.norm(mean - truth) < np.linalg.norm(start - truth) / 2
    assert all(s == "hint" for s in scores.fingerprint_source)


def test_scores_are_in_log_odds_and_add_up():
    config = LearnerConfig(
        feature_dim=3,
        context_dim=1,
        n_particles=32,
        n_fingerprint_samples=8,
        information_mode="seek",
        seed=1,
    )
    learner = DynamicValueLearner(config)
    rng = np.random.default_rng(2)
    hints = rng.dirichlet(np.ones(5), size=4)
    hints[3] = np.nan
    scores = learner.score(
        rng.normal(size=(4, 3)),
        rng.normal(size=1),
        rng.normal(size=4),
        np.full(4, 0.5),
        hints,
        hint_sources=("hint", "library", "hint", "hint"),
    )
    p = scores.predicted_approval
    expected = (
        np.log(p / (1 - p))
        + config.lambda_info * scores.info_gain
        + (config.lambda_task - 1.0) * scores.task_term
    )
    np.testing.assert_allclose(scores.total, expected, rtol=0, atol=1e-9)
    mean = learner.response_mean
    np.testing.assert_allclose(
        scores.alignment, mean["beta"] * (mean["tau"] - scores.divergence), atol=1e-9
    )
    assert scores.fingerprint_source == ("hint", "library", "hint", "learned")


def test_fingerprint_library_order_and_errors(tmp_path):
    names = ("care", "fairness", "loyalty")
    library = FingerprintLibrary.from_entries(
        names,
        [
            {"pattern": "*gently", "profile": [2, 1, 1]},
            {"label": "wave gently", "profile": [0, 0, 1]},
            {"id": "a1", "profile": [0, 1, 0]},
        ],
    )
    hints = np.full((4, 3), np.nan)
    hints[3] = [1 / 3] * 3
    out, sources = library.resolve(
        ["a1", "a2", "a3", "a4"], ["wave gently", "wave gently", "lift", "x"], hints
    )
    np.testing.assert_allclose(out[0], [0, 1, 0])
    np.testing.assert_allclose(out[1], [0, 0, 1])
    assert np.isnan(out[2]).all()
    assert sources == ("library", "library", "learned", "hint")
    assert library.lookup("zz", "carry gently") is not None
    np.testing.assert_allclose(library.lookup("zz", "carry gently"), [0.5, 0.25, 0.25])
    with pytest.raises(ValueError, match="entry 0: needs exactly one"):
        FingerprintLibrary.from_entries(names, [{"profile": [1, 0, 0]}])
    with pytest.raises(ValueError, match="entry 0: profile must have 3 values"):
        FingerprintLibrary.from_entries(names, [{"id": "a", "profile": [1, 0]}])
    with pytest.raises(ValueError, match="not all 0"):
        FingerprintLibrary.from_entries(names, [{"id": "a", "profile": [0, 0, -1]}])
    path = tmp_path / "lib.yaml"
    path.write_text("value_names: [care, fairness]\nentries: []\n")
    with pytest.raises(ValueError, match="over values"):
        FingerprintLibrary.load(path, names)


def test_shipped_library_loads():
    from moral_compass_ros.graph import config_file

    library = FingerprintLibrary.load(
        config_file("fingerprint_library.yaml"),
        ("care", "fairness", "loyalty", "authority", "sanctity"),
    )
    assert library.lookup("x", "fetch the part quickly, gently")[0] > 0.5


def test_lexicon_reader_and_planner(tmp_path):
    """The eMFD reader and the lexicon planner on a small table in the eMFD's format."""
    header = (
        "word,"
        + ",".join(f"{k}_p" for k in ("care", "fairness", "loyalty", "authority", "sanctity"))
        + ","
        + ",".join(f"{k}_sent" for k in ("care", "fairness", "loyalty", "authority", "sanctity"))
    )
    rows = [
        f"w{i}," + ",".join(str(v) for v in np.random.default_rng(i).uniform(0, 0.5, 10))
        for i in range(12)
    ]
    rows.append("empty,0,0,0,0,0,0,0,0,0,0")
    path = tmp_path / "emfd_scoring.csv"
    path.write_text("\n".join([header] + rows) + "\n")
    words, fingerprints, sentiment = load_emfd(path)
    assert len(words) == 12 and "empty" not in words
    np.testing.assert_allclose(fingerprints.sum(1), 1.0, atol=1e-12)
    planner = LexiconPlanner(
        words,
        fingerprints,
        sentiment,
        ("care", "fairness", "loyalty", "authority", "sanctity"),
        seed=1,
    )
    cs = planner.propose()
    index = [words.index(label.split(": ")[1]) for label in cs.labels]
    np.testing.assert_allclose(cs.true_fingerprint, fingerprints[index])
    np.testing.assert_allclose(
        cs.features[:, :5], sentiment[index]
    )  # indirect: sentiment, not the ratings
    assert cs.features.shape == (6, 8)
    (tmp_path / "bad.csv").write_text("word,care_p\nx,1\n")
    with pytest.raises(ValueError, match="missing columns"):
        load_emfd(tmp_path / "bad.csv")


def test_credible_ball():
    particles = np.array([[0.5, 0.5], [0.6, 0.4], [0.4, 0.6], [0.9, 0.1]])
    weights = np.array([0.4, 0.25, 0.25, 0.1])
    assert credible_ball_covers(particles, weights, np.array([0.55, 0.45]))
    assert not credible_ball_covers(particles, weights, np.array([1.0, 0.0]))
    assert math.isclose(float(weights.sum()), 1.0)


def test_library_command_writes_the_shipped_library(tmp_path):
    """``moral-compass library --from sim`` reproduces config/fingerprint_library.yaml's
    entries."""
    import yaml

    from moral_compass_ros.graph import config_file
    from moral_compass_ros.tools import library as library_tool

    out = tmp_path / "lib.yaml"
    assert library_tool.main(["--from", "sim", "--out", str(out)]) == 0
    written = yaml.safe_load(out.read_text())
    shipped = yaml.safe_load(config_file("fingerprint_library.yaml").read_text())
    assert written == shipped
    names = tuple(written["value_names"])
    assert len(FingerprintLibrary.load(out, names)) == len(names)


def test_change_points_let_the_compass_follow_an_abrupt_change():
    """Forty answers from one person, then thirty from another with other values: with a change
    hazard the compass ends closer to the second person than without one."""
    rng = np.random.default_rng(5)
    first, second = np.array([0.7, 0.1, 0.1, 0.05, 0.05]), np.array([0.05, 0.05, 0.1, 0.1, 0.7])
    base = dict(
        feature_dim=2,
        context_dim=0,
        n_particles=128,
        n_fingerprint_samples=8,
        seed=2,
    )
    learners = {
        h: DynamicValueLearner(LearnerConfig(**base, change_hazard=h)) for h in (0.0, 0.05)
    }
    for t in range(70):
        truth = first if t < 40 else second
        hint = rng.dirichlet(np.ones(5) * 0.7)
        approved = rng.random() < _sigmoid(30.0 * (0.3 - np.sum((truth - hint) ** 2)))
        event = FeedbackEvent(
            f"c{t}",
            f"a{t}",
            rng.normal(size=2),
            np.zeros(0),
            bool(approved),
            task_reward=0.0,
            value_hint=hint,
        )
        for learner in learners.values():
            assert learner.update(event).applied
    distance = {
        h: np.linalg.norm(learner.compass.mean - second) for h, learner in learners.items()
    }
    assert distance[0.05] < distance[0.0], distance


def test_a_snapshot_of_the_previous_state_format_is_replaced_by_a_journal_replay(tmp_path):
    """An upgraded robot: its newest snapshot has the old state format (other likelihood
    parameters, no task values). Restoring warns, replays the whole journal and reaches the
    state of a learner that applied the same answers directly."""
    config = small_config()
    rng = np.random.default_rng(3)
    events = [random_event(rng, i, config) for i in range(6)]
    store = LearnerStore(tmp_path / "state")
    direct = DynamicValueLearner(config)
    for event in events:
        store.append(event)
        assert direct.update(event).applied
    old = direct.state_dict()
    old["format"] = 1  # what the previous release wrote
    store.snapshots.save(old, store.journal.last_seq)
    learner, report = store.restore(
        lambda: DynamicValueLearner(config),
        lambda state: DynamicValueLearner.from_state_dict(config, state),
    )
    assert report.replayed == len(events) and report.snapshot_seq == 0
    assert any("replaying the whole journal" in w for w in report.warnings)
    np.testing.assert_allclose(
        learner.compass.particles, direct.compass.particles, rtol=0, atol=1e-9
    )
    assert learner.version == direct.version
    store.close()
