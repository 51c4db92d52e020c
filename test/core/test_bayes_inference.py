# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Bayes-grade inference (doc/design.md §11): the particle posterior against exact grid
posteriors, the residual that steps aside, the bounds, and the defects the redesign fixed."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moral_compass_ros.core import BayesLearner, DynamicValueLearner, FeedbackEvent, LearnerConfig
from moral_compass_ros.core.baselines import LogisticLearner
from moral_compass_ros.core.fingerprint import numpy_generator
from moral_compass_ros.core.posterior import DirichletMixture, ParticlePosterior, ResponsePrior
from moral_compass_ros.core.residual import BayesianResidual

HINT_STRENGTH = 20.0
FLOOR = 0.05


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _two_value_answers(rng, theta, beta, tau, rho, n):
    """n answers of a person with values (θ, 1−θ) to random profiles (M = 2)."""
    x = rng.uniform(0, 1, size=n)
    profiles = np.stack([x, 1 - x], axis=1)
    rewards = rng.normal(size=n)
    conc = FLOOR + HINT_STRENGTH * profiles
    alpha0 = conc.sum(1)
    mean = conc / alpha0[:, None]
    trace = (1 - (mean**2).sum(1)) / (alpha0 + 1)
    cost = ((np.array([theta, 1 - theta]) - mean) ** 2).sum(1) + trace
    approved = rng.random(n) < _sigmoid(beta * (tau - cost) + rho * rewards)
    return conc, rewards, approved, mean, trace


def _grid_posterior(conc_mean, trace, rewards, approved, beta_range, tau_range, rho_range, gamma):
    """Exact posterior on a grid over (θ_0, log β, τ, ρ) with uniform priors (tempered by γ)."""
    theta = np.linspace(0.0, 1.0, 81)
    log_beta = np.linspace(math.log(beta_range[0]), math.log(beta_range[1]), 24)
    tau = np.linspace(*tau_range, 24)
    rho = np.linspace(*rho_range, 8)
    t, lb, ta, r = np.meshgrid(theta, log_beta, tau, rho, indexing="ij")
    log_post = np.zeros(t.shape)
    n = len(approved)
    for j in range(n):
        point = np.array([t, 1 - t])
        cost = ((point - conc_mean[j][:, None, None, None, None]) ** 2).sum(0) + trace[j]
        logit = np.exp(lb) * (ta - cost) + r * rewards[j]
        sign = 1.0 if approved[j] else -1.0
        log_post += gamma ** (n - 1 - j) * -np.logaddexp(0.0, -sign * logit)
    weight = np.exp(log_post - log_post.max())
    weight /= weight.sum()
    mean = (weight * t).sum()
    return {
        "theta": mean,
        "theta_sd": math.sqrt((weight * (t - mean) ** 2).sum()),
        "beta": (weight * np.exp(lb)).sum(),
    }


def _posterior(n, gamma=1.0, seed=0, hazard=0.0):
    return ParticlePosterior(
        DirichletMixture(np.ones(2)),
        ResponsePrior((2.0, 100.0), (0.0, 1.0), (0.0, 2.0)),
        n,
        np.random.default_rng(seed),
        gamma=gamma,
        change_hazard=hazard,
    )


def test_particle_posterior_equals_an_exact_grid_posterior_on_a_small_case():
    rng = np.random.default_rng(4)
    conc, rewards, approved, mean, trace = _two_value_answers(rng, 0.8, 25.0, 0.3, 1.0, 40)
    posterior = _posterior(20000)
    step = np.random.default_rng(9)
    for j in range(len(approved)):
        posterior.observe(conc[j], rewards[j], approved[j], 1.0, step)
        posterior.reweigh()
        posterior.maybe_resample(step)
    grid = _grid_posterior(mean, trace, rewards, approved, (2.0, 100.0), (0.0, 1.0), (0, 2), 1.0)
    w = posterior.weights
    np.testing.assert_allclose(w @ posterior.theta[:, 0], grid["theta"], atol=0.015)
    np.testing.assert_allclose(w @ np.exp(posterior.response[:, 0]), grid["beta"], rtol=0.08)
    assert posterior.ess > 1000  # resample-move keeps it healthy


