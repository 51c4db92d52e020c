# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The Dynamic Value Spaces learner: decide (Step 1), learn the model (Step 2), move the compass
(Step 3) (``doc/design.md`` §3–§7, §11).

One object holds the whole learnable state, each part in a module of its own:

* the joint posterior over (θ, β, τ, ρ) (:mod:`.posterior`): the compass q_t is its θ-marginal;
* the residual logit ω (:mod:`.residual`), Bayesian, its prior scale chosen by the evidence;
* the fingerprint network ψ (:mod:`.fingerprint`, its gradient step in :mod:`.model_step`);
* the Bayesian task model (:mod:`.task_model`);
* the alignment solver's caches (:mod:`.alignment`);
* the kept answers, the ids received and the version counter.

Version semantics
-----------------
``version`` starts at 0 and increases by exactly 1 on every *applied* update. A duplicate id, an
invalid event (``ValueError``) or a rejected step leave it unchanged. Every random draw comes
from a generator seeded by ``(config.seed, version, purpose)``, so any process holding the same
compass, model parameters and version computes identical scores, and a journal replay
reproduces an uninterrupted run.

Rejected steps
--------------
If any stage of an update produces a non-finite value, the learnable state is restored to an
exact copy taken before the update; the event is still counted as received — its id joins
``rejected`` and a re-sent copy is answered ``"duplicate"`` — and :class:`UpdateResult` reports
``applied=False`` with the reason.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Optional

import numpy as np
import torch

from .alignment import AlignmentSolver
from .compass import Compass
from .config import LearnerConfig
from .events import FeedbackEvent
from .fingerprint import FingerprintModel, numpy_generator, sample_dirichlet, torch_generator
from .model_step import fingerprint_step, learns_fingerprints, proximal_positions
from .posterior import DirichletMixture, ParticlePosterior, ResponsePrior, log_likelihood
from .pretrain import PretrainedFingerprints
from .profiling import Profile, timed
from .residual import BayesianResidual
from .results import Scores, UpdateResult
from .scoring import task_cost
from .task_model import BayesianTaskModel
from .validation import validate_candidates, validate_event
from .value_space import SimplexError

STATE_FORMAT = 3
#: The solvers :meth:`DynamicValueLearner.score` offers for the alignment (``method=``).
SCORE_METHODS = ("auto", "pot")
#: Predicted approvals are clipped to [P_CLIP, 1 − P_CLIP] before their log-odds are taken.
P_CLIP = 1e-9

__all__ = ["DynamicValueLearner", "NonFiniteStepError", "log_odds", "make_posterior"]


class NonFiniteStepError(RuntimeError):
    """Raised inside an update when a stage produces NaN or inf; the update is rolled back."""


def log_odds(p: np.ndarray) -> np.ndarray:
    """log(p / (1 − p)) with p clipped to [P_CLIP, 1 − P_CLIP]."""
    p = np.clip(p, P_CLIP, 1.0 - P_CLIP)
    return np.log(p) - np.log1p(-p)


def make_posterior(config: LearnerConfig, n_particles: Optional[int] = None) -> ParticlePosterior:
    """The particle posterior the config describes, drawn from the prior with ``config.seed``."""
    m = config.n_values
    alpha = np.broadcast_to(np.asarray(config.compass_prior_alpha, dtype=np.float64), (m,))
    return ParticlePosterior(
        DirichletMixture(alpha),
        ResponsePrior(config.beta_prior, config.tau_prior, config.task_weight_prior),
        config.n_particles if n_particles is None else n_particles,
        numpy_generator(config.seed, 0, "prior"),
        gamma=config.gamma,
        change_hazard=config.change_hazard,
        ess_threshold=config.ess_threshold,
        jitter_concentration=config.jitter_concentration,
        move_steps=config.move_steps,
        move_scale=config.response_move_scale,
        history_limit=config.history_limit,
        cost=config.cost,
    )


