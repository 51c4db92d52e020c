# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Population extension: the average compass of N agents, its drift, and social pull
(``doc/design.md`` §8).

Pure numpy/torch/POT (no rclpy). Three pieces:

* **Average compass** (the mixture, with the ``1/N`` the slides omit)

  .. math:: \\bar q_t = \\frac1N \\sum_{i=1}^N q_t^{(i)}

  For particle clouds this is exact: the concatenated supports with weights ``w^{(i)}/N``
  (:func:`average_compass`); on a common support it is the mean of the weight rows
  (:func:`average_weights`).

* **Drift** of the average, from two snapshots taken ``Δt`` apart (:func:`drift`):
  the divergence rate :math:`S_\\varepsilon(\\bar q_{t}, \\bar q_{t-\\Delta t}) / \\Delta t` and
  the velocity of the mean :math:`(\\bar\\theta_t - \\bar\\theta_{t-\\Delta t}) / \\Delta t`.

* **Social pull** of one agent towards the population compass :math:`\\hat q`

  .. math::

      q^{(i)}_{t+1} = \\arg\\min_q \\mathrm{KL}(q \\| \\hat q_t)
          + \\frac{1}{2\\nu} \\mathrm{KL}(q \\| q^{(i)}_t)
      \\;\\Longrightarrow\\;
      q^{(i)}_{t+1} \\propto \\hat q_t^{\\,\\kappa} \\, (q^{(i)}_t)^{1-\\kappa},
      \\qquad \\kappa = \\frac{2\\nu}{2\\nu + 1}

  (set the derivative of :math:`\\sum_x q(x)[\\log\\tfrac{q}{\\hat q}
  + \\tfrac{1}{2\\nu}\\log\\tfrac{q}{q^{(i)}}] + \\lambda(\\sum q - 1)` to zero:
  :math:`(1 + \\tfrac1{2\\nu}) \\log q = \\log \\hat q + \\tfrac1{2\\nu} \\log q^{(i)} + c`).
  The formula needs both measures on **one support**. When the two clouds already share their
  support points it is applied exactly (:func:`geometric_mixture`). Otherwise
  :func:`common_support` first builds one: the free-support Wasserstein barycenter
  (``ot.lp.free_support_barycenter``) of the two clouds with weights :math:`(1-\\kappa,
  \\kappa)`, initialised at and weighted like the agent's own cloud, so the support itself moves
  along the displacement interpolation by κ; each cloud is then expressed on that support by a
  kernel density ratio against the barycenter's own measure (:func:`project_onto_support`),
  which is exact whenever the cloud *is* that measure. Hence, on either path: κ = 0 or
  identical clouds leave the agent unchanged, and κ → 1 gives the population compass.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import ot
import torch

from .compass import Compass
from .sinkhorn import ground_cost, sinkhorn_divergence

__all__ = [
    "DEFAULT_BANDWIDTH",
    "DisjointSupportError",
    "DriftEstimate",
    "PullResult",
    "average_compass",
    "average_weights",
    "common_support",
    "distances_to_average",
    "drift",
    "geometric_mixture",
    "kappa_from_nu",
    "project_onto_support",
    "same_support",
    "shared_support_divergence",
    "social_pull",
]

#: Default kernel bandwidth h of :func:`project_onto_support`, in squared simplex distance
#: (the simplex's squared diameter is 2; a typical compass spreads over ~0.05).
DEFAULT_BANDWIDTH: float = 0.02
#: Support points closer than this (max abs coordinate difference) are "the same".
SUPPORT_ATOL: float = 1e-12


class DisjointSupportError(ValueError):
    """The geometric mixture is zero everywhere: the two measures share no support point."""


def kappa_from_nu(nu: float) -> float:
    """The mixing exponent of social pull, :math:`\\kappa = 2\\nu / (2\\nu + 1)` (``doc/design.md``
    §8).

    Parameters
    ----------
    nu : float
        Pull strength ν ≥ 0 (``inf`` allowed): ν = 0 ignores the population (κ = 0), ν → ∞
        adopts it (κ → 1); ν = ½ gives κ = ½.

    Returns
    -------
    float
        κ ∈ [0, 1].
    """
    nu = float(nu)
    if not nu >= 0.0:  # also rejects NaN
        raise ValueError(f"nu must be >= 0, got {nu}")
    if np.isinf(nu):
        return 1.0
    return 2.0 * nu / (2.0 * nu + 1.0)


