# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Value space and compass: simplex checks, summaries, resampling (``doc/design.md`` §1, §7)."""

import math

import numpy as np
import pytest

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
