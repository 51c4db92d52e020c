# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The joint posterior over a person's values and response parameters (``doc/design.md`` §11).

A weighted particle cloud over (θ, β, τ, ρ): θ ∈ Θ the values, and the response parameters of
the likelihood

.. math::
    \\ell(y = 1 \\mid \\theta, \\beta, \\tau, \\rho; a) = \\epsilon + (1 - 2\\epsilon)\\,
    \\sigma\\Big(\\frac{\\beta(\\tau - D(\\theta, a)) + \\rho\\,\\mu(a) + m(a)}
                      {\\sqrt{1 + \\pi v(a) / 8}}\\Big)

with D(θ, a) = E_{θ'~Dir(α_a)} c(θ, θ') (:func:`~.sinkhorn.expected_cost_to_dirichlet`), μ(a)
the task reward the person sees, m(a) and v(a) the mean and variance of a Gaussian residual
logit (:class:`~.residual.BayesianResidual`, the probit approximation integrates it out) and ε a
known mistake rate (0 for the learner). Priors: θ ~ a mixture of Dirichlets, log β, τ and ρ
uniform on boxes (:class:`ResponsePrior`). Nothing is point-fitted: the compass published is the
θ-marginal of this cloud.

Each particle i carries, besides its position, a *birth* b_i (the first answer it has seen: 0,
or the answer at which it was drawn fresh as a change point), a base log mass and a log offset
(the log density it was drawn from, up to the prior), so that its weight is recomputed from
every answer at every update:

.. math::
    \\log w_i = \\text{base}_i + L_i - \\text{offset}_i,\\qquad
    L_i = \\sum_{j \\ge b_i} \\omega_j \\gamma^{T - j} \\log \\ell(y_j \\mid \\text{particle } i)