def test_forgetting_keeps_acting_after_a_resampling():
    """γ < 1: after a resampling the weights are still exact importance weights of the
    tempered posterior, which stays broader than the plain one (before the fix, a resampling
    reset w^γ to uniform and the old answers counted fully from then on)."""
    rng = np.random.default_rng(5)
    conc, rewards, approved, mean, trace = _two_value_answers(rng, 0.6, 30.0, 0.3, 0.5, 24)
    posterior = _posterior(20000, gamma=0.75)
    step = np.random.default_rng(3)
    for j in range(len(approved)):
        posterior.observe(conc[j], rewards[j], approved[j], 1.0, step)
        posterior.reweigh()
        if j in (7, 15):
            posterior.resample_move(step)
    ranges = ((2.0, 100.0), (0.0, 1.0), (0, 2))
    forgetting = _grid_posterior(mean, trace, rewards, approved, *ranges, 0.75)
    plain = _grid_posterior(mean, trace, rewards, approved, *ranges, 1.0)
    w, theta = posterior.weights, posterior.theta[:, 0]
    estimate = w @ theta
    spread = math.sqrt(w @ (theta - estimate) ** 2)
    assert forgetting["theta_sd"] > 1.3 * plain["theta_sd"]  # forgetting visibly broadens it
    np.testing.assert_allclose(estimate, forgetting["theta"], atol=0.02)
    np.testing.assert_allclose(spread, forgetting["theta_sd"], rtol=0.1)


def test_change_points_pick_different_victims_among_equal_weights():
    """After a resampling every weight is equal; the change points must not replace the same
    particles every time (before the fix they took the first ⌈hN⌉ indices)."""
    posterior = _posterior(200, hazard=0.05)
    step = np.random.default_rng(0)
    posterior.observe(np.array([10.0, 10.0]), 0.0, True, 1.0, step)
    posterior.reweigh()
    replaced = []
    for _ in range(2):
        posterior.resample_move(step)
        births = posterior.birth.copy()
        posterior.observe(np.array([10.0, 10.0]), 0.0, True, 1.0, step)
        posterior.reweigh()
        replaced.append(set(np.flatnonzero(posterior.birth != births)))
    assert all(len(r) == 10 for r in replaced)
    assert replaced[0] != replaced[1]


def _config(**changes):
    base = dict(feature_dim=4, context_dim=2, n_particles=256, seed=1)
    base.update(changes)
    return LearnerConfig(**base)


def _hinted_world(rng, n_candidates=6):
    features = rng.normal(size=(n_candidates, 4))
    context = rng.normal(size=2)
    profiles = rng.dirichlet(np.ones(5), size=n_candidates)
    rewards = rng.normal(size=n_candidates) * 0.5
    return features, context, profiles, rewards


def _value_person(theta, beta, tau, rho):
    def approve(profiles, rewards, rng):
        return _sigmoid(beta * (tau - ((theta - profiles) ** 2).sum(1)) + rho * rewards)

    return approve


def _run(learner, person, rng, n, hints=True, features_fn=None):
    """n answers; returns the true approval probability of every chosen action."""
    chosen = []
    for t in range(n):
        features, context, profiles, rewards = _hinted_world(rng)
        if features_fn is not None:
            p = features_fn(features)
        else:
            p = person(profiles, rewards, rng)
        scores = learner.score(
            features, context, rewards, np.full(6, 0.3), profiles if hints else None
        )
        i = scores.selected
        chosen.append(p[i] / p.max())
        learner.update(
            FeedbackEvent(
                feedback_id=str(t),
                action_id=f"a{i}",
                features=features[i],
                context=context,
                approved=bool(rng.random() < p[i]),
                task_reward=float(rewards[i]),
                value_hint=profiles[i] if hints else np.zeros(0),
            )
        )
    return np.array(chosen)


