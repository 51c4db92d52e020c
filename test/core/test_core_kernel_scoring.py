# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The kernel-domain Step 1 path against POT on random inputs; warm starts and the
POT fallback give the same alignment and the same chosen action."""

import numpy as np
import ot
import pytest
import torch

from core_helpers import REPO_ROOT, random_event, small_config
from moral_compass_ros.core import DynamicValueLearner
from moral_compass_ros.core.profiling import Profile
from moral_compass_ros.core.sinkhorn import (
    _dual_value,
    _averaged_potentials,
    _kernel_divergence,
    sinkhorn,
    ground_cost,
    _symmetric_potential,
    _transport_gradients,
)


def _pot_value(x, a, y, b, eps, cost):
    if cost == "hellinger":
        x, y = np.sqrt(x), np.sqrt(y)
    return float(
        ot.solve(ot.dist(x, y), a, b, reg=eps, reg_type="KL", max_iter=200_000, tol=1e-12).value
    )


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("cost", ["sqeuclidean", "hellinger"])
def test_divergence_to_clouds_matches_pot_one_cloud_at_a_time(seed, cost):
    rng = np.random.default_rng(seed)
    n, k, batch = int(rng.integers(3, 40)), int(rng.integers(2, 20)), int(rng.integers(1, 5))
    eps = float(rng.choice([0.03, 0.05, 0.2]))
    theta = rng.dirichlet(np.ones(5), size=n)
    w = rng.dirichlet(np.full(n, 2.0))
    samples = rng.dirichlet(np.full(5, 3.0), size=(batch, k))
    ot_xx = torch.tensor([_pot_value(theta, w, theta, w, eps, cost)])
    ours, _, info = _kernel_divergence(
        torch.from_numpy(theta),
        torch.from_numpy(w),
        torch.from_numpy(samples),
        eps,
        cost,
        ot_xx=ot_xx,
        tol=1e-11,
        max_iter=100_000,
    )
    u = np.full(k, 1.0 / k)
    for i in range(batch):
        expected = (
            _pot_value(theta, w, samples[i], u, eps, cost)
            - 0.5 * float(ot_xx)
            - 0.5 * _pot_value(samples[i], u, samples[i], u, eps, cost)
        )
        assert float(ours[i]) == pytest.approx(expected, abs=1e-7, rel=1e-6)
    assert info["error_cross"] < 1e-11 and info["error_self"] < 1e-11


def _clouds(seed, n=30, k=25, symmetric=False):
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.dirichlet(np.ones(5), size=n))
    a = torch.from_numpy(rng.dirichlet(np.full(n, 2.0)))
    if symmetric:
        return x, a, None, None
    return (
        x,
        a,
        torch.from_numpy(rng.dirichlet(np.ones(5), size=k)),
        torch.from_numpy(rng.dirichlet(np.full(k, 2.0))),
    )


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("cost", ["sqeuclidean", "hellinger"])
@pytest.mark.parametrize("symmetric", [False, True])
def test_entropic_transport_kernel_and_log_domain_agree_with_pot(seed, cost, symmetric):
    """The update's solver: value vs POT, and the kernel path (alternating / averaged symmetric
    scalings, compiled) vs the log-domain averaged iteration in value and gradients (∂/∂a up to
    the additive constant the potentials are defined up to)."""
    x, a, y, b = _clouds(seed, symmetric=symmetric)
    kernel = sinkhorn(x, a, y, b, 0.05, cost, tol=1e-12, max_iter=50_000)
    log = sinkhorn(x, a, y, b, 0.05, cost, tol=1e-12, max_iter=50_000, method="log")
    assert kernel.iterations > 0 and log.iterations == -1  # the paths taken
    other = (x, a) if symmetric else (y, b)
    expected = _pot_value(x.numpy(), a.numpy(), other[0].numpy(), other[1].numpy(), 0.05, cost)
    assert float(kernel.value) == pytest.approx(expected, abs=1e-9)
    assert float(log.value) == pytest.approx(expected, abs=1e-9)
    np.testing.assert_allclose(kernel.grad_x.numpy(), log.grad_x.numpy(), rtol=0, atol=1e-8)
    np.testing.assert_allclose(
        (kernel.grad_a - kernel.grad_a.mean()).numpy(),
        (log.grad_a - log.grad_a.mean()).numpy(),
        rtol=0,
        atol=1e-8,
    )


@pytest.mark.parametrize("cost", ["sqeuclidean", "hellinger"])
@pytest.mark.parametrize("symmetric", [False, True])
def test_entropic_transport_gradients_equal_autograd_at_its_potentials(cost, symmetric):
    """The kernel path's one-matmul gradient equals autograd of the dual objective at the
    potentials it returns (the envelope theorem), for the cross and the self term."""
    x, a, y, b = _clouds(5, n=40, k=30, symmetric=symmetric)
    result = sinkhorn(x, a, y, b, 0.05, cost, tol=1e-10)
    assert result.iterations > 0
    xg, ag = x.clone().requires_grad_(True), a.clone().requires_grad_(True)
    yg, bg = (xg, ag) if symmetric else (y, b)
    value = _dual_value(
        ground_cost(xg, yg, cost), ag[None], bg[None], result.f[None], result.g[None], 0.05
    )
    expected_x, expected_a = torch.autograd.grad(value.sum(), [xg, ag])
    np.testing.assert_allclose(result.grad_x.numpy(), expected_x.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(result.grad_a.numpy(), expected_a.numpy(), rtol=1e-9, atol=1e-12)
    assert float(result.value) == pytest.approx(float(value.detach()), abs=1e-9)


@pytest.mark.parametrize("symmetric", [False, True])
def test_entropic_transport_warm_start_converges_faster_to_the_same_answer(symmetric):
    """A proximal iterate warm-starts from the previous one's potentials: same value within
    the tolerance's second-order error, fewer iterations."""
    x, a, y, b = _clouds(6, n=60, k=60, symmetric=symmetric)
    if not symmetric:  # near-identical clouds, where a cold alternating start is slowest
        y, b = x + 0.002 * torch.from_numpy(np.random.default_rng(7).normal(size=x.shape)), a
        y = torch.clamp(y, min=1e-6)
        y = y / y.sum(1, keepdim=True)
    first = sinkhorn(x, a, y, b, 0.05, tol=1e-8, max_iter=50_000)
    moved = torch.clamp(
        x * torch.exp(0.01 * torch.from_numpy(np.random.default_rng(8).normal(size=x.shape))),
        min=1e-9,
    )
    moved = moved / moved.sum(1, keepdim=True)
    y2, b2 = (None, None) if symmetric else (y, b)
    cold = sinkhorn(moved, a, y2, b2, 0.05, tol=1e-8, max_iter=50_000)
    warm = sinkhorn(
        moved,
        a,
        y2,
        b2,
        0.05,
        tol=1e-8,
        max_iter=50_000,
        init=first.f if symmetric else (first.f, first.g),
    )
    assert float(warm.value) == pytest.approx(float(cold.value), abs=1e-9)
    assert warm.iterations < cold.iterations


