# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""What a learner returns: :class:`Scores` of a decision and the :class:`UpdateResult` of an
answer."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class Scores:
    """Step 1 result for B candidates (``doc/design.md`` §5). Arrays have shape (B,) unless stated.

    Attributes
    ----------
    total : ndarray
        What the candidate is ranked by, in log-odds of approval (``doc/design.md`` §11.4):
        ``predictive`` rule, logit(ŷ(a)) ± λ_info IG + (λ_task − 1) Task; ``seed`` rule,
        λ_task Task + λ_align (Align + Resid) ± λ_info IG (− for ``avoid``, + for ``seek``).
    task_cost : ndarray
        T(a) = −μ(a) + ρ_W(a) L, the worst-case task cost (reward units).
    task_term : ndarray
        Task(a) = −ρ̂ T(a): the robust task value in log-odds of approval (ρ̂ the posterior
        mean of the person's trade-off).
    alignment : ndarray
        Align(a) = β̂ (τ̂ − S_ε(q_t, P^A(· | a, s))) in log-odds (β̂, τ̂ posterior means): the
        explanation published with every decision, or where ``alignment_is_bound``
        its upper bound with S_ε replaced by ‖E_q θ − E_a θ‖² (a candidate ``prune_candidates``
        showed cannot win).
    divergence : ndarray
        S_ε(q_t, P^A(· | a, s)) (squared simplex distance), or its lower bound where
        ``alignment_is_bound``.
    residual : ndarray
        Resid(a) = E[ω]ᵀ[φ(a); s], the posterior mean of the residual logit (log-odds).
    info_gain : ndarray
        IG(a), exact mutual information between the posterior's particles and y (nats).
    predicted_approval : ndarray
        ŷ(a) = Σ_i w_i ℓ(1 | particle i; s, a), the posterior predictive.
    fingerprint_source : tuple of str
        Where each fingerprint came from: ``"hint"`` (the planner's), ``"library"`` (the
        fingerprint library) or ``"learned"`` (the network ψ).
    reward_mean, reward_std, evidence, wasserstein_radius : ndarray
        μ(a), σ(a), n(a), ρ(a) of the task model.
    fingerprint_mean : ndarray, shape (B, M)
        Mean α/α_0 of each fingerprint.
    selected : int
        argmax of ``total`` over the eligible candidates (first on ties).
    epsilon : float
        ε used for S_ε.
    lambdas : dict
        ``{"task": λ_task, "align": λ_align, "info": λ_info}``.
    information_mode : str
    version : int
        Compass/model version the scores were computed against.
    alignment_is_bound : ndarray of bool, shape (B,)
        True where ``alignment`` is the pruning bound, not the exact value (default all False).
    selection_rule : str
        ``"predictive"`` or ``"seed"``: how ``total`` was formed.
    """

    total: np.ndarray
    task_cost: np.ndarray
    task_term: np.ndarray
    alignment: np.ndarray
    divergence: np.ndarray
    residual: np.ndarray
    info_gain: np.ndarray
    predicted_approval: np.ndarray
    reward_mean: np.ndarray
    reward_std: np.ndarray
    evidence: np.ndarray
    wasserstein_radius: np.ndarray
    fingerprint_mean: np.ndarray
    selected: int
    epsilon: float
    lambdas: dict
    information_mode: str
    version: int
    alignment_is_bound: Optional[np.ndarray] = None
    fingerprint_source: Optional[tuple] = None
    selection_rule: str = "predictive"

    def __post_init__(self) -> None:
        if self.alignment_is_bound is None:
            object.__setattr__(self, "alignment_is_bound", np.zeros(len(self.total), dtype=bool))
        if self.fingerprint_source is None:
            object.__setattr__(self, "fingerprint_source", ("learned",) * len(self.total))


@dataclass(frozen=True)
class UpdateResult:
    """Outcome of :meth:`DynamicValueLearner.update`.

    Attributes
    ----------
    applied : bool
        True iff the state changed.
    reason : str
        ``"applied"``, ``"duplicate"`` or ``"rejected: …"``.
    version : int
        Version after the call.
    compass_moved : float
        S_ε(q_{t+1}, q_t) (0 when not applied).
    feedback_id : str
    log_likelihood : float
        log p(y_t | the answers before it): the posterior predictive's log probability of
        this answer before it was learned (NaN when not applied).
    ess : float
        ESS of the posterior after the update (after any resample-move).
    resampled : bool
    move_acceptance : float
        Fraction of resample-move proposals accepted (NaN when no move was made).
    """

    applied: bool
    reason: str
    version: int
    compass_moved: float
    feedback_id: str = ""
    log_likelihood: float = math.nan
    ess: float = math.nan
    resampled: bool = False
    move_acceptance: float = math.nan
