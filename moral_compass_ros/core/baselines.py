# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Baselines the evaluation compares the Dynamic Value Spaces learner with (``doc/design.md`` §9).

All expose the learner interface used by the nodes and the simulator: ``score(features,
context, reward_mean, reward_std, value_hints) -> Scores``, ``update(event) -> UpdateResult``,
``predict_approval``, ``version``, ``compass``, ``state_dict()`` / ``from_state_dict``.
Terms a baseline does not have (information gain; alignment for a pure-task monist) are zeros.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np
import torch

from .compass import Compass
from .config import LearnerConfig
from .events import FeedbackEvent
from .pretrain import task_values
from .fingerprint import FingerprintModel, torch_generator
from .results import Scores, UpdateResult
from .validation import validate_candidates, validate_event
from .scoring import task_cost
from .sinkhorn import expected_cost_to_dirichlet
from .task_model import BayesianTaskModel

STATE_FORMAT = 1
#: Prior standard deviation of every weight of the logistic-regression bound (log-odds per
#: input unit; the inputs are of order 1).
LOGISTIC_PRIOR_STD = 1.0
#: Added to a profile before its log-ratio (clr) is taken: a value at 0 reads as log(0.01).
PROFILE_FLOOR = 0.01


def prior_centre(config: LearnerConfig) -> tuple[float, float]:
    """(β_0, τ_0): the centres of the learner's prior ranges (geometric for β), the fixed
    response model of the point-estimate baselines."""
    beta = math.sqrt(config.beta_prior[0] * config.beta_prior[1])
    return beta, 0.5 * (config.tau_prior[0] + config.tau_prior[1])


class _PointEstimateLearner:
    """Shared plumbing: validation, task model, fixed fingerprint network, ids and version."""

    def __init__(self, config: LearnerConfig) -> None:
        if not isinstance(config, LearnerConfig):
            raise TypeError("config must be a LearnerConfig")
        self.config = config
        self.value_space = config.value_space
        # The per-value reward model r(a) of these baselines: the (untrained, fixed) fingerprint
        # network's mean, dominated by the planner hint when one is sent.
        self._fingerprint = FingerprintModel(
            config.feature_dim,
            config.context_dim,
            config.n_values,
            config.fingerprint_hidden,
            config.concentration_floor,
            config.hint_strength,
            torch_generator(config.seed, 0, "init"),
        )
        self._task = BayesianTaskModel(
            config.feature_dim + config.context_dim + 1,
            config.task_noise_std,
            config.task_prior_std,
        )
        self._version = 0
        self._applied_ids: list[str] = []

    @property
    def version(self) -> int:
        """Number of applied updates."""
        return self._version

    def _value_rewards(
        self, phi: np.ndarray, s: np.ndarray, hints: Optional[np.ndarray]
    ) -> np.ndarray:
        """Per-value rewards r(a) ∈ [0, 1]^M = fingerprint mean α/α_0, shape (B, M)."""
        with torch.no_grad():
            alpha = self._fingerprint.concentration(
                torch.from_numpy(phi),
                torch.from_numpy(s),
                None if hints is None else torch.from_numpy(hints),
            )
            return (alpha / alpha.sum(-1, keepdim=True)).numpy()

    def _profile(self) -> np.ndarray:
        raise NotImplementedError

    @property
    def compass(self) -> Compass:
        """The point estimate as a one-particle compass."""
        return Compass(self._profile()[None, :], np.ones(1))

    def _scores(self, phi, s, rm, rs, alignment, approval, rewards) -> Scores:
        cfg = self.config
        mean, std, evidence = self._task.predict(phi, s, rm, rs, cfg.planner_reward_std)
        cost, radius = task_cost(mean, evidence, cfg.rho0, cfg.lipschitz)  # T = −μ + ρL
        total = -cfg.lambda_task * cost + cfg.lambda_align * alignment
        zeros = np.zeros(phi.shape[0])
        return Scores(
            total=total,
            task_cost=cost,
            task_term=-cost,
            alignment=alignment,
            divergence=zeros,
            residual=zeros,
            info_gain=zeros,
            predicted_approval=approval,
            reward_mean=mean,
            reward_std=std,
            evidence=evidence,
            wasserstein_radius=radius,
            fingerprint_mean=rewards,
            selected=int(np.argmax(total)),
            epsilon=float(cfg.epsilon),
            lambdas={"task": cfg.lambda_task, "align": cfg.lambda_align, "info": 0.0},
            information_mode=cfg.information_mode,
            version=self._version,
        )

    def _begin_update(self, event: FeedbackEvent) -> Optional[UpdateResult]:
        if not isinstance(event, FeedbackEvent):
            raise TypeError(f"event must be a FeedbackEvent, got {type(event).__name__}")
        if event.feedback_id in self._applied_ids:
            return UpdateResult(False, "duplicate", self._version, 0.0, event.feedback_id)
        validate_event(self.config, event)
        if not math.isnan(event.task_reward):
            self._task.update(event.features, event.context, event.task_reward)
        return None

    def _finish_update(self, event: FeedbackEvent, moved: float) -> UpdateResult:
        self._applied_ids.append(event.feedback_id)
        self._version += 1
        return UpdateResult(
            True, "applied", self._version, float(moved), event.feedback_id, ess=1.0
        )

    def _base_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "format": STATE_FORMAT,
            "kind": type(self).__name__,
            "config": self.config.to_dict(),
            "version": self._version,
            "applied_ids": list(self._applied_ids),
        }
        for name, value in self._task.get_parameters().items():
            state[f"task.{name}"] = value
        return state

    def _load_base_state(self, state: dict[str, Any]) -> None:
        if (
            int(state.get("format", -1)) != STATE_FORMAT
            or state.get("kind") != type(self).__name__
        ):
            raise ValueError(f"state is not a format-{STATE_FORMAT} {type(self).__name__} state")
        self._task.set_parameters(
            {k.split(".", 1)[1]: v for k, v in state.items() if k.startswith("task.")}
        )
        self._version = int(state["version"])
        self._applied_ids = [str(i) for i in state["applied_ids"]]


