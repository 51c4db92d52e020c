# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Simulated planner: determinism, simplex invariants and the documented generative model."""

import numpy as np
import pytest

from moral_compass_ros.sim import CandidateSet, MORAL_FOUNDATIONS, SimulatedPlanner
from moral_compass_ros.sim._planner import (
    ACTION_VERBS,
    CONTEXT_AR_COEF,
    FINGERPRINT_LOGIT_STD,
    N_TASK_LATENTS,
)
from moral_compass_ros.sim._simplex import clr, softmax

ARRAY_FIELDS = (
    "context",
    "features",
    "reward_mean",
    "reward_std",
    "true_reward",
    "true_fingerprint",
    "value_hints",
)


def rollout(planner, n):
    return [planner.propose() for _ in range(n)]


def assert_sets_equal(a: CandidateSet, b: CandidateSet) -> None:
    assert (a.request_id, a.t, a.ids, a.labels) == (b.request_id, b.t, b.ids, b.labels)
    for name in ARRAY_FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_same_seed_same_episode_and_reset_reproduces():
    p1 = SimulatedPlanner(MORAL_FOUNDATIONS, seed=7)
    p2 = SimulatedPlanner(MORAL_FOUNDATIONS, seed=7)
    run1, run2 = rollout(p1, 30), rollout(p2, 30)
    for a, b in zip(run1, run2):
        assert_sets_equal(a, b)
    p1.reset(seed=7)
    for a, b in zip(rollout(p1, 30), run1):
        assert_sets_equal(a, b)


def test_different_seeds_differ():
    a = SimulatedPlanner(MORAL_FOUNDATIONS, seed=1).propose()
    b = SimulatedPlanner(MORAL_FOUNDATIONS, seed=2).propose()
    assert not np.array_equal(a.features, b.features)
    assert not np.array_equal(a.true_fingerprint, b.true_fingerprint)


def test_reset_without_seed_keeps_world_but_continues_stream():
    p = SimulatedPlanner(MORAL_FOUNDATIONS, seed=3)
    world = p.embedding_values.copy()
    first = p.propose()
    p.reset()
    np.testing.assert_array_equal(p.embedding_values, world)
    again = p.propose()
    assert again.t == 0
    assert not np.array_equal(again.features, first.features)


def test_fingerprints_and_hints_on_simplex_and_ids_unique():
    p = SimulatedPlanner(MORAL_FOUNDATIONS, n_candidates=7, seed=0, hint_prob=0.5)
    seen_ids = set()
    hint_rows = []
    for cs in rollout(p, 50):
        fp = cs.true_fingerprint
        assert fp.shape == (7, 5)
        assert np.all(fp >= 0)
        np.testing.assert_allclose(fp.sum(axis=1), 1.0, atol=1e-9)
        sent = cs.hint_sent
        hint_rows.append(sent)
        assert np.all(np.isnan(cs.value_hints[~sent]))
        np.testing.assert_allclose(cs.value_hints[sent].sum(axis=1), 1.0, atol=1e-9)
        assert np.all(cs.value_hints[sent] >= 0)
        assert len(set(cs.ids)) == len(cs.ids) and not seen_ids & set(cs.ids)
        seen_ids |= set(cs.ids)
        assert all(any(label.startswith(v) for v in ACTION_VERBS) for label in cs.labels)
        assert np.all(np.isfinite(cs.features)) and np.all(cs.reward_std > 0)
    frac = np.mean(np.concatenate(hint_rows))
    n = 50 * 7
    assert abs(frac - 0.5) < 4 * np.sqrt(0.25 / n)


def test_send_hints_false_gives_nan_rows():
    cs = SimulatedPlanner(MORAL_FOUNDATIONS, seed=0, send_hints=False).propose()
    assert np.all(np.isnan(cs.value_hints)) and not cs.hint_sent.any()


def test_candidate_set_is_read_only():
    cs = SimulatedPlanner(MORAL_FOUNDATIONS, seed=0).propose()
    with pytest.raises(ValueError):
        cs.features[0, 0] = 1.0


