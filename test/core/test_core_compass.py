# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Value space and compass: simplex checks, summaries, resampling (``doc/design.md`` §1, §7)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core_helpers import assert_on_simplex
from moral_compass_ros.core import DEFAULT_VALUE_NAMES, Compass, SimplexError, ValueSpace


def test_default_value_names_and_dim():
    space = ValueSpace()
    assert (
        space.names
        == DEFAULT_VALUE_NAMES
        == ("care", "fairness", "loyalty", "authority", "sanctity")
    )
    assert space.dim == 5
    np.testing.assert_allclose(space.center, np.full(5, 0.2))


@pytest.mark.parametrize("names", [("care",), ("care", "care"), ("care", "")])
def test_value_space_rejects_bad_names(names):
    with pytest.raises(ValueError):
        ValueSpace(names)


@pytest.mark.parametrize(
    "theta, fragment",
    [
        (np.array([0.5, 0.5, 0.0, 0.0]), "last axis"),
        (np.array([0.6, 0.5, -0.1, 0.0, 0.0]), "negative"),
        (np.array([0.5, 0.4, 0.0, 0.0, 0.0]), "sum to 1"),
        (np.array([np.nan, 1.0, 0.0, 0.0, 0.0]), "NaN"),
    ],
)
def test_off_simplex_theta_raises_simplex_error(theta, fragment):
    with pytest.raises(SimplexError, match=fragment):
        ValueSpace().check(theta)
    assert issubclass(SimplexError, ValueError)


def test_compass_summaries_match_direct_formulas():
    rng = np.random.default_rng(0)
    theta = rng.dirichlet(np.ones(5), size=50)
    w = rng.dirichlet(np.ones(50))
    q = Compass(theta, w)
    np.testing.assert_allclose(q.mean, (w[:, None] * theta).sum(0), atol=1e-15)
    np.testing.assert_allclose(q.covariance, np.cov(theta.T, aweights=w, bias=True), atol=1e-14)
    assert q.entropy == pytest.approx(-np.sum(w * np.log(w)), abs=1e-12)
    assert q.ess == pytest.approx(1.0 / np.sum(w**2), rel=1e-12)
    uniform = Compass(theta, np.full(50, 1 / 50))
    assert uniform.entropy == pytest.approx(math.log(50))
    assert uniform.ess == pytest.approx(50)


def test_compass_is_immutable_and_round_trips():
    rng = np.random.default_rng(1)
    q = Compass.prior(ValueSpace(), 20, rng)
    particles, weights = q.to_arrays()
    particles[0] = 0.0  # a copy: the compass is unaffected
    with pytest.raises(ValueError):
        q.particles[0, 0] = 1.0
    again = Compass.from_arrays(*q.to_arrays())
    np.testing.assert_array_equal(again.particles, q.particles)
    np.testing.assert_array_equal(again.weights, q.weights)
    assert_on_simplex(q.particles)


@pytest.mark.parametrize(
    "particles, weights, fragment",
    [
        (np.full((3, 5), 0.2), np.array([0.5, 0.6, -0.1]), ">= 0"),
        (np.full((3, 5), 0.2), np.array([0.5, 0.5, 0.5]), "sum to 1"),
        (np.full((3, 5), 0.2), np.array([np.nan, 0.5, 0.5]), "NaN"),
        (np.full((3, 5), 0.2), np.array([0.5, 0.5]), "shape"),
        (np.full((0, 5), 0.2), np.zeros(0), "shape"),
        (np.array([[0.5, 0.6, -0.1, 0, 0]] * 2), np.array([0.5, 0.5]), "negative"),
    ],
)
def test_compass_rejects_bad_arrays(particles, weights, fragment):
    with pytest.raises(ValueError, match=fragment):
        Compass(particles, weights)