def test_entropic_transport_takes_the_log_domain_where_the_kernel_underflows():
    """ε = 0.004: C/ε up to 500, e^{−C/ε} is not representable; the log domain answers."""
    x, a, y, b = _clouds(9)
    result = sinkhorn(x, a, y, b, 0.004, tol=1e-9, max_iter=50_000)
    assert result.iterations == -1
    assert float(result.value) == pytest.approx(
        _pot_value(x.numpy(), a.numpy(), y.numpy(), b.numpy(), 0.004, "sqeuclidean"), abs=1e-7
    )


def _trained(seed=4):
    config = small_config(seed=seed)
    learner = DynamicValueLearner(config)
    rng = np.random.default_rng(seed)
    for i in range(3):
        learner.update(random_event(rng, i, config))
    return learner, rng


def test_kernel_path_equals_pot_path_and_warm_start_keeps_the_choice():
    learner, rng = _trained()
    config = learner.config
    assert config.scoring_tol == 1e-3  # the shipped tolerance
    for trial in range(5):
        features = rng.normal(size=(7, config.feature_dim))
        context = rng.normal(size=config.context_dim)
        warm = learner.score(features, context)  # warm-started from the previous trial
        learner.reset_warm_start()
        profile = Profile()
        cold = learner.score(features, context, profile=profile)
        assert profile.info["solver"] == "kernel"
        # the reference: POT's path converged far tighter than the shipped tolerance
        learner.config = config.replace(scoring_tol=1e-10)
        pot = learner.score(features, context, method="pot")
        learner.config = config
        # float32 kernel path at 1e-3 vs float64 POT at 1e-10: the values are second order in
        # the marginal error, so they agree far below the tolerance
        np.testing.assert_allclose(cold.divergence, pot.divergence, rtol=0, atol=1e-6)
        np.testing.assert_allclose(warm.divergence, cold.divergence, rtol=0, atol=1e-6)
        assert warm.selected == cold.selected == pot.selected


