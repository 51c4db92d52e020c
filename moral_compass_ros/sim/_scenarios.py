# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Scenario presets, the oracle and the random selector (private module).

What is simulated
-----------------
A *scenario* couples a :class:`SimulatedPlanner` with an :class:`OperatorPool` of simulated
people, all seeded from one seed.  One episode is ``n_answers`` queries::

    scenario = make_scenario("abrupt_drift", seed=3)
    while not scenario.done:
        cs = scenario.propose()                  # CandidateSet (hidden truth inside)
        i = learner_choice(cs)                   # the learner sees only the visible fields
        response = scenario.respond(cs, i)       # Response(approved | None, task_reward, ...)

Spaces: as :class:`CandidateSet`; actions are candidate indices in ``range(len(cs))``.
Rewards: ``Response.approved`` (the human's thumbs) and ``Response.task_reward``.
Episode end: after ``config.n_answers`` calls to :meth:`Scenario.respond` (``done``); the
scenario does not stop you from going on (people keep answering, drift stays at its end point).

Hidden profiles
---------------
Every person's profile is drawn per seed as theta ~ Dirichlet(c * (c0 * 1 + c1 * e_k)), a
profile dominated by value k (mean weight (c0 + c1) / (M c0 + c1) on k, whatever the person's
concentration scale c, see below; c0 = 1, c1 = 4).  Different operators and the drift target
get *different* dominant values, so drift and operator changes are real changes.  The drift
target is drawn with c = 1.

Response parameters: one draw per person
----------------------------------------
No two simulated people share a response model.  Each person -- each operator of a scenario,
and each of the "other people" of a ``people_seed`` -- draws their own from the scenario's
seeded people stream (same seed, same people; the planner's stream is a different one), in
this order, one uniform variate each, before their profile (:func:`draw_person_parameters`):

* rationality beta ~ log-uniform on ``beta_range`` (default [8, 80], 1 / squared-distance
  units).  A gap of 0.1 in squared distance between two actions is worth 0.8 to 8 log-odds:
  from B-Pref's noisy stochastic teacher to a nearly deterministic one.  Log-uniform because
  beta scales log-odds (a ratio scale).
* approval threshold tau ~ uniform on ``tau_range`` (default [0.15, 0.45], squared simplex
  distance): an approval radius sqrt(tau) from 0.39 to 0.67 (the simplex's diameter is
  sqrt(2)), from a strict to a lenient person.
* task-reward log-odds beta * rho ~ uniform on ``reward_logodds_range`` (default
  [0.25, 2.5]): what one unit of task reward adds to the log-odds of approval, from a person
  who barely looks at the task outcome to one for whom it outweighs a large value misfit; the
  person's ``reward_weight`` rho is that divided by beta.
* profile concentration scale c ~ log-uniform on ``concentration_scale_range`` (default
  [0.5, 2]), multiplying both c0 and c1: c < 1 gives spiky profiles far from their mean, c > 1
  profiles close to it.

Why ranges: the learner's prior means (beta 20, tau 0.3, task log-odds 1 per reward unit) and
:class:`SimulatedPerson`'s own constructor defaults (beta 30, tau 0.3, rho 0.05, so beta rho =
1.5) lie inside these ranges but have probability zero, so no package default equals a
simulated person's truth: an evaluation cannot pass because the learner was tuned to the
simulator's one person.  A range (x, x) fixes that parameter (the variate is still drawn, so
the other draws do not move).  Fault rates (``mistake_prob``, ``skip_prob``, ``skip_margin``,
``myopia``) are the scenario's and shared by its people.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import MappingProxyType
from typing import List, Mapping, Optional, Tuple

import numpy as np

from ._people import (
    SCHEDULES,
    AbruptDrift,
    Drift,
    GradualDrift,
    NoDrift,
    OperatorPool,
    Response,
    SimulatedPerson,
)
from ._ideal import IdealLearner
from ._planner import DEFAULT_HINT_NOISE, VALUE_MANNERS, CandidateSet, SimulatedPlanner
from ._simplex import SeedLike, as_generator

