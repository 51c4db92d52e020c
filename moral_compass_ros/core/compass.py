# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The moral compass q_t: a weighted particle cloud on the value simplex (``doc/design.md`` §1,
§7)."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .value_space import SIMPLEX_ATOL, ValueSpace, check_simplex

#: Added to every Dirichlet jitter concentration so no coordinate gets concentration 0.
JITTER_FLOOR: float = 1e-3


def log_dirichlet(theta: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """log Dir(θ; α) per row: log Γ(α_0) − Σ log Γ(α_k) + Σ (α_k − 1) log θ_k, shape (N,)."""
    import torch  # here, not at the top: the light nodes import this module without torch

    lgamma = torch.lgamma(
        torch.from_numpy(np.concatenate([alpha, alpha.sum(axis=1, keepdims=True)], axis=1))
    ).numpy()
    log_theta = np.log(np.maximum(theta, 1e-300))
    return lgamma[:, -1] - lgamma[:, :-1].sum(axis=1) + ((alpha - 1.0) * log_theta).sum(axis=1)


class Compass:
    """A weighted particle approximation of the compass, q_t ≈ Σ_i w_i δ_{θ_i} (``doc/design.md``
    §1).

    Immutable: every operation returns a new object; the stored arrays are read-only copies.

    Parameters
    ----------
    particles : array_like, shape (N, M)
        Particle positions θ_i, each on the simplex (finite, ≥ 0, Σ = 1 within 1e-9).
    weights : array_like, shape (N,)
        Particle weights w_i ≥ 0 with Σ w_i = 1 within 1e-9.

    Raises
    ------
    ValueError
        On wrong shapes, N = 0, non-finite or negative weights, or weights not summing to 1.
    SimplexError
        If a particle is off the simplex (a subclass of ``ValueError``).
    """

    __slots__ = ("_particles", "_weights")

    def __init__(self, particles: np.ndarray, weights: np.ndarray) -> None:
        theta = np.array(particles, dtype=np.float64)
        w = np.array(weights, dtype=np.float64)
        if theta.ndim != 2 or theta.shape[0] == 0 or theta.shape[1] < 2:
            raise ValueError(
                f"particles must have shape (N, M) with N >= 1, M >= 2, got {theta.shape}"
            )
        if w.shape != (theta.shape[0],):
            raise ValueError(f"weights must have shape ({theta.shape[0]},), got {w.shape}")
        check_simplex(theta, "particles")
        if not np.all(np.isfinite(w)):
            raise ValueError("weights contain NaN or inf")
        if np.any(w < 0.0):
            raise ValueError(f"weights must be >= 0, min is {w.min():.3g}")
        if abs(w.sum() - 1.0) > SIMPLEX_ATOL:
            raise ValueError(
                f"weights must sum to 1 within {SIMPLEX_ATOL:g}, sum is {w.sum():.12g}"
            )
        theta.flags.writeable = False
        w.flags.writeable = False
        self._particles = theta
        self._weights = w

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(cls, particles: np.ndarray, weights: np.ndarray) -> "Compass":
        """Build from plain arrays (inverse of :meth:`to_arrays`); validates like ``__init__``."""
        return cls(particles, weights)

    @classmethod
    def prior(cls, value_space: ValueSpace, n: int, rng: np.random.Generator) -> "Compass":
        """The uninformative prior: ``n`` draws θ_i ~ Dirichlet(1, …, 1) with weights 1/n.

        Parameters
        ----------
        value_space : ValueSpace
            Gives M.
        n : int
            Number of particles N ≥ 1.
        rng : numpy.random.Generator
            Source of randomness.

        Returns
        -------
        Compass
            Particles of shape (n, M), uniform weights.
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError("rng must be a numpy.random.Generator")
        if int(n) < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        theta = rng.dirichlet(np.ones(value_space.dim), size=int(n))
        theta /= theta.sum(axis=1, keepdims=True)  # re-normalise to machine precision
        return cls(theta, np.full(int(n), 1.0 / int(n)))

    def to_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Writable copies ``(particles (N, M), weights (N,))``."""
        return self._particles.copy(), self._weights.copy()

    # ------------------------------------------------------------------ summaries
    @property
    def particles(self) -> np.ndarray:
        """Read-only particle positions, shape (N, M)."""
        return self._particles

    @property
    def weights(self) -> np.ndarray:
        """Read-only weights, shape (N,)."""
        return self._weights

    @property
    def n_particles(self) -> int:
        """N."""
        return int(self._particles.shape[0])

    @property
    def dim(self) -> int:
        """M."""
        return int(self._particles.shape[1])

    @property
    def mean(self) -> np.ndarray:
        """Compass mean :math:`\\bar\\theta = \\sum_i w_i \\theta_i`, shape (M,) (on the
        simplex)."""
        return self._weights @ self._particles

    @property
    def covariance(self) -> np.ndarray:
        """Weighted covariance :math:`\\sum_i w_i
        (\\theta_i-\\bar\\theta)(\\theta_i-\\bar\\theta)^T`, shape (M, M)."""
        centred = self._particles - self.mean
        return (centred * self._weights[:, None]).T @ centred

    @property
    def entropy(self) -> float:
        """Entropy of the weights :math:`-\\sum_i w_i \\log w_i` in nats (0 ≤ H ≤ log N)."""
        w = self._weights[self._weights > 0.0]
        return float(-(w * np.log(w)).sum())

    @property
    def ess(self) -> float:
        """Effective sample size :math:`1 / \\sum_i w_i^2` (1 ≤ ESS ≤ N)."""
        return float(1.0 / np.sum(self._weights**2))

    # ------------------------------------------------------------------ resampling
    def resample(self, rng: np.random.Generator, jitter_concentration: float) -> "Compass":
        """Systematic resampling followed by Dirichlet jitter (``doc/design.md`` §7).

        Draw :math:`u_0 \\sim U[0, 1/N)`, take ancestor :math:`A_k` with
        :math:`\\sum_{i<A_k} w_i \\le u_0 + k/N < \\sum_{i\\le A_k} w_i`, then jitter

        .. math:: \\theta'_k \\sim \\mathrm{Dir}(\\kappa\\, \\theta_{A_k} + \\text{floor}),

        and reset the weights to 1/N. The jitter keeps the cloud from collapsing onto a few
        ancestors while staying on the simplex.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness (one uniform, then N×M gamma draws).
        jitter_concentration : float
            κ > 0; larger is smaller jitter (the jitter has mean θ and variance ≈ θ(1−θ)/κ).
            ``math.inf`` disables the jitter.

        Returns
        -------
        Compass
            N particles with uniform weights.
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError("rng must be a numpy.random.Generator")
        kappa = float(jitter_concentration)
        if not kappa > 0.0:
            raise ValueError(
                f"jitter_concentration must be > 0 (inf disables jitter), got {kappa}"
            )
        n = self.n_particles
        positions = (rng.uniform(0.0, 1.0) + np.arange(n)) / n  # u_0 + k/N, u_0 ~ U[0,1)/N
        cumulative = np.cumsum(self._weights)
        cumulative[-1] = 1.0  # guard against round-off leaving the last position unmatched
        ancestors = np.searchsorted(cumulative, positions, side="right")
        ancestors = np.minimum(ancestors, n - 1)
        theta = self._particles[ancestors]
        if math.isfinite(kappa):
            gammas = rng.standard_gamma(kappa * theta + JITTER_FLOOR)  # Dir via normalised gammas
            sums = gammas.sum(axis=1, keepdims=True)
            ok = (sums[:, 0] > 0.0) & np.all(np.isfinite(gammas), axis=1)
            theta = np.where(ok[:, None], gammas / np.where(sums > 0.0, sums, 1.0), theta)
        theta = theta / theta.sum(axis=1, keepdims=True)
        return Compass(theta, np.full(n, 1.0 / n))

    def move(
        self,
        rng: np.random.Generator,
        log_target: Callable[[np.ndarray], np.ndarray],
        concentration: float,
    ) -> tuple["Compass", float]:
        """One Metropolis–Hastings move of every particle, leaving the target π invariant.

        The move of resample-move (Gilks & Berzuini 2001): after resampling, the copies of one
        ancestor spread out by the jitter *and* stay distributed as π. Propose
        θ' ~ Dir(κθ + floor) and accept with probability

        .. math::

            \\min\\Big(1, \\frac{\\pi(\\theta')\\,\\mathrm{Dir}(\\theta; \\kappa\\theta' + f)}
                                      {\\pi(\\theta)\\,\\mathrm{Dir}(\\theta'; \\kappa\\theta +
                                      f)}\\Big).

        Parameters
        ----------
        rng : numpy.random.Generator
            N×M gamma draws, then N uniforms.
        log_target : callable
            ``log_target(theta)`` → log π(θ) up to a constant, shape (N,), for θ of shape (N, M).
        concentration : float
            κ > 0 of the proposal (as the resampling jitter).

        Returns
        -------
        (Compass, float)
            The moved cloud (same weights) and the fraction of proposals accepted.
        """
        kappa = float(concentration)
        if not (kappa > 0.0 and math.isfinite(kappa)):
            raise ValueError(f"move concentration must be finite and > 0, got {kappa}")
        theta = self._particles
        alpha = kappa * theta + JITTER_FLOOR
        gammas = rng.standard_gamma(alpha)
        sums = gammas.sum(axis=1, keepdims=True)
        proposal = gammas / np.where(sums > 0.0, sums, 1.0)
        valid = (sums[:, 0] > 0.0) & np.all(np.isfinite(proposal), axis=1)
        proposal = np.where(valid[:, None], proposal, theta)
        log_ratio = (
            log_target(proposal)
            - log_target(theta)
            + log_dirichlet(theta, kappa * proposal + JITTER_FLOOR)
            - log_dirichlet(proposal, alpha)
        )  # log π(θ')q(θ|θ') − log π(θ)q(θ'|θ)
        uniform = rng.uniform(size=len(theta))
        accept = valid & np.isfinite(log_ratio) & (np.log(np.maximum(uniform, 1e-300)) < log_ratio)
        moved = np.where(accept[:, None], proposal, theta)
        return Compass(moved / moved.sum(axis=1, keepdims=True), self._weights), float(
            accept.mean()
        )

    def __repr__(self) -> str:
        mean = np.round(self.mean, 3).tolist()
        return f"Compass(N={self.n_particles}, M={self.dim}, mean={mean}, ess={self.ess:.1f})"
