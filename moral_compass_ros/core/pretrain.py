# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Offline pre-training of the fingerprint network ψ from many people's answers (``doc/design.md``
§10.1).

ψ is about actions, not people: what an action means is the same whoever judges it. One
person's answers cannot separate the two (a thumbs-down says "this action is far from my
values", not which values), but many people's can. The pre-training fits ψ jointly with one
profile per person by maximum a posteriori:

.. math::
    \\max_{\\psi, \\{q_p, \\rho_p\\}, \\beta, \\beta\\tau, \\omega}
      \\sum_p \\sum_{j \\in p} w_j \\log \\sigma\\Big(\\pm\\big[\\beta(\\tau - D(q_p, a_j))
      + \\rho_p \\mu_j + \\omega^T[\\phi_j; s_j]\\big]\\Big) - \\text{priors}

with D(q, a) = E_{θ'~Dir(α_ψ(a, s))} c(q, θ') the expected ground cost of the learner's
likelihood (:mod:`.likelihood`), q_p = softmax(z_p) a point profile per person (operator), ρ_p
each person's task weight, β, τ and the residual ω shared, β, τ and ρ held inside the
learner's prior ranges, a Gaussian prior on ω of the largest residual scale, and weight decay
on ψ. Answers whose action carried a known profile (a hint
or a library entry) use it, as the learner does; they anchor ψ's value axes to the names
(without any, ψ is identified only up to a relabelling of the values, which does not change a
single prediction).

The people's fitted profiles also give the population's profile distribution: a Dirichlet
matched to their mean and spread (``profile_alpha``), the compass prior a deployment to the
same population can start from (``compass_prior_alpha``).

The fit reports how much ψ explains: the per-answer log-likelihood against the same model
fitted with ψ frozen at its initial (near-uniform) output, in nats. A gain near 0 means ψ
learned nothing the residual logistic term does not already know.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from .config import LearnerConfig
from .events import FeedbackEvent
from .fingerprint import FingerprintModel, torch_generator
from .sinkhorn import expected_cost_to_dirichlet
from .validation import validate_event

#: File format version of a saved pre-trained ψ.
FORMAT = 2
#: Adam iterations and step size of the joint fit, and ψ's weight decay (per parameter, per
#: answer).
DEFAULT_ITERATIONS = 600
DEFAULT_LEARNING_RATE = 0.03
DEFAULT_WEIGHT_DECAY = 1e-3


@dataclass(frozen=True)
class PretrainedFingerprints:
    """A pre-trained ψ with what it was trained for and on.

    Attributes
    ----------
    value_names : tuple of str
    feature_dim, context_dim, hidden : int
        F, C and H of the network.
    concentration_floor : float
    parameters : dict of str to ndarray
        ψ as :meth:`FingerprintModel.get_parameters` returns it.
    people, answers : int
        Distinct operators and answers it was trained on.
    log_likelihood, reference_log_likelihood : float
        Mean per-answer log-likelihood (nats) of the fit, and of the same fit with ψ frozen at
        its initial output; their difference is what ψ explains.
    beta, tau : float
        The fitted shared β and τ (for information).
    profile_alpha : tuple of float
        The population's profile distribution: Dirichlet concentrations (M,) matched to the
        mean and spread of the people's fitted profiles (:func:`dirichlet_by_moments`).
    """

    value_names: tuple
    feature_dim: int
    context_dim: int
    hidden: int
    concentration_floor: float
    parameters: dict
    people: int
    answers: int
    log_likelihood: float
    reference_log_likelihood: float
    beta: float
    tau: float
    profile_alpha: tuple

    @property
    def gain(self) -> float:
        """Per-answer log-likelihood ψ adds over a near-uniform ψ, in nats."""
        return self.log_likelihood - self.reference_log_likelihood

    def check_fits(self, config: LearnerConfig) -> None:
        """Raise ``ValueError`` naming the first mismatch between this ψ and ``config``."""
        wanted = {
            "value_names": tuple(config.value_names),
            "feature_dim": config.feature_dim,
            "context_dim": config.context_dim,
            "hidden": config.fingerprint_hidden,
            "concentration_floor": config.concentration_floor,
        }
        for key, value in wanted.items():
            mine = getattr(self, key)
            if mine != value:
                name = "fingerprint_hidden" if key == "hidden" else key
                raise ValueError(
                    f"pre-trained fingerprint model has {name}={mine!r}, the configuration "
                    f"has {name}={value!r}"
                )

    def save(self, path: Path | str) -> Path:
        """Write an ``.npz`` (ψ arrays plus a JSON ``meta`` entry); return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FORMAT,
            "value_names": list(self.value_names),
            "feature_dim": self.feature_dim,
            "context_dim": self.context_dim,
            "hidden": self.hidden,
            "concentration_floor": self.concentration_floor,
            "people": self.people,
            "answers": self.answers,
            "log_likelihood": self.log_likelihood,
            "reference_log_likelihood": self.reference_log_likelihood,
            "beta": self.beta,
            "tau": self.tau,
            "profile_alpha": list(self.profile_alpha),
        }
        with open(
            path, "wb"
        ) as handle:  # a file object: np.savez would append ".npz" to a str path
            np.savez(handle, meta=np.array(json.dumps(meta)), **self.parameters)
        return path

    @classmethod
    def load(cls, path: Path | str) -> "PretrainedFingerprints":
        """Read :meth:`save` output; ``ValueError`` with the reason on a bad file."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                params = {
                    name: np.asarray(data[name], dtype=np.float64)
                    for name in FingerprintModel.PARAMETER_NAMES
                }
        except FileNotFoundError:
            raise ValueError(f"no such file: {path}") from None
        except (OSError, KeyError, ValueError) as error:
            raise ValueError(f"{path} is not a pre-trained fingerprint model ({error})") from None
        if meta.get("format") != FORMAT:
            raise ValueError(
                f"{path}: unsupported format {meta.get('format')!r}, expected {FORMAT}"
            )
        if not all(np.all(np.isfinite(v)) for v in params.values()):
            raise ValueError(f"{path}: parameters contain NaN or inf")
        return cls(
            value_names=tuple(meta["value_names"]),
            feature_dim=int(meta["feature_dim"]),
            context_dim=int(meta["context_dim"]),
            hidden=int(meta["hidden"]),
            concentration_floor=float(meta["concentration_floor"]),
            parameters=params,
            people=int(meta["people"]),
            answers=int(meta["answers"]),
            log_likelihood=float(meta["log_likelihood"]),
            reference_log_likelihood=float(meta["reference_log_likelihood"]),
            beta=float(meta["beta"]),
            tau=float(meta["tau"]),
            profile_alpha=tuple(float(a) for a in meta["profile_alpha"]),
        )


