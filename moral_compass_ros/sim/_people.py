# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Simulated people who answer thumbs up/down from hidden, possibly drifting values (private).

What is simulated
-----------------
A person holds a hidden value profile theta*_t on the simplex (a fixed point, or a point drawn
from a Dirichlet distribution when the person is reset -- "a random person from a population"),
which may drift with the number of queries the person has answered.  Shown an executed action
with true fingerprint ``fp`` (shape (M,)) and true task reward ``r``, the person answers
approve / disapprove / skip.

Response model (noise-free part)
--------------------------------
Utility, in units of squared simplex distance (the simplex's squared diameter is 2)::

    u(fp, r) = (1 - m) * (tau - ||theta*_t - fp||^2) + rho * r
    P(approve) = sigmoid(beta * u)

* ``beta > 0``: rationality (B-Pref's stochastic teacher; large beta = nearly deterministic),
  in 1 / squared-distance units.
* ``tau``: approval threshold: an action whose fingerprint is closer than sqrt(tau) to the
  profile is approved more often than not (when rho r = 0).  This is the likelihood of the
  design document (section 3) with a point fingerprint, plus the task-reward term.
* ``rho >= 0`` (``reward_weight``): how much value misalignment one unit of task reward buys.
* ``m`` in [0, 1] (``myopia``), the single-action analogue of B-Pref's myopic teacher (who
  discounts the early part of a trajectory): an action's task outcome is visible at once while
  its value consequences unfold later, and a myopic person discounts those later consequences
  by (1 - m).  m = 0: fully considered judgement; m = 1: only the immediate task outcome counts.

A person built directly takes the constructor's defaults (:data:`DEFAULT_BETA`,
:data:`DEFAULT_TAU`, :data:`DEFAULT_REWARD_WEIGHT`: fixed values for unit tests and direct
use).  A scenario's people never do: each draws its own beta, tau, beta * rho and profile
concentration from wide ranges (:mod:`moral_compass_ros.sim._scenarios`, "Response
parameters"), so no simulated person of a scenario shares a package default.

Teacher faults (after B-Pref, Lee et al. 2021), applied in this order
--------------------------------------------------------------------
1. Random skip: with probability ``skip_prob`` the person does not answer (distracted, busy).
2. "Can't tell" skip: if |P(approve) - 1/2| < ``skip_margin`` the person does not answer
   (the single-action analogue of B-Pref's "equal" teacher, who declines when both options
   look alike).
3. The answer is drawn: y ~ Bernoulli(P(approve)).
4. Mistake: with probability ``mistake_prob`` (epsilon) the answer is flipped.

Hence, exactly::

    P(skip)    = s + (1 - s) * 1[|p - 1/2| < margin]
    P(approve) = (1 - P(skip)) * ((1 - eps) * p + eps * (1 - p))

Every call draws the same number of random variates whatever the branch, so two people who
differ only in their fault rates see common random numbers (fair comparisons).

Drift
-----
``t`` = the number of earlier :meth:`SimulatedPerson.respond` calls of this person (skips
included, so drift timing does not depend on the skip draws).  The profile is
theta*_t = (1 - lambda(t)) theta_0 + lambda(t) theta_1 (a convex combination stays on the
simplex), with lambda(t) = 0 (no drift), 1[t >= at_answer] (abrupt) or
clip((t - start) / (end - start), 0, 1) (gradual).

Episode end: people never end an episode; the scenario fixes its length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from ..core.value_space import check_simplex
from ._simplex import SeedLike, as_generator

#: :class:`SimulatedPerson`'s default rationality beta (1 / squared-distance units); a
#: scenario's people draw theirs (``ScenarioConfig.beta_range``).
DEFAULT_BETA = 30.0
#: Its default approval threshold tau (squared simplex distance); scenarios: ``tau_range``.
DEFAULT_TAU = 0.3
#: Its default task-reward weight rho (squared distance per reward unit); scenarios draw
#: beta * rho from ``reward_logodds_range``.
DEFAULT_REWARD_WEIGHT = 0.05

SCHEDULES = ("round_robin", "random")
#: A given profile may be off the simplex by this much (rounding in a config file); it is
#: renormalised.
PROFILE_ATOL = 1e-6


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Overflow-free logistic function sigma(x) = 1 / (1 + exp(-x))."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


@dataclass(frozen=True)
class DirichletProfile:
    """A distribution of value profiles: theta ~ Dirichlet(alpha), alpha shape (M,), > 0."""

    alpha: np.ndarray

    def __post_init__(self) -> None:
        a = np.array(self.alpha, dtype=np.float64, copy=True)
        if a.ndim != 1 or a.shape[0] < 2 or not np.all(np.isfinite(a)) or np.any(a <= 0):
            raise ValueError(f"Dirichlet alpha must be 1-D, finite and > 0, got {self.alpha}")
        a.setflags(write=False)
        object.__setattr__(self, "alpha", a)

    @property
    def mean(self) -> np.ndarray:
        """E[theta] = alpha / sum(alpha), shape (M,)."""
        return self.alpha / np.sum(self.alpha)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """One profile theta ~ Dir(alpha), shape (M,)."""
        theta = rng.dirichlet(self.alpha)
        return theta / np.sum(theta)


Profile = Union[np.ndarray, Sequence[float], DirichletProfile]


@dataclass(frozen=True)
class NoDrift:
    """The profile never changes: lambda(t) = 0."""

    def weight(self, t: int) -> float:
        """Mixing weight lambda(t) of the new profile after ``t`` earlier answers."""
        return 0.0

    @property
    def new_profile(self) -> None:
        return None


@dataclass(frozen=True)
class AbruptDrift:
    """The profile jumps to ``new_profile`` at answer count ``at_answer``: lambda = 1[t >= at].

    The answer with index ``at_answer`` (0-based) is the first one given with the new profile.
    """

    at_answer: int
    new_profile: Profile

    def __post_init__(self) -> None:
        if int(self.at_answer) < 0:
            raise ValueError(f"at_answer must be >= 0, got {self.at_answer}")

    def weight(self, t: int) -> float:
        return 1.0 if t >= self.at_answer else 0.0


@dataclass(frozen=True)
class GradualDrift:
    """Linear interpolation from the initial profile to ``new_profile`` over [start, end].

    lambda(t) = clip((t - start) / (end - start), 0, 1); requires end > start >= 0.
    """

    start: int
    end: int
    new_profile: Profile

    def __post_init__(self) -> None:
        if not 0 <= int(self.start) < int(self.end):
            raise ValueError(f"need 0 <= start < end, got start={self.start}, end={self.end}")

    def weight(self, t: int) -> float:
        return float(np.clip((t - self.start) / (self.end - self.start), 0.0, 1.0))


Drift = Union[NoDrift, AbruptDrift, GradualDrift]


@dataclass(frozen=True)
class Response:
    """One answer of a simulated person.

    Attributes
    ----------
    approved : bool or None
        True = thumbs up, False = thumbs down, None = skipped ("can't tell" / no answer).
    task_reward : float
        The task reward the robot observes for the executed action.
    operator_id : str
    answer_index : int
        The person's answer count t at which this answer was given (0-based).
    p_approve : float
        Noise-free approval probability sigma(beta u) behind the answer (diagnostics only).
    flipped : bool
        Whether a mistake flipped the answer.
    skip_reason : str or None
        ``"random"`` or ``"cant_tell"`` when skipped.
    """

    approved: Optional[bool]
    task_reward: float
    operator_id: str = ""
    answer_index: int = 0
    p_approve: float = float("nan")
    flipped: bool = False
    skip_reason: Optional[str] = None


class SimulatedPerson:
    """A person with hidden (drifting) values and B-Pref teacher faults (see module docstring).

    Parameters
    ----------
    profile : ndarray (M,) on the simplex, or DirichletProfile
        Initial hidden profile theta_0, or the distribution it is drawn from at each reset.
    beta : float
        Rationality, > 0.
    tau : float
        Approval threshold (squared simplex distance).
    mistake_prob : float
        epsilon in [0, 1], probability of flipping an answer.
    skip_prob : float
        Probability in [0, 1] of a random skip.
    myopia : float
        m in [0, 1], discount of the value consequences (see module docstring).
    drift : NoDrift, AbruptDrift or GradualDrift
    operator_id : str
    skip_margin : float
        "Can't tell" band half-width around P = 1/2, in [0, 1/2].
    reward_weight : float
        rho >= 0, weight of the task reward in the utility.
    reward_noise : float
        Std of the noise on the task reward the robot observes (0 = exact).
    seed : int, SeedSequence, Generator or None
        Used only to draw Dirichlet profiles (at construction and on ``reset()``).
    """

    def __init__(
        self,
        profile: Profile,
        beta: float = DEFAULT_BETA,
        tau: float = DEFAULT_TAU,
        mistake_prob: float = 0.0,
        skip_prob: float = 0.0,
        myopia: float = 0.0,
        drift: Drift = NoDrift(),
        operator_id: str = "operator",
        *,
        skip_margin: float = 0.0,
        reward_weight: float = DEFAULT_REWARD_WEIGHT,
        reward_noise: float = 0.0,
        seed: SeedLike = None,
    ) -> None:
        if not (np.isfinite(beta) and beta > 0):
            raise ValueError(f"beta must be finite and > 0, got {beta}")
        if not np.isfinite(tau):
            raise ValueError(f"tau must be finite, got {tau}")
        for name, val in (
            ("mistake_prob", mistake_prob),
            ("skip_prob", skip_prob),
            ("myopia", myopia),
        ):
            if not 0.0 <= val <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {val}")
        if not 0.0 <= skip_margin <= 0.5:
            raise ValueError(f"skip_margin must be in [0, 0.5], got {skip_margin}")
        if not (np.isfinite(reward_weight) and reward_weight >= 0):
            raise ValueError(f"reward_weight must be finite and >= 0, got {reward_weight}")
        if not (np.isfinite(reward_noise) and reward_noise >= 0):
            raise ValueError(f"reward_noise must be finite and >= 0, got {reward_noise}")
        if not isinstance(drift, (NoDrift, AbruptDrift, GradualDrift)):
            raise TypeError(f"drift must be NoDrift, AbruptDrift or GradualDrift, got {drift!r}")
        self.beta = float(beta)
        self.tau = float(tau)
        self.mistake_prob = float(mistake_prob)
        self.skip_prob = float(skip_prob)
        self.myopia = float(myopia)
        self.skip_margin = float(skip_margin)
        self.reward_weight = float(reward_weight)
        self.reward_noise = float(reward_noise)
        self.drift = drift
        self.operator_id = str(operator_id)
        self._profile_spec = profile
        self.n_values = self._resolve(profile, as_generator(0)).shape[0]  # validate only
        if drift.new_profile is not None:
            new_m = self._resolve(drift.new_profile, as_generator(0)).shape[0]
            if new_m != self.n_values:
                raise ValueError(f"drift.new_profile has {new_m} values, profile {self.n_values}")
        self.reset(seed)

    @staticmethod
    def _resolve(profile: Profile, rng: np.random.Generator) -> np.ndarray:
        if isinstance(profile, DirichletProfile):
            return profile.sample(rng)
        theta = np.asarray(profile, dtype=np.float64)
        if theta.ndim != 1:
            raise ValueError(f"profile must be 1-D (M,), got shape {theta.shape}")
        theta = np.clip(check_simplex(theta, "profile", atol=PROFILE_ATOL), 0.0, None)
        total = float(
            theta.sum()
        )  # renormalise only beyond rounding: a valid profile is kept bit for bit
        return theta if abs(total - 1.0) <= 1e-12 else theta / total

    def reset(self, seed: SeedLike = None) -> None:
        """Reset the answer count to 0 and (re)draw Dirichlet profiles from ``seed``."""
        rng = as_generator(seed)
        self._theta0 = self._resolve(self._profile_spec, rng)
        new = self.drift.new_profile
        self._theta1 = self._theta0 if new is None else self._resolve(new, rng)
        self.n_answers = 0

    # ------------------------------------------------------------------ the hidden truth
    def true_profile(self, t: Optional[int] = None) -> np.ndarray:
        """theta*_t = (1 - lambda(t)) theta_0 + lambda(t) theta_1, shape (M,).

        ``t`` defaults to the current answer count (the profile the next answer will use).
        """
        t = self.n_answers if t is None else int(t)
        lam = self.drift.weight(t)
        if lam == 0.0:
            return self._theta0.copy()
        if lam == 1.0:
            return self._theta1.copy()
        return (1.0 - lam) * self._theta0 + lam * self._theta1

    def utility(
        self, fingerprint: np.ndarray, task_reward: np.ndarray, t: Optional[int] = None
    ) -> np.ndarray:
        """u = (1 - m)(tau - ||theta*_t - fp||^2) + rho r; fp shape (..., M), r shape (...)."""
        fp = np.asarray(fingerprint, dtype=np.float64)
        r = np.asarray(task_reward, dtype=np.float64)
        if fp.shape[-1] != self.n_values:
            raise ValueError(f"fingerprint must have last dim {self.n_values}, got {fp.shape}")
        if np.any(~np.isfinite(fp)) or np.any(~np.isfinite(r)):
            raise ValueError("fingerprint and task reward must be finite")
        dist2 = np.sum((self.true_profile(t) - fp) ** 2, axis=-1)  # ||theta*_t - fp||^2
        return (1.0 - self.myopia) * (self.tau - dist2) + self.reward_weight * r

    def approval_probability(
        self, fingerprint: np.ndarray, task_reward: np.ndarray, t: Optional[int] = None
    ) -> np.ndarray:
        """Noise-free P(approve) = sigma(beta u) (no skips, no mistakes).

        Parameters
        ----------
        fingerprint : ndarray, shape (M,) or (B, M)
        task_reward : float or ndarray, shape () or (B,)
        t : int, optional
            Answer count; defaults to the current one.

        Returns
        -------
        ndarray, shape () or (B,)
        """
        return _sigmoid(self.beta * self.utility(fingerprint, task_reward, t))

    def answer_probabilities(
        self, fingerprint: np.ndarray, task_reward: np.ndarray, t: Optional[int] = None
    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Exact (P(approve), P(disapprove), P(skip)) of :meth:`respond`, faults included."""
        p = self.approval_probability(fingerprint, task_reward, t)
        cant_tell = np.abs(p - 0.5) < self.skip_margin
        p_skip = self.skip_prob + (1.0 - self.skip_prob) * cant_tell
        eps = self.mistake_prob
        p_yes = (1.0 - p_skip) * ((1.0 - eps) * p + eps * (1.0 - p))
        return p_yes, 1.0 - p_skip - p_yes, p_skip

    # ------------------------------------------------------------------ answering
    def respond(
        self, fingerprint: np.ndarray, task_reward: float, rng: np.random.Generator
    ) -> Response:
        """Answer one executed action and advance the answer count.

        Parameters
        ----------
        fingerprint : ndarray, shape (M,)
            True fingerprint of the executed action.
        task_reward : float
            Its true task reward.
        rng : numpy.random.Generator
            Source of all randomness of this answer (4 variates drawn per call).

        Returns
        -------
        Response
        """
        fp = np.asarray(fingerprint, dtype=np.float64)
        if fp.shape != (self.n_values,):
            raise ValueError(f"fingerprint must have shape ({self.n_values},), got {fp.shape}")
        t = self.n_answers
        u_skip, u_answer, u_mistake = rng.uniform(size=3)
        reward_obs = float(task_reward) + self.reward_noise * float(rng.standard_normal())
        p = float(self.approval_probability(fp, task_reward, t))
        self.n_answers = t + 1

        approved: Optional[bool]
        flipped = False
        skip_reason = None
        if u_skip < self.skip_prob:  # 1. random skip
            approved, skip_reason = None, "random"
        elif abs(p - 0.5) < self.skip_margin:  # 2. can't tell
            approved, skip_reason = None, "cant_tell"
        else:
            approved = bool(u_answer < p)  # 3. y ~ Bernoulli(p)
            if u_mistake < self.mistake_prob:  # 4. mistake flips y
                approved, flipped = not approved, True
        return Response(
            approved=approved,
            task_reward=reward_obs,
            operator_id=self.operator_id,
            answer_index=t,
            p_approve=p,
            flipped=flipped,
            skip_reason=skip_reason,
        )


class OperatorPool:
    """Several operators taking turns at answering.

    Schedules (``q`` = number of queries the pool has answered since reset, ``n`` operators,
    ``L`` = ``turn_length``):

    * ``"round_robin"``: operator (q // L) mod n answers query q -- shifts of L answers in a
      fixed order (L = 1: strict alternation).
    * ``"random"``: at every shift start (q mod L == 0) the next operator is drawn uniformly
      (with replacement) from the pool with the pool's seeded schedule Generator.

    Each person's drift clock is their own answer count.

    Parameters
    ----------
    persons : sequence of SimulatedPerson
        Distinct ``operator_id``s, same number of values.
    schedule : {"round_robin", "random"}
    turn_length : int
        L >= 1.
    seed : int, SeedSequence, Generator or None
        Seeds the schedule, the answers and the persons' Dirichlet profiles.
    """

    def __init__(
        self,
        persons: Sequence[SimulatedPerson],
        schedule: str = "round_robin",
        turn_length: int = 1,
        seed: SeedLike = None,
    ) -> None:
        self.persons = tuple(persons)
        if not self.persons:
            raise ValueError("an OperatorPool needs at least one person")
        ids = [p.operator_id for p in self.persons]
        if len(set(ids)) != len(ids):
            raise ValueError(f"operator ids must be distinct, got {ids}")
        if len({p.n_values for p in self.persons}) != 1:
            raise ValueError("all persons must have the same number of values")
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
        if int(turn_length) < 1:
            raise ValueError(f"turn_length must be >= 1, got {turn_length}")
        self.schedule = schedule
        self.turn_length = int(turn_length)
        self.reset(seed)

    def reset(self, seed: SeedLike = None) -> None:
        """Restart the schedule and every person; same seed => same answers."""
        gen = as_generator(seed)
        self._schedule_rng, self._response_rng, profile_rng = gen.spawn(3)
        for person, child in zip(self.persons, profile_rng.spawn(len(self.persons))):
            person.reset(child)
        self.n_queries = 0
        self._current = self._pick(0, None)

    def _pick(self, q: int, previous: Optional[int]) -> int:
        n, length = len(self.persons), self.turn_length
        if self.schedule == "round_robin":
            return (q // length) % n
        if q % length == 0 or previous is None:
            return int(self._schedule_rng.integers(n))
        return previous

    @property
    def operator_ids(self) -> Tuple[str, ...]:
        return tuple(p.operator_id for p in self.persons)

    @property
    def current_index(self) -> int:
        """Index of the operator who answers the next query."""
        return self._current

    @property
    def current(self) -> SimulatedPerson:
        """The operator who answers the next query (the "current true person")."""
        return self.persons[self._current]

    def respond(self, fingerprint: np.ndarray, task_reward: float) -> Response:
        """The current operator answers; then the schedule advances by one query."""
        response = self.current.respond(fingerprint, task_reward, self._response_rng)
        self.n_queries += 1
        self._current = self._pick(self.n_queries, self._current)
        return response
