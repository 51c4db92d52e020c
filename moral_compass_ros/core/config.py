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
UPDATE_RULES = ("proximal", "reweight")


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
        "λ ≥ 0 of the selection rule [§5]. Every term is in log-odds of approval (IG in nats), "
        "so λ_task = λ_align = 1 weighs task and values as the person does (as the likelihood "
        "has learned); λ_task > 1 weighs the task more than the person does [§10.3].",
    )
    lambda_align: float = _field(
        1.0,
        'float',
        "λ ≥ 0 of the selection rule [§5]. Every term is in log-odds of approval (IG in nats), "
        "so λ_task = λ_align = 1 weighs task and values as the person does (as the likelihood "
        "has learned); λ_task > 1 weighs the task more than the person does [§10.3].",
    )
    lambda_info: float = _field(
        1.0,
        'float',
        "λ ≥ 0 of the selection rule [§5]. Every term is in log-odds of approval (IG in nats), "
        "so λ_task = λ_align = 1 weighs task and values as the person does (as the likelihood "
        "has learned); λ_task > 1 weighs the task more than the person does [§10.3].",
    )
    information_mode: str = _field(
        "avoid", '{"avoid", "seek"}', "Sign of the information-gain term [§5]."
    )
    rho0: float = _field(
        1.0, 'float', "ρ_0 ≥ 0, Wasserstein radius with no evidence; ρ = ρ_0/√(1+n) [§5.1]."
    )
    lipschitz: float = _field(1.0, 'float', "L ≥ 0, Lipschitz constant of the task reward [§5.1].")
    gamma: float = _field(0.95, 'float', "γ ∈ (0, 1], forgetting factor [§7].")
    nu: float = _field(0.5, 'float', "ν > 0, proximal step: the S_ε penalty is 1/(2ν) [§7].")
    lr_psi: float = _field(
        0.01,
        'float',
        "≥ 0, gradient-ascent rate of the fingerprint network ψ [§6] (the likelihood w is fitted "
        "to convergence by Newton steps instead).",
    )
    grad_clip: float = _field(1.0, 'float', "> 0, max gradient norm of a ψ step [§6].")
    replay_window: int = _field(
        32, 'int', "≥ 1, number of recent events used by Steps 2 and 3 [§6, §7]."
    )
    gradient_steps: int = _field(
        3,
        'int',
        "≥ 0, gradient steps of ψ in Step 2 per event (taken only when the window holds an "
        "action without a known profile).",
    )
    proximal_steps: int = _field(
        2, 'int', "≥ 0, optimiser steps of the Step 3 proximal problem per event."
    )
    proximal_lr: float = _field(
        0.02,
        'float',
        "≥ 0, step size of the (Wasserstein–Fisher–Rao preconditioned) Step 3 ascent.",
    )
    change_hazard: float = _field(
        0.005,
        'float',
        "h ∈ [0, 1), prior probability that the person's values change before an answer: each "
        "update puts mass h on ⌈hN⌉ fresh particles from the prior (change points, §10).",
    )
    ess_threshold: float = _field(
        0.5, 'float', "∈ [0, 1], resample when ESS < ess_threshold · N [§7]."
    )
    jitter_concentration: float = _field(
        300.0, 'float', "κ > 0 (inf = no jitter) of the resampling jitter Dir(κθ + floor) [§7]."
    )
    move_steps: int = _field(
        1,
        'int',
        "≥ 0, Metropolis–Hastings moves of every particle after a resampling, with the jitter as "
        "proposal and the replay window's posterior as target (resample-move) [§7]; 0 = jitter "
        "only.",
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
    beta_init: float = _field(
        20.0,
        'float',
        "> 0, prior mean of the likelihood sharpness β (log-odds per squared simplex distance) "
        "[§3].",
    )
    tau_init: float = _field(
        0.3, 'float', "Prior mean of the likelihood threshold τ (squared simplex distance) [§3]."
    )
    task_weight_init: float = _field(
        1.0,
        'float',
        "≥ 0, prior mean of ρ, the person's log-odds of approval per unit of task reward [§10.2].",
    )
    beta_prior_std: float = _field(
        10.0,
        'float',
        "> 0, prior standard deviations of β, τ and ρ: how far the window's answers may move "
        "them.",
    )
    tau_prior_std: float = _field(
        0.1,
        'float',
        "> 0, prior standard deviations of β, τ and ρ: how far the window's answers may move "
        "them.",
    )
    task_weight_prior_std: float = _field(
        1.0,
        'float',
        "> 0, prior standard deviations of β, τ and ρ: how far the window's answers may move "
        "them.",
    )
    residual_prior_std: float = _field(
        1.0,
        'float',
        "> 0, prior standard deviation of each weight of the residual logistic term ω on [φ(a); "
        "s] (log-odds per feature unit) [§10.2].",
    )
    task_noise_std: float = _field(
        1.0, 'float', "> 0, observation noise σ_n of the Bayesian task-reward regression [§4]."
    )
    task_prior_std: float = _field(10.0, 'float', "> 0, prior std of its coefficients.")
    planner_reward_std: float = _field(
        1.0, 'float', "> 0, std assumed for a planner reward estimate sent without one."
    )
    update_rule: str = _field(
        "proximal",
        '{"proximal", "reweight"}',
        "Step 3 rule: Bayes weights with forgetting then the proximal Sinkhorn step on the "
        "particles (``doc/design.md`` §7, §10), or Bayes weights alone (baseline).",
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
        real("beta_init", 0.0, low_open=True)
        real("tau_init", -math.inf)
        real("task_weight_init", 0.0)
        for name in (
            "beta_prior_std",
            "tau_prior_std",
            "task_weight_prior_std",
            "residual_prior_std",
        ):
            real(name, 0.0, low_open=True)
        real("task_noise_std", 0.0, low_open=True)
        real("task_prior_std", 0.0, low_open=True)
        real("planner_reward_std", 0.0, low_open=True)
        choice("update_rule", UPDATE_RULES)
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
        """Plain dict (``value_names`` as a list), inverse of :meth:`from_dict`."""
        data = dataclasses.asdict(self)
        data["value_names"] = list(self.value_names)
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