class DynamicValueLearner:
    """The Dynamic Value Spaces learner (``doc/design.md`` §3–§7, §11).

    Parameters
    ----------
    config : LearnerConfig
        All hyper-parameters; ``config.seed`` is the only source of randomness.

    Notes
    -----
    The likelihood of an answer y to action a in context s, for a particle (θ, β, τ, ρ):

    .. math::
        \\ell(1 \\mid \\cdot) = \\sigma\\Big(\\frac{\\beta(\\tau - D(\\theta, a)) + \\rho\\,\\mu(a)
            + m(a)}{\\sqrt{1 + \\pi v(a)/8}}\\Big)

    with m, v the residual's mean and variance at [φ(a); s]. Step 1 (:meth:`score`) chooses,
    by default, the argmax of the posterior-predictive log-odds of approval
    ± λ_info IG + (λ_task − 1) × task term; ``selection_rule: seed`` chooses
    argmax λ_task Task + λ_align (Align + Resid) ± λ_info IG. Steps 2–3 (:meth:`update`): the
    residual's online Laplace update, the particles' exact re-weighting over every kept answer
    (change points, resample-move), ψ's gradient steps; with ``update_rule: proximal`` the
    newest answer moves the particles by the seed's proximal Sinkhorn step instead.
    """

    def __init__(self, config: LearnerConfig) -> None:
        if not isinstance(config, LearnerConfig):
            raise TypeError("config must be a LearnerConfig")
        self.config = config
        self.value_space = config.value_space
        self._fingerprint = FingerprintModel(
            config.feature_dim,
            config.context_dim,
            config.n_values,
            config.fingerprint_hidden,
            config.concentration_floor,
            config.hint_strength,
            torch_generator(config.seed, 0, "init"),
        )
        if config.fingerprint_model:
            pretrained = PretrainedFingerprints.load(config.fingerprint_model)
            pretrained.check_fits(config)
            self._fingerprint.set_parameters(pretrained.parameters)
        self._task = BayesianTaskModel(
            config.feature_dim + config.context_dim + 1,
            config.task_noise_std,
            config.task_prior_std,
        )
        self._posterior = make_posterior(config)
        self._residual = BayesianResidual(
            config.feature_dim + config.context_dim, config.residual_prior_scales
        )
        self._alignment = AlignmentSolver(config)
        self._compass = self._posterior.compass()
        self._version = 0
        self._history: list[dict[str, Any]] = []  # the kept answers, oldest first
        self._applied_ids: list[str] = []
        self._rejected: list[list[str]] = []
        self._seen_ids: set[str] = set()

    # ================================================================== properties
    @property
    def version(self) -> int:
        """Number of applied updates (or the version set on a replica)."""
        return self._version

    @property
    def compass(self) -> Compass:
        """The current compass q_t: the posterior's θ-marginal."""
        return self._compass

    @property
    def n_received(self) -> int:
        """Distinct feedback ids received (applied + rejected)."""
        return len(self._seen_ids)

    @property
    def rejected(self) -> list[tuple[str, str]]:
        """``(feedback_id, reason)`` of every rejected update."""
        return [(i, r) for i, r in self._rejected]

    @property
    def response_mean(self) -> dict[str, float]:
        """Posterior means of β, τ and ρ."""
        beta, tau, rho = self._posterior.response_mean()
        return {"beta": float(beta), "tau": float(tau), "task_weight": float(rho)}

    @property
    def residual_scale(self) -> float:
        """The evidence-weighted prior scale of the residual (0 = the residual stepped aside)."""
        return self._residual.scale

    # ================================================================== Step 1
    def _concentration(self, phi: np.ndarray, s: np.ndarray, hints) -> np.ndarray:
        """Fingerprint concentrations (B, M): the known profile where given, else ψ's."""
        with torch.no_grad():
            return self._fingerprint.concentration(
                torch.from_numpy(np.ascontiguousarray(phi)),
                torch.from_numpy(np.ascontiguousarray(s)),
                None if hints is None else torch.from_numpy(np.ascontiguousarray(hints)),
            ).numpy()

    @staticmethod
    def _inputs(phi: np.ndarray, s: np.ndarray) -> np.ndarray:
        """[φ(a_b); s] per candidate, shape (B, F + C)."""
        return np.concatenate([phi, np.broadcast_to(s, (phi.shape[0], s.shape[0]))], axis=1)

    def _predict(self, phi, s, reward_mean, reward_std, hints):
        """Task model, fingerprints, residual and the posterior predictive of B candidates."""
        cfg = self.config
        mean, std, evidence = self._task.predict(
            phi, s, reward_mean, reward_std, cfg.planner_reward_std
        )
        concentration = self._concentration(phi, s, hints)
        residual_mean, residual_var = self._residual.moments(self._inputs(phi, s))
        logits = self._posterior.logits(concentration, mean, residual_mean, residual_var)
        approval, info_gain = self._posterior.predictive(logits)
        return mean, std, evidence, concentration, residual_mean, approval, info_gain

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
        """Score B candidate actions in context s (Step 1, ``doc/design.md`` §5, §11.4).

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
            Known value profiles on Θ (planner hints, library); a row of NaN = none.
        eligible : array_like of bool, shape (B,), optional
            Candidates that may be selected (default all; the selector passes the ones not
            vetoed). ``Scores.selected`` is the best eligible one, and with
            ``prune_candidates`` only eligible candidates are scored exactly.
        hint_sources : sequence of str, shape (B,), optional
            Where each hint came from (``"hint"`` or ``"library"``); default ``"hint"``.
            Candidates without a hint report ``"learned"``.
        method : {"auto", "pot"}
            The alignment's transport solver: ``"auto"`` (compiled kernel domain where exp(−C/ε)
            is representable, else POT's log domain) or ``"pot"`` (always POT; for comparisons).
        profile : Profile, optional
            The profiling hook (:mod:`.profiling`). Nothing is timed without one.

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
        cfg = self.config
        phi, s, rm, rs, hints = validate_candidates(
            cfg, features, context, reward_mean, reward_std, value_hints
        )
        n_batch = phi.shape[0]
        eligible = self._eligible(eligible, n_batch)
        sources = self._sources(hints, hint_sources, n_batch)
        mean, std, evidence, concentration, residual, approval, info_gain = self._predict(
            phi, s, rm, rs, hints
        )
        cost, radius = task_cost(mean, evidence, cfg.rho0, cfg.lipschitz)  # T = −μ + ρ_W L
        beta, tau, rho = self._posterior.response_mean()
        task_term = -rho * cost  # ρ̂ (μ − ρ_W L): the robust task value in log-odds
        info = (-1.0 if cfg.information_mode == "avoid" else 1.0) * cfg.lambda_info * info_gain
        if cfg.selection_rule == "predictive":
            # log-odds of the predictive ± λ_info IG + (λ_task − 1) × task term
            predictive_total = log_odds(approval) + info + (cfg.lambda_task - 1.0) * task_term

            def total_at(divergence: np.ndarray, index) -> np.ndarray:
                return predictive_total[index]

        else:  # λ_task Task + λ_align (Align + Resid) ± λ_info IG: the residual is part of the
            # person's approval model, weighed as the alignment is
            other = cfg.lambda_task * task_term + cfg.lambda_align * residual + info

            def total_at(divergence: np.ndarray, index) -> np.ndarray:
                return other[index] + cfg.lambda_align * beta * (tau - divergence)

        with torch.no_grad(), timed(profile, "sampling_ms"):
            samples = sample_dirichlet(
                torch.from_numpy(concentration),
                cfg.n_fingerprint_samples,
                torch_generator(cfg.seed, self._version, "score"),
            )  # (B, K, M)
        if cfg.prune_candidates:
            divergence, is_bound = self._alignment.pruned_divergences(
                self._compass, samples, total_at, eligible, method, profile
            )
        else:
            index = np.arange(n_batch)
            divergence = self._alignment.divergences(
                self._compass, samples, index, method, profile
            )
            is_bound = np.zeros(n_batch, dtype=bool)
        total = total_at(divergence, np.arange(n_batch))
        selected = (
            int(np.argmax(np.where(eligible, total, -np.inf)))
            if eligible.any()
            else int(np.argmax(total))
        )
        return Scores(
            total=total,
            task_cost=cost,
            task_term=task_term,
            alignment=beta * (tau - divergence),  # β̂(τ̂ − S_ε): the explanation
            divergence=divergence,
            residual=residual,
            info_gain=np.asarray(info_gain, dtype=np.float64),
            predicted_approval=np.asarray(approval, dtype=np.float64),
            reward_mean=mean,
            reward_std=std,
            evidence=evidence,
            wasserstein_radius=radius,
            fingerprint_mean=concentration / concentration.sum(-1, keepdims=True),
            selected=selected,
            epsilon=float(cfg.epsilon),
            lambdas={"task": cfg.lambda_task, "align": cfg.lambda_align, "info": cfg.lambda_info},
            information_mode=cfg.information_mode,
            version=self._version,
            alignment_is_bound=is_bound,
            fingerprint_source=sources,
            selection_rule=cfg.selection_rule,
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
        self._alignment.reset_warm_start()

    def predict_approval(
        self, features, context, value_hints=None, reward_mean=None, reward_std=None
    ) -> np.ndarray:
        """Posterior-predictive approval of B candidates, shape (B,) (``doc/design.md`` §4);
        the same numbers as :meth:`score`'s ``predicted_approval`` for the same arguments."""
        phi, s, rm, rs, hints = validate_candidates(
            self.config, features, context, reward_mean, reward_std, value_hints
        )
        return self._predict(phi, s, rm, rs, hints)[5]

    def fingerprint_samples(self, features, context, value_hints=None) -> np.ndarray:
        """The K fingerprint samples :meth:`score` uses at this version, shape (B, K, M)."""
        phi, s, _, _, hints = validate_candidates(
            self.config, features, context, None, None, value_hints
        )
        with torch.no_grad():
            return sample_dirichlet(
                torch.from_numpy(self._concentration(phi, s, hints)),
                self.config.n_fingerprint_samples,
                torch_generator(self.config.seed, self._version, "score"),
            ).numpy()

    # ================================================================== update
    def update(self, event: FeedbackEvent) -> UpdateResult:
        """Learn from one answer (Steps 2–3, ``doc/design.md`` §6, §7, §11).

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
        validate_event(self.config, event)
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
            "task": self._task.get_parameters(),
            "posterior": copy.deepcopy(self._posterior),
            "residual": copy.deepcopy(self._residual),
            "compass": self._compass,
            "version": self._version,
            "history": list(self._history),  # entries are never changed once appended
        }

    def _restore(self, snapshot: dict[str, Any]) -> None:
        self._fingerprint.set_parameters(snapshot["fingerprint"])
        self._task.set_parameters(snapshot["task"])
        self._posterior = snapshot["posterior"]
        self._residual = snapshot["residual"]
        self._compass = snapshot["compass"]
        self._version = snapshot["version"]
        self._history = snapshot["history"]
        self._alignment.forget()

    @staticmethod
    def _require_finite(stage: str, *arrays: Any) -> None:
        for a in arrays:
            if not bool(np.all(np.isfinite(np.asarray(a)))):
                raise NonFiniteStepError(f"non-finite value in {stage}")

    def _kept(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Features (H, F), contexts (H, C) and known profiles (H, M; NaN = none) of the kept
        answers."""
        h = len(self._history)
        features = np.array([e["features"] for e in self._history], dtype=np.float64)
        context = np.array([e["context"] for e in self._history], dtype=np.float64)
        hints = np.full((h, self.config.n_values), np.nan)
        for j, e in enumerate(self._history):
            if len(e["value_hint"]):
                hints[j] = e["value_hint"]
        return features.reshape(h, -1), context.reshape(h, -1), hints

    def _window(self, features, context, hints) -> dict[str, torch.Tensor]:
        """The newest ``replay_window`` of the kept answers (:meth:`_kept`) as tensors, for
        ψ's step."""
        n = min(self.config.replay_window, len(self._history))
        answers = self._posterior.answers.tail(n)
        ages = (self._posterior.n_seen - 1 - answers.index).astype(np.float64)
        omega = answers.weight * self.config.gamma**ages  # ω_j γ^{t−j}
        return {
            "features": torch.from_numpy(features[-n:]),
            "context": torch.from_numpy(context[-n:]),
            "hints": torch.from_numpy(hints[-n:]),
            "task_value": torch.from_numpy(answers.task_value.copy()),
            "residual_mean": torch.from_numpy(answers.residual_mean.copy()),
            "residual_var": torch.from_numpy(answers.residual_var.copy()),
            "omega": torch.from_numpy(omega),
            "approved": torch.from_numpy(answers.approved.copy()),
        }

    def _apply(self, event: FeedbackEvent) -> UpdateResult:
        cfg = self.config
        posterior, residual = self._posterior, self._residual
        if math.isnan(event.task_reward):  # an outcome we did not observe: our estimate
            task_value = float(self._task.predict(event.features[None, :], event.context)[0][0])
        else:  # the outcome the person saw
            task_value = float(event.task_reward)
            self._task.update(event.features, event.context, event.task_reward)
            self._require_finite(
                "task-model update", self._task.precision, self._task.precision_mean
            )
        hint = event.value_hint if event.value_hint.size else np.full(cfg.n_values, np.nan)
        concentration = self._concentration(event.features[None, :], event.context, hint[None, :])
        inputs = self._inputs(event.features[None, :], event.context)
        # the answer's probability before it is seen: the value model's alone (the residual's
        # offset and evidence) and with the residual (reported)
        value_only, _ = posterior.predictive(
            posterior.logits(concentration, np.array([task_value]))
        )
        r_mean, r_var = residual.moments(inputs)
        full, _ = posterior.predictive(
            posterior.logits(concentration, np.array([task_value]), r_mean, r_var)
        )
        prequential = math.log(max(float(full[0] if event.approved else 1.0 - full[0]), 1e-300))
        residual.update(
            inputs[0], float(log_odds(value_only)[0]), bool(event.approved), event.weight
        )
        self._require_finite("residual update", residual.mean, residual.cov)
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
        del self._history[: -cfg.history_limit]
        new_version = self._version + 1
        rng = numpy_generator(cfg.seed, new_version, "posterior")
        posterior.observe(concentration[0], task_value, bool(event.approved), event.weight, rng)
        # ψ: a few gradient steps where fingerprints are learned (against the weights with this
        # answer), then every kept answer's fingerprint again
        features, context, hints = self._kept()
        window = self._window(features, context, hints)
        if learns_fingerprints(window, cfg):
            posterior.reweigh()
            self._require_finite("posterior update", posterior.log_weights)
        if fingerprint_step(
            self._fingerprint,
            window,
            posterior.theta,
            posterior.response,
            posterior.weights,
            cfg,
        ):
            self._require_finite("fingerprint step", *self._fingerprint.get_parameters().values())
            posterior.set_concentrations(self._concentration(features, context, hints))
        kept_inputs = np.concatenate([features, context], axis=1)
        posterior.set_residual(*residual.moments(kept_inputs))
        posterior.reweigh()
        self._require_finite("posterior weights", posterior.log_weights)
        if cfg.update_rule == "proximal":
            self._proximal(event)
        posterior.maybe_resample(rng)
        self._require_finite("resampling", posterior.theta, posterior.log_weights)
        compass = posterior.compass()
        moved = self._alignment.movement(self._compass, compass)
        self._require_finite("compass movement", moved)
        self._compass = compass
        self._version = new_version
        return UpdateResult(
            True,
            "applied",
            new_version,
            moved,
            event.feedback_id,
            log_likelihood=prequential,
            ess=float(posterior.ess),
            resampled=posterior.resampled,
            move_acceptance=posterior.last_acceptance,
        )

    def _proximal(self, event: FeedbackEvent) -> None:
        """``update_rule: proximal``: the newest answer moves the particles (the seed's Step 3)
        instead of re-weighing them, so it counts once."""
        posterior = self._posterior
        newest = posterior.answers.tail(1)
        logits = posterior.logits(
            newest.concentration, newest.task_value, newest.residual_mean, newest.residual_var
        )
        newest_log_lik = log_likelihood(logits, newest.approved, posterior.mistake)[0]
        before = posterior.log_weights - event.weight * newest_log_lik  # without the newest
        before = before - before.max()
        q0 = Compass(posterior.theta.copy(), np.exp(before) / np.exp(before).sum())
        tensors = {
            "concentration": torch.from_numpy(newest.concentration.copy()),
            "task_value": torch.from_numpy(newest.task_value.copy()),
            "residual_mean": torch.from_numpy(newest.residual_mean.copy()),
            "residual_var": torch.from_numpy(newest.residual_var.copy()),
            "approved": torch.from_numpy(newest.approved.copy()),
            "omega": torch.from_numpy(newest.weight.copy()),
        }
        theta = proximal_positions(self._alignment, q0, posterior.response, tensors, self.config)
        self._require_finite("proximal Step 3", theta)
        posterior.transport(theta, before)

    # ================================================================== replicas & state
    def model_parameters(self) -> dict[str, np.ndarray]:
        """Everything a scorer needs besides the compass: ψ, the task model, each particle's
        response parameters and the residual's posterior (copies)."""
        params: dict[str, np.ndarray] = {}
        for prefix, source in (
            ("fingerprint", self._fingerprint.get_parameters()),
            ("task", self._task.get_parameters()),
            ("residual", self._residual.state()),
        ):
            for name, value in source.items():
                params[f"{prefix}.{name}"] = value
        params["posterior.response"] = self._posterior.response.copy()
        return params

    def load_model_parameters(self, params: dict[str, np.ndarray], version: int) -> None:
        """Load ψ, the task model, the particles' response parameters and the residual from
        :meth:`model_parameters` output and set ``version``."""
        try:
            sub = {
                prefix: {
                    k.split(".", 1)[1]: v for k, v in params.items() if k.startswith(prefix + ".")
                }
                for prefix in ("fingerprint", "task", "residual")
            }
            self._fingerprint.set_parameters(sub["fingerprint"])
            self._task.set_parameters(sub["task"])
            self._residual.load_state(sub["residual"])
            response = np.asarray(params["posterior.response"], dtype=np.float64).reshape(-1, 3)
        except KeyError as err:
            raise ValueError(f"model parameters lack {err}") from None
        if len(response) != self._posterior.n_particles:
            raise ValueError(
                f"model parameters hold {len(response)} particles, the compass has "
                f"{self._posterior.n_particles}"
            )
        self._posterior.response = response.copy()
        self._posterior.reweigh()
        self._compass = self._posterior.compass()
        self._alignment.forget()
        self._set_version(version)

    def set_compass(self, compass: Compass, version: int) -> None:
        """Replace the compass (a selector replica, a social pull) and set ``version``."""
        if not isinstance(compass, Compass):
            raise TypeError("compass must be a Compass")
        if compass.dim != self.value_space.dim:
            raise ValueError(f"compass has M={compass.dim}, config has M={self.value_space.dim}")
        self._posterior.set_cloud(
            compass.particles, compass.weights, numpy_generator(self.config.seed, version, "cloud")
        )
        self._compass = compass
        self._alignment.forget()
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
        state.update({f"posterior.{k}": v for k, v in self._posterior.state().items()})
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
        try:
            self._posterior.load_state(
                {k.split(".", 1)[1]: v for k, v in state.items() if k.startswith("posterior.")}
            )
        except KeyError as err:
            raise ValueError(f"state lacks posterior.{err.args[0]}") from None
        params = {
            k: v
            for k, v in state.items()
            if k.startswith(("fingerprint.", "task.", "residual.", "posterior.response"))
        }
        self.load_model_parameters(params, int(state["version"]))
        self._history = copy.deepcopy(list(state["history"]))
        self._applied_ids = [str(i) for i in state["applied_ids"]]
        self._rejected = [[str(i), str(r)] for i, r in state["rejected"]]
        self._seen_ids = set(self._applied_ids) | {i for i, _ in self._rejected}