class _JointModel(torch.nn.Module):
    """ψ, one profile and task weight per person, and the shared β, βτ, ω."""

    def __init__(self, config: LearnerConfig, n_people: int, psi_trainable: bool) -> None:
        super().__init__()
        f64 = torch.float64
        m = len(config.value_names)
        self.psi = FingerprintModel(
            config.feature_dim,
            config.context_dim,
            m,
            config.fingerprint_hidden,
            config.concentration_floor,
            config.hint_strength,
            torch_generator(config.seed, 0, "init"),
        )
        self.psi.requires_grad_(psi_trainable)
        self.profile_logits = torch.nn.Parameter(torch.zeros(n_people, m, dtype=f64))  # z_p
        beta = math.sqrt(config.beta_prior[0] * config.beta_prior[1])  # the prior's centres
        tau = 0.5 * (config.tau_prior[0] + config.tau_prior[1])
        self.task_weight = torch.nn.Parameter(
            torch.full((n_people,), 0.5 * sum(config.task_weight_prior), dtype=f64)
        )
        self.slope = torch.nn.Parameter(torch.tensor(beta, dtype=f64))  # β
        self.offset = torch.nn.Parameter(torch.tensor(beta * tau, dtype=f64))  # βτ
        self.residual = torch.nn.Parameter(
            torch.zeros(config.feature_dim + config.context_dim, dtype=f64)
        )  # ω


def task_values(events: Sequence[FeedbackEvent]) -> np.ndarray:
    """The task reward each answer judged, shape (J,): the observed one, or for an unobserved
    outcome the mean observed reward (where a learner's task-model estimate starts; 0 when none
    was observed). The one rule of every offline fit to many people's answers."""
    rewards = np.array([e.task_reward for e in events], dtype=np.float64)
    observed = np.isfinite(rewards)
    return np.where(
        observed, rewards, float(np.mean(rewards[observed])) if observed.any() else 0.0
    )


def _tensors(events: Sequence[FeedbackEvent], people: list) -> dict:
    index = {name: i for i, name in enumerate(people)}
    m_hint = max((e.value_hint.size for e in events), default=0)
    features = np.array([e.features for e in events])
    context = np.array([e.context for e in events]).reshape(len(events), -1)
    rewards = task_values(events)
    hints = np.full((len(events), max(m_hint, 1)), np.nan)
    for j, e in enumerate(events):
        if e.value_hint.size:
            hints[j] = e.value_hint
    as_t = torch.from_numpy
    return {
        "features": as_t(features),
        "context": as_t(context),
        "inputs": as_t(np.concatenate([features, context], axis=1)),
        "task_value": as_t(rewards),
        "hints": as_t(hints) if m_hint else None,
        "sign": as_t(np.where([e.approved for e in events], 1.0, -1.0)),
        "weight": as_t(np.array([e.weight for e in events])),
        "person": torch.tensor([index[e.operator] for e in events]),
    }