class MonistLearner(_PointEstimateLearner):
    """Monist baseline: one fixed scalar reward (``doc/design.md`` §9).

    With ``value_weights=None`` the score is the task term only. With a fixed weighting
    c ∈ Θ the alignment is the scalarised value reward :math:`r(a)^T c` and the predicted
    approval :math:`\\sigma(\\beta_0(\\tau_0 - D(c, a)))` (β_0, τ_0 the centres of the prior
    ranges). Feedback never changes the values;
    observed task rewards still update the task model.

    Parameters
    ----------
    config : LearnerConfig
    value_weights : array_like, shape (M,), optional
        Fixed value weighting c on the simplex.
    """

    def __init__(self, config: LearnerConfig, value_weights: Optional[np.ndarray] = None) -> None:
        super().__init__(config)
        self._weights = (
            None
            if value_weights is None
            else self.value_space.check(value_weights, "value_weights").copy()
        )

    def _profile(self) -> np.ndarray:
        return self.value_space.center if self._weights is None else self._weights.copy()

    def _alignment_and_approval(self, phi, s, hints):
        rewards = self._value_rewards(phi, s, hints)
        if self._weights is None:
            return np.zeros(phi.shape[0]), np.full(phi.shape[0], 0.5), rewards
        cfg = self.config
        with torch.no_grad():
            alpha = self._fingerprint.concentration(
                torch.from_numpy(phi),
                torch.from_numpy(s),
                None if hints is None else torch.from_numpy(hints),
            )
            expected_cost = expected_cost_to_dirichlet(
                torch.from_numpy(self._weights[None, :]), alpha, cfg.cost
            )[:, 0]
        beta, tau = prior_centre(cfg)
        approval = 1.0 / (1.0 + np.exp(-beta * (tau - expected_cost.numpy())))  # σ(β(τ − D(c, a)))
        return rewards @ self._weights, approval, rewards  # alignment r(a)ᵀc

    def score(
        self, features, context, reward_mean=None, reward_std=None, value_hints=None
    ) -> Scores:
        """Task-only (or fixed-weighting) scores; see :meth:`DynamicValueLearner.score` for
        shapes."""
        phi, s, rm, rs, hints = validate_candidates(
            self.config, features, context, reward_mean, reward_std, value_hints
        )
        alignment, approval, rewards = self._alignment_and_approval(phi, s, hints)
        return self._scores(phi, s, rm, rs, alignment, approval, rewards)

    def predict_approval(self, features, context, value_hints=None) -> np.ndarray:
        """σ(β_0(τ_0 − D(c, a))) for a fixed weighting, else 0.5; shape (B,)."""
        phi, s, _, _, hints = validate_candidates(
            self.config, features, context, None, None, value_hints
        )
        return self._alignment_and_approval(phi, s, hints)[1]

    def update(self, event: FeedbackEvent) -> UpdateResult:
        """Update the task model only (values are fixed); idempotent by ``feedback_id``."""
        early = self._begin_update(event)
        return early if early is not None else self._finish_update(event, 0.0)

    def state_dict(self) -> dict[str, Any]:
        """Plain-array state (task model, weighting, ids, version)."""
        state = self._base_state()
        state["value_weights"] = np.array([]) if self._weights is None else self._weights.copy()
        return state

    @classmethod
    def from_state_dict(cls, config: LearnerConfig, state: dict[str, Any]) -> "MonistLearner":
        """Inverse of :meth:`state_dict`."""
        weights = np.asarray(state.get("value_weights", []), dtype=np.float64)
        learner = cls(config, weights if weights.size else None)
        learner._load_base_state(state)
        return learner