@pytest.mark.parametrize("beta, tau", [(6.0, 0.12), (90.0, 0.5)])
def test_a_person_far_from_the_old_defaults_is_learned(beta, tau):
    """β and τ far from the old point-fit defaults (β 20, τ 0.3): DVS chooses as well as exact
    Bayes with the same knowledge does."""
    theta = np.array([0.6, 0.25, 0.05, 0.05, 0.05])
    person = _value_person(theta, beta, tau, 0.5)
    results = {}
    for name, learner in (
        ("dvs", DynamicValueLearner(_config())),
        ("bayes", BayesLearner(_config())),
    ):
        ratio = _run(learner, person, np.random.default_rng(2), 80)
        mean = learner.compass.mean
        cosine = mean @ theta / np.linalg.norm(mean) / np.linalg.norm(theta)
        results[name] = (ratio[-30:].mean(), cosine)
    # approval as exact Bayes's; the compass near the truth (each chose its own actions, and
    # DVS avoids the informative ones by default, so their compasses are not compared)
    assert results["dvs"][0] >= results["bayes"][0] - 0.05
    assert results["dvs"][1] > 0.8


def test_with_known_profiles_the_residual_steps_aside_and_dvs_matches_bayes():
    theta = np.array([0.1, 0.6, 0.1, 0.1, 0.1])
    person = _value_person(theta, 30.0, 0.3, 1.0)
    dvs = DynamicValueLearner(_config())
    bayes = BayesLearner(_config())
    ratios = {}
    for name, learner in (("dvs", dvs), ("bayes", bayes)):
        ratios[name] = _run(learner, person, np.random.default_rng(7), 60)
    # the evidence moves away from the large residual scales; the residual's mean is small
    residual = dvs._residual
    assert residual.model_weights[-1] < residual.model_weights[0]
    assert np.abs(residual.model_weights @ residual.mean).max() < 0.2
    assert ratios["dvs"][-20:].mean() >= ratios["bayes"][-20:].mean() - 0.05
    features, context, profiles, rewards = _hinted_world(np.random.default_rng(11))
    np.testing.assert_allclose(
        dvs.predict_approval(features, context, profiles, rewards),
        bayes.predict_approval(features, context, profiles, rewards),
        atol=0.1,
    )


def test_on_a_logistic_world_dvs_matches_logistic_regression():
    """Answers from a logistic model of the features alone: the residual takes over."""
    weights = np.array([1.5, -1.0, 0.8, 0.0])

    def truth(features):
        return _sigmoid(features @ weights)

    runs = {}
    for name, learner in (
        ("dvs", DynamicValueLearner(_config())),
        ("logistic", LogisticLearner(_config())),
    ):
        runs[name] = _run(learner, None, np.random.default_rng(3), 80, False, truth)
        if name == "dvs":
            assert learner.residual_scale > 0.3  # the evidence moved to the residual
    assert runs["dvs"][-40:].mean() >= runs["logistic"][-40:].mean() - 0.05


def test_the_residual_evidence_prefers_no_residual_when_the_offset_explains_the_answers():
    rng = np.random.default_rng(0)
    residual = BayesianResidual(3, (0.0, 0.3, 1.0))
    for _ in range(200):
        x = rng.normal(size=3)
        offset = rng.normal() * 3
        residual.update(x, offset, bool(rng.random() < _sigmoid(offset)), 1.0)
    assert residual.model_weights[0] > 3 * residual.model_weights[-1]
    assert np.abs(residual.model_weights @ residual.mean).max() < 0.3
    other = BayesianResidual(3, (0.0, 0.3, 1.0))
    for _ in range(200):
        x = rng.normal(size=3)
        other.update(x, 0.0, bool(rng.random() < _sigmoid(2 * x[0])), 1.0)
    assert other.model_weights[0] < 1e-3
    np.testing.assert_allclose(other.model_weights @ other.mean[:, 0], 2.0, atol=0.5)


def test_predict_approval_equals_the_scores_prediction_with_planner_rewards():
    """predict_approval used to leave out the planner's reward estimate that score uses."""
    learner = DynamicValueLearner(_config())
    features, context, profiles, rewards = _hinted_world(np.random.default_rng(1))
    scores = learner.score(features, context, rewards * 5, np.full(6, 0.1), profiles)
    np.testing.assert_allclose(
        learner.predict_approval(features, context, profiles, rewards * 5, np.full(6, 0.1)),
        scores.predicted_approval,
        rtol=1e-12,
    )