def _check_kappa(kappa: float) -> float:
    kappa = float(kappa)
    if not 0.0 <= kappa <= 1.0:
        raise ValueError(f"kappa must be in [0, 1], got {kappa}")
    return kappa


# ----------------------------------------------------------------------------- average
def average_weights(weights: np.ndarray) -> np.ndarray:
    """Average of N measures on one common support: :math:`\\bar w = \\frac1N \\sum_i w^{(i)}`.

    Parameters
    ----------
    weights : array_like, shape (N, K)
        Row i = weights of agent i on the K shared support points (each row sums to 1).

    Returns
    -------
    ndarray, shape (K,)
        The mixture's weights (sum to 1).
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] == 0 or w.shape[1] == 0:
        raise ValueError(f"weights must have shape (N, K) with N, K >= 1, got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0.0):
        raise ValueError("weights must be finite and >= 0")
    if np.any(np.abs(w.sum(axis=1) - 1.0) > 1e-9):
        raise ValueError("every row of weights must sum to 1")
    mean = w.mean(axis=0)  # w̄ = (1/N) Σ_i w^(i)
    return mean / mean.sum()


def average_compass(compasses: Sequence[Compass]) -> Compass:
    """The average compass :math:`\\bar q = \\frac1N \\sum_i q^{(i)}` as one particle cloud.

    Exact for particle clouds: the supports are concatenated (agent order) and each weight is
    divided by N, so the cloud holds :math:`\\sum_i N_i` particles.

    Parameters
    ----------
    compasses : sequence of Compass, length N ≥ 1
        Clouds of any sizes :math:`N_i`, all of the same dimension M.

    Returns
    -------
    Compass
        Particles of shape :math:`(\\sum_i N_i, M)`; weights :math:`w^{(i)}_k / N`.
    """
    compasses = list(compasses)
    if not compasses:
        raise ValueError("average_compass needs at least one compass")
    dims = {c.dim for c in compasses}
    if len(dims) != 1:
        raise ValueError(f"compasses have different dimensions M: {sorted(dims)}")
    n = len(compasses)
    particles = np.concatenate([c.particles for c in compasses], axis=0)
    weights = np.concatenate([c.weights / n for c in compasses])  # w^(i)_k / N
    return Compass(particles, weights / weights.sum())


# ----------------------------------------------------------------------------- distances
def distances_to_average(
    compasses: Sequence[Compass], average: Compass, epsilon: float, cost: str = "sqeuclidean"
) -> np.ndarray:
    """Per-agent debiased Sinkhorn divergence :math:`S_\\varepsilon(q^{(i)}, \\bar q)`.

    Clouds of equal size are solved in one POT batch (the average's self-term once).

    Parameters
    ----------
    compasses : sequence of Compass, length N
    average : Compass
    epsilon : float
        ε > 0 of S_ε (``doc/design.md`` §2).
    cost : {"sqeuclidean", "hellinger"}

    Returns
    -------
    ndarray, shape (N,)
        S_ε ≥ 0 (clipped at 0 against round-off).
    """
    compasses = list(compasses)
    out = np.zeros(len(compasses))
    by_size: dict[int, list[int]] = {}
    for i, c in enumerate(compasses):
        by_size.setdefault(c.n_particles, []).append(i)
    for indices in by_size.values():
        x = np.stack([compasses[i].particles for i in indices])  # (B, N_i, M)
        a = np.stack([compasses[i].weights for i in indices])  # (B, N_i)
        values = sinkhorn_divergence(
            x, a, average.to_arrays()[0], average.to_arrays()[1], epsilon, cost
        )
        out[indices] = np.maximum(np.asarray(values, dtype=np.float64), 0.0)
    return out


def _shared_kernel_ot(
    kernel: np.ndarray, a: np.ndarray, b: np.ndarray, epsilon: float, max_iter: int, tol: float
) -> tuple[np.ndarray, float]:
    """OT_ε(a, b_r) for rows of weights on one support with one Gibbs kernel (K, K), by the
    decision's compiled alternating loop (:mod:`._sinkhorn_loops`), one row at a time; value
    ⟨f, a⟩ + ⟨g, b_r⟩ (the columns are exact, so the dual's mass term is 0). Returns the values
    (R,) and the worst marginal error."""
    from . import _sinkhorn_loops as loops

    a = np.maximum(a, 1e-200)
    rows = np.maximum(np.atleast_2d(b), 1e-200)
    values, worst = np.empty(len(rows)), 0.0
    block = kernel[None]
    count, error = np.zeros(1, dtype=np.int64), np.zeros(1)
    for r, b_r in enumerate(rows):
        u, v = np.ones((1, len(a))), np.empty((1, len(b_r)))
        loops.plain_cross_scalings(block, a, b_r, u, v, tol, max_iter, count, error)
        f = epsilon * (np.log(np.maximum(u[0], 1e-300)) - np.log(a))  # f = ε log(u/a)
        g = epsilon * (np.log(np.maximum(v[0], 1e-300)) - np.log(b_r))  # g = ε log(v/b)
        values[r] = a @ f + b_r @ g
        worst = max(worst, float(error[0]))
    return values, worst


def _shared_kernel_self_ot(
    kernel: np.ndarray, b: np.ndarray, epsilon: float, max_iter: int, tol: float
) -> tuple[np.ndarray, float]:
    """OT_ε(b_r, b_r) for rows of weights on one support, by the compiled averaged symmetric
    loop (``_sinkhorn_loops.self_transport``), one row at a time; returns the values (R,) and
    the worst marginal error."""
    from . import _sinkhorn_loops as loops

    rows = np.maximum(np.atleast_2d(b), 1e-200)
    values, worst = np.empty(len(rows)), 0.0
    block = kernel[None]
    value, count, error = np.zeros(1), np.zeros(1, dtype=np.int64), np.zeros(1)
    for r, b_r in enumerate(rows):
        loops.self_transport(
            block, b_r[None], np.ones((1, len(b_r))), epsilon, tol, max_iter, value, count, error
        )
        values[r] = value[0]
        worst = max(worst, float(error[0]))
    return values, worst


def shared_support_divergence(
    support: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    epsilon: float,
    *,
    cost: str = "sqeuclidean",
    max_iter: int = 1000,
    tol: float = 1e-9,
) -> np.ndarray:
    """Batched S_ε between weight vectors on one shared support (fleet metrics).

    .. math:: S_\\varepsilon(a, b_r) = \\mathrm{OT}_\\varepsilon(a, b_r)
        - \\tfrac12 \\mathrm{OT}_\\varepsilon(a, a) - \\tfrac12 \\mathrm{OT}_\\varepsilon(b_r, b_r)

    with the same full objective and ground cost as
    :func:`moral_compass_ros.core.sinkhorn_divergence`,
    but one Gibbs kernel :math:`e^{-C/\\varepsilon}` (K, K) for every row, iterated by the
    package's compiled loops (the decision's alternating loop for the cross terms, the averaged
    symmetric loop for the self terms), one row at a time. Written because POT's batched
    solver, which materialises R cost matrices, made fleet metrics the bottleneck (60 robots ×
    128 particles: ~7 s per snapshot); tested against :func:`sinkhorn_divergence` on random
    inputs.

    Parameters
    ----------
    support : array_like, shape (K, M)
    a : array_like, shape (K,)
    b : array_like, shape (R, K)
    epsilon : float
        ε > 0.
    cost : {"sqeuclidean", "hellinger"}
        The robots' ground cost on Θ.
    max_iter, tol
        Sinkhorn iterations and tolerance on the L1 marginal error.

    Returns
    -------
    ndarray, shape (R,)
        S_ε ≥ 0 (clipped at 0 against round-off).

    Warns
    -----
    RuntimeWarning
        When a solve stops at ``max_iter`` with its marginal error above ``tol``.
    """
    x = np.asarray(support, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    b = np.atleast_2d(np.asarray(b, dtype=np.float64))
    if x.ndim != 2 or a.shape != (x.shape[0],) or b.shape[1] != x.shape[0]:
        raise ValueError(
            f"shapes must be support (K, M), a (K,), b (R, K); got {x.shape}, {a.shape}, {b.shape}"
        )
    if not epsilon > 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    support_t = torch.from_numpy(x)
    cost_matrix = ground_cost(support_t, support_t, cost)[0].numpy()
    kernel = np.ascontiguousarray(np.exp(-cost_matrix / epsilon))  # e^{-C/ε}, (K, K)
    ot_ab, e1 = _shared_kernel_ot(kernel, a, b, epsilon, max_iter, tol)
    ot_aa, e2 = _shared_kernel_self_ot(kernel, a[None, :], epsilon, max_iter, tol)
    ot_bb, e3 = _shared_kernel_self_ot(kernel, b, epsilon, max_iter, tol)
    worst = max(e1, e2, e3)
    if worst > tol:
        warnings.warn(
            f"shared-support Sinkhorn did not converge in {max_iter} iterations: "
            f"marginal error {worst:.2e} > tol {tol:.1e}",
            RuntimeWarning,
            stacklevel=2,
        )
    return np.maximum(ot_ab - 0.5 * ot_aa[0] - 0.5 * ot_bb, 0.0)


@dataclass(frozen=True)
class DriftEstimate:
    """Drift of the average compass between two snapshots (``doc/design.md`` §8).

    Attributes
    ----------
    dt : float
        Time between the snapshots (s, or answers in a simulation's own clock), > 0.
    divergence : float
        :math:`S_\\varepsilon(\\bar q_t, \\bar q_{t-\\Delta t})` (squared simplex distance).
    divergence_rate : float
        ``divergence / dt`` (per unit time).
    mean_velocity : ndarray, shape (M,)
        :math:`(\\bar\\theta_t - \\bar\\theta_{t-\\Delta t})/\\Delta t`; sums to 0.
    mean_speed : float
        Euclidean norm of ``mean_velocity``.
    """

    dt: float
    divergence: float
    divergence_rate: float
    mean_velocity: np.ndarray
    mean_speed: float


def drift(
    previous: Compass, current: Compass, dt: float, epsilon: float, cost: str = "sqeuclidean"
) -> DriftEstimate:
    """Finite-difference estimate of :math:`d\\bar q_t/dt` from two snapshots.

    .. math::
        \\dot S \\approx S_\\varepsilon(\\bar q_t, \\bar q_{t-\\Delta t}) / \\Delta t, \\qquad
        \\dot{\\bar\\theta} \\approx (\\bar\\theta_t - \\bar\\theta_{t-\\Delta t}) / \\Delta t

    Parameters
    ----------
    previous, current : Compass
        The average compass at :math:`t - \\Delta t` and t.
    dt : float
        Δt > 0.
    epsilon : float
        ε of S_ε.
    cost : {"sqeuclidean", "hellinger"}

    Returns
    -------
    DriftEstimate
    """
    dt = float(dt)
    if not dt > 0.0 or not np.isfinite(dt):
        raise ValueError(f"dt must be finite and > 0, got {dt}")
    if previous.dim != current.dim:
        raise ValueError(f"snapshots have different dimensions M: {previous.dim}, {current.dim}")
    (x, a), (y, b) = current.to_arrays(), previous.to_arrays()  # writable copies for torch
    value = float(np.asarray(sinkhorn_divergence(x, a, y, b, epsilon, cost))[0])
    value = max(value, 0.0)
    velocity = (current.mean - previous.mean) / dt  # (θ̄_t − θ̄_{t−Δt}) / Δt
    return DriftEstimate(
        dt=dt,
        divergence=value,
        divergence_rate=value / dt,
        mean_velocity=velocity,
        mean_speed=float(np.linalg.norm(velocity)),
    )


# ----------------------------------------------------------------------------- social pull
def geometric_mixture(population: np.ndarray, own: np.ndarray, kappa: float) -> np.ndarray:
    """Normalised geometric mixture on a common support, :math:`r \\propto p^{\\kappa}
    q^{1-\\kappa}`.

    Batched over leading axes (broadcasting), so a whole fleet is pulled in one call. Computed in
    the log domain; :math:`0^0 = 1`, so κ = 0 returns ``own`` and κ = 1 returns ``population``
    exactly.

    Parameters
    ----------
    population : array_like, shape (..., K)
        Weights :math:`\\hat q` of the population compass on the K support points.
    own : array_like, shape (..., K)
        Weights :math:`q^{(i)}` of the agent(s).
    kappa : float
        κ ∈ [0, 1] (see :func:`kappa_from_nu`).

    Returns
    -------
    ndarray, shape broadcast(population, own)
        Rows sum to 1.

    Raises
    ------
    DisjointSupportError
        If a row's mixture is zero everywhere (for 0 < κ < 1: no common support point).
    """
    kappa = _check_kappa(kappa)
    p = np.asarray(population, dtype=np.float64)
    q = np.asarray(own, dtype=np.float64)
    for name, arr in (("population", p), ("own", q)):
        if arr.ndim == 0 or arr.shape[-1] == 0:
            raise ValueError(f"{name} must have a non-empty last axis, got shape {arr.shape}")
        if not np.all(np.isfinite(arr)) or np.any(arr < 0.0):
            raise ValueError(f"{name} weights must be finite and >= 0")
    if kappa == 0.0:
        p, q = np.broadcast_arrays(p, q)
        return q / q.sum(axis=-1, keepdims=True)
    if kappa == 1.0:
        p, q = np.broadcast_arrays(p, q)
        return p / p.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):
        log_r = kappa * np.log(p) + (1.0 - kappa) * np.log(q)  # log r = κ log p̂ + (1−κ) log q
    peak = np.max(log_r, axis=-1, keepdims=True)
    if np.any(~np.isfinite(peak)):
        raise DisjointSupportError(
            "the geometric mixture is zero on every support point: the "
            "two measures have no common support (project them first)"
        )
    r = np.exp(log_r - peak)
    return r / r.sum(axis=-1, keepdims=True)


def same_support(a: Compass, b: Compass, atol: float = SUPPORT_ATOL) -> bool:
    """Whether two clouds have the same support points in the same order."""
    return a.particles.shape == b.particles.shape and bool(
        np.all(np.abs(a.particles - b.particles) <= atol)
    )


def project_onto_support(
    particles: np.ndarray,
    weights: np.ndarray,
    support: np.ndarray,
    base_weights: np.ndarray,
    bandwidth: float = DEFAULT_BANDWIDTH,
) -> np.ndarray:
    """Express a cloud μ on a fixed support (X, b) by a kernel density ratio.

    With the Gaussian kernel :math:`k(x, y) = e^{-\\|x-y\\|^2 / h}` and kernel density
    estimates :math:`\\hat\\mu(x) = \\sum_j \\mu_j k(x, \\theta_j)`, :math:`\\hat b(x) =
    \\sum_l b_l k(x, x_l)`,

    .. math:: \\mu^X_k \\propto b_k \\, \\hat\\mu(x_k) / \\hat b(x_k),

    the importance-weighted representation of μ on the base measure's points. It is exact for
    μ = (X, b): then :math:`\\hat\\mu = \\hat b` and :math:`\\mu^X = b`.

    Parameters
    ----------
    particles : array_like, shape (J, M)
    weights : array_like, shape (J,)
    support : array_like, shape (K, M)
        The common support X.
    base_weights : array_like, shape (K,)
        The base measure b on X (> 0 where mass may go).
    bandwidth : float
        h > 0, in squared simplex distance.

    Returns
    -------
    ndarray, shape (K,)
        Weights on X, summing to 1.
    """
    h = float(bandwidth)
    if not h > 0.0:
        raise ValueError(f"bandwidth must be > 0, got {h}")
    theta = np.asarray(particles, dtype=np.float64)
    mu = np.asarray(weights, dtype=np.float64)
    x = np.asarray(support, dtype=np.float64)
    b = np.asarray(base_weights, dtype=np.float64)
    log_mu_hat = _log_kde(x, theta, mu, h)  # log μ̂(x_k), (K,)
    log_b_hat = _log_kde(x, x, b, h)  # log b̂(x_k), (K,)
    with np.errstate(divide="ignore"):
        log_r = np.log(b) + log_mu_hat - log_b_hat  # log(b_k μ̂(x_k)/b̂(x_k))
    peak = np.max(log_r)
    if not np.isfinite(peak):
        raise DisjointSupportError("the cloud has no mass near the support (bandwidth too small)")
    r = np.exp(log_r - peak)
    return r / r.sum()


def _log_kde(x: np.ndarray, centres: np.ndarray, weights: np.ndarray, h: float) -> np.ndarray:
    """:math:`\\log \\sum_j w_j e^{-\\|x_k - c_j\\|^2/h}` for every row of ``x``, shape (K,)."""
    sq = ot.dist(x, centres, metric="sqeuclidean")  # ‖x_k − c_j‖², (K, J)
    with np.errstate(divide="ignore"):
        log_terms = np.log(weights)[None, :] - sq / h
    peak = np.max(log_terms, axis=1, keepdims=True)
    safe = np.where(np.isfinite(peak), peak, 0.0)
    return safe[:, 0] + np.log(np.sum(np.exp(log_terms - safe), axis=1))


def common_support(
    own: Compass,
    population: Compass,
    kappa: float,
    *,
    bandwidth: float = DEFAULT_BANDWIDTH,
    max_iter: int = 20,
    tol: float = 1e-7,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bring two clouds onto one support of the agent's size (``doc/design.md`` §8).

    If the clouds share their support points, that support is used and the weights are exact.
    Otherwise X is the free-support Wasserstein barycenter

    .. math:: X = \\arg\\min_X (1-\\kappa) W_2^2((X, w), q) + \\kappa W_2^2((X, w), \\hat q)

    computed by ``ot.lp.free_support_barycenter`` with base weights w = the agent's weights and
    ``X_init`` = the agent's particles (so κ = 0 keeps the agent's support), projected back onto
    the simplex; both clouds are then expressed on (X, w) by :func:`project_onto_support`.

    Parameters
    ----------
    own : Compass
        The agent's compass q, N particles.
    population : Compass
        The population compass q̂ (any size).
    kappa : float
        κ ∈ [0, 1].
    bandwidth : float
        Kernel bandwidth h of the projection.
    max_iter, tol
        Passed to POT as ``numItermax`` and ``stopThr``.

    Returns
    -------
    support : ndarray, shape (N, M)
    own_weights : ndarray, shape (N,)
    population_weights : ndarray, shape (N,)
    """
    kappa = _check_kappa(kappa)
    if own.dim != population.dim:
        raise ValueError(f"compasses have different dimensions M: {own.dim}, {population.dim}")
    if same_support(own, population):
        return own.to_arrays()[0], own.to_arrays()[1], population.to_arrays()[1]
    base = own.weights.copy()
    if kappa == 0.0:
        support = own.particles.copy()
    else:
        support = ot.lp.free_support_barycenter(
            [own.particles, population.particles],
            [own.weights, population.weights],
            X_init=own.particles.copy(),
            b=base,
            weights=np.array([1.0 - kappa, kappa]),
            numItermax=int(max_iter),
            stopThr=float(tol),
        )
        support = np.clip(np.asarray(support, dtype=np.float64), 0.0, None)
        support /= support.sum(axis=1, keepdims=True)  # barycentric maps stay on Θ up to round-off
    own_w = project_onto_support(own.particles, own.weights, support, base, bandwidth)
    pop_w = project_onto_support(
        population.particles, population.weights, support, base, bandwidth
    )
    return support, own_w, pop_w


@dataclass(frozen=True)
class PullResult:
    """The outcome of :func:`social_pull`.

    Attributes
    ----------
    compass : Compass
        The pulled compass q^(i)_{t+1} (same number of particles as the agent's).
    kappa : float
    exact : bool
        True when the clouds shared their support (the formula applied without projection).
    """

    compass: Compass
    kappa: float
    exact: bool


def social_pull(
    own: Compass,
    population: Compass,
    kappa: float,
    *,
    bandwidth: float = DEFAULT_BANDWIDTH,
    max_iter: int = 20,
) -> PullResult:
    """Pull an agent's compass towards the population compass (``doc/design.md`` §8).

    .. math:: q^{(i)}_{t+1} \\propto \\hat q_t^{\\,\\kappa} (q^{(i)}_t)^{1-\\kappa}
        \\ \\text{on the common support of}\\ :func:`common_support`

    Deterministic (no random draws), so a journaled pull replays identically.

    Parameters
    ----------
    own : Compass
        q^(i)_t, N particles.
    population : Compass
        q̂_t (e.g. the average compass, or the average without the agent itself).
    kappa : float
        κ ∈ [0, 1]; see :func:`kappa_from_nu`.
    bandwidth, max_iter
        See :func:`common_support`.

    Returns
    -------
    PullResult
    """
    kappa = _check_kappa(kappa)
    exact = same_support(own, population)
    if kappa == 0.0:
        return PullResult(own, kappa, exact)
    support, own_w, pop_w = common_support(
        own, population, kappa, bandwidth=bandwidth, max_iter=max_iter
    )
    weights = geometric_mixture(pop_w, own_w, kappa)
    return PullResult(Compass(support, weights), kappa, exact)
