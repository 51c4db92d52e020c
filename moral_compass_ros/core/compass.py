# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The moral compass q_t: a weighted particle cloud on the value simplex (``doc/design.md`` §1,
§7)."""

from __future__ import annotations

import numpy as np

from .value_space import SIMPLEX_ATOL, ValueSpace, check_simplex


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
    def __repr__(self) -> str:
        mean = np.round(self.mean, 3).tolist()
        return f"Compass(N={self.n_particles}, M={self.dim}, mean={mean}, ess={self.ess:.1f})"