class ContextualAggregationLearner(_PointEstimateLearner):
    """Contextual moral-value aggregation after Dognin et al. (``doc/design.md`` §9).

    Per-value rewards r(a) ∈ [0, 1]^M (the fingerprint mean, from the planner hint when sent)
    are scalarised by a moral-profile vector c ∈ Θ, :math:`R(a) = r(a)^T c`. The profile is a
    point estimate learned online by logistic regression on the same feedback:

    .. math::
        p(y = 1 \\mid a) = \\sigma\\big(\\beta_c\\,(r(a)^T c - \\tau_c)\\big),\\quad
        c = \\operatorname{softmax}(\\eta),\\ \\beta_c = \\operatorname{softplus}(b)

    fitted by ``gradient_steps`` clipped gradient-ascent steps per event on the
    γ-discounted, weight-scaled log-likelihood of the replay window.

    Parameters
    ----------
    config : LearnerConfig
    learning_rate : float
        Step size of the logistic regression (> 0).
    """

    def __init__(self, config: LearnerConfig, learning_rate: float = 0.5) -> None:
        super().__init__(config)
        if not (math.isfinite(learning_rate) and learning_rate > 0):
            raise ValueError(f"learning_rate must be finite and > 0, got {learning_rate}")
        self.learning_rate = float(learning_rate)
        f64 = torch.float64
        self._profile_logits = torch.zeros(config.n_values, dtype=f64)  # η (c starts uniform)
        beta = prior_centre(config)[0]
        self._raw_scale = torch.tensor(beta + math.log(-math.expm1(-beta)), dtype=f64)
        self._threshold = torch.tensor(1.0 / config.n_values, dtype=f64)  # τ_c
        self._window: list[dict[str, Any]] = []

    def _profile(self) -> np.ndarray:
        c = torch.softmax(self._profile_logits, 0).numpy()
        return c / c.sum()

    def _approval(self, rewards: np.ndarray, profile_logits, raw_scale, threshold) -> torch.Tensor:
        c = torch.softmax(profile_logits, 0)
        return torch.sigmoid(
            torch.nn.functional.softplus(raw_scale) * (torch.from_numpy(rewards) @ c - threshold)
        )

    def score(
        self, features, context, reward_mean=None, reward_std=None, value_hints=None
    ) -> Scores:
        """Scores with alignment r(a)ᵀc; see :meth:`DynamicValueLearner.score` for shapes."""
        phi, s, rm, rs, hints = validate_candidates(
            self.config, features, context, reward_mean, reward_std, value_hints
        )
        rewards = self._value_rewards(phi, s, hints)
        with torch.no_grad():
            approval = self._approval(
                rewards, self._profile_logits, self._raw_scale, self._threshold
            ).numpy()
        return self._scores(phi, s, rm, rs, rewards @ self._profile(), approval, rewards)

    def predict_approval(self, features, context, value_hints=None) -> np.ndarray:
        """Logistic-regression approval σ(β_c(r(a)ᵀc − τ_c)), shape (B,)."""
        phi, s, _, _, hints = validate_candidates(
            self.config, features, context, None, None, value_hints
        )
        with torch.no_grad():
            return self._approval(
                self._value_rewards(phi, s, hints),
                self._profile_logits,
                self._raw_scale,
                self._threshold,
            ).numpy()

    def update(self, event: FeedbackEvent) -> UpdateResult:
        """Online logistic-regression update of the profile c; idempotent by ``feedback_id``."""
        early = self._begin_update(event)
        if early is not None:
            return early
        cfg = self.config
        hint = event.value_hint[None, :] if event.value_hint.size else None
        reward = self._value_rewards(event.features[None, :], event.context, hint)[0]
        self._window.append(
            {
                "rewards": reward.tolist(),
                "approved": bool(event.approved),
                "weight": float(event.weight),
            }
        )
        del self._window[: -cfg.replay_window]
        rewards = np.array([e["rewards"] for e in self._window])
        labels = torch.tensor(
            [1.0 if e["approved"] else 0.0 for e in self._window], dtype=torch.float64
        )
        ages = np.arange(len(self._window) - 1, -1, -1, dtype=np.float64)
        omega = torch.from_numpy(
            np.array([e["weight"] for e in self._window]) * cfg.gamma**ages
        )  # ω_j
        before = self._profile()
        if float(omega.sum()) > 0:
            params = [self._profile_logits, self._raw_scale, self._threshold]
            for _ in range(max(cfg.gradient_steps, 1)):
                leaves = [p.detach().requires_grad_(True) for p in params]
                p1 = torch.clamp(self._approval(rewards, *leaves), 1e-12, 1 - 1e-12)
                log_lik = (
                    omega * (labels * torch.log(p1) + (1 - labels) * torch.log(1 - p1))
                ).sum() / omega.sum()
                grads = torch.autograd.grad(log_lik, leaves)
                norm = float(torch.sqrt(sum((g * g).sum() for g in grads)))
                scale = min(1.0, cfg.grad_clip / norm) if norm > 0 else 1.0
                candidate = [
                    (p + self.learning_rate * scale * g).detach() for p, g in zip(leaves, grads)
                ]
                if not all(bool(torch.isfinite(c).all()) for c in candidate):
                    break  # keep the last finite estimate
                params = candidate
            self._profile_logits, self._raw_scale, self._threshold = params
        moved = float(np.sum((self._profile() - before) ** 2))
        return self._finish_update(event, moved)

    def state_dict(self) -> dict[str, Any]:
        """Plain-array state (profile, scale, threshold, window, task model, ids, version)."""
        state = self._base_state()
        state.update(
            {
                "profile_logits": self._profile_logits.numpy().copy(),
                "raw_scale": float(self._raw_scale),
                "threshold": float(self._threshold),
                "window": [dict(e) for e in self._window],
                "learning_rate": self.learning_rate,
            }
        )
        return state

    @classmethod
    def from_state_dict(
        cls, config: LearnerConfig, state: dict[str, Any]
    ) -> "ContextualAggregationLearner":
        """Inverse of :meth:`state_dict`."""
        learner = cls(config, float(state.get("learning_rate", 0.5)))
        learner._load_base_state(state)
        learner._profile_logits = torch.tensor(
            np.asarray(state["profile_logits"], dtype=np.float64)
        )
        learner._raw_scale = torch.tensor(float(state["raw_scale"]), dtype=torch.float64)
        learner._threshold = torch.tensor(float(state["threshold"]), dtype=torch.float64)
        learner._window = [dict(e) for e in state["window"]]
        return learner


