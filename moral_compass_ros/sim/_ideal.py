# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The ideal learner: the physical limit of learning a person from answers (private module).

It knows everything but the person's values: the true fingerprints and task rewards of the
candidates, the response model (β, τ, reward weight, myopia, mistake rate) and the prior the
simulator draws profiles from. It holds the exact posterior over θ on N particles drawn from
that prior (Bayes reweighting; the particles never move) and executes the candidate of highest
posterior-predictive approval (``doc/design.md`` §10)::

    w_i ∝ Π_j P(y_j | θ_i),   P(approve | θ, a) = (1 − ε) p + ε (1 − p),   p = σ(β u(θ, a))

with u the simulator's utility (:meth:`SimulatedPerson.utility`). Skipped queries teach it
nothing (a skip is independent of θ except through the "can't tell" band, which it ignores).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ._people import _sigmoid
from ._simplex import SeedLike, as_generator

#: Particles of the ideal learner's posterior.
IDEAL_PARTICLES = 4000


class IdealLearner:
    """Exact Bayes over θ with the true response model (see module docstring).

    Parameters
    ----------
    prior_alphas : sequence of ndarray (M,)
        The profile prior: an equal-weight mixture of Dirichlet(α_k).
    beta, tau, reward_weight, myopia, mistake_prob : float
        The person's response model (:class:`SimulatedPerson`).
    n_particles : int
    seed : int, SeedSequence, Generator or None
    """

    def __init__(
        self,
        prior_alphas: Sequence[np.ndarray],
        beta: float,
        tau: float,
        reward_weight: float,
        myopia: float = 0.0,
        mistake_prob: float = 0.0,
        n_particles: int = IDEAL_PARTICLES,
        seed: SeedLike = None,
    ) -> None:
        rng = as_generator(seed)
        alphas = [np.asarray(a, dtype=np.float64) for a in prior_alphas]
        component = rng.integers(len(alphas), size=int(n_particles))
        self.particles = np.array([rng.dirichlet(alphas[k]) for k in component])  # (N, M)
        self.log_weights = np.zeros(len(self.particles))
        self.beta, self.tau, self.reward_weight = float(beta), float(tau), float(reward_weight)
        self.myopia, self.mistake_prob = float(myopia), float(mistake_prob)

    @property
    def weights(self) -> np.ndarray:
        """Posterior weights, shape (N,)."""
        w = np.exp(self.log_weights - self.log_weights.max())
        return w / w.sum()

    @property
    def mean(self) -> np.ndarray:
        """Posterior mean of θ, shape (M,)."""
        return self.weights @ self.particles

    def _approve(self, fingerprints: np.ndarray, rewards: np.ndarray) -> np.ndarray:
        """P(approve | θ_i, a_b) with mistakes, shape (B, N)."""
        dist2 = ((self.particles[None, :, :] - fingerprints[:, None, :]) ** 2).sum(
            -1
        )  # ‖θ_i − fp_b‖²
        utility = (1.0 - self.myopia) * (self.tau - dist2) + self.reward_weight * rewards[:, None]
        p = _sigmoid(self.beta * utility)
        return (1.0 - self.mistake_prob) * p + self.mistake_prob * (1.0 - p)

    def predict(self, fingerprints: np.ndarray, rewards: np.ndarray) -> np.ndarray:
        """Posterior-predictive approval Σ_i w_i P(approve | θ_i, a_b), shape (B,)."""
        return self._approve(np.atleast_2d(fingerprints), np.atleast_1d(rewards)) @ self.weights

    def update(self, fingerprint: np.ndarray, reward: float, approved: bool) -> None:
        """Bayes: w_i ← w_i P(y | θ_i, a)."""
        p = self._approve(
            np.asarray(fingerprint, dtype=np.float64)[None, :], np.array([float(reward)])
        )[0]
        self.log_weights = self.log_weights + np.log(
            np.clip(p if approved else 1.0 - p, 1e-300, None)
        )
