# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The ideal learner: the physical limit of learning a person from answers (private module).

It knows everything but the person's values: the true fingerprints and task rewards of the
candidates, the person's response model (β, τ, reward weight, myopia, mistake rate) and the
prior the simulator draws that person's profile from. It holds the exact posterior over θ
(:class:`~moral_compass_ros.core.posterior.ParticlePosterior`, with the response parameters
fixed at the truth; resample-move keeps it exact, change points where the values drift) and
executes the candidate of highest posterior-predictive approval (``doc/design.md`` §10)::

    w_i ∝ Π_j P(y_j | θ_i),   P(approve | θ, a) = (1 − ε) p + ε (1 − p),   p = σ(β u(θ, a))

with u the simulator's utility (:meth:`SimulatedPerson.utility`): β u = β(1 − m)(τ − ‖θ − fp‖²)
+ βρ r, which is the posterior's likelihood with β' = β(1 − m), τ' = τ, ρ' = βρ and a point
fingerprint. Skipped queries teach it nothing (a skip is independent of θ except through the
"can't tell" band, which it ignores).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..core.posterior import DirichletMixture, ParticlePosterior, ResponsePrior
from ._simplex import SeedLike, as_generator

#: Particles of the ideal learner's posterior.
IDEAL_PARTICLES = 4096
#: A true fingerprint is a point: the Dirichlet of this total concentration stands for it (its
#: spread adds ~1/POINT_CONCENTRATION to the squared distance).
POINT_CONCENTRATION = 1e9


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
    change_hazard : float
        h of the change-point posterior (0: the values never change).
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
        change_hazard: float = 0.0,
    ) -> None:
        self._rng = as_generator(seed)
        self.beta, self.tau, self.reward_weight = float(beta), float(tau), float(reward_weight)
        self.myopia, self.mistake_prob = float(myopia), float(mistake_prob)
        slope = self.beta * (1.0 - self.myopia)  # β' = β(1 − m)
        task_weight = self.beta * self.reward_weight  # ρ' = βρ
        self._posterior = ParticlePosterior(
            DirichletMixture(np.asarray(prior_alphas, dtype=np.float64)),
            ResponsePrior((slope, slope), (self.tau, self.tau), (task_weight, task_weight)),
            int(n_particles),
            self._rng,
            change_hazard=change_hazard,
            mistake=self.mistake_prob,
            fixed_response=np.array([math.log(slope), self.tau, task_weight]),
        )

    @property
    def particles(self) -> np.ndarray:
        """Particle positions, shape (N, M)."""
        return self._posterior.theta

    @property
    def weights(self) -> np.ndarray:
        """Posterior weights, shape (N,)."""
        return self._posterior.weights

    @property
    def mean(self) -> np.ndarray:
        """Posterior mean of θ, shape (M,)."""
        return self.weights @ self.particles

    @property
    def ess(self) -> float:
        """Effective sample size of the particles."""
        return self._posterior.ess

    @staticmethod
    def _points(fingerprints: np.ndarray) -> np.ndarray:
        return POINT_CONCENTRATION * np.atleast_2d(fingerprints) + 1e-12

    def predict(self, fingerprints: np.ndarray, rewards: np.ndarray) -> np.ndarray:
        """Posterior-predictive approval Σ_i w_i P(approve | θ_i, a_b), shape (B,)."""
        posterior = self._posterior
        logits = posterior.logits(self._points(fingerprints), np.atleast_1d(rewards))
        return posterior.predictive(logits)[0]

    def update(self, fingerprint: np.ndarray, reward: float, approved: bool) -> None:
        """Bayes with one answer, then resample-move when the ESS is low."""
        posterior = self._posterior
        posterior.observe(
            self._points(fingerprint)[0], float(reward), bool(approved), 1.0, self._rng
        )
        posterior.reweigh()
        posterior.maybe_resample(self._rng)
