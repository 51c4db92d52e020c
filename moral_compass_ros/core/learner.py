# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The Dynamic Value Spaces learner: Step 1 scoring, Step 2 model learning, Step 3 compass update.

See ``doc/design.md`` §3–§7. One object holds the whole learnable state:
the compass q_t (a :class:`Compass`), the fingerprint network ψ, the likelihood parameters w,
the Bayesian task model, the replay window of recent events, the ids already received and the
version counter.

Version semantics
-----------------
``version`` starts at 0 and increases by exactly 1 on every *applied* update. A duplicate id, an
invalid event (``ValueError``) or a rejected step leave it unchanged. Fingerprint samples used
for scoring are drawn from a generator seeded by ``(config.seed, version)``, so any process
holding the same compass, model parameters and version computes identical scores.

Rejected steps
--------------
If any stage of an update produces a non-finite value, the learnable state (compass, ψ, w,
task model, replay window, version) is restored to an exact copy taken before the update; the
event is still counted as received — its id joins ``rejected`` and a re-sent copy is answered
``"duplicate"`` — and :class:`UpdateResult` reports ``applied=False`` with the reason.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import torch

from .compass import Compass
from .config import LearnerConfig
from .events import FeedbackEvent
from .fingerprint import FingerprintModel, numpy_generator, sample_dirichlet, torch_generator
from .likelihood import LikelihoodModel
from .pretrain import PretrainedFingerprints
from .profiling import Profile, timed
from .scoring import information_gain, predictive_approval, task_cost
from .sinkhorn import (
    SIMPLEX_DIAMETER,
    TransportResult,
    divergence_lower_bound,
    WarmStart,
    sinkhorn,
    expected_cost_to_dirichlet,
    kernel_domain_ok,
    sinkhorn_divergence,
)
from .task_model import BayesianTaskModel
from .value_space import SimplexError, check_simplex

STATE_FORMAT = 2
#: Candidates scored exactly per round of the pruned Step 1 (``prune_candidates``).
PRUNE_ROUND = 8
#: The solvers :meth:`DynamicValueLearner.score` offers for the alignment (``method=``).
SCORE_METHODS = ("auto", "pot")
_LOG_FLOOR = 1e-300


class NonFiniteStepError(RuntimeError):
    """Raised inside an update when a stage produces NaN or inf; the update is rolled back."""