#: Default values: the five Moral Foundations.
MORAL_FOUNDATIONS = ("care", "fairness", "loyalty", "authority", "sanctity")
#: Base Dirichlet concentration c0 of drawn profiles (dimensionless).
PROFILE_BASE_CONCENTRATION = 1.0
#: Extra concentration c1 on the dominant value of drawn profiles (dimensionless).
PROFILE_PEAK_CONCENTRATION = 4.0
#: Default range of a person's rationality beta, drawn log-uniform (1 / squared distance).
BETA_RANGE = (8.0, 80.0)
#: Default range of a person's approval threshold tau, drawn uniform (squared distance).
TAU_RANGE = (0.15, 0.45)
#: Default range of a person's task-reward log-odds beta * rho, drawn uniform (per reward unit).
REWARD_LOGODDS_RANGE = (0.25, 2.5)
#: Default range of a person's profile concentration scale c, drawn log-uniform.
CONCENTRATION_SCALE_RANGE = (0.5, 2.0)
DRIFT_KINDS = ("none", "abrupt", "gradual")
PLANNERS = ("sim", "lexicon", "lexicon_ratings")
#: Seed of the planner whose actions the simulator's fingerprint library is averaged over (a
#: world of its own: the library is general knowledge, not this episode's actions).
LIBRARY_SEED = 20261204
#: Candidate sets averaged into that library.
LIBRARY_SETS = 500


@dataclass(frozen=True)
class ScenarioConfig:
    """Every knob of a scenario (frozen; derive variants with ``dataclasses.replace``).

    Attributes
    ----------
    name : str
    n_answers : int
        Episode length in queries (answers, skips included).
    value_names : tuple of str
    feature_dim, context_dim, n_candidates : int
        Planner sizes F, C, B.
    hint_noise : float
        Planner hint noise (clr units); ``send_hints`` switches hints on/off.
    beta_range : (float, float)
        Each person's rationality beta ~ log-uniform on [low, high], 0 < low <= high.
    tau_range : (float, float)
        Each person's approval threshold tau ~ uniform on [low, high] (finite).
    reward_logodds_range : (float, float)
        Each person's task-reward log-odds beta * reward_weight ~ uniform on [low, high],
        0 <= low <= high.
    concentration_scale_range : (float, float)
        Each person's profile concentration scale ~ log-uniform on [low, high], 0 < low <= high
        (multiplies c0 and c1 of :func:`profile_alpha`).  A range (x, x) fixes the value; see
        the module docstring for the defaults and why they are ranges.
    mistake_prob, skip_prob, skip_margin, myopia : float
        Teacher faults (see :mod:`moral_compass_ros.sim._people`), shared by the people.
    drift : {"none", "abrupt", "gradual"}
    drift_start : int
        Answer count of the abrupt switch, or start of the gradual drift.
    drift_end : int
        End of the gradual drift (ignored otherwise).
    n_operators : int
    schedule : {"round_robin", "random"}
    turn_length : int
        Answers per shift of one operator.
    planner : {"sim", "lexicon", "lexicon_ratings"}
        Where actions come from: :class:`SimulatedPlanner`, or words of the eMFD lexicon
        (:mod:`moral_compass_ros.sim._lexicon`; the data is downloaded on first use).
    """

    name: str
    n_answers: int = 60
    value_names: Tuple[str, ...] = MORAL_FOUNDATIONS
    feature_dim: int = 8
    context_dim: int = 3
    n_candidates: int = 6
    hint_noise: float = DEFAULT_HINT_NOISE
    send_hints: bool = True
    beta_range: Tuple[float, float] = BETA_RANGE
    tau_range: Tuple[float, float] = TAU_RANGE
    reward_logodds_range: Tuple[float, float] = REWARD_LOGODDS_RANGE
    concentration_scale_range: Tuple[float, float] = CONCENTRATION_SCALE_RANGE
    mistake_prob: float = 0.0
    skip_prob: float = 0.0
    skip_margin: float = 0.0
    myopia: float = 0.0
    drift: str = "none"
    drift_start: int = 0
    drift_end: int = 0
    n_operators: int = 1
    schedule: str = "round_robin"
    turn_length: int = 1
    planner: str = "sim"

    def __post_init__(self) -> None:
        if self.planner not in PLANNERS:
            raise ValueError(f"planner must be one of {PLANNERS}, got {self.planner!r}")
        if self.drift not in DRIFT_KINDS:
            raise ValueError(f"drift must be one of {DRIFT_KINDS}, got {self.drift!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.n_answers < 1 or self.n_operators < 1 or self.turn_length < 1:
            raise ValueError("n_answers, n_operators and turn_length must be >= 1")
        # each operator and the drift target get a distinct dominant value
        needed = self.n_operators + (self.drift != "none")
        if needed > len(self.value_names):
            raise ValueError(f"{needed} distinct profiles need >= {needed} values")
        if self.drift == "gradual" and not 0 <= self.drift_start < self.drift_end:
            raise ValueError("gradual drift needs 0 <= drift_start < drift_end")
        if self.drift == "abrupt" and self.drift_start < 0:
            raise ValueError("abrupt drift needs drift_start >= 0")
        for name, lowest, strict in _RANGE_FIELDS:
            object.__setattr__(
                self, name, _checked_range(name, getattr(self, name), lowest, strict)
            )


#: Range fields of :class:`ScenarioConfig`: (name, bound on the low end, whether it is strict).
_RANGE_FIELDS = (
    ("beta_range", 0.0, True),
    ("tau_range", -np.inf, False),
    ("reward_logodds_range", 0.0, False),
    ("concentration_scale_range", 0.0, True),
)


def _checked_range(name: str, bounds, lowest: float, strict: bool) -> Tuple[float, float]:
    """``bounds`` as a (low, high) tuple of floats; ValueError naming ``name`` otherwise."""
    try:
        low, high = (float(b) for b in bounds)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{name} must be a pair (low, high) of numbers, got {bounds!r}"
        ) from error
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"{name} must be finite, got {bounds!r}")
    if low > high:
        raise ValueError(f"{name} needs low <= high, got {bounds!r}")
    if low < lowest or (strict and low == lowest):
        relation = ">" if strict else ">="
        raise ValueError(f"{name} must be {relation} {lowest:g}, got {bounds!r}")
    return low, high