(ω_j the answer's weight, γ the forgetting factor). A particle drawn from the prior has offset
0; after resample-move it is distributed as its target exp(L_i) × prior, so its offset is L_i at
that moment. The weights are then exact importance weights whatever happened before: forgetting
keeps acting after a resampling, a changed residual re-weighs old answers, and nothing is
counted twice.

Change points (hazard h): before answer t the ⌈hN⌉ lightest particles (ties broken at random)
are replaced by fresh prior draws born at t, holding mass h; the rest keep 1 − h.
Resample-move: when ESS < threshold·N, systematic resampling, then Metropolis–Hastings moves
(θ' ~ Dir(κθ + floor), a Gaussian random walk on (log β, τ, ρ)) whose target is each particle's
exact posterior given its birth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from .compass import Compass
from .scoring import information_gain, predictive_approval
from .sinkhorn import expected_cost_to_dirichlet

#: Names of the response coordinates each particle carries, in order.
RESPONSE_NAMES = ("log_beta", "tau", "task_weight")
_PROBIT = math.pi / 8.0


#: Added to every Dirichlet move concentration so no coordinate gets concentration 0.
JITTER_FLOOR: float = 1e-3


def log_dirichlet(theta: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """log Dir(θ; α) per row: log Γ(α_0) − Σ log Γ(α_k) + Σ (α_k − 1) log θ_k, shape (N,)."""
    lgamma = torch.lgamma(
        torch.from_numpy(np.concatenate([alpha, alpha.sum(axis=1, keepdims=True)], axis=1))
    ).numpy()
    log_theta = np.log(np.maximum(theta, 1e-300))
    return lgamma[:, -1] - lgamma[:, :-1].sum(axis=1) + ((alpha - 1.0) * log_theta).sum(axis=1)


@dataclass(frozen=True)
class ResponsePrior:
    """Uniform prior on (log β, τ, ρ) over a box.

    Attributes
    ----------
    beta : (float, float)
        β is log-uniform on this range (> 0).
    tau : (float, float)
        τ is uniform on this range.
    task_weight : (float, float)
        ρ is uniform on this range (≥ 0).
    """

    beta: tuple[float, float]
    tau: tuple[float, float]
    task_weight: tuple[float, float]

    @property
    def low(self) -> np.ndarray:
        """Lower corner of the box in (log β, τ, ρ), shape (3,)."""
        return np.array([math.log(self.beta[0]), self.tau[0], self.task_weight[0]])

    @property
    def high(self) -> np.ndarray:
        """Upper corner of the box in (log β, τ, ρ), shape (3,)."""
        return np.array([math.log(self.beta[1]), self.tau[1], self.task_weight[1]])

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n draws, shape (n, 3)."""
        return rng.uniform(self.low, self.high, size=(n, 3))

    def inside(self, response: np.ndarray) -> np.ndarray:
        """Whether each row of ``response`` (n, 3) lies in the box, shape (n,)."""
        return np.all((response >= self.low) & (response <= self.high), axis=-1)


class DirichletMixture:
    """A prior on Θ: an equal-weight mixture of Dirichlet(α_k), k = 1..K.

    Parameters
    ----------
    alphas : array_like, shape (K, M) or (M,)
    """

    def __init__(self, alphas) -> None:
        alphas = np.atleast_2d(np.asarray(alphas, dtype=np.float64))
        if not (np.all(np.isfinite(alphas)) and np.all(alphas > 0)):
            raise ValueError("Dirichlet concentrations must be finite and > 0")
        self.alphas = alphas

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n draws on Θ, shape (n, M)."""
        if len(self.alphas) == 1:
            theta = rng.dirichlet(self.alphas[0], size=n)
        else:
            component = rng.integers(len(self.alphas), size=n)
            theta = np.stack([rng.dirichlet(self.alphas[k]) for k in component])
        return theta / theta.sum(axis=1, keepdims=True)

    def log_pdf(self, theta: np.ndarray) -> np.ndarray:
        """log density of each row of θ (n, M), shape (n,)."""
        each = [log_dirichlet(theta, np.broadcast_to(a, theta.shape)) for a in self.alphas]
        return logsumexp(np.array(each), axis=0) - math.log(len(self.alphas))


def logsumexp(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """log Σ exp(x) along ``axis``, stable."""
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.squeeze(top, axis) + np.log(np.sum(np.exp(x - top), axis=axis))


def log_expit(x: np.ndarray) -> np.ndarray:
    """log σ(x), stable."""
    return -np.logaddexp(0.0, -x)


def expected_cost(
    theta: np.ndarray, concentration: np.ndarray, cost: str = "sqeuclidean"
) -> np.ndarray:
    """D(θ_i, a_j) = E_{θ'~Dir(α_j)} c(θ_i, θ'), shape (H, N); θ (N, M), concentration (H, M).

    Squared Euclidean in numpy: ‖θ_i − m_j‖² + (1 − ‖m_j‖²)/(α_0j + 1), m_j = α_j/α_0j; other
    costs by :func:`~.sinkhorn.expected_cost_to_dirichlet`.
    """
    if cost != "sqeuclidean":
        return expected_cost_to_dirichlet(
            torch.from_numpy(np.ascontiguousarray(theta)),
            torch.from_numpy(np.ascontiguousarray(concentration)),
            cost,
        ).numpy()
    alpha0 = concentration.sum(-1)
    mean = concentration / alpha0[:, None]
    trace = (1.0 - (mean * mean).sum(-1)) / (alpha0 + 1.0)
    sq = (theta * theta).sum(-1)[None, :] - 2.0 * mean @ theta.T + (mean * mean).sum(-1)[:, None]
    return np.maximum(sq, 0.0) + trace[:, None]


@dataclass
class Answers:
    """The answers a posterior has seen, as arrays of H rows (oldest first).

    Attributes
    ----------
    concentration : ndarray (H, M)
        The Dirichlet fingerprint α_j of the executed action.
    task_value : ndarray (H,)
        μ_j, the task reward the person saw.
    approved : ndarray of bool (H,)
    weight : ndarray (H,)
        The answer's weight (legitimacy), ≥ 0.
    index : ndarray of int (H,)
        The answer's position in the whole sequence (0, 1, …; old rows may have been dropped).
    residual_mean, residual_var : ndarray (H,)
        The residual logit's mean and variance at each answer (0 without a residual).
    """

    concentration: np.ndarray
    task_value: np.ndarray
    approved: np.ndarray
    weight: np.ndarray
    index: np.ndarray
    residual_mean: np.ndarray
    residual_var: np.ndarray

    @classmethod
    def empty(cls, m: int) -> "Answers":
        return cls(
            np.zeros((0, m)),
            np.zeros(0),
            np.zeros(0, dtype=bool),
            np.zeros(0),
            np.zeros(0, dtype=np.int64),
            np.zeros(0),
            np.zeros(0),
        )

    def __len__(self) -> int:
        return len(self.task_value)

    def append(self, concentration, task_value, approved, weight, index) -> "Answers":
        return Answers(
            np.vstack([self.concentration, np.asarray(concentration, dtype=np.float64)[None]]),
            np.append(self.task_value, float(task_value)),
            np.append(self.approved, bool(approved)),
            np.append(self.weight, float(weight)),
            np.append(self.index, int(index)),
            np.append(self.residual_mean, 0.0),
            np.append(self.residual_var, 0.0),
        )

    def tail(self, n: int) -> "Answers":
        """The newest n rows."""
        return Answers(*(getattr(self, f)[-n:] for f in _ANSWER_FIELDS))


_ANSWER_FIELDS = (
    "concentration",
    "task_value",
    "approved",
    "weight",
    "index",
    "residual_mean",
    "residual_var",
)


def approval_logits(
    theta: np.ndarray,
    response: np.ndarray,
    concentration: np.ndarray,
    task_value: np.ndarray,
    residual_mean: np.ndarray,
    residual_var: np.ndarray,
    cost: str = "sqeuclidean",
) -> np.ndarray:
    """Moderated logits (β(τ − D) + ρμ + m)/√(1 + πv/8) of every answer j and particle i.

    Parameters
    ----------
    theta : (N, M); response : (N, 3) in (log β, τ, ρ)
    concentration : (H, M); task_value, residual_mean, residual_var : (H,)
    cost : the ground cost of D

    Returns
    -------
    ndarray, shape (H, N)
    """
    beta = np.exp(response[:, 0])
    value = beta[None, :] * (response[None, :, 1] - expected_cost(theta, concentration, cost))
    logit = value + response[None, :, 2] * task_value[:, None] + residual_mean[:, None]
    return logit / np.sqrt(1.0 + _PROBIT * residual_var)[:, None]


def log_likelihood(logits: np.ndarray, approved: np.ndarray, mistake: float) -> np.ndarray:
    """log ℓ(y_j | particle i) from the logits (H, N), with mistake rate ε; shape (H, N)."""
    sign = np.where(approved, 1.0, -1.0)[:, None]
    if mistake <= 0.0:
        return log_expit(sign * logits)
    p = mistake + (1.0 - 2.0 * mistake) * np.exp(log_expit(sign * logits))
    return np.log(p)


class ParticlePosterior:
    """Weighted particles over (θ, log β, τ, ρ); see the module docstring.

    Parameters
    ----------
    theta_prior : DirichletMixture
    response_prior : ResponsePrior
    n_particles : int
    rng : numpy.random.Generator
        Draws the initial particles (later draws take a generator per call).
    gamma : float
        Forgetting factor γ ∈ (0, 1].
    change_hazard : float
        h ∈ [0, 1).
    mistake : float
        Known mistake rate ε ∈ [0, ½) of the person (0 for the learner).
    ess_threshold : float
        Resample when ESS < ess_threshold · N.
    jitter_concentration : float
        κ of the θ proposal Dir(κθ + floor).
    move_steps : int
        Metropolis–Hastings moves after each resampling.
    move_scale : float
        Random-walk std of (log β, τ, ρ) as a fraction of each prior range.
    history_limit : int
        Answers kept (the oldest are dropped beyond it).
    fixed_response : ndarray, shape (3,), optional
        Known (log β, τ, ρ): every particle carries it and moves leave it (the ideal bound).
    cost : {"sqeuclidean", "hellinger"}
        Ground cost of D(θ, a).
    """

    def __init__(
        self,
        theta_prior: DirichletMixture,
        response_prior: ResponsePrior,
        n_particles: int,
        rng: np.random.Generator,
        gamma: float = 1.0,
        change_hazard: float = 0.0,
        mistake: float = 0.0,
        ess_threshold: float = 0.5,
        jitter_concentration: float = 300.0,
        move_steps: int = 2,
        move_scale: float = 0.05,
        history_limit: int = 500,
        fixed_response: Optional[np.ndarray] = None,
        cost: str = "sqeuclidean",
    ) -> None:
        self.theta_prior = theta_prior
        self.response_prior = response_prior
        self.gamma = float(gamma)
        self.change_hazard = float(change_hazard)
        self.mistake = float(mistake)
        self.ess_threshold = float(ess_threshold)
        self.jitter_concentration = float(jitter_concentration)
        self.move_steps = int(move_steps)
        self.move_scale = float(move_scale)
        self.history_limit = int(history_limit)
        self.cost = cost
        self.fixed_response = None if fixed_response is None else np.asarray(fixed_response, float)
        n = int(n_particles)
        self.theta = theta_prior.sample(rng, n)
        self.response = self._draw_response(rng, n)
        self.birth = np.zeros(n, dtype=np.int64)
        self.base = np.full(n, -math.log(n))
        self.offset = np.zeros(n)
        self.answers = Answers.empty(self.theta.shape[1])
        self.n_seen = 0
        self.log_likelihood = np.zeros(n)  # L_i
        self.log_weights = self.base.copy()
        self.last_acceptance = math.nan
        self.resampled = False

    # ------------------------------------------------------------------ draws
    def _draw_response(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.fixed_response is not None:
            return np.tile(self.fixed_response, (n, 1))
        return self.response_prior.sample(rng, n)

    # ------------------------------------------------------------------ weights
    @property
    def weights(self) -> np.ndarray:
        """Normalised weights, shape (N,)."""
        return np.exp(self.log_weights - logsumexp(self.log_weights))

    @property
    def ess(self) -> float:
        """Effective sample size 1 / Σ w_i²."""
        w = self.weights
        return float(1.0 / np.sum(w * w))

    @property
    def n_particles(self) -> int:
        return len(self.theta)

    def compass(self) -> Compass:
        """The θ-marginal as a :class:`Compass`."""
        return Compass(self.theta.copy(), self.weights)

    def response_mean(self) -> np.ndarray:
        """Posterior means of (β, τ, ρ), shape (3,)."""
        w = self.weights
        return np.array(
            [w @ np.exp(self.response[:, 0]), w @ self.response[:, 1], w @ self.response[:, 2]]
        )

    def _particle_log_likelihood(
        self, theta: np.ndarray, response: np.ndarray, birth: np.ndarray
    ) -> np.ndarray:
        """L_i = Σ_{j ≥ b_i} ω_j γ^{T−j} log ℓ(y_j | particle i), shape (N,)."""
        a = self.answers
        if len(a) == 0:
            return np.zeros(len(theta))
        logits = approval_logits(
            theta,
            response,
            a.concentration,
            a.task_value,
            a.residual_mean,
            a.residual_var,
            self.cost,
        )
        log_lik = log_likelihood(logits, a.approved, self.mistake)  # (H, N)
        omega = a.weight * self.gamma ** (self.n_seen - 1 - a.index)  # ω_j γ^{T−j}
        seen = a.index[:, None] >= birth[None, :]  # answers since each particle's birth
        return (np.where(seen, log_lik, 0.0) * omega[:, None]).sum(0)

    def reweigh(self) -> None:
        """Recompute every L_i and weight from the answers (after any change to them)."""
        self.log_likelihood = self._particle_log_likelihood(self.theta, self.response, self.birth)
        self.log_weights = self.base + self.log_likelihood - self.offset

    # ------------------------------------------------------------------ prediction
    def logits(
        self,
        concentration: np.ndarray,
        task_value: np.ndarray,
        residual_mean: Optional[np.ndarray] = None,
        residual_var: Optional[np.ndarray] = None,
    ) -> np.ndarray:
        """Per-particle moderated approval logits of B actions, shape (B, N)."""
        b = len(task_value)
        return approval_logits(
            self.theta,
            self.response,
            concentration,
            task_value,
            np.zeros(b) if residual_mean is None else residual_mean,
            np.zeros(b) if residual_var is None else residual_var,
            self.cost,
        )

    def predictive(self, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior-predictive approval p̄(a) = Σ_i w_i ℓ(1 | i, a) and the information gain
        (the mutual information between the particle and the answer, nats), each shape (B,),
        from logits (B, N) (:mod:`.scoring`)."""
        approve = np.ones(len(logits), dtype=bool)
        log_approve = torch.from_numpy(log_likelihood(logits, approve, self.mistake))
        log_reject = torch.from_numpy(log_likelihood(logits, ~approve, self.mistake))
        w = torch.from_numpy(self.weights)
        return (
            predictive_approval(log_approve, w).numpy(),
            information_gain(log_approve, log_reject, w).numpy(),
        )

    # ------------------------------------------------------------------ learning
    def observe(
        self,
        concentration: np.ndarray,
        task_value: float,
        approved: bool,
        weight: float,
        rng: np.random.Generator,
    ) -> None:
        """Append one answer (change points first, from ``rng``). The caller then sets what it
        changes of the kept answers (:meth:`set_residual`, :meth:`set_concentrations`) and
        calls :meth:`reweigh` once, then :meth:`maybe_resample`."""
        self.resampled = False
        self.last_acceptance = math.nan
        if self.change_hazard > 0.0 and self.n_seen > 0:
            self._change_points(rng)
        self.answers = self.answers.append(
            concentration, task_value, approved, weight, self.n_seen
        )
        if len(self.answers) > self.history_limit:
            self.answers = self.answers.tail(self.history_limit)
        self.n_seen += 1

    def set_residual(self, mean: np.ndarray, var: np.ndarray) -> None:
        """The residual logit's moments (H,) at every kept answer."""
        self.answers.residual_mean = np.asarray(mean, dtype=np.float64)
        self.answers.residual_var = np.asarray(var, dtype=np.float64)

    def set_concentrations(self, concentration: np.ndarray) -> None:
        """The fingerprints (H, M) of the kept answers (after the fingerprint model changed)."""
        self.answers.concentration = np.asarray(concentration, dtype=np.float64)

    def _change_points(self, rng: np.random.Generator) -> None:
        """Mass h onto ⌈hN⌉ fresh prior particles born at the next answer (module docstring)."""
        n = self.n_particles
        m = min(n, math.ceil(self.change_hazard * n))
        tie_break = rng.random(n)
        victims = np.lexsort((tie_break, self.log_weights))[:m]  # lightest, ties at random
        log_z = logsumexp(self.log_weights)
        self.base = self.base + math.log1p(-self.change_hazard) - log_z
        self.theta[victims] = self.theta_prior.sample(rng, m)
        self.response[victims] = self._draw_response(rng, m)
        self.birth[victims] = self.n_seen
        self.base[victims] = math.log(self.change_hazard / m)
        self.offset[victims] = 0.0
        self.log_weights = self.base + self.log_likelihood - self.offset
        self.log_weights[victims] = self.base[victims]

    def maybe_resample(self, rng: np.random.Generator) -> bool:
        """Resample-move when ESS < threshold · N; returns whether it did."""
        if self.ess >= self.ess_threshold * self.n_particles:
            return False
        self.resample_move(rng)
        return True

    def resample_move(self, rng: np.random.Generator) -> None:
        """Systematic resampling, then :attr:`move_steps` Metropolis–Hastings moves."""
        n = self.n_particles
        ancestors = systematic_ancestors(self.weights, rng.random())
        self.theta = self.theta[ancestors].copy()
        self.response = self.response[ancestors].copy()
        self.birth = self.birth[ancestors].copy()
        self.log_likelihood = self.log_likelihood[ancestors].copy()
        self.base = np.full(n, -math.log(n))
        self.offset = self.log_likelihood.copy()
        rates = [self._move(rng) for _ in range(self.move_steps)]
        self.last_acceptance = float(np.mean(rates)) if rates else math.nan
        self.log_weights = self.base + self.log_likelihood - self.offset
        self.resampled = True

    def _log_prior(self, theta: np.ndarray, response: np.ndarray) -> np.ndarray:
        inside = self.response_prior.inside(response) | (self.fixed_response is not None)
        return np.where(inside, self.theta_prior.log_pdf(theta), -np.inf)

    def _move(self, rng: np.random.Generator) -> float:
        """One MH move of every particle toward its exact target (module docstring)."""
        kappa = self.jitter_concentration
        theta, response = self.theta, self.response
        if math.isfinite(kappa):  # θ' ~ Dir(κθ + floor)
            alpha = kappa * theta + JITTER_FLOOR
            gammas = rng.standard_gamma(alpha)
            sums = gammas.sum(axis=1, keepdims=True)
            valid = sums[:, 0] > 0.0
            proposal = np.where(
                valid[:, None], gammas / np.where(valid[:, None], sums, 1.0), theta
            )
            proposal_ratio = log_dirichlet(theta, kappa * proposal + JITTER_FLOOR) - log_dirichlet(
                proposal, alpha
            )  # log q(θ | θ') − log q(θ' | θ)
        else:  # κ = inf: θ stays, only the response parameters move
            proposal, valid, proposal_ratio = theta, np.ones(len(theta), dtype=bool), 0.0
        if self.fixed_response is None:
            step = self.move_scale * (self.response_prior.high - self.response_prior.low)
            response_new = response + step * rng.standard_normal(response.shape)
        else:
            response_new = response
        log_lik_new = self._particle_log_likelihood(proposal, response_new, self.birth)
        log_ratio = (
            self._log_prior(proposal, response_new)
            + log_lik_new
            - self._log_prior(theta, response)
            - self.log_likelihood
            + proposal_ratio
        )
        uniform = rng.random(len(theta))
        accept = valid & np.isfinite(log_ratio) & (np.log(np.maximum(uniform, 1e-300)) < log_ratio)
        self.theta = np.where(accept[:, None], proposal, theta)
        self.theta /= self.theta.sum(axis=1, keepdims=True)
        self.response = np.where(accept[:, None], response_new, response)
        self.log_likelihood = np.where(accept, log_lik_new, self.log_likelihood)
        self.offset = self.log_likelihood.copy()  # equal weights: each particle ~ its target
        return float(accept.mean())

    def transport(self, theta_new: np.ndarray, log_weights: np.ndarray) -> None:
        """Move the particles to ``theta_new`` (N, M) with log weights ``log_weights`` (N,): the
        moved cloud stands for the posterior (the seed's proximal Step 3, ``doc/design.md`` §7),
        so each offset absorbs the change of its likelihood."""
        self.theta = theta_new / theta_new.sum(axis=1, keepdims=True)
        self.reweigh()
        self.offset = self.offset + self.log_weights - log_weights
        self.log_weights = np.array(log_weights, dtype=np.float64)

    def set_cloud(self, theta: np.ndarray, weights: np.ndarray, rng: np.random.Generator) -> None:
        """Replace positions (N', M) and weights (N',) (a replica, a social pull); the given
        weights hold from now on. With N' = N every particle keeps its response parameters and
        birth; otherwise each new particle takes those of a particle drawn by weight (``rng``).
        """
        theta = np.asarray(theta, dtype=np.float64)
        if theta.ndim != 2 or theta.shape[1] != self.theta.shape[1]:
            raise ValueError(
                f"a cloud of shape {theta.shape} does not fit M={self.theta.shape[1]}"
            )
        if len(theta) != self.n_particles:
            ancestors = rng.choice(self.n_particles, size=len(theta), p=self.weights)
            self.response = self.response[ancestors].copy()
            self.birth = self.birth[ancestors].copy()
        self.theta = theta.copy()
        self.log_likelihood = self._particle_log_likelihood(self.theta, self.response, self.birth)
        self.base = np.log(np.maximum(np.asarray(weights, dtype=np.float64), 1e-300))
        self.offset = self.log_likelihood.copy()
        self.log_weights = self.base.copy()

    # ------------------------------------------------------------------ state
    def state(self) -> dict[str, np.ndarray]:
        """Every array of the posterior (copies), for :meth:`load_state`."""
        a = self.answers
        state = {
            "theta": self.theta,
            "response": self.response,
            "birth": self.birth,
            "base": self.base,
            "offset": self.offset,
            "n_seen": np.array(self.n_seen),
        }
        state.update({f"answers.{f}": getattr(a, f) for f in _ANSWER_FIELDS})
        return {k: np.array(v, copy=True) for k, v in state.items()}

    def load_state(self, state: dict) -> None:
        """Inverse of :meth:`state`."""
        self.theta = np.array(state["theta"], dtype=np.float64)
        self.response = np.array(state["response"], dtype=np.float64).reshape(-1, 3)
        self.birth = np.array(state["birth"], dtype=np.int64)
        self.base = np.array(state["base"], dtype=np.float64)
        self.offset = np.array(state["offset"], dtype=np.float64)
        self.n_seen = int(np.asarray(state["n_seen"]))
        m = self.theta.shape[1]
        fields = {f: np.asarray(state[f"answers.{f}"]) for f in _ANSWER_FIELDS}
        fields["concentration"] = fields["concentration"].reshape(-1, m).astype(np.float64)
        fields["approved"] = fields["approved"].astype(bool)
        fields["index"] = fields["index"].astype(np.int64)
        self.answers = Answers(**fields)
        self.reweigh()


def systematic_ancestors(weights: Sequence[float], u: float) -> np.ndarray:
    """Ancestor indices of systematic resampling with offset u ∈ [0, 1), shape (N,)."""
    w = np.asarray(weights, dtype=np.float64)
    n = len(w)
    return np.minimum(np.searchsorted(np.cumsum(w), (u + np.arange(n)) / n), n - 1)