def test_repeated_request_converges_at_once_from_the_warm_start():
    learner, rng = _trained(5)
    features = rng.normal(size=(6, learner.config.feature_dim))
    context = rng.normal(size=learner.config.context_dim)
    first = learner.score(features, context)
    profile = Profile()
    again = learner.score(features, context, profile=profile)
    assert profile.info["warm"] and profile.info["iterations_cross"] <= 2
    assert {"sampling_ms", "kernel_ms", "cross_ms", "self_ms"} <= set(profile.info)
    np.testing.assert_allclose(again.divergence, first.divergence, rtol=0, atol=1e-7)


@pytest.mark.parametrize("seed", range(4))
def test_float32_path_at_the_default_tolerance_matches_a_tight_float64_pot_solve(seed):
    """The float64 check of the float32 hot path: B clouds against a 200-particle compass at the
    shipped ε and ``scoring_tol``, against POT one cloud at a time at tol 1e-12."""
    rng = np.random.default_rng(100 + seed)
    n, k, batch, eps = 200, 32, 4, 0.05
    theta = rng.dirichlet(np.ones(5), size=n)
    w = rng.dirichlet(np.full(n, 2.0))
    samples = rng.dirichlet(rng.uniform(0.5, 10.0, size=5), size=(batch, k))
    ot_xx = torch.tensor([_pot_value(theta, w, theta, w, eps, "sqeuclidean")])
    ours, _, info = _kernel_divergence(
        torch.from_numpy(theta),
        torch.from_numpy(w),
        torch.from_numpy(samples),
        eps,
        ot_xx=ot_xx,
        tol=1e-3,
    )
    assert info["dtype"] == "float32" and ours.dtype == torch.float64
    u = np.full(k, 1.0 / k)
    expected = [
        _pot_value(theta, w, samples[i], u, eps, "sqeuclidean")
        - 0.5 * float(ot_xx)
        - 0.5 * _pot_value(samples[i], u, samples[i], u, eps, "sqeuclidean")
        for i in range(batch)
    ]
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_a_kernel_that_underflows_falls_back_to_the_log_domain_with_the_same_values():
    """ε so small that float32 and float64 kernels underflow for distant pairs: the learner must
    notice (non-finite scalings) or stay exact, never return garbage."""
    learner, rng = _trained(6)
    features = rng.normal(size=(5, learner.config.feature_dim))
    context = rng.normal(size=learner.config.context_dim)
    small = learner.config.replace(epsilon=0.011, scoring_tol=1e-6)
    tiny_eps = DynamicValueLearner(small)
    tiny_eps.load_model_parameters(learner.model_parameters(), learner.version)
    tiny_eps.set_compass(learner.compass, learner.version)
    kernel = tiny_eps.score(features, context)
    pot = tiny_eps.score(features, context, method="pot")
    assert np.isfinite(kernel.divergence).all()
    np.testing.assert_allclose(kernel.divergence, pot.divergence, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cost", ["sqeuclidean", "hellinger"])
@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("eps", [0.05, 0.004])
def test_transport_gradients_equal_autograd_of_the_dual_value(cost, symmetric, eps):
    """The update's graph-free gradient of OT_ε equals autograd through the dual objective at
    the same (detached) potentials, for the cross and the self term, both costs, in the kernel
    domain (ε = 0.05) and where e^{−C/ε} underflows (ε = 0.004: C/ε up to 500)."""
    rng = np.random.default_rng(11)
    x = torch.from_numpy(rng.dirichlet(np.ones(5), size=40)).requires_grad_(True)
    a = torch.from_numpy(rng.dirichlet(np.full(40, 2.0))).requires_grad_(True)
    y = x if symmetric else torch.from_numpy(rng.dirichlet(np.ones(5), size=30))
    b = a if symmetric else torch.from_numpy(rng.dirichlet(np.full(30, 2.0)))
    cost_matrix = ground_cost(x, y, cost)[0]
    if symmetric:
        f = _symmetric_potential(cost_matrix.detach()[None], a.detach()[None], eps)[0]
        g = f
    else:
        f, g = _averaged_potentials(cost_matrix.detach()[None], a.detach()[None], b[None], eps)
        f, g = f[0], g[0]
    value = _dual_value(cost_matrix[None], a[None], b[None], f[None], g[None], eps)
    expected_x, expected_a = torch.autograd.grad(value.sum(), [x, a])
    with torch.no_grad():
        grad_x, grad_a = _transport_gradients(
            cost_matrix, x, a, y, b, f, g, eps, cost, symmetric=symmetric
        )
    np.testing.assert_allclose(grad_x.numpy(), expected_x.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grad_a.numpy(), expected_a.numpy(), rtol=1e-9, atol=1e-12)


def test_many_warm_started_decisions_stay_finite_on_the_kernel_path():
    """Regression: warm start after warm start let the scale of u drift until float32
    overflowed (then a division by zero killed the selector, after 74 decisions)."""
    config = small_config(seed=2)
    learner = DynamicValueLearner(config)
    for i in range(300):
        rng = np.random.default_rng(i)
        profile = Profile()
        scores = learner.score(
            rng.normal(size=(5, config.feature_dim)),
            rng.normal(size=config.context_dim),
            profile=profile,
        )
        assert np.isfinite(scores.total).all()
        assert profile.info["solver"] == "kernel"
    log_u = learner._alignment._warm[1]  # (B, N): every candidate row
    np.testing.assert_allclose(log_u.mean(-1).numpy(), 0.0, atol=1e-9)


def test_an_overflowing_warm_start_falls_back_to_pot_instead_of_failing():
    learner, rng = _trained(7)
    features = rng.normal(size=(4, learner.config.feature_dim))
    context = rng.normal(size=learner.config.context_dim)
    reference = learner.score(features, context)
    _, log_u, log_s = learner._alignment._warm
    learner._alignment._warm = (learner.compass, log_u + 120.0, log_s)  # e^120 overflows float32
    profile = Profile()
    scores = learner.score(features, context, profile=profile)
    assert profile.info["solver"] == "pot"
    # POT's value at the loose scoring_tol (1e-3) carries its own first-order error (measured
    # 1.3e-6 here against a 1e-10 solve, which the kernel path matches to 1e-8)
    np.testing.assert_allclose(scores.divergence, reference.divergence, rtol=0, atol=5e-6)


def test_candidates_in_chunks_give_the_values_of_one_batch(monkeypatch):
    """Step 1 forms and iterates the cross kernels a few candidates at a time (cache-sized
    chunks); chunking must not change a single value."""
    import moral_compass_ros.core.sinkhorn as sinkhorn

    rng = np.random.default_rng(3)
    theta = torch.from_numpy(rng.dirichlet(np.ones(5), size=50))
    w = torch.from_numpy(rng.dirichlet(np.full(50, 2.0)))
    samples = torch.from_numpy(rng.dirichlet(np.full(5, 3.0), size=(7, 16)))
    ot_xx = torch.tensor(
        [_pot_value(theta.numpy(), w.numpy(), theta.numpy(), w.numpy(), 0.05, "sqeuclidean")]
    )
    whole, _, _ = _kernel_divergence(theta, w, samples, 0.05, ot_xx=ot_xx, tol=1e-6)
    monkeypatch.setattr(
        sinkhorn, "_KERNEL_CHUNK_BYTES", 2 * 50 * 16 * 4
    )  # 2 candidates per chunk, 4 chunks
    chunked, _, _ = _kernel_divergence(theta, w, samples, 0.05, ot_xx=ot_xx, tol=1e-6)
    np.testing.assert_array_equal(chunked.numpy(), whole.numpy())


@pytest.mark.parametrize("seed", [0, 4])
def test_a_slowly_mixing_problem_is_over_relaxed_to_the_same_answer_in_fewer_iterations(seed):
    """Clusters in a chain along an edge of the simplex with different masses on each side: plain
    Sinkhorn contracts slowly (200–300 iterations to 1e-9). After 20 plain iterations the loop
    measures the contraction and over-relaxes; the value still equals POT's."""
    rng = np.random.default_rng(seed)
    centers = [np.array([1 - s, s, 0, 0, 0]) * 0.9 + 0.02 for s in np.linspace(0, 1, 5)]

    def cloud(masses):
        points = np.vstack([rng.dirichlet(c * 300 + 1, size=8) for c in centers])
        weights = np.repeat(masses, 8)
        return points, weights / weights.sum()

    (x, a), (y, b) = cloud(rng.dirichlet(np.ones(5))), cloud(rng.dirichlet(np.ones(5)))
    kernel, u = np.exp(-ot.dist(x, y) / 0.05), a.copy()
    for plain_iterations in range(1, 100_000):  # the plain alternating iteration, for reference
        v = b / (kernel.T @ u)
        row_sums = kernel @ v
        if np.abs(u * row_sums - a).sum() < 1e-9:
            break
        u = a / row_sums
    result = sinkhorn(
        torch.from_numpy(x),
        torch.from_numpy(a),
        torch.from_numpy(y),
        torch.from_numpy(b),
        0.05,
        tol=1e-9,
        max_iter=100_000,
    )
    assert plain_iterations > 150
    assert result.iterations < plain_iterations / 2
    assert float(result.value) == pytest.approx(
        _pot_value(x, a, y, b, 0.05, "sqeuclidean"), abs=1e-9
    )


def test_the_core_reads_no_clock_except_through_the_profiling_hook():
    import ast

    core = REPO_ROOT / "moral_compass_ros" / "core"
    clocks = {"time", "datetime"}
    offenders = []
    for path in sorted(core.glob("*.py")):
        if path.name == "profiling.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            offenders += [f"{path.name}: imports {n}" for n in names if n in clocks]
    assert not offenders, offenders


def test_a_score_without_a_profile_times_nothing_and_an_unknown_method_is_refused():
    learner, rng = _trained(3)
    features = rng.normal(size=(4, learner.config.feature_dim))
    context = rng.normal(size=learner.config.context_dim)
    ticks = []
    profile = Profile(clock=lambda: ticks.append(1) or float(len(ticks)))
    learner.score(features, context, profile=profile)
    assert ticks and profile.info["sampling_ms"] > 0  # the hook's clock, and only it, was read
    with pytest.raises(ValueError, match="method must be one of"):
        learner.score(features, context, method="sinkhorn")


def test_the_divergence_entry_point_gives_the_same_values_by_either_method():
    from moral_compass_ros.core.sinkhorn import WarmStart, sinkhorn_divergence

    rng = np.random.default_rng(4)
    theta = torch.from_numpy(rng.dirichlet(np.ones(5), size=40))
    w = torch.from_numpy(rng.dirichlet(np.ones(40)))
    samples = torch.from_numpy(rng.dirichlet(np.ones(5), size=(3, 16)))
    uniform = torch.full((3, 16), 1.0 / 16, dtype=torch.float64)
    ot_xx = sinkhorn(theta, w, None, None, 0.05, gradients=False, tol=1e-12).value
    pot = sinkhorn_divergence(theta, w, samples, uniform, 0.05, method="pot", tol=1e-12)
    warm = WarmStart(
        torch.zeros(3, 40, dtype=torch.float64), torch.zeros(3, 16, dtype=torch.float64)
    )
    profile = Profile()
    kernel = sinkhorn_divergence(
        theta,
        w,
        samples,
        uniform,
        0.05,
        method="kernel",
        ot_xx=ot_xx,
        tol=1e-6,
        warm=warm,
        profile=profile,
    )
    np.testing.assert_allclose(kernel.numpy(), pot.detach().numpy(), atol=1e-6)
    assert warm.log_u.abs().sum() > 0  # the warm start now holds this solve's scalings
    assert profile.info["iterations_cross"] >= 1 and "kernel_ms" in profile.info
    again = sinkhorn_divergence(
        theta, w, samples, uniform, 0.05, method="kernel", ot_xx=ot_xx, tol=1e-6, warm=warm
    )
    np.testing.assert_allclose(again.numpy(), kernel.numpy(), atol=1e-7)
    with pytest.raises(ValueError, match="uniformly weighted"):
        sinkhorn_divergence(
            theta,
            w,
            samples,
            torch.from_numpy(rng.dirichlet(np.ones(16), size=3)),
            0.05,
            method="kernel",
            ot_xx=ot_xx,
        )
    with pytest.raises(ValueError, match="needs ot_xx"):
        sinkhorn_divergence(theta, w, samples, uniform, 0.05, method="kernel")
    with pytest.raises(ValueError, match="method must be 'pot' or 'kernel'"):
        sinkhorn_divergence(theta, w, samples, uniform, 0.05, method="sinkhorn")