#: The scenarios the evaluation loops over.
SCENARIOS: Mapping[str, ScenarioConfig] = MappingProxyType(
    {
        "fixed_profile": ScenarioConfig(name="fixed_profile", n_answers=60),
        "abrupt_drift": ScenarioConfig(
            name="abrupt_drift", n_answers=80, drift="abrupt", drift_start=40
        ),
        "gradual_drift": ScenarioConfig(
            name="gradual_drift", n_answers=90, drift="gradual", drift_start=30, drift_end=60
        ),
        "noisy_teacher": ScenarioConfig(
            name="noisy_teacher",
            n_answers=60,
            beta_range=(4.0, 20.0),
            mistake_prob=0.1,
            skip_prob=0.1,
            skip_margin=0.05,
            myopia=0.2,
        ),
        "two_operators": ScenarioConfig(
            name="two_operators",
            n_answers=80,
            n_operators=2,
            schedule="round_robin",
            turn_length=10,
        ),
    }
)
SCENARIO_NAMES: Tuple[str, ...] = tuple(SCENARIOS)
#: Scenarios built on data this project did not make (downloaded on first use).
EXTERNAL_SCENARIOS: Mapping[str, ScenarioConfig] = MappingProxyType(
    {
        # τ on [0.1, 0.3], centred on 0.2: lexicon fingerprints are flatter than the
        # simulator's (median squared distance to a drawn profile 0.24), so τ around the
        # simulator's 0.3 would approve nearly every word
        "lexicon": ScenarioConfig(
            name="lexicon", n_answers=60, planner="lexicon", tau_range=(0.1, 0.3)
        ),
        # the same words, but the first five features are the coders' ratings themselves: a
        # profile a linear model of the features can read
        "lexicon_ratings": ScenarioConfig(
            name="lexicon_ratings", n_answers=60, planner="lexicon_ratings", tau_range=(0.1, 0.3)
        ),
    }
)


def profile_alpha(n_values: int, dominant: int, scale: float = 1.0) -> np.ndarray:
    """Dirichlet concentration c (c0 * 1 + c1 * e_dominant) of a drawn profile, shape (M,).

    ``scale`` is the person's concentration scale c > 0 (1: the base concentrations).
    """
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"concentration scale must be finite and > 0, got {scale}")
    alpha = np.full(n_values, PROFILE_BASE_CONCENTRATION)
    alpha[dominant] += PROFILE_PEAK_CONCENTRATION
    return float(scale) * alpha