def test_noise_free_features_decode_fingerprint_exactly():
    # F >= M + K: [A | Bz] has orthonormal columns, so A^T phi = clr(fp) and softmax inverts it.
    p = SimulatedPlanner(
        MORAL_FOUNDATIONS, feature_dim=5 + N_TASK_LATENTS + 1, seed=4, feature_noise=0.0
    )
    emb = np.hstack([p.embedding_values, p.embedding_task])
    np.testing.assert_allclose(emb.T @ emb, np.eye(emb.shape[1]), atol=1e-12)
    cs = p.propose()
    decoded = softmax(cs.features @ p.embedding_values, axis=1)
    np.testing.assert_allclose(decoded, cs.true_fingerprint, atol=1e-9)


def test_fingerprint_is_learnable_from_noisy_features():
    """Least squares from default features to clr(fp), fitted and scored on held-out data."""
    p = SimulatedPlanner(MORAL_FOUNDATIONS, seed=5)
    sets = rollout(p, 300)
    x = np.vstack([np.hstack([cs.features, np.ones((len(cs), 1))]) for cs in sets])
    y = np.vstack([clr(cs.true_fingerprint) for cs in sets])
    n_train = len(x) // 2
    coef, *_ = np.linalg.lstsq(x[:n_train], y[:n_train], rcond=None)
    resid = y[n_train:] - x[n_train:] @ coef
    r2 = 1.0 - resid.var(axis=0) / y[n_train:].var(axis=0)
    assert np.all(r2 > 0.95), r2


def test_context_is_ar1_and_shifts_fingerprints_as_documented():
    p = SimulatedPlanner(MORAL_FOUNDATIONS, context_dim=2, n_candidates=4, seed=11)
    sets = rollout(p, 4000)
    s = np.array([cs.context for cs in sets])
    # lag-1 autocorrelation of a stationary AR(1) is rho (std error ~ sqrt((1 - rho^2) / n))
    lag1 = np.mean(s[1:] * s[:-1], axis=0) / np.mean(s * s, axis=0)
    np.testing.assert_allclose(
        lag1, CONTEXT_AR_COEF, atol=5 * np.sqrt((1 - CONTEXT_AR_COEF**2) / len(s))
    )
    assert not np.array_equal(s[0], s[1])
    # clr(fp_b) = centre(G s_t) + centre(sigma_fp xi_b): regress on s to recover centred G
    x = np.repeat(s, 4, axis=0)
    y = np.vstack([clr(cs.true_fingerprint) for cs in sets])
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    g = p.context_to_logits
    g_centred = g - g.mean(axis=0, keepdims=True)
    # i.i.d. noise: std error of each coefficient <= sigma_fp / sqrt(n * var(s)); allow 5 of
    # them with var(s) >= 1/2 (the sample variance of a correlated series fluctuates)
    tol = 5 * FINGERPRINT_LOGIT_STD / np.sqrt(0.5 * len(y))
    np.testing.assert_allclose(coef.T, g_centred, atol=tol)


def test_reward_estimate_is_honest():
    p = SimulatedPlanner(MORAL_FOUNDATIONS, seed=9)
    sets = rollout(p, 400)
    z = np.concatenate([(cs.reward_mean - cs.true_reward) / cs.reward_std for cs in sets])
    n = len(z)
    assert abs(z.mean()) < 4 / np.sqrt(n)
    assert abs(z.std() - 1.0) < 4 * np.sqrt(0.5 / n)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(feature_dim=3),  # < M - 1
        dict(n_candidates=0),
        dict(hint_prob=1.5),
        dict(context_ar=1.0),
        dict(feature_noise=-1.0),
    ],
)
def test_invalid_planner_arguments(kwargs):
    with pytest.raises(ValueError):
        SimulatedPlanner(MORAL_FOUNDATIONS, seed=0, **kwargs)


def test_a_scenarios_planner_stream_is_independent_of_its_people():
    """Drawing each person's response model comes from the people stream: the candidate sets
    of a seed are the same whatever the people's ranges."""
    from moral_compass_ros.sim import make_scenario

    a = make_scenario("fixed_profile", seed=21)
    b = make_scenario("fixed_profile", seed=21, tau_range=(0.2, 0.2), beta_range=(9.0, 70.0))
    for _ in range(4):
        assert_sets_equal(a.propose(), b.propose())