@dataclass(frozen=True)
class Scores:
    """Step 1 result for B candidates (``doc/design.md`` §5). Arrays have shape (B,) unless stated.

    Attributes
    ----------
    total : ndarray
        λ_task Task + λ_align Align + Resid ± λ_info IG (− for ``avoid``, + for ``seek``), in
        log-odds of approval (``doc/design.md`` §10.3).
    task_cost : ndarray
        T(a) = −μ(a) + ρ_W(a) L, the worst-case task cost (reward units).
    task_term : ndarray
        Task(a) = −ρ̂ T(a): the robust task value in log-odds of approval (ρ̂ the person's
        learned trade-off).
    alignment : ndarray
        Align(a) = β̂ (τ̂ − S_ε(q_t, P^A(· | a, s))) in log-odds, or where ``alignment_is_bound``
        its upper bound with S_ε replaced by ‖E_q θ − E_a θ‖² (a candidate ``prune_candidates``
        showed cannot win).
    divergence : ndarray
        S_ε(q_t, P^A(· | a, s)) (squared simplex distance), or its lower bound where
        ``alignment_is_bound``.
    residual : ndarray
        Resid(a) = ω̂ᵀ[φ(a); s], the likelihood's residual logistic term (log-odds).
    info_gain : ndarray
        IG(a), exact mutual information between θ and y (nats).
    predicted_approval : ndarray
        ŷ(a) = Σ_i w_i ℓ_w(1 | θ_i, s, a).
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
        True where ``alignment`` (and so ``total``) is the pruning bound, not the exact value
        (default all False).
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
        Replay-window objective J after Step 2 (NaN when not applied).
    ess : float
        ESS of the compass after the update (before any resampling's reset).
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


def _as_float_array(value: Any, name: str, ndim: int) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric") from None
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    return arr


def validate_candidates(
    cfg: LearnerConfig, features, context, reward_mean=None, reward_std=None, value_hints=None
):
    """Validate a candidate batch against ``cfg``.

    Returns ``(features (B, F), context (C,), reward_mean (B,) | None, reward_std (B,) | None,
    value_hints (B, M) | None)`` as float64 arrays; raises ``ValueError`` on wrong shapes, NaN/inf,
    an empty batch or a hint off the simplex.
    """
    phi = _as_float_array(features, "features", 2)
    if phi.shape[0] == 0:
        raise ValueError("empty candidate set: features has B = 0 rows")
    if phi.shape[1] != cfg.feature_dim:
        raise ValueError(f"features must have shape (B, F={cfg.feature_dim}), got {phi.shape}")
    if not np.all(np.isfinite(phi)):
        raise ValueError("features contain NaN or inf")
    n = phi.shape[0]
    s = _as_float_array(context, "context", 1)
    if s.shape != (cfg.context_dim,):
        raise ValueError(f"context must have shape (C={cfg.context_dim},), got {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("context contains NaN or inf")
    rm = rs = None
    if reward_mean is not None:
        rm = _as_float_array(reward_mean, "reward_mean", 1)
        if rm.shape != (n,):
            raise ValueError(f"reward_mean must have shape ({n},), got {rm.shape}")
        if np.any(np.isinf(rm)):
            raise ValueError("reward_mean contains inf (use NaN for 'no estimate')")
    if reward_std is not None:
        rs = _as_float_array(reward_std, "reward_std", 1)
        if rs.shape != (n,):
            raise ValueError(f"reward_std must have shape ({n},), got {rs.shape}")
        if np.any(np.isinf(rs)) or np.any(rs[~np.isnan(rs)] <= 0.0):
            raise ValueError("reward_std must be > 0 and finite (NaN = default)")
    hints = None
    if value_hints is not None:
        hints = _as_float_array(value_hints, "value_hints", 2)
        if hints.shape != (n, cfg.n_values):
            raise ValueError(
                f"value_hints must have shape ({n}, M={cfg.n_values}), got {hints.shape}"
            )
        missing = np.isnan(hints)
        partial = missing.any(axis=1) & ~missing.all(axis=1)
        if np.any(partial):
            raise ValueError(
                "a value_hints row must be all NaN (no hint) or a full point on the simplex"
            )
        present = ~missing.any(axis=1)
        if np.any(present):
            check_simplex(hints[present], "value_hints")
    return phi, s, rm, rs, hints


def validate_event(cfg: LearnerConfig, event: FeedbackEvent) -> None:
    """Check an event's F, C and hint against ``cfg``; ``ValueError``/``SimplexError``
    otherwise."""
    if event.features.shape != (cfg.feature_dim,):
        raise ValueError(
            f"event {event.feedback_id}: features must have shape ({cfg.feature_dim},), got "
            f"{event.features.shape}"
        )
    if event.context.shape != (cfg.context_dim,):
        raise ValueError(
            f"event {event.feedback_id}: context must have shape ({cfg.context_dim},), got "
            f"{event.context.shape}"
        )
    if event.value_hint.size not in (0, cfg.n_values):
        raise ValueError(
            f"event {event.feedback_id}: value_hint must be empty or have shape "
            f"({cfg.n_values},), got {event.value_hint.shape}"
        )
    if event.value_hint.size:
        check_simplex(event.value_hint, f"event {event.feedback_id} value_hint")


class DynamicValueLearner:
    """The Dynamic Value Spaces learner (``doc/design.md`` §3–§7).

    Parameters
    ----------
    config : LearnerConfig
        All hyper-parameters; ``config.seed`` is the only source of randomness.

    Notes
    -----
    Step 1 (:meth:`score`) maximises

    .. math::

        -\\lambda_{task} T(a) + \\lambda_{align} \\mathrm{Align}(a) \\mp \\lambda_{info}
        \\mathrm{IG}(a).

    Step 2 (:meth:`update`) ascends
    :math:`J(w,\\psi) = \\sum_j \\omega_j \\sum_i w_i \\log \\ell_w(y_j|\\theta_i,s_j,a_j) /
    \\sum_j \\omega_j`
    over the replay window, with ω_j = (event weight) γ^{t−j}.
    Step 3 solves approximately the proximal problem

    .. math::

        q_{t+1} = \\arg\\max_q E_{\\theta\\sim q}\\Big[\\sum_j \\omega_j \\log
        \\ell_w(y_j|\\theta,s_j,a_j)\\Big]
              - \\frac{1}{2\\nu} S_\\varepsilon(q, q_t)

    by ``proximal_steps`` Wasserstein–Fisher–Rao preconditioned gradient steps on softmax
    logits of the particle positions and weights, started at q_t, then resamples when
    ESS < ``ess_threshold`` · N.
    """

    def __init__(self, config: LearnerConfig) -> None:
        if not isinstance(config, LearnerConfig):
            raise TypeError("config must be a LearnerConfig")
        self.config = config
        self.value_space = config.value_space
        m = self.value_space.dim
        self._fingerprint = FingerprintModel(
            config.feature_dim,
            config.context_dim,
            m,
            config.fingerprint_hidden,
            config.concentration_floor,
            config.hint_strength,
            torch_generator(config.seed, 0, "init"),
        )
        if config.fingerprint_model:
            pretrained = PretrainedFingerprints.load(config.fingerprint_model)
            pretrained.check_fits(config)
            self._fingerprint.set_parameters(pretrained.parameters)
        self._likelihood = LikelihoodModel(
            config.feature_dim + config.context_dim,
            config.beta_init,
            config.tau_init,
            config.task_weight_init,
            config.beta_prior_std,
            config.tau_prior_std,
            config.task_weight_prior_std,
            config.residual_prior_std,
        )
        self._task = BayesianTaskModel(
            config.feature_dim + config.context_dim + 1,
            config.task_noise_std,
            config.task_prior_std,
        )
        self._compass = Compass.prior(
            self.value_space, config.n_particles, numpy_generator(config.seed, 0, "prior")
        )
        self._version = 0
        self._history: list[dict[str, Any]] = []
        self._applied_ids: list[str] = []
        self._rejected: list[list[str]] = []
        self._seen_ids: set[str] = set()
        self._self_ot_cache: Optional[tuple[Compass, torch.Tensor, torch.Tensor]] = (
            None  # (q, OT(q,q), f)
        )
        # Step 1 warm start: (compass, log u (B, N), log s (B, K)) per candidate index, from the
        # previous decisions on this compass
        self._score_warm: Optional[tuple[Compass, torch.Tensor, torch.Tensor]] = None

    # ================================================================== properties
    @property
    def version(self) -> int:
        """Number of applied updates (or the version set on a replica)."""
        return self._version

    @property
    def compass(self) -> Compass:
        """The current compass q_t."""
        return self._compass

    @property
    def n_received(self) -> int:
        """Distinct feedback ids received (applied + rejected)."""
        return len(self._seen_ids)

    @property
    def rejected(self) -> list[tuple[str, str]]:
        """``(feedback_id, reason)`` of every rejected update."""
        return [(i, r) for i, r in self._rejected]

    # ================================================================== validation
    def _validate_candidates(self, features, context, reward_mean, reward_std, value_hints):
        return validate_candidates(
            self.config, features, context, reward_mean, reward_std, value_hints
        )

    def _validate_event(self, event: FeedbackEvent) -> None:
        validate_event(self.config, event)

    # ================================================================== Step 1
    def _compass_tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        particles, weights = self._compass.particles, self._compass.weights
        return torch.from_numpy(np.array(particles)), torch.from_numpy(np.array(weights))

    def _self_transport(self) -> torch.Tensor:
        """OT_ε(q_t, q_t), cached per compass object (i.e. per version)."""
        return self._self_transport_state()[0]

    def _self_transport_state(self) -> tuple[torch.Tensor, torch.Tensor]:
        """OT_ε(q_t, q_t) and its symmetric potential f, shape (N,), cached per compass object."""
        cache = self._self_ot_cache
        if cache is None or cache[0] is not self._compass:
            theta, w = self._compass_tensors()
            own = self._transport(theta, w, None, None, gradients=False)
            self._self_ot_cache = (self._compass, own.value, own.f)
        return self._self_ot_cache[1], self._self_ot_cache[2]

    def _transport(self, x, a, y, b, init=None, gradients: bool = True) -> TransportResult:
        """OT_ε(α, β) (or OT_ε(α, α) when y is None) at the update's tolerance, warm-started."""
        cfg = self.config
        return sinkhorn(
            x,
            a,
            y,
            b,
            cfg.epsilon,
            cfg.cost,
            tol=cfg.sinkhorn_tol,
            max_iter=cfg.sinkhorn_max_iter,
            init=init,
            gradients=gradients,
        )

    def _hint_tensor(self, hints: Optional[np.ndarray], n: int) -> Optional[torch.Tensor]:
        return None if hints is None else torch.from_numpy(np.array(hints))

    @staticmethod
    def _inputs(phi: np.ndarray, s: np.ndarray) -> torch.Tensor:
        """[φ(a_b); s] per candidate, shape (B, F + C)."""
        return torch.from_numpy(
            np.concatenate([phi, np.broadcast_to(s, (phi.shape[0], s.shape[0]))], axis=1)
        )

    def _approval_log_likelihoods(
        self,
        phi: np.ndarray,
        s: np.ndarray,
        hints: Optional[np.ndarray],
        task_value: np.ndarray,
        inputs: torch.Tensor,
    ):
        theta, w = self._compass_tensors()
        concentration = self._fingerprint.concentration(
            torch.from_numpy(phi), torch.from_numpy(s), self._hint_tensor(hints, phi.shape[0])
        )
        expected_cost = expected_cost_to_dirichlet(
            theta, concentration, self.config.cost
        )  # D(θ_i, a_b), (B, N)
        logits = self._likelihood.logits(
            expected_cost, torch.from_numpy(task_value), inputs
        )  # β(τ − D) + ρμ + ωᵀx
        log_approve = torch.nn.functional.logsigmoid(logits)
        return (
            concentration,
            theta,
            w,
            log_approve,
            log_approve - logits,
        )  # log σ(−x) = log σ(x) − x

    def score(
        self,
        features,
        context,
        reward_mean=None,
        reward_std=None,
        value_hints=None,
        eligible=None,
        hint_sources=None,
        *,
        method: str = "auto",
        profile: Optional[Profile] = None,
    ) -> Scores:
        """Score B candidate actions in context s (Step 1, ``doc/design.md`` §5).

        Parameters
        ----------
        features : array_like, shape (B, F)
            φ(a) per candidate, B ≥ 1.
        context : array_like, shape (C,)
            s_t.
        reward_mean : array_like, shape (B,), optional
            Planner task-reward estimates (NaN = none); seeds the task model (see
            :mod:`~moral_compass_ros.core.task_model`).
        reward_std : array_like, shape (B,), optional
            Their std (> 0; NaN = ``config.planner_reward_std``).
        value_hints : array_like, shape (B, M), optional
            Planner value-profile hints on Θ; a row of NaN = no hint.
        eligible : array_like of bool, shape (B,), optional
            Candidates that may be selected (default all; the selector passes the ones not
            vetoed). ``Scores.selected`` is the best eligible one, and with
            ``prune_candidates`` only eligible candidates are scored exactly.
        hint_sources : sequence of str, shape (B,), optional
            Where each hint came from (``"hint"`` or ``"library"``, see
            :class:`~.fingerprint_library.FingerprintLibrary`); default ``"hint"``. Candidates
            without a hint report ``"learned"``.
        method : {"auto", "pot"}
            The alignment's transport solver: ``"auto"`` (compiled kernel domain where exp(−C/ε)
            is representable, else POT's log domain) or ``"pot"`` (always POT; for comparisons).
        profile : Profile, optional
            The profiling hook (:mod:`.profiling`): filled with the solver, warm start,
            iterations and where the time went. Nothing is timed without one.

        Returns
        -------
        Scores
            Every term for every candidate, the selection, ε, λ's and the version.

        Raises
        ------
        ValueError
            Wrong shapes, NaN/inf, B = 0, or a hint off the simplex.
        """
        if method not in SCORE_METHODS:
            raise ValueError(f"method must be one of {SCORE_METHODS}, got {method!r}")
        phi, s, rm, rs, hints = self._validate_candidates(
            features, context, reward_mean, reward_std, value_hints
        )
        n_batch = phi.shape[0]
        eligible = self._eligible(eligible, n_batch)
        sources = self._sources(hints, hint_sources, n_batch)
        cfg = self.config
        mean, std, evidence = self._task.predict(phi, s, rm, rs, cfg.planner_reward_std)
        cost, radius = task_cost(mean, evidence, cfg.rho0, cfg.lipschitz)  # T = −μ + ρ_W L
        info_sign = -1.0 if cfg.information_mode == "avoid" else 1.0
        inputs = self._inputs(phi, s)  # [φ(a_b); s]
        with torch.no_grad():
            concentration, theta, w, log_approve, log_reject = self._approval_log_likelihoods(
                phi, s, hints, mean, inputs
            )
            approval = predictive_approval(log_approve, w).numpy()  # ŷ(a) = Σ_i w_i ℓ(1|θ_i)
            ig = information_gain(log_approve, log_reject, w).numpy()  # Σ_y p(y) KL(q^y ‖ q), nats
            task_weight = float(self._likelihood.task_weight)
            task_term = -task_weight * cost  # ρ̂ (μ − ρ_W L): robust task value in log-odds
            residual = (inputs @ self._likelihood.residual).numpy()  # ω̂ᵀ[φ; s]
            with timed(profile, "sampling_ms"):
                samples = sample_dirichlet(
                    concentration,
                    cfg.n_fingerprint_samples,
                    torch_generator(cfg.seed, self._version, "score"),
                )  # (B, K, M)
            other_terms = cfg.lambda_task * task_term + residual + info_sign * cfg.lambda_info * ig
            divergence, is_bound = self._divergences(
                theta, w, samples, other_terms, eligible, method, profile
            )  # S_ε
            alignment = self._likelihood.value_logits(
                torch.from_numpy(divergence)
            ).numpy()  # β̂(τ̂ − S_ε)
            fingerprint_mean = (concentration / concentration.sum(-1, keepdim=True)).numpy()
        total = (
            other_terms + cfg.lambda_align * alignment
        )  # λ_task Task + Resid ± λ_info IG + λ_align Align
        selected = (
            int(np.argmax(np.where(eligible, total, -np.inf)))
            if eligible.any()
            else int(np.argmax(total))
        )
        return Scores(
            total=total,
            task_cost=cost,
            task_term=task_term,
            alignment=alignment,
            divergence=divergence,
            residual=residual,
            info_gain=np.asarray(ig, dtype=np.float64),
            predicted_approval=np.asarray(approval, dtype=np.float64),
            reward_mean=mean,
            reward_std=std,
            evidence=evidence,
            wasserstein_radius=radius,
            fingerprint_mean=np.asarray(fingerprint_mean, dtype=np.float64),
            selected=selected,
            epsilon=float(cfg.epsilon),
            lambdas={"task": cfg.lambda_task, "align": cfg.lambda_align, "info": cfg.lambda_info},
            information_mode=cfg.information_mode,
            version=self._version,
            alignment_is_bound=is_bound,
            fingerprint_source=sources,
        )

    @staticmethod
    def _sources(hints: Optional[np.ndarray], hint_sources, n: int) -> tuple:
        """Per candidate: the hint's source where a hint is present, else ``"learned"``."""
        if hint_sources is None:
            hint_sources = ("hint",) * n
        elif len(hint_sources) != n:
            raise ValueError(f"hint_sources must have {n} entries, got {len(hint_sources)}")
        present = np.zeros(n, dtype=bool) if hints is None else ~np.isnan(hints).any(axis=1)
        return tuple(str(src) if known else "learned" for src, known in zip(hint_sources, present))

    @staticmethod
    def _eligible(eligible, n: int) -> np.ndarray:
        if eligible is None:
            return np.ones(n, dtype=bool)
        mask = np.asarray(eligible)
        if mask.shape != (n,) or mask.dtype != bool:
            raise ValueError(
                f"eligible must be a boolean array of shape ({n},), got {mask.dtype} {mask.shape}"
            )
        return mask

    def reset_warm_start(self) -> None:
        """Forget the previous decision's Sinkhorn scalings (the next score starts cold)."""
        self._score_warm = None

    def _divergences(
        self, theta, w, samples, other_terms: np.ndarray, eligible: np.ndarray, method, profile
    ):
        """S_ε(q_t, β_a) for every candidate, or, with ``prune_candidates``, for those that can
        still win; returns (divergence (B,), is_bound (B,) bool).

        Pruning: S_ε ≥ ‖E_q φ − E_a φ‖² (:func:`~.sinkhorn.divergence_lower_bound`) and β̂ > 0, so
        total(a) ≤ other_terms(a) + λ_align β̂ (τ̂ − bound(a)). Eligible candidates are scored
        exactly in decreasing order of that bound, a round at a time, until the best exact total
        beats the next bound (a tie is still scored, so the first-index tie rule holds); the
        rest keep the bound.
        """
        cfg = self.config
        n_batch = samples.shape[0]
        if not cfg.prune_candidates or cfg.lambda_align == 0.0:
            return self._alignment_divergence(
                theta, w, samples, np.arange(n_batch), method, profile
            ).numpy(), np.zeros(n_batch, dtype=bool)
        divergence = divergence_lower_bound(theta, w, samples, cfg.cost).numpy()  # ≤ S_ε
        is_bound = np.ones(n_batch, dtype=bool)

        def total(div: np.ndarray, index) -> np.ndarray:
            return (
                other_terms[index]
                + cfg.lambda_align * self._likelihood.value_logits(torch.from_numpy(div)).numpy()
            )

        upper = total(divergence, slice(None))
        order = [int(i) for i in np.argsort(-upper, kind="stable") if eligible[i]]
        best, position = -np.inf, 0
        while position < len(order) and upper[order[position]] >= best:
            index = np.array(order[position : position + PRUNE_ROUND])
            divergence[index] = self._alignment_divergence(
                theta, w, samples[index], index, method, profile
            ).numpy()
            is_bound[index] = False
            best = max(best, float(np.max(total(divergence[index], index))))
            position += PRUNE_ROUND
        return divergence, is_bound

    def _alignment_divergence(
        self,
        theta: torch.Tensor,
        w: torch.Tensor,
        samples: torch.Tensor,
        index: np.ndarray,
        method: str = "auto",
        profile: Optional[Profile] = None,
    ) -> torch.Tensor:
        """S_ε(q_t, β_b) for the fingerprint clouds ``samples`` (b, K, M) of candidates ``index``
        (b,), shape (b,).

        :func:`~.sinkhorn.sinkhorn_divergence` with ``method="kernel"`` (compiled, warm-started
        per candidate index from the previous decision on the same compass) when exp(−C/ε) is
        representable; otherwise, or if that result is not finite, ``method="pot"``. Both stop
        on the marginal tolerance ``scoring_tol``; a warm start changes the result only within
        it.
        """
        cfg = self.config
        uniform = torch.full(samples.shape[:2], 1.0 / samples.shape[1], dtype=torch.float64)
        solve = dict(
            ot_xx=self._self_transport(), max_iter=cfg.sinkhorn_max_iter, tol=cfg.scoring_tol
        )
        if method == "auto" and kernel_domain_ok(SIMPLEX_DIAMETER, cfg.epsilon):
            log_u, log_s, warm = self._warm_state(
                int(index.max()) + 1, theta.shape[0], samples.shape[1]
            )
            rows = torch.from_numpy(index)
            start = WarmStart(log_u[rows], log_s[rows])
            divergence = sinkhorn_divergence(
                theta,
                w,
                samples,
                uniform,
                cfg.epsilon,
                cfg.cost,
                method="kernel",
                warm=start,
                profile=profile,
                **solve,
            )
            if torch.isfinite(divergence).all():
                log_u[rows], log_s[rows] = start.log_u, start.log_s
                if profile is not None:
                    profile.info.update(solver="kernel", warm=warm)
                return divergence
            self._score_warm = None
        if profile is not None:
            profile.info.update(solver="pot", warm=False)
        return sinkhorn_divergence(
            theta, w, samples, uniform, cfg.epsilon, cfg.cost, method="pot", **solve
        )

    def _warm_state(
        self, n_candidates: int, n: int, k: int
    ) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """The per-candidate log-scalings (log u (B, N), log s (B, K)) kept from the previous
        decisions on this compass, grown to ``n_candidates`` rows; rows never solved are 0,
        which is the cold start. Returns (log_u, log_s, whether any came from a decision)."""
        warm = self._score_warm
        if (
            warm is None
            or warm[0] is not self._compass
            or warm[1].shape[1:] != (n,)
            or warm[2].shape[1:] != (k,)
        ):
            warm = (
                self._compass,
                torch.zeros((0, n), dtype=torch.float64),
                torch.zeros((0, k), dtype=torch.float64),
            )
        reused = warm[1].shape[0] > 0
        if warm[1].shape[0] < n_candidates:
            grow = n_candidates - warm[1].shape[0]
            warm = (
                self._compass,
                torch.cat([warm[1], torch.zeros((grow, n), dtype=torch.float64)]),
                torch.cat([warm[2], torch.zeros((grow, k), dtype=torch.float64)]),
            )
        self._score_warm = warm
        return warm[1], warm[2], reused

    def predict_approval(self, features, context, value_hints=None) -> np.ndarray:
        """Posterior predictive approval ŷ(a) = Σ_i w_i ℓ_w(1 | θ_i, s, a), shape (B,)
        (``doc/design.md`` §4)."""
        phi, s, _, _, hints = self._validate_candidates(features, context, None, None, value_hints)
        mean, _, _ = self._task.predict(phi, s, None, None, self.config.planner_reward_std)
        with torch.no_grad():
            _, _, w, log_approve, _ = self._approval_log_likelihoods(
                phi, s, hints, mean, self._inputs(phi, s)
            )
            return predictive_approval(log_approve, w).numpy()

    def fingerprint_samples(self, features, context, value_hints=None) -> np.ndarray:
        """The K fingerprint samples :meth:`score` uses at this version, shape (B, K, M)."""
        phi, s, _, _, hints = self._validate_candidates(features, context, None, None, value_hints)
        with torch.no_grad():
            concentration = self._fingerprint.concentration(
                torch.from_numpy(phi), torch.from_numpy(s), self._hint_tensor(hints, phi.shape[0])
            )
            return sample_dirichlet(
                concentration,
                self.config.n_fingerprint_samples,
                torch_generator(self.config.seed, self._version, "score"),
            ).numpy()

    # ================================================================== update
    def update(self, event: FeedbackEvent) -> UpdateResult:
        """Learn from one answer: task model, Step 2 and Step 3 (``doc/design.md`` §6, §7).

        Parameters
        ----------
        event : FeedbackEvent
            Must match the config's F, C and M (hint empty or on Θ).

        Returns
        -------
        UpdateResult
            ``applied=False`` with reason ``"duplicate"`` for an id already received, or
            ``"rejected: …"`` when a stage produced a non-finite value (state rolled back).

        Raises
        ------
        TypeError
            If ``event`` is not a :class:`FeedbackEvent`.
        ValueError
            On dimension mismatches or a hint off the simplex (the event is not counted).
        """
        if not isinstance(event, FeedbackEvent):
            raise TypeError(f"event must be a FeedbackEvent, got {type(event).__name__}")
        if event.feedback_id in self._seen_ids:
            return UpdateResult(False, "duplicate", self._version, 0.0, event.feedback_id)
        self._validate_event(event)
        snapshot = self._snapshot()
        try:
            outcome = self._apply(event)
        except (NonFiniteStepError, ArithmeticError, SimplexError, np.linalg.LinAlgError) as err:
            self._restore(snapshot)
            reason = f"rejected: {err}"
            self._seen_ids.add(event.feedback_id)
            self._rejected.append([event.feedback_id, reason])
            return UpdateResult(False, reason, self._version, 0.0, event.feedback_id)
        self._seen_ids.add(event.feedback_id)
        self._applied_ids.append(event.feedback_id)
        return outcome

    def _snapshot(self) -> dict[str, Any]:
        return {
            "fingerprint": self._fingerprint.get_parameters(),
            "likelihood": self._likelihood.get_parameters(),
            "task": self._task.get_parameters(),
            "compass": self._compass,
            "version": self._version,
            "history": list(self._history),  # entries are never changed once appended
            "cache": self._self_ot_cache,
        }

    def _restore(self, snapshot: dict[str, Any]) -> None:
        self._fingerprint.set_parameters(snapshot["fingerprint"])
        self._likelihood.set_parameters(snapshot["likelihood"])
        self._task.set_parameters(snapshot["task"])
        self._compass = snapshot["compass"]
        self._version = snapshot["version"]
        self._history = snapshot["history"]
        self._self_ot_cache = snapshot["cache"]

    @staticmethod
    def _require_finite(stage: str, *tensors: Any) -> None:
        for t in tensors:
            ok = (
                bool(torch.isfinite(t).all())
                if isinstance(t, torch.Tensor)
                else bool(np.all(np.isfinite(t)))
            )
            if not ok:
                raise NonFiniteStepError(f"non-finite value in {stage}")

    def _history_tensors(self) -> dict[str, torch.Tensor]:
        """Replay window as tensors, with ω_j = weight_j γ^{t−j} (newest has exponent 0)."""
        h = self._history
        m = self.value_space.dim
        ages = np.arange(len(h) - 1, -1, -1, dtype=np.float64)
        omega = (
            np.array([e["weight"] for e in h]) * self.config.gamma**ages
        )  # ω_j = weight_j γ^{t−j}
        hints = np.full((len(h), m), np.nan)
        for j, e in enumerate(h):
            if len(e["value_hint"]):
                hints[j] = e["value_hint"]
        features = torch.tensor(np.array([e["features"] for e in h]), dtype=torch.float64)
        context = torch.tensor(np.array([e["context"] for e in h]), dtype=torch.float64).reshape(
            len(h), -1
        )
        return {
            "features": features,
            "context": context,
            "inputs": torch.cat([features, context], dim=1),  # [φ(a_j); s_j]
            "task_value": torch.tensor([e["task_value"] for e in h], dtype=torch.float64),
            "approved": torch.tensor([bool(e["approved"]) for e in h]),
            "hints": torch.from_numpy(hints),
            "omega": torch.from_numpy(omega),
        }

    def _window_log_likelihood(
        self,
        theta: torch.Tensor,
        hist: dict[str, torch.Tensor],
        concentration: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """log ℓ_w(y_j | θ_i, s_j, a_j) for every window event j and particle i, shape (H, N)."""
        if concentration is None:
            concentration = self._fingerprint.concentration(
                hist["features"], hist["context"], hist["hints"]
            )
        expected_cost = expected_cost_to_dirichlet(
            theta, concentration, self.config.cost
        )  # D(θ_i, a_j)
        logits = self._likelihood.logits(
            expected_cost, hist["task_value"], hist["inputs"]
        )  # β(τ − D) + ρμ + ωᵀx
        sign = torch.where(hist["approved"], 1.0, -1.0).to(torch.float64)[:, None]
        return torch.nn.functional.logsigmoid(sign * logits)  # log σ(±logit)

    def _apply(self, event: FeedbackEvent) -> UpdateResult:
        cfg = self.config
        if math.isnan(
            event.task_reward
        ):  # the person judged an outcome we did not observe: our estimate
            task_value = float(self._task.predict(event.features[None, :], event.context)[0][0])
        else:  # the outcome the person saw
            task_value = float(event.task_reward)
            self._task.update(event.features, event.context, event.task_reward)
            self._require_finite(
                "task-model update", self._task.precision, self._task.precision_mean
            )
        self._history.append(
            {
                "feedback_id": event.feedback_id,
                "features": event.features.tolist(),
                "context": event.context.tolist(),
                "approved": bool(event.approved),
                "weight": float(event.weight),
                "value_hint": event.value_hint.tolist(),
                "task_value": task_value,
            }
        )
        del self._history[: -cfg.replay_window]
        hist = self._history_tensors()
        old_compass = self._compass
        theta0, w0 = self._compass_tensors()
        objective = self._step_model(theta0, w0, hist)  # Step 2
        if cfg.update_rule == "proximal":
            # Bayes weights with forgetting, then the proximal S_ε step moves the particles
            # toward the newest answer (the older ones are already in the weights)
            theta_bayes, w_bayes = self._step_compass_reweight(theta0, w0, hist)
            newest = {k: v[-1:] for k, v in hist.items()}
            theta_new, w_new, self_init = self._step_compass_proximal(
                theta_bayes, w_bayes, newest
            )  # Step 3
        else:
            theta_new, w_new = self._step_compass_reweight(theta0, w0, hist)  # Step 3 (baseline)
            self_init = self._self_transport_state()[
                1
            ]  # a warm start: the particles are (mostly) the same
        self._require_finite("compass update", theta_new, w_new)
        theta_np = theta_new.numpy()
        theta_np = theta_np / theta_np.sum(axis=1, keepdims=True)
        w_np = w_new.numpy()
        w_np = w_np / w_np.sum()
        compass = Compass(theta_np, w_np)
        ess = compass.ess
        new_version = self._version + 1
        resampled, acceptance = False, math.nan
        if ess < cfg.ess_threshold * compass.n_particles:
            compass = compass.resample(
                numpy_generator(cfg.seed, new_version, "resample"), cfg.jitter_concentration
            )
            resampled = True
            if cfg.move_steps > 0 and math.isfinite(cfg.jitter_concentration):
                compass, acceptance = self._move(compass, hist, new_version)
        self._require_finite("resampling", compass.particles, compass.weights)
        moved = self._compass_movement(old_compass, compass, None if resampled else self_init)
        self._require_finite("compass movement", moved)
        self._compass = compass
        self._version = new_version
        return UpdateResult(
            True,
            "applied",
            new_version,
            float(moved),
            event.feedback_id,
            log_likelihood=float(objective),
            ess=float(ess),
            resampled=resampled,
            move_acceptance=acceptance,
        )

    def _move(
        self, compass: Compass, hist: dict[str, torch.Tensor], version: int
    ) -> tuple[Compass, float]:
        """``move_steps`` Metropolis–Hastings moves (:meth:`Compass.move`) toward the window
        posterior

        π(θ) ∝ Dir(θ; 1) Π_j ℓ_w(y_j | θ, s_j, a_j)^{ω_j}

        (the uniform prior's density is constant). Returns the moved compass and the mean
        acceptance rate.
        """
        cfg = self.config
        with torch.no_grad():
            concentration = self._fingerprint.concentration(
                hist["features"], hist["context"], hist["hints"]
            )

            def log_target(theta: np.ndarray) -> np.ndarray:
                log_lik = self._window_log_likelihood(
                    torch.from_numpy(np.array(theta)), hist, concentration
                )  # (H, N)
                return (hist["omega"][:, None] * log_lik).sum(0).numpy()

            rng = numpy_generator(cfg.seed, version, "move")
            rates = []
            for _ in range(cfg.move_steps):
                compass, rate = compass.move(rng, log_target, cfg.jitter_concentration)
                rates.append(rate)
        return compass, float(np.mean(rates))

    def _compass_movement(
        self, old: Compass, new: Compass, self_init: Optional[torch.Tensor]
    ) -> torch.Tensor:
        """S_ε(q_{t+1}, q_t); also primes the OT_ε(q_{t+1}, q_{t+1}) cache for the next score.

        ``self_init`` warm-starts OT_ε(q_{t+1}, q_{t+1}) (the last proximal iterate's
        self-potential; None after resampling, whose particles are new).
        """
        t_old, w_old = (
            torch.from_numpy(np.array(old.particles)),
            torch.from_numpy(np.array(old.weights)),
        )
        t_new, w_new = (
            torch.from_numpy(np.array(new.particles)),
            torch.from_numpy(np.array(new.weights)),
        )
        ot_old, potential_old = self._self_transport_state()  # still q_t's
        own = self._transport(t_new, w_new, None, None, init=self_init, gradients=False)
        cross = self._transport(
            t_new, w_new, t_old, w_old, init=(own.f, potential_old), gradients=False
        )
        self._self_ot_cache = (new, own.value, own.f)
        return torch.clamp(cross.value - 0.5 * own.value - 0.5 * ot_old, min=0.0)

    # ------------------------------------------------------------------ Step 2
    def _step_model(
        self, theta: torch.Tensor, weights: torch.Tensor, hist: dict[str, torch.Tensor]
    ) -> float:
        """Step 2 (``doc/design.md`` §6, §10.2): ψ, then w, on the replay window; returns final J.

        ψ takes ``gradient_steps`` clipped ascent steps on
        J(ψ) = Σ_j ω_j Σ_i w_i log ℓ_w(y_j | θ_i, s_j, a_j) / Σ_j ω_j, only when the window holds
        an action whose fingerprint is learned (a known profile does not depend on ψ). Then w is
        fitted to the same objective plus its prior, to convergence
        (:meth:`~.likelihood.LikelihoodModel.fit`).
        """
        cfg = self.config
        omega = hist["omega"]
        total_weight = float(omega.sum())
        if total_weight <= 0.0:
            return 0.0
        params = list(self._fingerprint.parameters())
        learned = bool(torch.isnan(hist["hints"]).any(-1).any())
        for _ in range(cfg.gradient_steps if learned and cfg.lr_psi > 0.0 else 0):
            log_lik = self._window_log_likelihood(theta, hist)  # (H, N)
            value = (omega[:, None] * log_lik * weights[None, :]).sum() / total_weight  # J(ψ)
            self._require_finite("Step 2 objective", value.detach())
            grads = torch.autograd.grad(value, params)
            with torch.no_grad():
                norm = float(torch.sqrt(sum((g * g).sum() for g in grads)))
                if not math.isfinite(
                    norm
                ):  # a finite norm means finite gradients: check only then
                    self._require_finite("Step 2 gradient", *grads)
                scale = min(1.0, cfg.grad_clip / norm) if norm > 0 else 1.0  # clip ‖∇‖ ≤ grad_clip
                for p, g in zip(params, grads):
                    p.add_(cfg.lr_psi * scale * g)  # ascent: ψ ← ψ + η ∇J
        self._require_finite("Step 2 parameters", *params)
        with torch.no_grad():
            concentration = self._fingerprint.concentration(
                hist["features"], hist["context"], hist["hints"]
            )
            expected_cost = expected_cost_to_dirichlet(
                theta, concentration, cfg.cost
            )  # D(θ_i, a_j), (H, N)
            final = self._likelihood.fit(
                expected_cost, hist["task_value"], hist["inputs"], hist["approved"], omega, weights
            )
        if not math.isfinite(final):
            raise NonFiniteStepError("non-finite value in Step 2 objective")
        return final

    # ------------------------------------------------------------------ Step 3
    def _step_compass_proximal(
        self, theta0: torch.Tensor, w0: torch.Tensor, hist: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Proximal Sinkhorn step of ``doc/design.md`` §7 on the particle positions.

        Maximises G(q) = Σ_i w_i L(θ_i) − S_ε(q, q_0)/(2ν), L(θ) = Σ_j ω_j log ℓ_w(y_j|θ, s_j, a_j)
        over the events in ``hist``, q_0 = (θ0, w0), by gradient ascent on θ_i = softmax(z_i)
        with the weights held at w0; the logit gradients are divided by w_i (per-unit-mass
        step). The update passes the Bayes-reweighted compass as q_0 and only the newest answer
        as ``hist`` (§10: Bayes weights with forgetting, then the proximal step; the older
        answers are already in the weights, and moving the weights too would count them twice).
        Returns the new particles (N, M), the weights w0 and the last iterate's self-potential
        (N,) (a warm start for OT_ε(q_{t+1}, q_{t+1})).
        """
        cfg = self.config
        with torch.no_grad():
            concentration = self._fingerprint.concentration(
                hist["features"], hist["context"], hist["hints"]
            )
        omega = hist["omega"]
        position_logits = torch.log(torch.clamp(theta0, min=_LOG_FLOOR))
        mass = torch.clamp(w0, min=_LOG_FLOOR)
        penalty = 1.0 / (2.0 * cfg.nu)
        # q = q_0 at first, so q_0's own symmetric potential warm-starts both solves (q_0 has
        # q_t's support, and q_t's cached potential starts that self solve)
        potential_0 = self._transport(
            theta0, w0, None, None, init=self._self_transport_state()[1], gradients=False
        ).f
        cross_init = (potential_0, potential_0)  # warm start of OT_ε(q, q_0)
        self_init = potential_0  # warm start of OT_ε(q, q)
        for _ in range(cfg.proximal_steps):
            z = position_logits.detach().requires_grad_(True)
            theta = torch.softmax(z, dim=1)
            log_lik = self._window_log_likelihood(theta, hist, concentration.detach())  # (H, N)
            particle_objective = (omega[:, None] * log_lik).sum(0)  # L(θ_i) = Σ_j ω_j log ℓ_j(θ_i)
            # ∇_θ S_ε(q, q_0) by the envelope theorem, in closed form (no graph)
            cross = self._transport(theta, w0, theta0, w0, init=cross_init)
            own = self._transport(theta, w0, None, None, init=self_init)
            cross_init, self_init = (cross.f, cross.g), own.f
            grad_theta = (
                cross.grad_x - 0.5 * own.grad_x
            )  # S_ε = OT(q,q_0) − ½OT(q,q) − ½OT(q_0,q_0)
            # G(q) = Σ_i w_i L(θ_i) − S_ε(q, q_0)/(2ν); S_ε enters through its gradient (a linear
            # surrogate with the same derivative), so autograd only runs through the softmax
            # and the (H, N) likelihood
            objective = (w0 * particle_objective).sum() - penalty * (theta * grad_theta).sum()
            (grad_z,) = torch.autograd.grad(objective, [z])
            self._require_finite("Step 3 gradient", grad_z)
            position_logits = (
                position_logits + cfg.proximal_lr * grad_z / mass[:, None]
            )  # per-unit-mass step
        with torch.no_grad():
            return torch.softmax(position_logits, dim=1), w0.clone(), self_init

    def _step_compass_reweight(
        self, theta0: torch.Tensor, w0: torch.Tensor, hist: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Bayes weights with power forgetting and change points (``doc/design.md`` §7, §10).

        .. math:: w_i \\propto (1 - h)\\, w_i^{\\gamma}\\, \\ell_i^{\\text{weight}_t}, \\qquad
                  w_j \\propto \\tfrac{h}{m}\\, \\ell_j^{\\text{weight}_t}

        with ℓ_i = ℓ_w(y_t | θ_i, s_t, a_t) and h the ``change_hazard``: the person's values
        changed
        just before this answer with probability h, so the m = ⌈hN⌉ lowest-weight particles are
        replaced by fresh draws θ_j ~ Dir(1) from the prior (the "changed" hypothesis, weighed by
        h and this answer alone). After a change the fresh particles explain the answers and
        gain the mass; without one they stay light. h = 0 is plain Bayes with forgetting.
        """
        newest = {k: v[-1:] for k, v in hist.items()}
        cfg = self.config
        with torch.no_grad():
            theta = theta0.clone()
            log_w = cfg.gamma * torch.log(torch.clamp(w0, min=_LOG_FLOOR))
            log_w = log_w - torch.logsumexp(log_w, 0)
            m = math.ceil(cfg.change_hazard * theta.shape[0]) if cfg.change_hazard > 0 else 0
            if m:
                rng = numpy_generator(cfg.seed, self._version + 1, "changepoint")
                fresh = np.argsort(log_w.numpy(), kind="stable")[:m]
                theta[fresh] = torch.from_numpy(rng.dirichlet(np.ones(theta.shape[1]), size=m))
                log_w = log_w + math.log1p(-cfg.change_hazard)
                log_w[fresh] = math.log(cfg.change_hazard / m)
            log_lik = self._window_log_likelihood(theta, newest)[0]  # log ℓ(y_t | θ_i)
            weight_t = float(self._history[-1]["weight"])
            return theta, torch.softmax(log_w + weight_t * log_lik, dim=0)

    # ================================================================== replicas & state
    def model_parameters(self) -> dict[str, np.ndarray]:
        """Everything a scorer needs besides the compass: ψ, w and the task model (copies)."""
        params: dict[str, np.ndarray] = {}
        for prefix, source in (
            ("fingerprint", self._fingerprint),
            ("likelihood", self._likelihood),
            ("task", self._task),
        ):
            for name, value in source.get_parameters().items():
                params[f"{prefix}.{name}"] = value
        return params

    def load_model_parameters(self, params: dict[str, np.ndarray], version: int) -> None:
        """Load ψ, w and the task model from :meth:`model_parameters` output and set
        ``version``."""
        try:
            for prefix, target in (
                ("fingerprint", self._fingerprint),
                ("likelihood", self._likelihood),
                ("task", self._task),
            ):
                sub = {
                    k.split(".", 1)[1]: v for k, v in params.items() if k.startswith(prefix + ".")
                }
                target.set_parameters(sub)
        except KeyError as err:
            raise ValueError(f"model parameters lack {err}") from None
        self._set_version(version)

    def set_compass(self, compass: Compass, version: int) -> None:
        """Replace the compass (e.g. on a selector replica) and set ``version``."""
        if not isinstance(compass, Compass):
            raise TypeError("compass must be a Compass")
        if compass.dim != self.value_space.dim:
            raise ValueError(f"compass has M={compass.dim}, config has M={self.value_space.dim}")
        self._compass = compass
        self._self_ot_cache = None
        self._set_version(version)

    def _set_version(self, version: int) -> None:
        if isinstance(version, bool) or int(version) != version or version < 0:
            raise ValueError(f"version must be a non-negative integer, got {version!r}")
        self._version = int(version)

    def state_dict(self) -> dict[str, Any]:
        """The full learnable state as numpy arrays, numbers, strings and lists (npz/JSON-able)."""
        particles, weights = self._compass.to_arrays()
        state: dict[str, Any] = {
            "format": STATE_FORMAT,
            "kind": type(self).__name__,
            "config": self.config.to_dict(),
            "version": self._version,
            "compass.particles": particles,
            "compass.weights": weights,
            "history": copy.deepcopy(self._history),
            "applied_ids": list(self._applied_ids),
            "rejected": [list(r) for r in self._rejected],
        }
        state.update(self.model_parameters())
        return state

    @classmethod
    def from_state_dict(
        cls, config: LearnerConfig, state: dict[str, Any]
    ) -> "DynamicValueLearner":
        """Rebuild a learner from :meth:`state_dict` output; subsequent results match to 1e-9.

        Raises
        ------
        ValueError
            If the state's format, value names, F, C or N do not match ``config``.
        """
        learner = cls(config)
        learner._load_state(state)
        return learner

    def _load_state(self, state: dict[str, Any]) -> None:
        if int(state.get("format", -1)) != STATE_FORMAT:
            raise ValueError(
                f"unsupported state format {state.get('format')!r}, expected {STATE_FORMAT}"
            )
        saved = state.get("config", {})
        for key in ("value_names", "feature_dim", "context_dim"):
            mine = self.config.to_dict()[key]
            if key in saved and list(np.atleast_1d(saved[key])) != list(np.atleast_1d(mine)):
                raise ValueError(f"state was saved with {key}={saved[key]!r}, config has {mine!r}")
        compass = Compass(
            np.asarray(state["compass.particles"]), np.asarray(state["compass.weights"])
        )
        params = {
            k: v
            for k, v in state.items()
            if k.startswith(("fingerprint.", "likelihood.", "task."))
        }
        self.load_model_parameters(params, int(state["version"]))
        self.set_compass(compass, int(state["version"]))
        self._history = copy.deepcopy(list(state["history"]))
        self._applied_ids = [str(i) for i in state["applied_ids"]]
        self._rejected = [[str(i), str(r)] for i, r in state["rejected"]]
        self._seen_ids = set(self._applied_ids) | {i for i, _ in self._rejected}