def draw_profile(
    rng: np.random.Generator, n_values: int, dominant: int, scale: float = 1.0
) -> np.ndarray:
    """theta ~ Dirichlet(c (c0 * 1 + c1 * e_dominant)), shape (M,); ``scale`` = c."""
    theta = rng.dirichlet(profile_alpha(n_values, dominant, scale))
    return theta / np.sum(theta)


@dataclass(frozen=True)
class PersonParameters:
    """The response parameters one simulated person drew (see the module docstring).

    Attributes
    ----------
    beta : float
        Rationality (1 / squared-distance units).
    tau : float
        Approval threshold (squared simplex distance).
    reward_logodds : float
        beta * reward_weight: log-odds of approval per unit of task reward.
    concentration_scale : float
        c, the factor on c0 and c1 of the person's profile draw.
    """

    beta: float
    tau: float
    reward_logodds: float
    concentration_scale: float

    @property
    def reward_weight(self) -> float:
        """rho = reward_logodds / beta (squared distance per unit of task reward)."""
        return self.reward_logodds / self.beta


def _draw_in(rng: np.random.Generator, bounds: Tuple[float, float], log: bool) -> float:
    """One value uniform (or log-uniform) on [low, high]; always draws one variate."""
    low, high = bounds
    u = float(rng.uniform())
    if low == high:
        return float(low)
    if log:
        value = float(np.exp(np.log(low) + u * (np.log(high) - np.log(low))))
    else:
        value = low + u * (high - low)
    return float(min(max(value, low), high))


def draw_person_parameters(rng: np.random.Generator, config: ScenarioConfig) -> PersonParameters:
    """One person's response parameters from ``config``'s ranges (four variates of ``rng``).

    Parameters
    ----------
    rng : numpy.random.Generator
        The scenario's people stream.
    config : ScenarioConfig

    Returns
    -------
    PersonParameters
        beta log-uniform on ``beta_range``, tau uniform on ``tau_range``, beta * rho uniform on
        ``reward_logodds_range``, the concentration scale log-uniform on
        ``concentration_scale_range`` (drawn in that order).
    """
    return PersonParameters(
        beta=_draw_in(rng, config.beta_range, log=True),
        tau=_draw_in(rng, config.tau_range, log=False),
        reward_logodds=_draw_in(rng, config.reward_logodds_range, log=False),
        concentration_scale=_draw_in(rng, config.concentration_scale_range, log=True),
    )


def approval_probabilities(candidate_set: CandidateSet, person: SimulatedPerson) -> np.ndarray:
    """Noise-free P(approve) of every candidate for ``person`` now, shape (B,)."""
    return person.approval_probability(candidate_set.true_fingerprint, candidate_set.true_reward)


def oracle_choice(candidate_set: CandidateSet, person: SimulatedPerson) -> int:
    """Index of the candidate the current true person most likely approves (lowest on ties)."""
    return int(np.argmax(approval_probabilities(candidate_set, person)))


def random_choice(candidate_set: CandidateSet, rng: np.random.Generator) -> int:
    """Uniformly random candidate index (the random-selector baseline)."""
    return int(rng.integers(len(candidate_set)))