def test_prior_is_deterministic_for_a_seed():
    a = Compass.prior(ValueSpace(), 30, np.random.default_rng(7))
    b = Compass.prior(ValueSpace(), 30, np.random.default_rng(7))
    np.testing.assert_array_equal(a.particles, b.particles)
    np.testing.assert_allclose(a.weights, 1 / 30)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=1, max_value=60),
    st.integers(min_value=0, max_value=2**32 - 1),
    st.floats(min_value=0.05, max_value=5.0),
)
def test_systematic_resampling_counts_and_simplex(n, seed, spread):
    """Without jitter, systematic resampling gives each particle floor/ceil(N w_i) copies."""
    rng = np.random.default_rng(seed)
    theta = rng.dirichlet(np.full(4, spread), size=n)
    theta /= theta.sum(1, keepdims=True)
    w = rng.dirichlet(np.full(n, spread))
    w /= w.sum()
    q = Compass(theta, w)
    out = q.resample(np.random.default_rng(seed + 1), math.inf)
    distance = np.abs(out.particles[:, None, :] - theta[None, :, :]).sum(-1)
    assert np.all(distance.min(axis=1) < 1e-12)  # every output is a copy of an ancestor
    counts = np.bincount(distance.argmin(axis=1), minlength=n)
    assert np.all(counts >= np.floor(n * w) - 1e-9) and np.all(counts <= np.ceil(n * w) + 1e-9)
    np.testing.assert_allclose(out.weights, 1.0 / n)
    jittered = q.resample(np.random.default_rng(seed + 2), 50.0)
    assert_on_simplex(jittered.particles)
    np.testing.assert_allclose(jittered.weights, 1.0 / n)


def test_resampling_jitter_is_centred_on_ancestor():
    theta = np.tile(np.array([0.5, 0.3, 0.1, 0.1]), (4000, 1))
    q = Compass(theta, np.full(4000, 1 / 4000))
    out = q.resample(np.random.default_rng(0), 200.0)
    kappa_eff = 200.0 + 4 * 1e-3
    expected_mean = (200.0 * theta[0] + 1e-3) / kappa_eff
    np.testing.assert_allclose(out.mean, expected_mean, atol=3e-3)
    expected_var = expected_mean * (1 - expected_mean) / (kappa_eff + 1)  # Dirichlet variance
    np.testing.assert_allclose(np.diag(out.covariance), expected_var, rtol=0.15)


def test_resample_rejects_bad_arguments():
    q = Compass.prior(ValueSpace(), 5, np.random.default_rng(0))
    with pytest.raises(TypeError):
        q.resample(0, 10.0)
    with pytest.raises(ValueError, match="jitter_concentration"):
        q.resample(np.random.default_rng(0), 0.0)


def _dirichlet_target(alpha):
    return lambda theta: ((alpha - 1.0) * np.log(np.maximum(theta, 1e-300))).sum(
        axis=1
    )  # log Dir(θ; α) + c


def test_a_move_leaves_its_target_invariant_and_pulls_a_cloud_toward_it():
    rng = np.random.default_rng(0)
    alpha = np.array([6.0, 3.0, 1.5])
    mean = alpha / alpha.sum()
    variance = mean * (1 - mean) / (alpha.sum() + 1)
    n = 4000
    exact = Compass(rng.dirichlet(alpha, n), np.full(n, 1 / n))
    moved = exact
    for _ in range(10):
        moved, rate = moved.move(rng, _dirichlet_target(alpha), 30.0)
        assert 0.2 < rate < 1.0
    np.testing.assert_allclose(moved.mean, mean, atol=0.01)
    np.testing.assert_allclose(np.diag(moved.covariance), variance, rtol=0.15)
    # the jitter alone (no accept/reject) widens the same cloud: what the moves correct
    jittered = exact
    for _ in range(10):
        jittered = jittered.resample(rng, 30.0)
    assert np.diag(jittered.covariance).sum() > 1.3 * variance.sum()
    # from the uniform prior the moves reach the target
    cloud = Compass(rng.dirichlet(np.ones(3), n), np.full(n, 1 / n))
    for _ in range(60):
        cloud, _ = cloud.move(rng, _dirichlet_target(alpha), 30.0)
    np.testing.assert_allclose(cloud.mean, mean, atol=0.02)


def test_a_move_keeps_the_weights_and_refuses_a_bad_concentration():
    rng = np.random.default_rng(1)
    weights = rng.dirichlet(np.ones(50))
    q = Compass(rng.dirichlet(np.ones(4), 50), weights)
    moved, _ = q.move(rng, lambda theta: np.zeros(len(theta)), 50.0)
    np.testing.assert_array_equal(moved.weights, q.weights)
    assert_on_simplex(moved.particles)
    for bad in (0.0, math.inf):
        with pytest.raises(ValueError, match="move concentration"):
            q.move(rng, lambda theta: np.zeros(len(theta)), bad)
