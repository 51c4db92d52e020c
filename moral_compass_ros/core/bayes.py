# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The ``bayes`` bound: exact Bayes with the same knowledge the learner has (``doc/design.md``
§11.1).

What a deployment can know, and nothing else: the known value profile of each executed action
(the planner's hint or the fingerprint library) as its fingerprint, the planner's reward
estimates fused with the observed rewards (the learner's own task model), and the likelihood of
:mod:`.posterior` with θ, β, τ and ρ all unknown under the package's priors. No residual, no
network: it is the limit of learning from answers where the value model is right, and the
learner should come close to it. Many particles (``BAYES_PARTICLES``) and resample-move keep it
exact; :attr:`ess` is reported. With ``change_hazard`` > 0 it is the change-point posterior
(the bound for drift). An action without a known profile gets the flat fingerprint Dir(1).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .compass import Compass
from .config import LearnerConfig
from .events import FeedbackEvent
from .fingerprint import numpy_generator, profile_concentration
from .learner import log_odds, make_posterior
from .results import Scores, UpdateResult
from .scoring import task_cost
from .task_model import BayesianTaskModel
from .validation import validate_candidates, validate_event

#: Particles of the bound (the learner's default is 512).
BAYES_PARTICLES = 4096


class BayesLearner:
    """Exact Bayes over (θ, β, τ, ρ) with the learner's knowledge (module docstring).

    Parameters
    ----------
    config : LearnerConfig
        Priors, dimensions, hint strength, task model and seed, as the learner's.
    change_hazard : float
        h of the change-point posterior (0 = the values never change).
    n_particles : int
    """

    def __init__(
        self, config: LearnerConfig, change_hazard: float = 0.0, n_particles: int = BAYES_PARTICLES
    ) -> None:
        self.config = config.replace(
            change_hazard=float(change_hazard), gamma=1.0, residual_prior_scales=(0.0,)
        )
        self._posterior = make_posterior(self.config, n_particles)
        self._task = BayesianTaskModel(
            config.feature_dim + config.context_dim + 1,
            config.task_noise_std,
            config.task_prior_std,
        )
        self._version = 0
        self._applied_ids: set[str] = set()

    @property
    def version(self) -> int:
        return self._version

    @property
    def compass(self) -> Compass:
        """The θ-marginal of the posterior."""
        return self._posterior.compass()

    @property
    def ess(self) -> float:
        """Effective sample size of the particles now."""
        return self._posterior.ess

    def _concentration(self, hints) -> np.ndarray:
        """κ_h h + floor where a profile is known (as the learner's), else Dir(1); (B, M)."""
        cfg = self.config
        flat = np.ones(cfg.n_values)
        known = ~np.isnan(hints).any(axis=1, keepdims=True)
        known_alpha = profile_concentration(
            np.nan_to_num(hints), cfg.concentration_floor, cfg.hint_strength
        )
        return np.where(known, known_alpha, flat)

    def predict_approval(
        self, features, context, value_hints=None, reward_mean=None, reward_std=None
    ) -> np.ndarray:
        """Posterior-predictive approval, shape (B,)."""
        return self._predict(features, context, reward_mean, reward_std, value_hints)[0]

    def _predict(self, features, context, reward_mean, reward_std, value_hints):
        cfg = self.config
        phi, s, rm, rs, hints = validate_candidates(
            cfg, features, context, reward_mean, reward_std, value_hints
        )
        mean, std, evidence = self._task.predict(phi, s, rm, rs, cfg.planner_reward_std)
        concentration = self._concentration(
            np.full((len(phi), cfg.n_values), np.nan) if hints is None else hints
        )
        approval, info_gain = self._posterior.predictive(
            self._posterior.logits(concentration, mean)
        )
        return approval, info_gain, mean, std, evidence, concentration

    def score(
        self, features, context, reward_mean=None, reward_std=None, value_hints=None, **_: Any
    ) -> Scores:
        """Scores whose total is the predictive log-odds; it executes the highest."""
        cfg = self.config
        approval, info_gain, mean, std, evidence, concentration = self._predict(
            features, context, reward_mean, reward_std, value_hints
        )
        cost, radius = task_cost(mean, evidence, cfg.rho0, cfg.lipschitz)
        total = log_odds(approval)
        zeros = np.zeros(len(total))
        return Scores(
            total=total,
            task_cost=cost,
            task_term=-self._posterior.response_mean()[2] * cost,
            alignment=zeros,
            divergence=zeros,
            residual=zeros,
            info_gain=info_gain,
            predicted_approval=approval,
            reward_mean=mean,
            reward_std=std,
            evidence=evidence,
            wasserstein_radius=radius,
            fingerprint_mean=concentration / concentration.sum(-1, keepdims=True),
            selected=int(np.argmax(total)),
            epsilon=float(cfg.epsilon),
            lambdas={"task": 1.0, "align": 0.0, "info": 0.0},
            information_mode=cfg.information_mode,
            version=self._version,
        )

    def update(self, event: FeedbackEvent) -> UpdateResult:
        """Bayes with one answer (then resample-move when the ESS is low)."""
        if event.feedback_id in self._applied_ids:
            return UpdateResult(False, "duplicate", self._version, 0.0, event.feedback_id)
        validate_event(self.config, event)
        if math.isnan(event.task_reward):
            task_value = float(self._task.predict(event.features[None, :], event.context)[0][0])
        else:
            task_value = float(event.task_reward)
            self._task.update(event.features, event.context, event.task_reward)
        hint = event.value_hint if event.value_hint.size else np.full(self.config.n_values, np.nan)
        self._version += 1
        rng = numpy_generator(self.config.seed, self._version, "bayes")
        posterior = self._posterior
        posterior.observe(
            self._concentration(hint[None, :])[0], task_value, event.approved, event.weight, rng
        )
        posterior.reweigh()
        posterior.maybe_resample(rng)
        self._applied_ids.add(event.feedback_id)
        return UpdateResult(
            True,
            "applied",
            self._version,
            0.0,
            event.feedback_id,
            ess=posterior.ess,
            resampled=posterior.resampled,
            move_acceptance=posterior.last_acceptance,
        )
