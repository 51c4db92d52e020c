# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Every hyper-parameter of the learners, validated in one place."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

from .value_space import DEFAULT_VALUE_NAMES, ValueSpace

COSTS = ("sqeuclidean", "hellinger")
INFORMATION_MODES = ("avoid", "seek")
UPDATE_RULES = ("bayes", "proximal")
#: Fields holding a tuple of numbers.
_NUMBER_TUPLES = (
    "beta_prior",
    "tau_prior",
    "task_weight_prior",
    "residual_prior_scales",
    "compass_prior_alpha",
)
SELECTION_RULES = ("predictive", "seed")


def _field(default: Any, kind: str, description: str) -> Any:
    """A field with its type as documented (``kind``) and its meaning in ``metadata``."""
    return dataclasses.field(default=default, metadata={"kind": kind, "description": description})


def field_description(name: str) -> str:
    """``"(kind) description"`` of a :class:`LearnerConfig` field (the ROS parameter
    description)."""
    metadata = _FIELDS[name].metadata
    return f"({metadata['kind']}) {metadata['description']}"


@dataclass(frozen=True)
class LearnerConfig:
    """Hyper-parameters of :class:`~moral_compass_ros.core.DynamicValueLearner` and baselines.

    Validated on construction (:meth:`validate`); a bad value raises ``ValueError`` naming the
    field and its allowed range. Sections of ``doc/design.md`` in brackets.

    Every field's meaning, unit and range is its ``metadata`` (:func:`field_description`), which
    is also each ROS parameter's description; the ``Attributes`` below are generated from it.
    """

    value_names: tuple[str, ...] = _field(
        DEFAULT_VALUE_NAMES,
        'tuple of str',
        "The M axiomatic values [§1]. Default: the five Moral Foundations.",
    )
    feature_dim: int = _field(8, 'int', "F, length of an action's feature vector φ(a), ≥ 1.")
    context_dim: int = _field(3, 'int', "C, length of the context vector s, ≥ 0.")
    n_particles: int = _field(512, 'int', "N, compass particles, ≥ 1 [§1].")
    n_fingerprint_samples: int = _field(
        64, 'int', "K, Dirichlet samples per fingerprint in the alignment term, ≥ 1 [§5.2]."
    )
    epsilon: float = _field(0.05, 'float', "ε > 0, entropic regularisation of S_ε [§2].")
    cost: str = _field("sqeuclidean", '{"sqeuclidean", "hellinger"}', "Ground cost on Θ [§2].")
    lambda_task: float = _field(
        1.0,
        'float',
        "λ_task ≥ 0, weight of the robust task value ρ̂(μ − ρ_W L) in log-odds of approval "
        "[§5, §10.3]. The predictive rule adds (λ_task − 1) × it to the predicted log-odds, so "
        "1 = the person's own trade-off and > 1 a deliberate bias toward the task; the seed rule "
        "multiplies it by λ_task.",
    )
    lambda_align: float = _field(
        1.0,
        'float',
        "λ_align ≥ 0, weight of the alignment β̂(τ̂ − S_ε(q_t, P^A)) and the residual in the seed "
        "rule (``selection_rule: seed``) [§5]; the predictive rule publishes the alignment as "
        "the explanation and does not add it (it is already in the predicted log-odds).",
    )
    lambda_info: float = _field(
        1.0,
        'float',
        "λ_info ≥ 0, weight of the information gain (nats, the mutual information between the "
        "posterior and the answer), added with the sign of ``information_mode`` [§5].",
    )
    selection_rule: str = _field(
        "predictive",
        '{"predictive", "seed"}',
        "How the executed candidate is chosen [§11.4]: ``predictive`` = argmax of the posterior-"
        "predictive log-odds of approval ± λ_info IG + (λ_task − 1) × task term (the decision "
        "the person would approve); ``seed`` = the framework's λ_task Task + λ_align (Align + "
        "Resid) ± λ_info IG.",
    )
    information_mode: str = _field(
        "avoid", '{"avoid", "seek"}', "Sign of the information-gain term [§5]."
    )
    rho0: float = _field(
        1.0, 'float', "ρ_0 ≥ 0, Wasserstein radius with no evidence; ρ = ρ_0/√(1+n) [§5.1]."
    )
    lipschitz: float = _field(1.0, 'float', "L ≥ 0, Lipschitz constant of the task reward [§5.1].")
    gamma: float = _field(
        1.0,
        'float',
        "γ ∈ (0, 1], forgetting factor: answer j counts γ^(t−j) in the posterior [§7]. 1 = "
        "exact Bayes; drift is modelled by ``change_hazard`` instead.",
    )
    nu: float = _field(
        0.5,
        'float',
        "ν > 0, the proximal Step 3's S_ε penalty 1/(2ν) (``update_rule: proximal``) [§7].",
    )
    lr_psi: float = _field(
        0.01,
        'float',
        "≥ 0, gradient-ascent rate of the fingerprint network ψ on the recent answers whose "
        "action had no known profile [§6].",
    )
    grad_clip: float = _field(1.0, 'float', "> 0, max gradient norm of a ψ step [§6].")
    replay_window: int = _field(
        32,
        'int',
        "≥ 1, recent answers the fingerprint network ψ's gradient steps use [§6] (the "
        "posterior and the residual use every answer up to ``history_limit``).",
    )
    history_limit: int = _field(
        500,
        'int',
        "≥ 1, answers the particle posterior keeps and re-weighs at every update [§11]: it is "
        "the posterior given these answers, and an older one is forgotten.",
    )
    gradient_steps: int = _field(
        3,
        'int',
        "≥ 0, gradient steps of ψ in Step 2 per event (taken only when the window holds an "
        "action without a known profile).",
    )
    proximal_steps: int = _field(
        2,
        'int',
        "≥ 0, optimiser steps of the proximal Step 3 per answer (``update_rule: proximal``).",
    )
    proximal_lr: float = _field(
        0.02,
        'float',
        "≥ 0, step size of the proximal Step 3's (Wasserstein–Fisher–Rao preconditioned) "
        "ascent (``update_rule: proximal``).",
    )
    change_hazard: float = _field(
        0.005,
        'float',
        "h ∈ [0, 1), prior probability that the person's values (and response) change before an "
        "answer: each update puts mass h on the ⌈hN⌉ lightest particles, redrawn from the prior "
        "(change points, §11).",
    )
    ess_threshold: float = _field(
        0.5, 'float', "∈ [0, 1], resample when ESS < ess_threshold · N [§7]."
    )
    jitter_concentration: float = _field(
        300.0, 'float', "κ > 0 (inf = no jitter) of the resampling jitter Dir(κθ + floor) [§7]."
    )
    move_steps: int = _field(
        2,
        'int',
        "≥ 0, Metropolis–Hastings moves of every particle after a resampling (resample-move): "
        "θ' ~ Dir(κθ + floor) and a random walk on (log β, τ, ρ), the exact posterior of the "
        "kept answers as target [§7, §11]; 0 = copies only.",
    )
    response_move_scale: float = _field(
        0.05,
        'float',
        "> 0, std of the random-walk move of (log β, τ, ρ) as a fraction of each prior range.",
    )
    hint_strength: float = _field(
        20.0,
        'float',
        "≥ 0, pseudo-counts a planner value hint adds to the fingerprint concentration.",
    )
    concentration_floor: float = _field(
        0.05, 'float', "> 0, lower bound of every fingerprint concentration (softplus + floor)."
    )
    fingerprint_hidden: int = _field(16, 'int', "≥ 1, hidden width of the fingerprint network.")
    fingerprint_model: str = _field(
        "",
        'str',
        "Path of a pre-trained fingerprint network ψ (``moral-compass pretrain``), loaded in "
        "place of the random initialisation; empty = none. Its F, C, values and width must "
        "match.",
    )
    beta_prior: tuple[float, ...] = _field(
        (2.0, 100.0),
        'tuple of 2 float',
        "(low, high), 0 < low ≤ high: β, the likelihood's sharpness (log-odds per squared "
        "simplex distance), is log-uniform on this range a priori and inferred with θ [§3, §11].",
    )
    tau_prior: tuple[float, ...] = _field(
        (0.0, 1.0),
        'tuple of 2 float',
        "(low, high): τ, the squared simplex distance at which the person is indifferent, is "
        "uniform on this range a priori and inferred with θ [§3, §11].",
    )
    task_weight_prior: tuple[float, ...] = _field(
        (0.0, 4.0),
        'tuple of 2 float',
        "(low, high), 0 ≤ low ≤ high: ρ, the person's log-odds of approval per unit of task "
        "reward, is uniform on this range a priori and inferred with θ [§10.2, §11].",
    )
    residual_prior_scales: tuple[float, ...] = _field(
        (0.0, 0.1, 0.3, 1.0),
        'tuple of float',
        "Prior standard deviations s ≥ 0 of the residual logistic term ω on [φ(a); s] "
        "compared by their evidence (0 = no residual); the predictive averages them with "
        "weights ∝ their marginal likelihood [§11.3].",
    )
    compass_prior_alpha: tuple[float, ...] = _field(
        (1.0,),
        'tuple of float',
        "Dirichlet concentration α > 0 of the compass prior: one number (symmetric) or M "
        "numbers in the order of ``value_names`` [§11]. (1.0) = uniform on Θ.",
    )
    task_noise_std: float = _field(
        1.0, 'float', "> 0, observation noise σ_n of the Bayesian task-reward regression [§4]."
    )
    task_prior_std: float = _field(10.0, 'float', "> 0, prior std of its coefficients.")
    planner_reward_std: float = _field(
        1.0, 'float', "> 0, std assumed for a planner reward estimate sent without one."
    )
    update_rule: str = _field(
        "bayes",
        '{"bayes", "proximal"}',
        "Step 3 rule [§7, §11.5]: ``bayes`` = every answer re-weighs the particles (exact "
        "importance weights, resample-move); ``proximal`` = the newest answer moves the "
        "particles by the seed's proximal Sinkhorn step instead of re-weighing them.",
    )
    sinkhorn_max_iter: int = _field(1000, 'int', "≥ 1, Sinkhorn iteration cap (every solver).")
    sinkhorn_tol: float = _field(
        1e-6,
        'float',
        "> 0, marginal tolerance of the update's Sinkhorn solves (Steps 2–3) and of OT_ε(q, q).",
    )
    scoring_tol: float = _field(
        1e-3,
        'float',
        "> 0, marginal tolerance of the Step 1 alignment solves. Their values are stationary in "
        "the potentials, so the alignment's error is second order in it: at 1e-3 it is within "
        "about 1e-7 (relative 3e-6) of a solve converged to 1e-9, far below the Monte-Carlo "
        "spread of K fingerprint samples (bench, tests). At ≥ 1e-5 the solves run in float32.",
    )
    prune_candidates: bool = _field(
        False,
        'bool',
        "Step 1 computes S_ε only for candidates that can still win: the others' alignment is "
        "bounded by −‖E_q φ − E_a φ‖² (``divergence_lower_bound``), their total by that bound, "
        "and they are skipped once a computed candidate's total beats every remaining bound. The "
        "selection is the same (up to ties within ``scoring_tol``); the skipped candidates "
        "report the bound, flagged ``alignment_is_bound``.",
    )
    seed: int = _field(0, 'int', "≥ 0, the single source of randomness.")

    def __post_init__(self) -> None:
        names = self.value_names
        if isinstance(names, str):
            raise ValueError("value_names must be a sequence of names, not one string")
        object.__setattr__(self, "value_names", tuple(names))
        for name in _NUMBER_TUPLES:  # lists from ROS parameters and YAML become tuples
            value = getattr(self, name)
            if isinstance(value, (list, tuple)):
                object.__setattr__(self, name, tuple(value))
        self.validate()

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Check every field; raise ``ValueError`` naming the first bad field and its range."""
        try:
            ValueSpace(self.value_names)
        except (TypeError, ValueError) as err:
            raise ValueError(f"value_names: {err}") from None

        def integer(name: str, low: int) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")

        def real(
            name: str,
            low: float,
            high: float = math.inf,
            low_open: bool = False,
            high_open: bool = False,
            allow_inf: bool = False,
        ) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a number, got {value!r}")
            value = float(value)
            if math.isnan(value) or (math.isinf(value) and not allow_inf):
                raise ValueError(f"{name} must be finite, got {value!r}")
            too_low = value <= low if low_open else value < low
            too_high = value >= high if high_open else value > high
            if too_low or too_high:
                left = "(" if low_open else "["
                right = ")" if high_open or math.isinf(high) else "]"
                raise ValueError(f"{name} must be in {left}{low}, {high}{right}, got {value!r}")

        def choice(name: str, allowed: tuple[str, ...]) -> None:
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")

        integer("feature_dim", 1)
        integer("context_dim", 0)
        integer("n_particles", 1)
        integer("n_fingerprint_samples", 1)
        real("epsilon", 0.0, low_open=True)
        choice("cost", COSTS)
        for name in ("lambda_task", "lambda_align", "lambda_info", "rho0", "lipschitz"):
            real(name, 0.0)
        choice("information_mode", INFORMATION_MODES)
        real("gamma", 0.0, 1.0, low_open=True)
        real("nu", 0.0, low_open=True)
        real("lr_psi", 0.0)
        real("grad_clip", 0.0, low_open=True)
        integer("replay_window", 1)
        integer("gradient_steps", 0)
        integer("proximal_steps", 0)
        real("proximal_lr", 0.0)
        real("change_hazard", 0.0, 1.0, high_open=True)
        real("ess_threshold", 0.0, 1.0)
        real("jitter_concentration", 0.0, low_open=True, allow_inf=True)
        integer("move_steps", 0)
        real("hint_strength", 0.0)
        real("concentration_floor", 0.0, low_open=True)
        integer("fingerprint_hidden", 1)
        if not isinstance(self.fingerprint_model, str):
            raise ValueError(
                f"fingerprint_model must be a path (string), got {self.fingerprint_model!r}"
            )

        def pair(name: str, low: float, positive: bool = False) -> None:
            value = getattr(self, name)
            if (
                not isinstance(value, tuple)
                or len(value) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
                or not all(math.isfinite(v) for v in value)
                or value[0] > value[1]
                or value[0] < low
                or (positive and value[0] <= 0.0)
            ):
                bound = f"> {low}" if positive else f">= {low}"
                raise ValueError(
                    f"{name} must be two finite numbers (low, high) with low <= high and low "
                    f"{bound}, got {value!r}"
                )

        pair("beta_prior", 0.0, positive=True)
        pair("tau_prior", -math.inf)
        pair("task_weight_prior", 0.0)
        for name in ("residual_prior_scales", "compass_prior_alpha"):
            value = getattr(self, name)
            if (
                not isinstance(value, tuple)
                or not value
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
                or not all(math.isfinite(v) for v in value)
            ):
                raise ValueError(
                    f"{name} must be a non-empty list of finite numbers, got {value!r}"
                )
        if any(v < 0 for v in self.residual_prior_scales):
            raise ValueError(
                f"residual_prior_scales must be >= 0, got {self.residual_prior_scales!r}"
            )
        if any(v <= 0 for v in self.compass_prior_alpha) or len(self.compass_prior_alpha) not in (
            1,
            len(self.value_names),
        ):
            raise ValueError(
                f"compass_prior_alpha must be 1 or M={len(self.value_names)} numbers > 0, got "
                f"{self.compass_prior_alpha!r}"
            )
        integer("history_limit", 1)
        real("response_move_scale", 0.0, low_open=True)
        real("task_noise_std", 0.0, low_open=True)
        real("task_prior_std", 0.0, low_open=True)
        real("planner_reward_std", 0.0, low_open=True)
        choice("update_rule", UPDATE_RULES)
        choice("selection_rule", SELECTION_RULES)
        integer("sinkhorn_max_iter", 1)
        real("sinkhorn_tol", 0.0, low_open=True)
        real("scoring_tol", 0.0, low_open=True)
        if not isinstance(self.prune_candidates, bool):
            raise ValueError(
                f"prune_candidates must be true or false, got {self.prune_candidates!r}"
            )
        integer("seed", 0)

    # ------------------------------------------------------------------ conversion
    @property
    def value_space(self) -> ValueSpace:
        """The :class:`ValueSpace` over ``value_names``."""
        return ValueSpace(self.value_names)

    @property
    def n_values(self) -> int:
        """M."""
        return len(self.value_names)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (tuples as lists), inverse of :meth:`from_dict`."""
        data = dataclasses.asdict(self)
        for name in ("value_names",) + _NUMBER_TUPLES:
            data[name] = list(data[name])
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LearnerConfig":
        """Build from a mapping; unknown keys raise ``ValueError`` listing the known ones."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown LearnerConfig key(s) {unknown}; known keys: {sorted(known)}"
            )
        return cls(**dict(data))

    def replace(self, **changes: Any) -> "LearnerConfig":
        """A copy with ``changes`` applied (validated)."""
        return dataclasses.replace(self, **changes)


_FIELDS = {f.name: f for f in dataclasses.fields(LearnerConfig)}
LearnerConfig.__doc__ = (
    (LearnerConfig.__doc__ or "")
    + "\n    Attributes\n    ----------\n"
    + "".join(
        f"    {f.name} : {f.metadata['kind']}\n        {f.metadata['description']}\n"
        for f in _FIELDS.values()
    )
)
