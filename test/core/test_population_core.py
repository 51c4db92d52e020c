# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Population extension core (``doc/design.md`` §8): average, drift and social pull against known
answers."""

import numpy as np
import ot
import pytest

from moral_compass_ros.core import Compass, sinkhorn_divergence
from moral_compass_ros.core.population import (
    DisjointSupportError,
    average_compass,
    average_weights,
    common_support,
    distances_to_average,
    drift,
    geometric_mixture,
    kappa_from_nu,
    project_onto_support,
    social_pull,
)

EPS = 0.05


def cloud(rng, n, concentration):
    theta = rng.dirichlet(concentration, size=n)
    theta /= theta.sum(axis=1, keepdims=True)
    w = rng.uniform(0.5, 1.5, size=n)
    return Compass(theta, w / w.sum())


def point(theta):
    return Compass(np.asarray([theta], dtype=float), np.ones(1))


def s_eps(p, q):
    (x, a), (y, b) = p.to_arrays(), q.to_arrays()
    return float(sinkhorn_divergence(x, a, y, b, EPS)[0])


# ----------------------------------------------------------------------------- kappa
@pytest.mark.parametrize(
    "nu, kappa", [(0.0, 0.0), (0.5, 0.5), (1.0, 2 / 3), (1.5, 0.75), (np.inf, 1.0)]
)
def test_kappa_closed_form(nu, kappa):
    assert kappa_from_nu(nu) == pytest.approx(kappa, abs=1e-15)


@pytest.mark.parametrize("nu", [-1.0, np.nan])
def test_kappa_rejects_bad_nu(nu):
    with pytest.raises(ValueError, match="nu"):
        kappa_from_nu(nu)


def test_kappa_is_the_argmin_of_the_kl_objective():
    """q ∝ p^κ q0^(1−κ) minimises KL(q‖p) + (1/2ν) KL(q‖q0) over the simplex (checked by POT-
    independent brute force: no point of a fine random sample of the simplex does better)."""
    rng = np.random.default_rng(0)
    p, q0 = rng.dirichlet(np.ones(4)), rng.dirichlet(np.ones(4))
    nu = 0.7

    def objective(q):
        return np.sum(q * np.log(q / p)) + np.sum(q * np.log(q / q0)) / (2 * nu)

    best = geometric_mixture(p, q0, kappa_from_nu(nu))
    trials = rng.dirichlet(np.ones(4), size=20000)
    assert objective(best) <= min(objective(q) for q in trials) + 1e-12
    # and a small perturbation along the simplex does not decrease it (stationary point)
    for _ in range(20):
        d = rng.normal(size=4)
        d -= d.mean()
        assert objective(best + 1e-4 * d) >= objective(best) - 1e-12


# ----------------------------------------------------------------------------- average
def test_average_of_point_masses_is_known_exactly():
    vertices = np.eye(3)
    average = average_compass([point(v) for v in vertices])
    np.testing.assert_allclose(average.particles, vertices, atol=0)
    np.testing.assert_allclose(average.weights, np.full(3, 1 / 3), atol=1e-15)
    np.testing.assert_allclose(average.mean, np.full(3, 1 / 3), atol=1e-15)


def test_average_mean_is_the_mean_of_means_and_weights_are_divided_by_n():
    rng = np.random.default_rng(1)
    clouds = [cloud(rng, n, np.ones(5)) for n in (10, 20, 7)]
    average = average_compass(clouds)
    assert average.n_particles == 37
    np.testing.assert_allclose(average.weights.sum(), 1.0, atol=1e-12)
    np.testing.assert_allclose(average.weights[:10], clouds[0].weights / 3, atol=1e-15)
    np.testing.assert_allclose(average.mean, np.mean([c.mean for c in clouds], axis=0), atol=1e-12)


def test_average_weights_on_a_common_support():
    w = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    np.testing.assert_allclose(average_weights(w), [0.5, 0.25, 0.25], atol=1e-15)
    with pytest.raises(ValueError, match="sum to 1"):
        average_weights(np.array([[0.5, 0.1]]))


def test_average_rejects_empty_and_mixed_dimensions():
    with pytest.raises(ValueError, match="at least one"):
        average_compass([])
    with pytest.raises(ValueError, match="dimensions"):
        average_compass([point([0.5, 0.5]), point([1.0, 0.0, 0.0])])


def test_distances_to_average_zero_for_identical_robots_and_symmetric_for_two():
    rng = np.random.default_rng(2)
    a = cloud(rng, 16, [5, 1, 1])
    same = distances_to_average([a, a], average_compass([a, a]), EPS)
    np.testing.assert_allclose(same, 0.0, atol=1e-9)
    b = Compass(a.particles[:, [1, 0, 2]], a.weights)  # mirror image of a
    d = distances_to_average([a, b], average_compass([a, b]), EPS)
    assert d[0] > 1e-3
    np.testing.assert_allclose(d[0], d[1], rtol=1e-6)  # the average is symmetric between them


def test_distances_batch_agrees_with_one_by_one():
    rng = np.random.default_rng(3)
    clouds = [cloud(rng, 12, np.ones(4)), cloud(rng, 12, [4, 1, 1, 1]), cloud(rng, 5, np.ones(4))]
    average = average_compass(clouds)
    batched = distances_to_average(clouds, average, EPS)
    single = [s_eps(c, average) for c in clouds]
    np.testing.assert_allclose(batched, single, rtol=1e-7, atol=1e-10)


# ----------------------------------------------------------------------------- drift
def test_drift_of_a_moving_point_mass():
    a, b = point([0.6, 0.2, 0.2]), point([0.2, 0.6, 0.2])
    estimate = drift(a, b, dt=2.0, epsilon=EPS)
    np.testing.assert_allclose(estimate.mean_velocity, [-0.2, 0.2, 0.0], atol=1e-15)
    assert estimate.mean_speed == pytest.approx(np.sqrt(0.08), abs=1e-15)
    # For point masses S_ε equals the squared distance exactly (every coupling is the product).
    assert estimate.divergence == pytest.approx(0.32, rel=1e-6)
    assert estimate.divergence_rate == pytest.approx(0.16, rel=1e-6)


def test_drift_is_zero_without_change_and_rejects_bad_dt():
    a = cloud(np.random.default_rng(4), 20, np.ones(5))
    estimate = drift(a, a, 1.0, EPS)
    assert estimate.divergence == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(estimate.mean_velocity, 0.0, atol=0)
    with pytest.raises(ValueError, match="dt"):
        drift(a, a, 0.0, EPS)


# ----------------------------------------------------------------------------- mixture
def test_geometric_mixture_closed_form_and_endpoints():
    p = np.array([0.5, 0.25, 0.25])
    q = np.array([0.25, 0.25, 0.5])
    r = geometric_mixture(p, q, 0.5)
    expected = np.sqrt(p * q) / np.sqrt(p * q).sum()
    np.testing.assert_allclose(r, expected, rtol=1e-14)
    np.testing.assert_allclose(r.sum(), 1.0, atol=1e-15)
    np.testing.assert_array_equal(geometric_mixture(p, q, 0.0), q)
    np.testing.assert_array_equal(geometric_mixture(p, q, 1.0), p)


def test_geometric_mixture_is_batched_and_sums_to_one():
    rng = np.random.default_rng(5)
    own = rng.dirichlet(np.ones(8), size=100)  # 100 robots on one 8-point support
    population = average_weights(own)
    r = geometric_mixture(population, own, 0.3)
    assert r.shape == (100, 8)
    np.testing.assert_allclose(r.sum(axis=1), 1.0, atol=1e-13)
    np.testing.assert_allclose(r[17], geometric_mixture(population, own[17], 0.3), rtol=1e-14)


def test_geometric_mixture_refuses_disjoint_and_bad_kappa():
    with pytest.raises(DisjointSupportError):
        geometric_mixture(np.array([1.0, 0.0]), np.array([0.0, 1.0]), 0.5)
    with pytest.raises(ValueError, match="kappa"):
        geometric_mixture(np.ones(2) / 2, np.ones(2) / 2, 1.5)


# ----------------------------------------------------------------------------- social pull
def test_pull_with_identical_clouds_leaves_the_compass_unchanged():
    a = cloud(np.random.default_rng(6), 64, [6, 1, 1, 1, 1])
    for kappa in (0.1, 0.5, 0.9):
        result = social_pull(a, a, kappa)
        assert result.exact
        np.testing.assert_array_equal(result.compass.particles, a.particles)
        np.testing.assert_allclose(result.compass.weights, a.weights, rtol=1e-12)


def test_pull_with_the_same_cloud_in_another_order_is_unchanged_too():
    a = cloud(np.random.default_rng(7), 48, [1, 6, 1, 1, 1])
    order = np.random.default_rng(8).permutation(48)
    shuffled = Compass(a.particles[order], a.weights[order])
    result = social_pull(a, shuffled, 0.5)
    assert not result.exact
    np.testing.assert_allclose(result.compass.particles, a.particles, atol=1e-12)
    np.testing.assert_allclose(result.compass.weights, a.weights, atol=1e-12)


def test_pull_on_a_common_support_is_the_exact_geometric_mixture():
    rng = np.random.default_rng(9)
    theta = rng.dirichlet(np.ones(5), size=32)
    own = Compass(theta, rng.dirichlet(np.ones(32)))
    population = Compass(theta, rng.dirichlet(np.ones(32)))
    nu = 1.0
    kappa = kappa_from_nu(nu)
    result = social_pull(own, population, kappa)
    expected = population.weights**kappa * own.weights ** (1 - kappa)
    np.testing.assert_allclose(result.compass.weights, expected / expected.sum(), rtol=1e-12)
    # κ → 1: the population compass itself
    np.testing.assert_allclose(
        social_pull(own, population, 1.0).compass.weights, population.weights, rtol=1e-12
    )
    np.testing.assert_allclose(
        social_pull(own, population, 1 - 1e-9).compass.weights, population.weights, rtol=1e-6
    )


def test_pull_across_supports_moves_towards_the_population_monotonically():
    rng = np.random.default_rng(10)
    own = cloud(rng, 64, [8, 1, 1, 1, 1])
    population = cloud(rng, 128, [1, 1, 8, 1, 1])
    to_population, to_own = [], []
    for kappa in (0.0, 0.25, 0.5, 0.75, 1.0):
        pulled = social_pull(own, population, kappa).compass
        assert pulled.n_particles == own.n_particles
        np.testing.assert_allclose(pulled.weights.sum(), 1.0, atol=1e-12)
        to_population.append(s_eps(pulled, population))
        to_own.append(s_eps(pulled, own))
    assert to_own[0] == pytest.approx(0.0, abs=1e-9)
    assert np.all(np.diff(to_population) < 0), to_population
    assert np.all(np.diff(to_own) > 0), to_own
    # κ → 1 lands on the population compass (up to the quantisation to 64 points)
    assert to_population[-1] < 0.02 * to_population[0]


def test_common_support_uses_pot_free_support_barycenter():
    rng = np.random.default_rng(11)
    own = cloud(rng, 20, [4, 1, 1])
    population = cloud(rng, 30, [1, 4, 1])
    support, own_w, pop_w = common_support(own, population, 0.5)
    expected = ot.lp.free_support_barycenter(
        [own.particles, population.particles],
        [own.weights, population.weights],
        X_init=own.particles.copy(),
        b=own.weights.copy(),
        weights=np.array([0.5, 0.5]),
        numItermax=20,
        stopThr=1e-7,
    )
    expected = np.clip(expected, 0, None)
    np.testing.assert_allclose(support, expected / expected.sum(axis=1, keepdims=True), atol=1e-12)
    np.testing.assert_allclose([own_w.sum(), pop_w.sum()], 1.0, atol=1e-12)


def test_projection_is_exact_for_the_base_measure():
    rng = np.random.default_rng(12)
    base = cloud(rng, 25, np.ones(4))
    projected = project_onto_support(base.particles, base.weights, base.particles, base.weights)
    np.testing.assert_allclose(projected, base.weights, rtol=1e-12)


def test_pull_is_deterministic():
    rng = np.random.default_rng(13)
    own, population = cloud(rng, 32, [3, 1, 1, 1, 1]), cloud(rng, 64, [1, 1, 1, 3, 1])
    first = social_pull(own, population, 0.4).compass
    second = social_pull(own, population, 0.4).compass
    np.testing.assert_array_equal(first.particles, second.particles)
    np.testing.assert_array_equal(first.weights, second.weights)


def test_core_population_does_not_import_rclpy():
    import ast

    import moral_compass_ros.core.population as module

    tree = ast.parse(open(module.__file__).read())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.split(".")[0] == "rclpy" for name in imported), imported