class Scenario:
    """A seeded planner + operator pool for one preset (see module docstring).

    Parameters
    ----------
    config : ScenarioConfig
    seed : int, SeedSequence, Generator or None
    people_seed : int, optional
        Other people in the same world: the planner's world (its feature map, rewards and
        contexts' effects) comes from ``seed``; the people, their candidate stream and the
        random selector from ``people_seed`` (pre-training data from other people of the same
        robot).
    """

    def __init__(
        self, config: ScenarioConfig, seed: SeedLike = None, people_seed: Optional[int] = None
    ) -> None:
        self.config = config
        self.planner: SimulatedPlanner
        self.operators: OperatorPool
        self.person_parameters: Tuple[PersonParameters, ...]
        self.reset(seed, people_seed)

    def reset(self, seed: SeedLike = None, people_seed: Optional[int] = None) -> None:
        """Rebuild the episode from ``seed``: same seed => identical episode.

        ``seed=None`` draws fresh OS entropy (non-reproducible). ``people_seed``: see the class.
        """
        cfg = self.config
        planner_rng, profile_rng, pool_rng, self._random_rng = as_generator(seed).spawn(4)
        if not hasattr(self, "planner"):
            planner_class, data = SimulatedPlanner, ()
            extra = {}
            if cfg.planner.startswith("lexicon"):
                from ._lexicon import LexiconPlanner, lexicon_data

                planner_class, data = LexiconPlanner, lexicon_data()
                extra = {"ratings_as_features": cfg.planner == "lexicon_ratings"}
            self.planner = planner_class(
                *data,
                cfg.value_names,
                cfg.feature_dim,
                cfg.context_dim,
                cfg.n_candidates,
                planner_rng,
                hint_noise=cfg.hint_noise,
                send_hints=cfg.send_hints,
                **extra,
            )
        else:
            self.planner.reset(planner_rng)
        if people_seed is not None:
            episode_rng, profile_rng, pool_rng, self._random_rng = as_generator(people_seed).spawn(
                4
            )
            self.planner.restart_episode(episode_rng)
        m = len(cfg.value_names)
        dominant = profile_rng.permutation(m)
        drift_target = None
        if cfg.drift != "none":
            drift_target = draw_profile(profile_rng, m, int(dominant[cfg.n_operators]))
        persons: List[SimulatedPerson] = []
        drawn: List[PersonParameters] = []
        for i in range(cfg.n_operators):
            params = draw_person_parameters(profile_rng, cfg)
            drawn.append(params)
            theta0 = draw_profile(profile_rng, m, int(dominant[i]), params.concentration_scale)
            drift: Drift = NoDrift()
            if cfg.drift == "abrupt":
                drift = AbruptDrift(cfg.drift_start, drift_target)
            elif cfg.drift == "gradual":
                drift = GradualDrift(cfg.drift_start, cfg.drift_end, drift_target)
            persons.append(
                SimulatedPerson(
                    theta0,
                    params.beta,
                    params.tau,
                    cfg.mistake_prob,
                    cfg.skip_prob,
                    cfg.myopia,
                    drift,
                    operator_id=f"operator_{i}",
                    skip_margin=cfg.skip_margin,
                    reward_weight=params.reward_weight,
                )
            )
        self.person_parameters = tuple(drawn)
        self.operators = OperatorPool(persons, cfg.schedule, cfg.turn_length, pool_rng)

    # ------------------------------------------------------------------ stepping
    @property
    def n_answers(self) -> int:
        """Episode length (queries)."""
        return self.config.n_answers

    @property
    def answers_given(self) -> int:
        return self.operators.n_queries

    @property
    def done(self) -> bool:
        """True once ``n_answers`` queries were answered."""
        return self.answers_given >= self.n_answers

    @property
    def persons(self) -> Tuple[SimulatedPerson, ...]:
        """Every operator (the hidden truth, for bounds), in operator order."""
        return self.operators.persons

    @property
    def current_person(self) -> SimulatedPerson:
        """The operator who will answer the next query."""
        return self.operators.current

    @property
    def current_parameters(self) -> PersonParameters:
        """The response parameters the current operator drew."""
        return self.person_parameters[self.operators.current_index]

    def true_profile(self) -> np.ndarray:
        """Hidden profile of the operator who answers next, shape (M,)."""
        return self.current_person.true_profile()

    def propose(self) -> CandidateSet:
        """The next candidate set from the planner."""
        return self.planner.propose()

    def respond(self, candidate_set: CandidateSet, index: int) -> Response:
        """The current operator answers the execution of candidate ``index``."""
        index = int(index)
        if not 0 <= index < len(candidate_set):
            raise IndexError(f"candidate index {index} out of range 0..{len(candidate_set) - 1}")
        return self.operators.respond(
            candidate_set.true_fingerprint[index], float(candidate_set.true_reward[index])
        )

    # ------------------------------------------------------------------ bounds
    def approval_probabilities(self, candidate_set: CandidateSet) -> np.ndarray:
        """Noise-free P(approve) of each candidate for the current operator, shape (B,)."""
        return approval_probabilities(candidate_set, self.current_person)

    def oracle_choice(self, candidate_set: CandidateSet) -> int:
        """Oracle bound: the candidate the current operator most likely approves."""
        return oracle_choice(candidate_set, self.current_person)

    def random_choice(self, candidate_set: CandidateSet) -> int:
        """Random bound, from the scenario's own seeded selector stream."""
        return random_choice(candidate_set, self._random_rng)

    def ideal_learners(
        self, seed: SeedLike = None, change_hazard: float = 0.0
    ) -> dict[str, IdealLearner]:
        """The ideal-learner bound, one per operator (by operator id): that person's drawn
        response model (beta, tau, reward_weight, myopia, mistake_prob) and profile prior (an
        equal mixture of Dirichlet(c (c0 1 + c1 e_k)) over the dominant value k, c the person's
        concentration scale), with change points of hazard ``change_hazard``."""
        generators = as_generator(seed).spawn(len(self.persons))
        return {
            person.operator_id: self._ideal(i, rng, change_hazard)
            for i, (person, rng) in enumerate(zip(self.persons, generators))
        }

    def ideal_learner(self, seed: SeedLike = None, change_hazard: float = 0.0) -> IdealLearner:
        """The ideal-learner bound of the current operator (see :meth:`ideal_learners`)."""
        return self._ideal(self.operators.current_index, seed, change_hazard)

    def _ideal(self, index: int, seed: SeedLike, change_hazard: float) -> IdealLearner:
        """The ideal learner of operator ``index``, from that person's own draw."""
        m = len(self.config.value_names)
        person, params = self.persons[index], self.person_parameters[index]
        return IdealLearner(
            [profile_alpha(m, k, params.concentration_scale) for k in range(m)],
            person.beta,
            person.tau,
            person.reward_weight,
            person.myopia,
            person.mistake_prob,
            seed=seed,
            change_hazard=change_hazard,
        )

    def fingerprint_library(self):
        """This scenario's fingerprint library
        (:class:`~moral_compass_ros.core.FingerprintLibrary`).

        ``lexicon``: every word's label mapped to its lexicon profile. The simulator: one label
        pattern per manner (``"*, gently"`` …), mapped to the mean true fingerprint of the
        actions with that manner in another world's :data:`LIBRARY_SETS` candidate sets -- what a
        deployer knows from the words of a label alone.
        """
        from moral_compass_ros.core import FingerprintLibrary

        if self.config.planner.startswith("lexicon"):
            return FingerprintLibrary.from_entries(
                self.config.value_names, self.planner.library_entries()
            )
        return FingerprintLibrary.from_entries(
            self.config.value_names, simulator_library_entries(self.config)
        )