class LogisticLearner(_PointEstimateLearner):
    r"""Online regularised logistic regression on what the DVS learner sees: the practitioner's
    bound.

    .. math::
        p(y = 1 \mid a) = \sigma(v^T x(a)),\qquad
        x(a) = [\phi(a);\ s;\ \mu_{task}(a);\ \mathrm{clr}(h(a));\ 1\{h(a)\ \text{known}\};\ 1]

    so ``F + C + M + 3`` weights. Per candidate it sees exactly:

    * φ(a), shape (F,): the candidate's features;
    * s, shape (C,): the context;
    * μ_task(a): the planner-fused task-reward estimate when scoring, and the observed task
      reward (else the estimate) when learning, as in the DVS likelihood;
    * clr(h(a)), shape (M,): the candidate's known value profile h -- its row of
      ``value_hints`` when that row is not NaN (a planner hint or a fingerprint-library entry:
      the rows the DVS learner receives), the event's ``value_hint`` when learning -- in
      centred log-ratio coordinates, log(h + PROFILE_FLOOR) minus its mean: inputs of order
      one, like the others, under the same unit prior (raw profiles differ by tenths, and a
      unit prior would hide them); zeros when unknown (NaN row, no ``value_hints``, or an
      empty ``value_hint``);
    * 1{h known}: 1 when h(a) is known, else 0 (so an unknown profile is not read as "zero on
      every value");
    * 1: the bias.

    It does not see true fingerprints, the DVS fingerprint network's output or a compass. It is
    refitted after every answer to all answers so far (weight-scaled, γ-discounted), to
    convergence by Newton steps, with a Gaussian prior on every weight (mean 0, or the pooled
    fit after :meth:`pretrain`). It executes the candidate of highest predicted approval
    (``Scores.total`` is its logit); ``task_term`` is the μ_task part of that logit and
    ``residual`` the rest. No compass: its compass is the uniform point.
    """

    def __init__(self, config: LearnerConfig) -> None:
        super().__init__(config)
        self._task_index = config.feature_dim + config.context_dim  # μ_task's weight
        self._weights = np.zeros(self.n_weights)  # v, shape (F + C + M + 3,)
        self._prior_mean = np.zeros_like(self._weights)  # pooled weights after pretrain()
        self._data: list[dict[str, Any]] = []

    @property
    def n_weights(self) -> int:
        """Length F + C + M + 3 of x(a) and of the weight vector v."""
        cfg = self.config
        return cfg.feature_dim + cfg.context_dim + cfg.n_values + 3

    def pretrain(self, events: Sequence[FeedbackEvent]) -> None:
        """Fit the weights to other people's answers (pooled) and make them the prior mean: the
        practitioner's counterpart of a pre-trained fingerprint network.

        Same design x(a) as :meth:`update` (an event without ``value_hint`` -- as the
        simulator's pooled answers are -- has h = 0 and indicator 0). Task rewards by the rule
        of :func:`~.pretrain.pretrain_fingerprints` (:func:`~.pretrain.task_values`).
        """
        events = list(events)
        for event in events:
            validate_event(self.config, event)
        x = np.concatenate(
            [
                self._design(e.features[None, :], e.context, np.array([r]), self._event_hint(e))
                for e, r in zip(events, task_values(events))
            ]
        )
        y = np.array([float(e.approved) for e in events])
        omega = np.array([e.weight for e in events])
        self._prior_mean = self._fit(x, y, omega, np.zeros_like(self._weights))
        self._weights = self._prior_mean.copy()

    def _fit(self, x, y, omega, start) -> np.ndarray:
        """MAP weights under the Gaussian prior around the prior mean, by Newton steps."""
        precision = 1.0 / LOGISTIC_PRIOR_STD**2
        weights = start.copy()
        for _ in range(50):  # Newton on the concave penalised log-likelihood
            p = 1.0 / (1.0 + np.exp(-(x @ weights)))
            grad = x.T @ (omega * (y - p)) - precision * (weights - self._prior_mean)
            hess = (x * (omega * p * (1.0 - p))[:, None]).T @ x + precision * np.eye(len(weights))
            step = np.linalg.solve(hess, grad)
            weights = weights + step
            if np.max(np.abs(step)) < 1e-10:
                break
        if not np.all(np.isfinite(weights)):
            raise ArithmeticError("logistic fit produced a non-finite weight")
        return weights

    def _profile(self) -> np.ndarray:
        return np.full(self.config.n_values, 1.0 / self.config.n_values)

    @staticmethod
    def _event_hint(event: FeedbackEvent) -> Optional[np.ndarray]:
        """The event's value profile as a (1, M) hint row, or None when it has none."""
        return event.value_hint[None, :] if event.value_hint.size else None

    def _design(
        self,
        phi: np.ndarray,
        s: np.ndarray,
        task_value: np.ndarray,
        hints: Optional[np.ndarray] = None,
    ) -> np.ndarray:
        """x(a) = [φ(a); s; μ_task(a); clr(h(a)); 1{h known}; 1], shape (B, F + C + M + 3).

        Parameters
        ----------
        phi : ndarray, shape (B, F)
        s : ndarray, shape (C,)
        task_value : ndarray, shape (B,)
        hints : ndarray, shape (B, M), or None
            Validated value profiles; an all-NaN row (or None for every row) = unknown.
        """
        n, m = phi.shape[0], self.config.n_values
        profile = np.zeros((n, m))
        known = np.zeros(n, dtype=bool)
        if hints is not None:
            known = ~np.isnan(hints).any(axis=1)
            log_profile = np.log(hints[known] + PROFILE_FLOOR)
            profile[known] = log_profile - log_profile.mean(axis=1, keepdims=True)  # clr
        return np.concatenate(
            [
                phi,
                np.broadcast_to(s, (n, s.shape[0])),
                task_value[:, None],
                profile,
                known[:, None].astype(np.float64),
                np.ones((n, 1)),
            ],
            axis=1,
        )

    def score(
        self, features, context, reward_mean=None, reward_std=None, value_hints=None
    ) -> Scores:
        """Scores whose total is the predicted approval's logit; see
        :meth:`DynamicValueLearner.score` (``value_hints`` rows that are not NaN enter x(a))."""
        cfg = self.config
        phi, s, rm, rs, hints = validate_candidates(
            cfg, features, context, reward_mean, reward_std, value_hints
        )
        mean, std, evidence = self._task.predict(phi, s, rm, rs, cfg.planner_reward_std)
        cost, radius = task_cost(mean, evidence, cfg.rho0, cfg.lipschitz)
        logit = self._design(phi, s, mean, hints) @ self._weights
        task_term = self._weights[self._task_index] * mean
        zeros = np.zeros(phi.shape[0])
        return Scores(
            total=logit,
            task_cost=cost,
            task_term=task_term,
            alignment=zeros,
            divergence=zeros,
            residual=logit - task_term,
            info_gain=zeros,
            predicted_approval=1.0 / (1.0 + np.exp(-logit)),
            reward_mean=mean,
            reward_std=std,
            evidence=evidence,
            wasserstein_radius=radius,
            fingerprint_mean=np.tile(self._profile(), (phi.shape[0], 1)),
            selected=int(np.argmax(logit)),
            epsilon=float(cfg.epsilon),
            lambdas={"task": 1.0, "align": 0.0, "info": 0.0},
            information_mode=cfg.information_mode,
            version=self._version,
        )

    def predict_approval(self, features, context, value_hints=None) -> np.ndarray:
        """σ(vᵀx(a)), shape (B,)."""
        phi, s, _, _, hints = validate_candidates(
            self.config, features, context, None, None, value_hints
        )
        mean, _, _ = self._task.predict(phi, s, None, None, self.config.planner_reward_std)
        return 1.0 / (1.0 + np.exp(-(self._design(phi, s, mean, hints) @ self._weights)))

    def update(self, event: FeedbackEvent) -> UpdateResult:
        """Refit the logistic regression to every answer so far; idempotent by ``feedback_id``."""
        early = self._begin_update(event)
        if early is not None:
            return early
        task_value = event.task_reward
        if math.isnan(task_value):  # unobserved (and so not learned from): the estimate
            task_value = float(self._task.predict(event.features[None, :], event.context)[0][0])
        x = self._design(
            event.features[None, :], event.context, np.array([task_value]), self._event_hint(event)
        )
        self._data.append(
            {"x": x[0].tolist(), "y": float(event.approved), "weight": float(event.weight)}
        )
        x = np.array([d["x"] for d in self._data])
        y = np.array([d["y"] for d in self._data])
        ages = np.arange(len(self._data) - 1, -1, -1, dtype=np.float64)
        omega = np.array([d["weight"] for d in self._data]) * self.config.gamma**ages
        before = self._weights.copy()
        weights = self._fit(x, y, omega, before)
        self._weights = weights
        return self._finish_update(event, float(np.sum((weights - before) ** 2)))

    def state_dict(self) -> dict[str, Any]:
        """Plain-array state (weights, answers, task model, ids, version)."""
        state = self._base_state()
        state.update(
            {
                "weights": self._weights.copy(),
                "prior_mean": self._prior_mean.copy(),
                "data": [dict(d) for d in self._data],
            }
        )
        return state

    @classmethod
    def from_state_dict(cls, config: LearnerConfig, state: dict[str, Any]) -> "LogisticLearner":
        """Inverse of :meth:`state_dict`.

        Raises
        ------
        ValueError
            The state's weights or answers do not have this design's F + C + M + 3 entries (a
            state of another config, or of the design without value profiles).
        """
        learner = cls(config)
        learner._load_base_state(state)
        weights = np.asarray(state["weights"], dtype=np.float64).copy()
        prior_mean = np.asarray(
            state.get("prior_mean", np.zeros_like(weights)), dtype=np.float64
        ).copy()
        data = [dict(d) for d in state["data"]]
        n = learner.n_weights
        if (
            weights.shape != (n,)
            or prior_mean.shape != (n,)
            or any(len(d["x"]) != n for d in data)
        ):
            raise ValueError(
                f"LogisticLearner state has {weights.shape[0]} weights, this config's design "
                f"x(a) = [φ; s; μ_task; clr(h); 1{{h known}}; 1] needs {n}"
            )
        learner._weights, learner._prior_mean, learner._data = weights, prior_mean, data
        return learner


__all__ = [
    "MonistLearner",
    "ContextualAggregationLearner",
    "LogisticLearner",
]
