# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Simulated planner and simulated people for demos, tests and the evaluation (no ROS).

* :class:`SimulatedPlanner` proposes :class:`CandidateSet` s in a changing context; each action
  has a hidden value fingerprint and task reward, and features that encode the fingerprint.
* :class:`SimulatedPerson` answers thumbs up/down from a hidden, possibly drifting value
  profile, with B-Pref teacher faults (rationality, mistakes, skips, myopia).  In a scenario
  every person draws their own rationality beta, threshold tau, task-reward log-odds and
  profile concentration from the wide ranges of :class:`ScenarioConfig`
  (:func:`draw_person_parameters`; defaults beta log-uniform on [8, 80], tau uniform on
  [0.15, 0.45], beta * rho uniform on [0.25, 2.5], concentration scale log-uniform on
  [0.5, 2]), so no simulated person shares the learner's or the simulator's defaults;
  :attr:`Scenario.persons` and :attr:`Scenario.person_parameters` hold the truth for bounds.
* :class:`OperatorPool` lets several people take turns.
* :func:`make_scenario` builds the presets in :data:`SCENARIOS`; :func:`oracle_choice` and
  :func:`random_choice` are the upper and lower bounds of the evaluation.

All randomness comes from seeded ``numpy.random.Generator`` s; the same seed gives the same
episode.  The private modules' docstrings hold the generative and response models.
"""

from ._people import (
    DEFAULT_BETA,
    DEFAULT_REWARD_WEIGHT,
    DEFAULT_TAU,
    AbruptDrift,
    DirichletProfile,
    GradualDrift,
    NoDrift,
    OperatorPool,
    Response,
    SimulatedPerson,
)
from ._planner import CandidateSet, SimulatedPlanner
from ._ideal import IdealLearner
from ._lexicon import LexiconUnavailable, ensure_emfd
from ._scenarios import (
    EXTERNAL_SCENARIOS,
    MORAL_FOUNDATIONS,
    SCENARIO_NAMES,
    SCENARIOS,
    PersonParameters,
    Scenario,
    ScenarioConfig,
    approval_probabilities,
    draw_person_parameters,
    draw_profile,
    make_scenario,
    oracle_choice,
    random_choice,
)

__all__ = [
    "EXTERNAL_SCENARIOS",
    "IdealLearner",
    "LexiconUnavailable",
    "ensure_emfd",
    "AbruptDrift",
    "CandidateSet",
    "DEFAULT_BETA",
    "DEFAULT_REWARD_WEIGHT",
    "DEFAULT_TAU",
    "DirichletProfile",
    "GradualDrift",
    "MORAL_FOUNDATIONS",
    "NoDrift",
    "OperatorPool",
    "PersonParameters",
    "Response",
    "SCENARIOS",
    "SCENARIO_NAMES",
    "Scenario",
    "ScenarioConfig",
    "SimulatedPerson",
    "SimulatedPlanner",
    "approval_probabilities",
    "draw_person_parameters",
    "draw_profile",
    "make_scenario",
    "oracle_choice",
    "random_choice",
]