def test_the_predictive_rule_executes_the_highest_predicted_approval():
    learner = DynamicValueLearner(_config(lambda_info=0.0))
    rng = np.random.default_rng(8)
    _run(learner, _value_person(np.full(5, 0.2), 30.0, 0.3, 1.0), rng, 10)
    for _ in range(20):
        features, context, profiles, rewards = _hinted_world(rng)
        scores = learner.score(features, context, rewards, None, profiles)
        assert scores.selected == int(np.argmax(scores.predicted_approval))


def test_the_seed_rule_weighs_the_residual_with_the_alignment():
    """The residual is part of the person's approval model: the seed rule scales it by λ_align
    (it was added unscaled)."""
    rng = np.random.default_rng(5)
    learner = DynamicValueLearner(_config(selection_rule="seed", lambda_align=0.0))
    _run(learner, None, rng, 30, False, lambda f: _sigmoid(3 * f[:, 0]))
    features, context, profiles, rewards = _hinted_world(rng)
    scores = learner.score(features, context, rewards, None, None)
    assert np.abs(scores.residual).max() > 0.1
    np.testing.assert_allclose(
        scores.total, scores.lambdas["task"] * scores.task_term - scores.info_gain, atol=1e-9
    )


def test_the_proximal_rule_counts_the_newest_answer_once():
    """With the proximal Step 3 the newest answer moves the particles instead of re-weighing
    them: with a zero step the weights are those before the answer (they used to take the
    answer's likelihood, and the proximal step then counted it again)."""
    config = _config(update_rule="proximal", proximal_lr=0.0, change_hazard=0.0)
    learner = DynamicValueLearner(config)
    features, context, profiles, rewards = _hinted_world(np.random.default_rng(2))
    before = learner.compass.weights.copy()
    event = FeedbackEvent(
        feedback_id="one",
        action_id="a0",
        features=features[0],
        context=context,
        approved=True,
        task_reward=float(rewards[0]),
        value_hint=profiles[0],
    )
    learner.update(event)
    np.testing.assert_allclose(learner.compass.weights, before, atol=1e-12)
    bayes = DynamicValueLearner(config.replace(update_rule="bayes"))
    bayes.update(event)
    assert np.abs(bayes.compass.weights - before).max() > 1e-4


@pytest.mark.parametrize("rule", ["bayes", "proximal"])
def test_a_restored_learner_continues_exactly(rule):
    rng = np.random.default_rng(4)
    config = _config(update_rule=rule, n_particles=64, ess_threshold=0.9)
    learner = DynamicValueLearner(config)
    person = _value_person(np.full(5, 0.2), 20.0, 0.3, 1.0)
    _run(learner, person, rng, 8)
    copy = DynamicValueLearner.from_state_dict(config, learner.state_dict())
    tail_a = _run(learner, person, np.random.default_rng(9), 6)
    tail_b = _run(copy, person, np.random.default_rng(9), 6)
    np.testing.assert_allclose(tail_a, tail_b, rtol=0, atol=0)
    np.testing.assert_allclose(learner.compass.particles, copy.compass.particles, atol=1e-9)
    np.testing.assert_allclose(learner.compass.weights, copy.compass.weights, atol=1e-9)


def test_the_bayes_bound_reports_a_healthy_ess():
    bayes = BayesLearner(_config(), n_particles=2048)
    _run(bayes, _value_person(np.full(5, 0.2), 40.0, 0.3, 1.0), np.random.default_rng(0), 60)
    assert bayes.ess > 2048 * 0.3


def test_the_seed_generator_purposes_are_distinct():
    a = numpy_generator(0, 1, "posterior").random()
    b = numpy_generator(0, 1, "bayes").random()
    assert a != b


def test_the_population_prior_is_matched_to_the_people_s_profiles():
    from moral_compass_ros.core.pretrain import dirichlet_by_moments

    alpha = np.array([4.0, 1.0, 2.0, 0.5, 0.5])
    profiles = np.random.default_rng(0).dirichlet(alpha, size=4000)
    np.testing.assert_allclose(dirichlet_by_moments(profiles), alpha, rtol=0.1)