def simulator_library_entries(config: ScenarioConfig) -> list:
    """Label-pattern library entries for :class:`SimulatedPlanner` labels (see
    :meth:`Scenario.fingerprint_library`)."""
    planner = SimulatedPlanner(
        config.value_names,
        config.feature_dim,
        config.context_dim,
        config.n_candidates,
        LIBRARY_SEED,
        send_hints=False,
    )
    fingerprints = np.concatenate(
        [planner.propose().true_fingerprint for _ in range(LIBRARY_SETS)]
    )
    dominant = np.argmax(fingerprints, axis=1)
    entries = []
    for k, value in enumerate(config.value_names):
        if np.any(dominant == k):
            manner = VALUE_MANNERS.get(value, f"with {value} in mind")
            entries.append(
                {
                    "pattern": f"*, {manner}",
                    "profile": fingerprints[dominant == k].mean(axis=0).tolist(),
                }
            )
    return entries


def make_scenario(
    name: str, seed: SeedLike = None, people_seed: Optional[int] = None, **overrides
) -> Scenario:
    """Build the preset ``name`` (one of :data:`SCENARIO_NAMES`), optionally with overrides;
    ``people_seed``: other people in the world of ``seed`` (:class:`Scenario`).

    Raises
    ------
    KeyError
        Unknown scenario name.
    """
    presets = {**SCENARIOS, **EXTERNAL_SCENARIOS}
    if name not in presets:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(presets)}")
    config = dataclasses.replace(presets[name], **overrides) if overrides else presets[name]
    return Scenario(config, seed, people_seed)