def pretrain_fingerprints(
    events: Sequence[FeedbackEvent],
    config: LearnerConfig,
    *,
    iterations: int = DEFAULT_ITERATIONS,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    weight_decay: float = DEFAULT_WEIGHT_DECAY,
    progress: Optional[Callable[[int, int, float], None]] = None,
) -> PretrainedFingerprints:
    """Fit ψ to many people's answers (module docstring); people are the events' ``operator``.

    Parameters
    ----------
    events : sequence of FeedbackEvent
        Answers of at least two people, dimensions as in ``config``.
    config : LearnerConfig
        Dimensions, network width, hint strength, priors and the seed of ψ's initialisation.
    iterations, learning_rate, weight_decay
        Full-batch Adam steps, their size, and the L2 weight of ψ's parameters.
    progress : callable, optional
        ``progress(iteration, iterations, log_likelihood)`` every 50 iterations.

    Returns
    -------
    PretrainedFingerprints

    Raises
    ------
    ValueError
        Fewer than two people, or an event that does not fit ``config``.
    """
    events = list(events)
    for event in events:
        validate_event(config, event)
    people = sorted({e.operator for e in events})
    if len(people) < 2:
        raise ValueError(
            f"pre-training needs the answers of at least 2 people (operators), got {len(people)}: "
            "one person's answers cannot tell their values from an action's meaning"
        )
    data = _tensors(events, people)
    total_weight = float(data["weight"].sum())
    if not total_weight > 0.0:
        raise ValueError("every answer has weight 0")
    fits = {}
    for name, trainable in (("reference", False), ("psi", True)):
        model = _JointModel(config, len(people), trainable)
        parameters = [p for p in model.parameters() if p.requires_grad]
        optimiser = torch.optim.Adam(parameters, lr=learning_rate)
        residual_scale = max(config.residual_prior_scales) or 1.0

        def mean_log_likelihood() -> torch.Tensor:
            concentration = model.psi.concentration(
                data["features"], data["context"], data["hints"]
            )
            profiles = torch.softmax(model.profile_logits, dim=-1)  # q_p
            cost = expected_cost_to_dirichlet(
                profiles, concentration, config.cost
            )  # D(q_p, a_j), (J, P)
            d = cost.gather(1, data["person"][:, None])[:, 0]
            slope = torch.clamp(model.slope, *config.beta_prior)
            task_weight = torch.clamp(model.task_weight, *config.task_weight_prior)
            logits = (
                torch.clamp(model.offset, slope * config.tau_prior[0], slope * config.tau_prior[1])
                - slope * d
                + task_weight[data["person"]] * data["task_value"]
                + data["inputs"] @ model.residual
            )
            log_lik = torch.nn.functional.logsigmoid(data["sign"] * logits)
            return (data["weight"] * log_lik).sum() / total_weight

        def penalty() -> torch.Tensor:
            value = 0.5 * ((model.residual / residual_scale) ** 2).sum()
            value = value + 0.5 * 1e-2 * (model.profile_logits**2).sum()  # keeps z_p finite
            if trainable:
                value = value + weight_decay * len(events) * sum(
                    (p**2).sum() for p in model.psi.parameters()
                )
            return value / total_weight

        for iteration in range(int(iterations)):
            optimiser.zero_grad()
            log_lik = mean_log_likelihood()
            loss = -log_lik + penalty()
            loss.backward()
            optimiser.step()
            if progress is not None and trainable and (iteration + 1) % 50 == 0:
                progress(iteration + 1, int(iterations), float(log_lik.detach()))
        with torch.no_grad():
            final = float(mean_log_likelihood())
        if not math.isfinite(final):
            raise ArithmeticError("non-finite log-likelihood in the fingerprint pre-training")
        fits[name] = (model, final)
    model, log_lik = fits["psi"]
    beta = min(max(model.slope.item(), config.beta_prior[0]), config.beta_prior[1])
    with torch.no_grad():
        profiles = torch.softmax(model.profile_logits, dim=-1).numpy()
    return PretrainedFingerprints(
        value_names=tuple(config.value_names),
        feature_dim=config.feature_dim,
        context_dim=config.context_dim,
        hidden=config.fingerprint_hidden,
        concentration_floor=config.concentration_floor,
        parameters=model.psi.get_parameters(),
        people=len(people),
        answers=len(events),
        log_likelihood=log_lik,
        reference_log_likelihood=fits["reference"][1],
        beta=beta,
        tau=model.offset.item() / beta,
        profile_alpha=tuple(float(a) for a in dirichlet_by_moments(profiles)),
    )


def dirichlet_by_moments(profiles: np.ndarray) -> np.ndarray:
    """Dirichlet concentrations α (M,) with the mean and total spread of ``profiles`` (P, M).

    α = m·s with m the mean profile and s + 1 = Σ_k m_k(1 − m_k) / Σ_k Var_k (the method of
    moments on the summed variances); s is kept in [0.5, 1000] (few or identical people).
    """
    profiles = np.asarray(profiles, dtype=np.float64)
    mean = profiles.mean(axis=0)
    spread = float(profiles.var(axis=0).sum())
    total = float((mean * (1.0 - mean)).sum()) / spread - 1.0 if spread > 0 else 1000.0
    return np.maximum(mean, 1e-6) * min(max(total, 0.5), 1000.0)