def test_a_compass_prior_alpha_sets_the_starting_compass():
    alpha = (8.0, 1.0, 1.0, 1.0, 1.0)
    learner = DynamicValueLearner(_config(n_particles=4000, compass_prior_alpha=alpha))
    np.testing.assert_allclose(learner.compass.mean, np.array(alpha) / sum(alpha), atol=0.01)


def test_the_bayes_bound_equals_an_exact_grid_posterior():
    """The ``bayes`` bound of ``moral-compass eval`` on M = 2: hints as fingerprints, β, τ, ρ
    unknown under the package's priors; its compass is the grid posterior's."""
    rng = np.random.default_rng(6)
    conc, rewards, approved, mean, trace = _two_value_answers(rng, 0.3, 20.0, 0.4, 1.5, 30)
    config = LearnerConfig(
        value_names=("care", "fairness"),
        feature_dim=1,
        context_dim=0,
        hint_strength=HINT_STRENGTH,
        concentration_floor=FLOOR,
        seed=2,
    )
    bayes = BayesLearner(config, n_particles=20000)
    for j in range(len(approved)):
        hint = (conc[j] - FLOOR) / HINT_STRENGTH
        event = FeedbackEvent(
            f"e{j}", "a", np.zeros(1), np.zeros(0), bool(approved[j]), rewards[j], hint
        )
        assert bayes.update(event).applied
    grid = _grid_posterior(
        mean, trace, rewards, approved, *((2.0, 100.0), (0.0, 1.0), (0, 4)), 1.0
    )
    np.testing.assert_allclose(bayes.compass.mean[0], grid["theta"], atol=0.015)
    assert bayes.ess > 2000


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=1, max_value=60),
    st.integers(min_value=0, max_value=2**32 - 1),
    st.floats(min_value=0.05, max_value=5.0),
)
def test_systematic_resampling_gives_each_particle_floor_or_ceil_copies(n, seed, spread):
    from moral_compass_ros.core.posterior import systematic_ancestors

    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.full(n, spread))
    counts = np.bincount(systematic_ancestors(w / w.sum(), rng.random()), minlength=n)
    assert counts.sum() == n
    assert np.all(counts >= np.floor(n * w) - 1e-9) and np.all(counts <= np.ceil(n * w) + 1e-9)


def test_a_move_leaves_its_target_invariant_and_pulls_a_cloud_toward_it():
    """With no answers the target is the prior: moves keep a cloud drawn from it where it is,
    and bring a cloud drawn elsewhere to it (resample-move's correctness)."""
    alpha = np.array([6.0, 3.0, 1.5])
    mean = alpha / alpha.sum()
    variance = mean * (1 - mean) / (alpha.sum() + 1)
    posterior = ParticlePosterior(
        DirichletMixture(alpha),
        ResponsePrior((2.0, 100.0), (0.0, 1.0), (0.0, 2.0)),
        4000,
        np.random.default_rng(0),
        jitter_concentration=30.0,
        move_steps=10,
    )
    posterior.resample_move(np.random.default_rng(1))
    assert 0.2 < posterior.last_acceptance < 1.0
    w = posterior.weights
    np.testing.assert_allclose(w @ posterior.theta, mean, atol=0.01)
    spread = w @ (posterior.theta - mean) ** 2
    np.testing.assert_allclose(spread, variance, rtol=0.15)
    posterior.theta = np.random.default_rng(2).dirichlet(np.ones(3), 4000)  # elsewhere
    posterior.reweigh()
    step = np.random.default_rng(3)
    for _ in range(6):
        posterior.resample_move(step)
    np.testing.assert_allclose(posterior.weights @ posterior.theta, mean, atol=0.02)


def test_without_jitter_the_moves_change_only_the_response_parameters():
    posterior = _posterior(500)
    posterior.jitter_concentration = math.inf
    theta = posterior.theta.copy()
    response = posterior.response.copy()
    posterior.resample_move(np.random.default_rng(0))
    rows = {tuple(r) for r in np.round(theta, 12)}
    assert all(tuple(r) in rows for r in np.round(posterior.theta, 12))
    assert not np.allclose(posterior.response, response[: len(posterior.response)])
