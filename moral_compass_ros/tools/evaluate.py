# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""``moral-compass eval``: the learners against baselines and bounds on simulated people.

    moral-compass eval --out DIR [--seeds 20] [--scenarios ...] [--methods ...] [--answers N]
                       [--workers 2] [--quick] [--set KEY=VALUE ...] [--resume]

Every (method, scenario, seed) *episode* runs the same seeded person and candidate stream
(``make_scenario(scenario, seed)``; the planner's and the person's random streams do not depend
on the choices made): propose → the method scores the candidates → it executes the argmax →
the simulated person answers → unless the answer was skipped, a :class:`FeedbackEvent` with the
executed action's features, context, value hint, the answer and the observed task reward is
given to ``update``. Nothing hidden (true fingerprints, true rewards, profiles) reaches a
learner; it is recorded beside each answer for the metrics only.

Methods (``--methods``)
-----------------------
``dvs_avoid``    DynamicValueLearner with the package defaults (``information_mode="avoid"``)
``dvs_seek``     the same with ``information_mode="seek"``
``dvs_seed``     the same with ``selection_rule="seed"`` (the framework's λ-weighted rule)
``dvs_proximal`` the same with ``update_rule="proximal"`` (the seed's proximal Step 3)
``dognin``       ContextualAggregationLearner (Dognin et al.: profile point estimate c,
                 logistic regression); its "compass mean" is c
``monist``       MonistLearner with no value weighting (task reward only)
``logistic``     LogisticLearner: online regularised logistic regression on [φ; s; task
                 reward; the known profile h where there is one], executing its highest
                 predicted approval (what a practitioner would use, with the same knowledge)
``bayes``        BayesLearner: exact Bayes with the same knowledge as DVS (the known profiles
                 as fingerprints, the planner's reward estimates, β, τ, ρ unknown under the
                 package's priors), change points in the drift scenarios; not run where no
                 profile is known (``features``, ``pretrained``)
``ideal``        the ideal learner (:class:`~moral_compass_ros.sim.IdealLearner`): exact Bayes
                 with the truth (fingerprints, rewards, each person's response model and
                 profile prior, change points in the drift scenarios)
``random``       uniformly random candidate (lower bound)
``oracle``       the candidate the answering person most likely approves (upper bound)

Scenarios and fingerprint conditions (``--scenarios``)
------------------------------------------------------
A scenario name is a preset of :data:`moral_compass_ros.sim.SCENARIOS` or ``lexicon`` (words of
the eMFD, downloaded on first use; skipped with a message when it cannot be had), optionally
followed by ``:CONDITION``, where the learners' fingerprints come from:

``hints`` (default)   the planner's noisy value hints
``library``           no hints; the scenario's fingerprint library (label → profile)
``features``          no hints, no library: fingerprints only from the learned network ψ
``pretrained``        as ``features``, but ψ starts pre-trained
                      (:func:`~moral_compass_ros.core.pretrain_fingerprints`, as
                      ``moral-compass pretrain``) on the answers of :data:`PRETRAIN_PEOPLE`
                      other simulated people of the same world (same robot: feature map,
                      rewards), each answering an episode of randomly chosen actions (a pilot
                      study); ``logistic`` starts from the same answers, pooled
                      (:meth:`~moral_compass_ros.core.LogisticLearner.pretrain`)
Outputs in DIR
--------------
``metrics.json`` (per method and scenario, see :func:`compute_metrics`), ``summary.md`` (the
tables of doc/evaluation.md, command on top), ``ratio_to_oracle.png``, ``cosine.png``, and
``episodes.jsonl`` (every answer of every episode; ``--resume`` reuses finished episodes).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import datetime
import json
import math
import multiprocessing
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

from moral_compass_ros.tools import _eval_metrics as em

#: Method name -> human-readable description (the order of tables and plot legends).
METHODS: dict[str, str] = {
    "dvs_avoid": "DVS, package defaults (information avoid)",
    "dvs_seek": "DVS, information seek",
    "dvs_seed": "DVS with the seed's selection rule (λ_task Task + λ_align Align + Resid − IG)",
    "dvs_proximal": "DVS with the seed's proximal Step 3",
    "dognin": "Dognin contextual aggregation (point estimate c)",
    "monist": "Monist (task reward only)",
    "logistic": "Online logistic regression on [features; context; task; known profile] "
    "(practitioner's bound, same knowledge)",
    "bayes": "Exact Bayes with the same knowledge as DVS (its limit)",
    "ideal": "Ideal learner: exact Bayes with the truth (limit of learning from answers)",
    "random": "Random selector (lower bound)",
    "oracle": "Oracle (upper bound)",
}
#: Where the learners' fingerprints come from (the ``:CONDITION`` suffix of a scenario name).
CONDITIONS = ("hints", "library", "features", "pretrained")
#: Conditions in which no action's profile is known.
NO_PROFILES = ("features", "pretrained")
#: ``pretrained``: how many other people ψ is pre-trained on, and the first of their seeds
#: (far from the evaluation's seeds, so no evaluated person is among them).
PRETRAIN_PEOPLE = 50
PRETRAIN_SEED_BASE = 1_000_000
#: The default scenario list: every preset with hints, plus the conditions where they matter.
DEFAULT_SCENARIOS = (
    "fixed_profile",
    "fixed_profile:library",
    "fixed_profile:features",
    "fixed_profile:pretrained",
    "abrupt_drift",
    "gradual_drift",
    "noisy_teacher",
    "two_operators",
    "lexicon",
    "lexicon:library",
    "lexicon:features",
    "lexicon:pretrained",
    "lexicon_ratings:features",
)
#: Credible level of the compass region whose coverage of the true profile is reported.
CREDIBLE_LEVEL = 0.9
ALL_METHODS: dict[str, str] = dict(METHODS)
#: Methods whose compass is a learned estimate of the profile (cosine is reported for these).
COMPASS_METHODS = ("dvs_avoid", "dvs_seek", "dvs_seed", "dvs_proximal", "dognin", "bayes", "ideal")
#: Methods whose compass is a distribution (credible-region coverage is reported for these).
DISTRIBUTION_METHODS = ("dvs_avoid", "dvs_seek", "dvs_seed", "dvs_proximal", "bayes", "ideal")
#: Methods that need a known profile for every action (not run in ``features``/``pretrained``).
PROFILE_METHODS = ("bayes",)
#: The paired differences the summary reports: (method, reference) of last-20 approval.
PAIRED = (("dvs_avoid", "bayes"), ("dvs_avoid", "logistic"), ("dvs_avoid", "ideal"))
#: Answer count at which the cosine between compass mean and true profile is reported.
COSINE_AT = 20
#: The approval-rate metric looks at the last this-many queries.
LAST_N = 20
#: Default number of seeds (at least 20: paired standard errors of about 0.02).
DEFAULT_SEEDS = 20
#: ``--quick``: seeds, answers per episode, and the learner changes that make it a smoke test.
QUICK_SEEDS = 3
QUICK_ANSWERS = 24
QUICK_LEARNER = {"n_particles": 64, "n_fingerprint_samples": 16}
#: Panels per row of the plots.
PLOT_COLUMNS = 5
#: Seed of the bootstrap resampling of the plots' confidence bands.
PLOT_BOOTSTRAP_SEED = 12345


# ====================================================================== episode setup
def scenario_overrides(name: str, n_answers: Optional[int]) -> dict:
    """``make_scenario`` overrides for a shortened/lengthened episode of preset ``name``.

    Drift points scale with the episode length so that a short episode still drifts, at the
    same relative position as in the preset.

    Parameters
    ----------
    name : str
        A scenario of :data:`moral_compass_ros.sim.SCENARIOS`.
    n_answers : int or None
        Episode length; None keeps the preset's.

    Returns
    -------
    dict
        Overrides (empty for the preset itself).
    """
    preset = scenario_preset(name)
    if n_answers is None or n_answers == preset.n_answers:
        return {}
    if n_answers < 2:
        raise ValueError(f"--answers must be >= 2, got {n_answers}")
    scale = n_answers / preset.n_answers
    out: dict = {"n_answers": int(n_answers)}
    if preset.drift == "abrupt":
        out["drift_start"] = max(1, int(round(preset.drift_start * scale)))
    elif preset.drift == "gradual":
        start = int(round(preset.drift_start * scale))
        out["drift_start"] = start
        out["drift_end"] = max(start + 1, int(round(preset.drift_end * scale)))
    return out


def split_scenario(name: str) -> tuple[str, str]:
    """``"fixed_profile:library"`` → ``("fixed_profile", "library")``; no suffix = ``hints``."""
    base, _, condition = name.partition(":")
    condition = condition or "hints"
    if condition not in CONDITIONS:
        raise ValueError(
            f"unknown fingerprint condition {condition!r} in {name!r}; known: "
            f"{', '.join(CONDITIONS)}"
        )
    return base, condition


def scenario_preset(name: str):
    """The :class:`ScenarioConfig` behind a scenario name (condition suffix allowed)."""
    from moral_compass_ros.sim import EXTERNAL_SCENARIOS, SCENARIOS

    base, _ = split_scenario(name)
    presets = {**SCENARIOS, **EXTERNAL_SCENARIOS}
    if base not in presets:
        raise ValueError(f"unknown scenario {base!r}; known: {', '.join(presets)}")
    return presets[base]


def credible_ball_covers(
    particles: np.ndarray, weights: np.ndarray, truth: np.ndarray, level: float = CREDIBLE_LEVEL
) -> bool:
    """Whether ``truth`` lies in the compass's ``level`` credible ball around its mean.

    The region is {θ : ‖θ − E_q θ‖ ≤ r}, r the weighted ``level`` quantile of ‖θ_i − E_q θ‖
    over the particles: a calibrated compass covers the truth in about ``level`` of the seeds.
    """
    mean = weights @ particles
    distance = np.linalg.norm(particles - mean, axis=1)
    order = np.argsort(distance)
    cumulative = np.cumsum(weights[order])
    radius = distance[order][min(int(np.searchsorted(cumulative, level)), len(order) - 1)]
    return bool(np.linalg.norm(np.asarray(truth) - mean) <= radius + 1e-12)


def drift_reference(scenario_config) -> Optional[int]:
    """Query index recovery is counted from: the abrupt switch, or the end of a gradual drift.

    During a gradual drift the target moves every answer, so "recovered" is measured once it
    stops moving. None for scenarios without drift.
    """
    if scenario_config.drift == "abrupt":
        return int(scenario_config.drift_start)
    if scenario_config.drift == "gradual":
        return int(scenario_config.drift_end)
    return None


def learner_config(scenario_config, seed: int, overrides: dict):
    """The :class:`LearnerConfig` of one episode: package defaults, the scenario's dimensions,
    the episode seed, then ``overrides`` (from ``--set`` / ``--quick``)."""
    from moral_compass_ros.core import LearnerConfig

    base = {
        "value_names": tuple(scenario_config.value_names),
        "feature_dim": scenario_config.feature_dim,
        "context_dim": scenario_config.context_dim,
        "seed": int(seed),
    }
    base.update(overrides)
    return LearnerConfig(**base)


def make_method(method: str, config, drift: bool = False) -> Any:
    """The learner of ``method`` (None for the ``ideal``, ``random`` and ``oracle`` bounds);
    ``drift``: the scenario's values change (the ``bayes`` bound uses change points then)."""
    from moral_compass_ros.core import (
        BayesLearner,
        ContextualAggregationLearner,
        DynamicValueLearner,
        LogisticLearner,
        MonistLearner,
    )

    factories: dict[str, Callable[[], Any]] = {
        "dvs_avoid": lambda: DynamicValueLearner(config.replace(information_mode="avoid")),
        "dvs_seek": lambda: DynamicValueLearner(config.replace(information_mode="seek")),
        "dvs_seed": lambda: DynamicValueLearner(config.replace(selection_rule="seed")),
        "dvs_proximal": lambda: DynamicValueLearner(config.replace(update_rule="proximal")),
        "dognin": lambda: ContextualAggregationLearner(config),
        "monist": lambda: MonistLearner(config),
        "logistic": lambda: LogisticLearner(config),
        "bayes": lambda: BayesLearner(config, config.change_hazard if drift else 0.0),
        "ideal": lambda: None,
        "random": lambda: None,
        "oracle": lambda: None,
    }
    if method not in factories:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(ALL_METHODS)}")
    return factories[method]()


def applicable(method: str, scenario: str) -> bool:
    """Whether ``method`` runs in ``scenario`` (``bayes`` needs known profiles)."""
    return not (method in PROFILE_METHODS and split_scenario(scenario)[1] in NO_PROFILES)


def in_workers(
    function: Callable[[Any], Any], items: Sequence[Any], workers: int
) -> Iterator[Any]:
    """``function(item)`` for every item, each result as soon as it is ready: in this process
    with one worker, else in a pool of ``workers`` spawned processes (one torch thread each)."""
    if workers == 1:
        _init_worker()
        for item in items:
            yield function(item)
        return
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker
    ) as pool:
        futures = [pool.submit(function, item) for item in items]
        for future in concurrent.futures.as_completed(futures):
            yield future.result()


def _init_worker() -> None:
    """Process-pool initialiser: one torch thread per worker (the workers share the cores)."""
    import torch

    torch.set_num_threads(1)


# ====================================================================== one episode
def run_episode(task: dict) -> dict:
    """Run one (method, scenario, seed) episode and record every query.

    Parameters
    ----------
    task : dict
        ``method``, ``scenario``, ``seed``, ``n_answers`` (None = preset) and ``learner``
        (LearnerConfig overrides).

    Returns
    -------
    dict
        The task fields plus, per query t (lists of length T): ``p_chosen``, ``p_oracle``,
        ``p_mean`` (noise-free approval probabilities of the chosen action, of the oracle's
        and their mean over candidates), ``approved`` (True/False/None = skipped),
        ``predicted`` (the method's predicted approval of the chosen action; None for
        ``random``; the true probability for ``oracle``), ``compass_mean`` (after the update
        of query t; None without a learned compass), ``true_profile`` (of the person who
        answered query t), ``operator``, ``ms`` (wall time of the decision + update); and
        ``drift_reference``, ``update_failures``.
    """
    from moral_compass_ros.core import DynamicValueLearner, FeedbackEvent
    from moral_compass_ros.sim import make_scenario

    method, name, seed = task["method"], task["scenario"], int(task["seed"])
    base, condition = split_scenario(name)
    scenario = make_scenario(base, seed=seed, **scenario_overrides(name, task.get("n_answers")))
    cfg = learner_config(scenario.config, seed, task.get("learner", {}))
    if condition == "pretrained":
        cfg = cfg.replace(fingerprint_model=task["fingerprint_model"])
    drifting = scenario.config.drift != "none"
    learner = make_method(method, cfg, drifting)
    if condition == "pretrained" and method == "logistic":  # the same people's answers ψ saw
        learner.pretrain(population_answers(base, seed, n_answers=task.get("n_answers")))
    # the ideal bound: one exact posterior per person, knowing that person's response model
    ideals = (
        scenario.ideal_learners(seed, cfg.change_hazard if drifting else 0.0)
        if method == "ideal"
        else {}
    )
    library = scenario.fingerprint_library() if condition == "library" else None
    has_compass = method in COMPASS_METHODS
    rec: dict[str, Any] = {
        key: []
        for key in (
            "p_chosen",
            "p_oracle",
            "p_mean",
            "approved",
            "predicted",
            "compass_mean",
            "true_profile",
            "covered",
            "operator",
            "ms",
            "ess",
        )
    }
    failures: list[str] = []
    t = 0
    while not scenario.done:
        cs = scenario.propose()
        probabilities = scenario.approval_probabilities(cs)  # noise-free, current person
        profile = scenario.true_profile()
        ideal = ideals[scenario.current_person.operator_id] if method == "ideal" else None
        if condition == "hints":
            hints, sources = np.array(cs.value_hints), None
        elif condition == "library":
            hints, sources = library.resolve(cs.ids, cs.labels, None)
        else:  # features, pretrained
            hints, sources = np.full(cs.value_hints.shape, np.nan), None
        started = time.perf_counter()
        if method == "random":
            index, predicted = scenario.random_choice(cs), None
        elif method == "oracle":
            index = scenario.oracle_choice(cs)
            predicted = float(probabilities[index])
        elif method == "ideal":
            predictions = ideal.predict(cs.true_fingerprint, cs.true_reward)
            index = int(np.argmax(predictions))  # the highest posterior-predictive approval
            predicted = float(predictions[index])
        else:
            # writable copies: the candidate set's arrays are read-only, torch warns on those
            extra = (
                {"hint_sources": sources}
                if sources is not None and isinstance(learner, DynamicValueLearner)
                else {}
            )
            scores = learner.score(
                np.array(cs.features),
                np.array(cs.context),
                np.array(cs.reward_mean),
                np.array(cs.reward_std),
                hints,
                **extra,
            )
            index = int(scores.selected)
            predicted = float(scores.predicted_approval[index])
        response = scenario.respond(cs, index)
        if ideal is not None and response.approved is not None:
            ideal.update(
                cs.true_fingerprint[index], float(cs.true_reward[index]), bool(response.approved)
            )
        ess = None
        if learner is not None and response.approved is not None:
            hint = hints[index]
            event = FeedbackEvent(
                feedback_id=f"{name}-{seed}-{t}",
                action_id=cs.ids[index],
                features=np.array(cs.features[index]),
                context=np.array(cs.context),
                approved=bool(response.approved),
                task_reward=float(response.task_reward),
                value_hint=np.zeros(0) if np.any(np.isnan(hint)) else np.array(hint),
                operator=response.operator_id,
                source="sim",
                stamp=float(t),
            )
            result = learner.update(event)
            if not result.applied:
                failures.append(f"query {t}: {result.reason}")
            ess = result.ess if method in DISTRIBUTION_METHODS else None
        elapsed_ms = 1000.0 * (time.perf_counter() - started)
        rec["p_chosen"].append(float(probabilities[index]))
        rec["p_oracle"].append(float(np.max(probabilities)))
        rec["p_mean"].append(float(np.mean(probabilities)))
        rec["approved"].append(response.approved)
        rec["predicted"].append(predicted)
        if ideal is not None:
            rec["compass_mean"].append(ideal.mean.tolist())
            rec["covered"].append(credible_ball_covers(ideal.particles, ideal.weights, profile))
        else:
            rec["compass_mean"].append(learner.compass.mean.tolist() if has_compass else None)
            rec["covered"].append(
                credible_ball_covers(learner.compass.particles, learner.compass.weights, profile)
                if method in DISTRIBUTION_METHODS
                else None
            )
        rec["true_profile"].append(profile.tolist())
        rec["operator"].append(response.operator_id)
        rec["ms"].append(elapsed_ms)
        rec["ess"].append(ideal.ess if ideal is not None else ess)
        t += 1
    rec.update(
        {
            "method": method,
            "scenario": name,
            "seed": seed,
            "n_answers": task.get("n_answers"),
            "learner": task.get("learner", {}),
            "drift_reference": drift_reference(scenario.config),
            "update_failures": failures,
        }
    )
    return rec


# ====================================================================== pre-training
def population_answers(
    scenario: str, seed: int, n_people: int = PRETRAIN_PEOPLE, n_answers: Optional[int] = None
) -> list:
    """Answers of ``n_people`` other simulated people in the world of episode ``seed``.

    Each person (seed ``PRETRAIN_SEED_BASE + 1000·seed + i``, operator ``person_<i>``) answers
    one episode in which the robot executes a random candidate; no hints (what ψ must learn
    from), the observed task reward, skipped answers dropped.

    Returns
    -------
    list of FeedbackEvent
    """
    from moral_compass_ros.core import FeedbackEvent
    from moral_compass_ros.sim import make_scenario

    base, _ = split_scenario(scenario)
    events = []
    for i in range(n_people):
        people_seed = PRETRAIN_SEED_BASE + 1000 * int(seed) + i
        world = make_scenario(
            base, seed=int(seed), people_seed=people_seed, **scenario_overrides(base, n_answers)
        )
        t = 0
        while not world.done:
            cs = world.propose()
            index = world.random_choice(cs)
            response = world.respond(cs, index)
            if response.approved is not None:
                events.append(
                    FeedbackEvent(
                        feedback_id=f"{base}-{seed}-person_{i}-{t}",
                        action_id=cs.ids[index],
                        features=np.array(cs.features[index]),
                        context=np.array(cs.context),
                        approved=bool(response.approved),
                        task_reward=float(response.task_reward),
                        operator=f"person_{i}",
                        source="sim",
                        stamp=float(t),
                    )
                )
            t += 1
    return events


def pretrain_episode_model(task: dict) -> dict:
    """Pre-train ψ for one (scenario, seed) of the ``pretrained`` condition into ``task["path"]``.

    ``task``: ``scenario``, ``seed``, ``n_answers``, ``learner`` (overrides), ``path``. Returns the
    task plus ``people``, ``answers`` and ``gain`` (nats per answer ψ adds, see
    :class:`~moral_compass_ros.core.PretrainedFingerprints`).
    """
    from moral_compass_ros.core import pretrain_fingerprints

    base, _ = split_scenario(task["scenario"])
    events = population_answers(base, task["seed"], n_answers=task.get("n_answers"))
    preset = scenario_preset(base)
    config = learner_config(preset, task["seed"], task.get("learner", {}))
    result = pretrain_fingerprints(events, config)
    path = Path(task["path"])
    partial = path.with_name(path.name + ".partial")
    result.save(partial)
    os.replace(partial, path)
    return {**task, "people": result.people, "answers": result.answers, "gain": result.gain}


def pretrain_models(tasks: Sequence[dict], workers: int, out: Path, resume: bool) -> list[dict]:
    """Pre-train ψ for every (scenario, seed) of a ``pretrained`` task; set ``fingerprint_model``.

    The models go to ``out/pretrained/<scenario>-seed<seed>.npz``; with ``resume`` an existing
    file is reused. Returns one summary per model trained now.
    """
    jobs: dict[tuple, dict] = {}
    for task in tasks:
        base, condition = split_scenario(task["scenario"])
        if condition != "pretrained":
            continue
        path = out / "pretrained" / f"{base}-seed{task['seed']}.npz"
        task["fingerprint_model"] = str(path)
        key = (base, task["seed"])
        if key not in jobs and not (resume and path.exists()):
            jobs[key] = {
                "scenario": base,
                "seed": task["seed"],
                "n_answers": task.get("n_answers"),
                "learner": task.get("learner", {}),
                "path": str(path),
            }
    if not jobs:
        return []
    (out / "pretrained").mkdir(parents=True, exist_ok=True)
    sys.stderr.write(
        f"eval: pre-training ψ for {len(jobs)} (scenario, seed) pairs on the answers of "
        f"{PRETRAIN_PEOPLE} other people each\n"
    )
    done = sorted(
        in_workers(pretrain_episode_model, list(jobs.values()), workers),
        key=lambda d: (d["scenario"], d["seed"]),
    )
    gains = [d["gain"] for d in done]
    sys.stderr.write(
        f"eval: ψ pre-trained; it adds {np.mean(gains):.3f} nats per answer on its training "
        f"answers (mean over {len(gains)})\n"
    )
    return done


def task_key(task: dict) -> str:
    """Identity of an episode's settings (for ``--resume``)."""
    return json.dumps(
        {k: task.get(k) for k in ("method", "scenario", "seed", "n_answers", "learner")},
        sort_keys=True,
    )


# ====================================================================== metrics
def episode_metrics(rec: dict) -> dict:
    """Per-seed numbers of one episode (see :func:`compute_metrics` for the definitions)."""
    ratio = em.ratio_to_oracle(rec["p_chosen"], rec["p_oracle"])
    cos_at = None
    if rec["method"] in COMPASS_METHODS and len(ratio) >= COSINE_AT:
        cos_at = em.cosine(rec["compass_mean"][COSINE_AT - 1], rec["true_profile"][COSINE_AT - 1])
    ref = rec.get("drift_reference")
    covered = rec.get("covered") or []
    return {
        "coverage_at_20": covered[COSINE_AT - 1] if len(covered) >= COSINE_AT else None,
        "coverage_at_end": covered[-1] if covered else None,
        "answers_to_90pct_oracle": em.answers_to_fraction_of_oracle(ratio),
        "approval_rate_last_20": em.approval_rate_last(rec["approved"], LAST_N),
        "cosine_at_20": cos_at,
        "drift_recovery_answers": None if ref is None else em.drift_recovery_answers(ratio, ref),
        "ece": em.ece(rec["predicted"], rec["approved"]),
        "ms_per_answer": float(np.mean(rec["ms"])) if rec["ms"] else None,
        "ratio_mean": float(np.mean(ratio)),
        "ess_at_end": next((e for e in reversed(rec.get("ess") or []) if e is not None), None),
        "ratio_last_20": float(np.mean(ratio[-LAST_N:])),
    }


METRIC_DEFINITIONS = {
    "answers_to_90pct_oracle": (
        "First answer count n (queries, skips included) with mean(ratio[n-10:n]) >= 0.9, where "
        "ratio = P(approve chosen)/P(approve oracle) from the simulator's noise-free "
        "probabilities of the answering person. Full windows only, so 10 is the earliest "
        "possible value. Never reached within the episode = right-censored, counted as +inf "
        "in the median/IQR; a null median/quartile means that order statistic is +inf "
        "(never reached); 'n_valid' counts the seeds that reached it."
    ),
    "approval_rate_last_20": "Fraction of thumbs-up among the answered queries of the last 20 "
    "queries (skips dropped); median/IQR/mean over seeds.",
    "cosine_at_20": (
        "Cosine between the compass mean after the 20th query's update and the true profile of "
        "the person who answered query 20. DVS, bayes and ideal: the particle compass mean. "
        "Dognin: its profile point estimate c (softmax of the logistic-regression logits). "
        "Monist, random, oracle: null (no learned profile)."
    ),
    "drift_recovery_answers": (
        "Drift scenarios only: answers after the drift point until the rolling ratio (full "
        "window of 10 post-drift queries) is back >= 0.9; 10 = no visible loss. Drift point: "
        "the abrupt switch (first query answered with the new profile), or the END of the "
        "gradual drift (the target moves until then). Censored as for answers_to_90pct_oracle. "
        "null for scenarios without drift."
    ),
    "ece": (
        "Expected calibration error (10 equal-width bins, moral_compass_ros/metrics.py) of the "
        "method's "
        "predicted approval of the executed action against the actual answers (skips "
        "dropped). 'pooled' = over all answers of all seeds; median/IQR = per seed. Oracle: its "
        "'prediction' is the true noise-free probability, so its ECE is the floor set by "
        "sampling noise and teacher faults. Random: null (no prediction)."
    ),
    "ms_per_answer": "Wall time per query of score + respond + update in one worker process "
    "(1 torch thread), mean per seed; median/IQR over seeds.",
    "ratio_last_20": "Mean ratio-to-oracle over the last 20 queries (another view of the same "
    "episodes).",
    "coverage_at_20": (
        "Whether the true profile of the person answering query 20 lies in the compass's 90 % "
        "credible ball around its mean (radius: weighted 90 % quantile of the particles' "
        "distances to the mean), per seed; 'mean' = fraction of seeds covered (calibrated: "
        "about 0.9). Particle compasses and the ideal learner only."
    ),
    "coverage_at_end": "As coverage_at_20, after the episode's last answer.",
    "ess_at_end": "Effective sample size 1/Σw² of the particle posterior after the last answer "
    "(particle methods only); median/IQR over seeds.",
}


def compute_metrics(records: Sequence[dict]) -> dict:
    """Aggregate episodes into ``{method: {scenario: {metric: summary}}}``.

    Each metric is summarised over seeds by :func:`_eval_metrics.summarise` (``median``,
    ``q25``, ``q75``, ``mean``, ``n``, ``n_valid``), plus the per-seed values (``per_seed``,
    in seed order). ``ece`` also has ``pooled``. Definitions: :data:`METRIC_DEFINITIONS`.
    """
    groups: dict[tuple, list[dict]] = {}
    for rec in records:
        groups.setdefault((rec["method"], rec["scenario"]), []).append(rec)
    out: dict = {}
    for (method, scenario), recs in sorted(
        groups.items(), key=lambda kv: (list(ALL_METHODS).index(kv[0][0]), kv[0][1])
    ):
        recs = sorted(recs, key=lambda r: r["seed"])
        per_seed = [episode_metrics(r) for r in recs]
        entry: dict = {
            "seeds": [r["seed"] for r in recs],
            "update_failures": sum(len(r["update_failures"]) for r in recs),
        }
        for name in (
            "answers_to_90pct_oracle",
            "approval_rate_last_20",
            "cosine_at_20",
            "drift_recovery_answers",
            "ece",
            "ms_per_answer",
            "ratio_last_20",
            "coverage_at_20",
            "coverage_at_end",
            "ess_at_end",
        ):
            values = [m[name] for m in per_seed]
            if name == "ess_at_end":
                present = [float(v) for v in values if v is not None]
                entry[name] = em.summarise(present) if present else None
                continue
            if name.startswith("coverage"):
                entry[name] = (
                    None
                    if method not in DISTRIBUTION_METHODS
                    else em.summarise([float(v) for v in values if v is not None])
                )
                continue
            censored = name in ("answers_to_90pct_oracle", "drift_recovery_answers")
            applicable = not (
                name == "drift_recovery_answers" and recs[0]["drift_reference"] is None
            )
            if name == "cosine_at_20" and method not in COMPASS_METHODS:
                applicable = False
            if name == "ece" and method == "random":
                applicable = False
            if not applicable:
                entry[name] = None
                continue
            summary = em.summarise(values, censored_as_inf=censored)
            summary["per_seed"] = values
            entry[name] = summary
        if entry["ece"] is not None:
            entry["ece"]["pooled"] = em.ece(
                [p for r in recs for p in r["predicted"]], [a for r in recs for a in r["approved"]]
            )
        out.setdefault(method, {})[scenario] = entry
    return out


# ====================================================================== plots & tables
def _curves(
    records: Sequence[dict], method: str, scenario: str, what: str
) -> Optional[np.ndarray]:
    recs = sorted(
        (r for r in records if r["method"] == method and r["scenario"] == scenario),
        key=lambda r: r["seed"],
    )
    if not recs:
        return None
    rows = []
    for r in recs:
        if what == "ratio":
            rows.append(em.rolling_mean(em.ratio_to_oracle(r["p_chosen"], r["p_oracle"])))
        else:
            rows.append(
                np.array([em.cosine(m, p) for m, p in zip(r["compass_mean"], r["true_profile"])])
            )
    length = min(len(x) for x in rows)
    return np.array([x[:length] for x in rows])


def write_plots(
    records: Sequence[dict],
    out_dir: Path,
    methods: Sequence[str],
    scenarios: Sequence[str],
    rng: np.random.Generator,
) -> list[Path]:
    """Ratio-to-oracle and cosine curves with 95 % bootstrap bands; returns the PNG paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = dict(zip(ALL_METHODS, plt.cm.tab10(np.arange(len(ALL_METHODS)))))
    paths = []
    for what, chosen, fname, ylabel in (
        (
            "ratio",
            list(methods),
            "ratio_to_oracle.png",
            f"P(approve chosen) / P(approve oracle), rolling {em.ROLLING_WINDOW}",
        ),
        (
            "cosine",
            [m for m in methods if m in COMPASS_METHODS],
            "cosine.png",
            "cosine(compass mean, true profile)",
        ),
    ):
        if not chosen:
            continue
        n = len(scenarios)
        ncols = min(n, PLOT_COLUMNS)
        nrows = -(-n // ncols)
        fig, axes = plt.subplots(
            nrows, ncols, figsize=(4.2 * ncols, 3.6 * nrows), squeeze=False, sharey=True
        )
        for ax in axes.flat[n:]:
            ax.set_visible(False)
        for ax, scenario in zip(axes.flat, scenarios):
            for method in chosen:
                curves = _curves(records, method, scenario, what)
                if curves is None:
                    continue
                mean, low, high = em.bootstrap_mean_band(curves, rng)
                x = np.arange(1, curves.shape[1] + 1)
                style = "--" if (what == "cosine" and method == "dognin") else "-"
                ax.plot(x, mean, style, color=colors[method], lw=1.6, label=method)
                ax.fill_between(x, low, high, color=colors[method], alpha=0.18, lw=0)
            if what == "ratio":
                ax.axhline(em.ORACLE_FRACTION, color="0.5", ls=":", lw=1)
            if what == "cosine":
                ax.axhline(0.9, color="0.5", ls=":", lw=1)
                ax.axvline(COSINE_AT, color="0.8", ls=":", lw=1)
            ax.set_title(scenario, fontsize=10)
            ax.set_xlabel("answers (queries)")
        for row in axes:
            row[0].set_ylabel(ylabel, fontsize=8)
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(
            handles,
            labels,
            loc="lower center",
            ncol=len(labels),
            fontsize=8,
            bbox_to_anchor=(0.5, -0.06),
        )
        title = (
            "Approval relative to the oracle (mean over seeds, 95 % bootstrap band)"
            if what == "ratio"
            else "Compass mean vs the answering person's true profile (mean, 95 % bootstrap band; "
            "Dognin's c dashed)"
        )
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        path = out_dir / fname
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        paths.append(path)
    return paths


def _fmt_summary(s: Optional[dict], digits: int, censored: bool = False) -> str:
    if s is None:
        return "–"
    if s["n"] == 0 or (s["n_valid"] == 0 and not censored):
        return "n/a"

    def num(v):
        if v is None:
            return "never" if censored else "n/a"
        return f"{v:.{digits}f}"

    text = f"{num(s['median'])} [{num(s['q25'])}, {num(s['q75'])}]"
    if censored and s["n_valid"] < s["n"]:
        text += f" ({s['n_valid']}/{s['n']})"
    return text


def summary_markdown(
    metrics: dict,
    command: str,
    methods: Sequence[str],
    scenarios: Sequence[str],
    n_seeds: int,
    wall_s: float,
    reused: int,
    quick: bool,
) -> str:
    """The evaluation tables: one method × scenario table per headline metric."""
    lines = [f"`{command}`", ""]
    wall = f"wall time {wall_s / 60:.1f} min" + (
        f" ({reused} episodes reused from an earlier run's episodes.jsonl)" if reused else ""
    )
    lines.append(
        f"{n_seeds} seeds per cell; median [IQR] over seeds; {wall}."
        + (" **--quick smoke run: not for reporting.**" if quick else "")
    )
    lines.append("")
    tables = (
        (
            "Answers to 90 % of oracle approval (rolling 10; 10 is the minimum; "
            "'never' = not reached in the episode; (k/n) = seeds that reached it)",
            "answers_to_90pct_oracle",
            1,
            True,
            scenarios,
        ),
        ("Approval rate over the last 20 queries", "approval_rate_last_20", 2, False, scenarios),
        (
            "Cosine(compass mean, true profile) after 20 answers (Dognin: its profile c)",
            "cosine_at_20",
            2,
            False,
            scenarios,
        ),
        (
            "Answers to recover 90 % of oracle after the drift (abrupt: from the switch; gradual: "
            "from the end of the drift; 10 = no visible loss)",
            "drift_recovery_answers",
            1,
            True,
            [s for s in scenarios if s in ("abrupt_drift", "gradual_drift")],
        ),
        ("ECE of predicted approval (pooled over seeds)", "ece", 3, False, scenarios),
        (
            "Fraction of seeds whose true profile lies in the compass's 90 % credible region, "
            "after "
            "20 answers / at the end",
            "coverage",
            2,
            False,
            scenarios,
        ),
        (
            "Effective sample size of the particle posterior after the last answer (median)",
            "ess_at_end",
            0,
            False,
            scenarios,
        ),
        (
            "Milliseconds per answer (score + update, 1 thread)",
            "ms_per_answer",
            1,
            False,
            scenarios,
        ),
    )
    for title, key, digits, censored, cols in tables:
        if not cols:
            continue
        lines.append(f"**{title}**")
        lines.append("")
        lines.append("| method | " + " | ".join(cols) + " |")
        lines.append("|---|" + "---|" * len(cols))
        for method in methods:
            cells = []
            for scenario in cols:
                entry = metrics.get(method, {}).get(scenario)
                s = None if entry is None else entry.get(key)
                if key == "coverage":
                    pair = [
                        metrics.get(method, {}).get(scenario, {}).get(k)
                        for k in ("coverage_at_20", "coverage_at_end")
                    ]
                    cells.append(
                        "–"
                        if pair[0] is None or pair[0]["mean"] is None
                        else f"{pair[0]['mean']:.{digits}f} / {pair[1]['mean']:.{digits}f}"
                    )
                    continue
                if key == "ece" and s is not None:
                    cells.append("–" if s.get("pooled") is None else f"{s['pooled']:.{digits}f}")
                elif key in ("ms_per_answer", "ess_at_end") and s is not None:
                    cells.append("–" if s["median"] is None else f"{s['median']:.{digits}f}")
                else:
                    cells.append(_fmt_summary(s, digits, censored))
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.extend(paired_table(metrics, methods, scenarios))
    lines.extend(target_table(metrics))
    lines.append("Methods: " + "; ".join(f"`{m}` = {ALL_METHODS[m]}" for m in methods) + ".")
    lines.append("")
    return "\n".join(lines)


def paired_difference(metrics: dict, method: str, reference: str, scenario: str):
    """Mean and standard error over seeds of the paired difference of last-20 approval
    (``method`` − ``reference``, same seeds); None where either did not run."""
    try:
        a = metrics[method][scenario]
        b = metrics[reference][scenario]
    except KeyError:
        return None
    mine = dict(zip(a["seeds"], a["approval_rate_last_20"]["per_seed"]))
    theirs = dict(zip(b["seeds"], b["approval_rate_last_20"]["per_seed"]))
    diffs = np.array(
        [mine[k] - theirs[k] for k in mine if k in theirs and None not in (mine[k], theirs[k])]
    )
    if len(diffs) < 2:
        return None
    return float(diffs.mean()), float(diffs.std(ddof=1) / math.sqrt(len(diffs)))


def paired_table(metrics: dict, methods: Sequence[str], scenarios: Sequence[str]) -> list[str]:
    """Markdown lines: the :data:`PAIRED` differences of last-20 approval, mean ± SE."""
    pairs = [(a, b) for a, b in PAIRED if a in methods and b in methods]
    if not pairs:
        return []
    lines = [
        "**Paired difference of last-20 approval, mean ± standard error over seeds**",
        "",
        "| difference | " + " | ".join(scenarios) + " |",
        "|---|" + "---|" * len(scenarios),
    ]
    for a, b in pairs:
        cells = []
        for scenario in scenarios:
            d = paired_difference(metrics, a, b, scenario)
            cells.append("–" if d is None else f"{d[0]:+.3f} ± {d[1]:.3f}")
        lines.append(f"| {a} − {b} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def _median(metrics: dict, method: str, scenario: str, name: str):
    """(median, reached) of a censored metric; median None = never reached."""
    entry = metrics.get(method, {}).get(scenario, {}).get(name)
    return None if entry is None else entry["median"]


def target_table(metrics: dict) -> list[str]:
    """Markdown lines: each learning target of ``doc/evaluation.md``, measured, met or not.

    Only the targets whose scenarios and methods ran are listed.
    """
    rows = []

    def paired(scenario, reference, margin, what):
        d = paired_difference(metrics, "dvs_avoid", reference, scenario)
        if d is None:
            return
        threshold = -d[1] if margin == "se" else margin
        bound = (
            "− one paired SE"
            if margin == "se"
            else f"{'+' if margin >= 0 else '−'} {abs(margin):.2f}"
        )
        rows.append(
            (f"{what}: DVS ≥ {reference} {bound}", f"{d[0]:+.3f} ± {d[1]:.3f}", d[0] >= threshold)
        )

    def answers(scenario, name, slack, what):
        mine = _median(metrics, "dvs_avoid", scenario, name)
        theirs = _median(metrics, "bayes", scenario, name)
        if "bayes" not in metrics or scenario not in metrics.get("dvs_avoid", {}):
            return
        text = (
            f"{'never' if mine is None else mine} against {'never' if theirs is None else theirs}"
        )
        met = mine is not None and (theirs is None or mine <= theirs + slack)
        rows.append((f"{what}: DVS ≤ bayes + {slack} (median)", text, met))

    for scenario in ("fixed_profile", "fixed_profile:library", "lexicon", "lexicon:library"):
        paired(scenario, "bayes", -0.02, f"{scenario} approval, last 20")
        answers(scenario, "answers_to_90pct_oracle", 2, f"{scenario} answers to 90 % of oracle")
    paired("lexicon:library", "logistic", 0.08, "lexicon:library approval, last 20")
    for scenario in ("fixed_profile:features", "lexicon:features", "lexicon_ratings:features"):
        paired(scenario, "logistic", "se", f"{scenario} approval, last 20")
    paired("fixed_profile:pretrained", "logistic", 0.05, "fixed_profile:pretrained (pooled)")
    for scenario in ("abrupt_drift", "gradual_drift"):
        answers(scenario, "drift_recovery_answers", 3, f"{scenario} recovery")
    for scenario, entries in metrics.get("dvs_avoid", {}).items():
        coverage = [entries.get(k) for k in ("coverage_at_20", "coverage_at_end")]
        if None in coverage or split_scenario(scenario)[1] not in ("hints", "library"):
            continue
        values = [c["mean"] for c in coverage]
        if None in values:
            continue
        rows.append(
            (
                f"{scenario}: the 90 % credible region covers the truth in 80–95 % of seeds "
                "(20 answers / end)",
                f"{values[0]:.2f} / {values[1]:.2f}",
                all(0.8 <= v <= 0.95 for v in values),
            )
        )
    if not rows:
        return []
    lines = ["**Targets** (`doc/evaluation.md`)", "", "| target | measured | |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {'met' if ok else 'missed'} |" for t, m, ok in rows]
    lines.append("")
    return lines


# ====================================================================== driver
def _git_commit() -> Optional[str]:
    here = Path(__file__).resolve().parent
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def _parse_set(items: Sequence[str]) -> dict:
    """``KEY=VALUE`` pairs -> LearnerConfig overrides (values parsed as JSON, else string)."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        key, raw = item.split("=", 1)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[key.strip()] = value
    return out


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="moral-compass eval",
        description="Compare the DVS learner with baselines and bounds "
        "on seeded simulated people; writes metrics.json, summary.md and plots.",
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--seeds",
        type=int,
        default=None,
        help=f"number of seeds (default {DEFAULT_SEEDS}; {QUICK_SEEDS} with --quick)",
    )
    parser.add_argument("--first-seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument(
        "--scenarios",
        nargs="+",
        default=list(DEFAULT_SCENARIOS),
        metavar="NAME[:COND]",
        help=f"scenarios, each optionally with a fingerprint condition ({', '.join(CONDITIONS)}; "
        f"default hints) (default: {' '.join(DEFAULT_SCENARIOS)})",
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        default=list(METHODS),
        choices=list(ALL_METHODS),
        metavar="NAME",
        help=f"methods (default all: {' '.join(METHODS)})",
    )
    parser.add_argument(
        "--answers",
        type=int,
        default=None,
        help="answers per episode for every scenario (default: each preset's; "
        f"{QUICK_ANSWERS} with --quick); drift points scale along",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="worker processes (default 2; 1 = run in this process)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke test: {QUICK_SEEDS} seeds, {QUICK_ANSWERS} answers, a small "
        f"learner {QUICK_LEARNER}; not for reporting",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a LearnerConfig field for every learner (repeatable)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse finished episodes from OUT/episodes.jsonl with the same settings",
    )
    args = parser.parse_args(list(argv))
    if args.seeds is None:
        args.seeds = QUICK_SEEDS if args.quick else DEFAULT_SEEDS
    if args.answers is None and args.quick:
        args.answers = QUICK_ANSWERS
    if args.seeds < 1:
        parser.error("--seeds must be >= 1")
    if args.workers < 1:
        parser.error("--workers must be >= 1")
    if args.answers is not None and args.answers < 2:
        parser.error("--answers must be >= 2")
    try:
        overrides = dict(QUICK_LEARNER) if args.quick else {}
        overrides.update(_parse_set(args.overrides))
        for forbidden in (
            "seed",
            "value_names",
            "feature_dim",
            "context_dim",
            "information_mode",
            "update_rule",
            "selection_rule",
        ):
            if forbidden in overrides:
                raise ValueError(
                    f"--set {forbidden} is fixed by the evaluation (per seed/scenario/method)"
                )
        for name in args.scenarios:
            scenario_preset(name)
        learner_config(scenario_preset(args.scenarios[0]), 0, overrides)  # validate early
    except (TypeError, ValueError) as err:
        parser.error(str(err))
    args.learner = overrides
    args.methods = list(dict.fromkeys(args.methods))
    args.scenarios = list(dict.fromkeys(args.scenarios))
    return args


def _format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


class _Progress:
    """``eval 37/700 episodes, eta 2m10s`` on stderr (in place on a terminal)."""

    def __init__(self, total: int, done: int = 0) -> None:
        self.total, self.done, self.started, self.reused = total, done, time.monotonic(), done
        self.tty = sys.stderr.isatty()

    def step(self, label: str) -> None:
        self.done += 1
        ran = self.done - self.reused
        elapsed = time.monotonic() - self.started
        eta = elapsed / ran * (self.total - self.done) if ran else math.nan
        line = (
            f"eval {self.done}/{self.total} episodes, elapsed {_format_duration(elapsed)}, "
            f"eta {_format_duration(eta) if math.isfinite(eta) else '?'} ({label})"
        )
        sys.stderr.write(("\r" + line + "\033[K") if self.tty else line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")


def _load_previous(path: Path) -> dict[str, dict]:
    done: dict[str, dict] = {}
    if not path.exists():
        return done
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            break  # a run killed mid-line: keep what was complete
        done[task_key(rec)] = rec
    return done


def run_tasks(
    tasks: Sequence[dict], workers: int, episodes_path: Path, resume: bool
) -> tuple[list[dict], int]:
    """Run every task (reusing finished ones with ``resume``), streaming to ``episodes_path``;
    returns the records and how many were reused."""
    previous = _load_previous(episodes_path) if resume else {}
    records = {task_key(t): previous[task_key(t)] for t in tasks if task_key(t) in previous}
    reused = len(records)
    todo = [t for t in tasks if task_key(t) not in records]
    progress = _Progress(len(tasks), len(records))
    mode = "a" if resume and episodes_path.exists() else "w"
    with open(episodes_path, mode) as sink:

        def keep(rec: dict) -> None:
            records[task_key(rec)] = rec
            sink.write(json.dumps(rec) + "\n")
            sink.flush()
            progress.step(f"{rec['method']}/{rec['scenario']}/seed {rec['seed']}")

        for rec in in_workers(run_episode, todo, workers):
            keep(rec)
    progress.close()
    return [records[task_key(t)] for t in tasks], reused


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the evaluation; return the exit code (0 ok, 1 no scenario could run, 2 bad
    arguments)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parse(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    if any(scenario_preset(s).planner.startswith("lexicon") for s in args.scenarios):
        from moral_compass_ros.sim import LexiconUnavailable, ensure_emfd

        try:
            ensure_emfd()
        except LexiconUnavailable as err:
            sys.stderr.write(f"eval: skipping the lexicon scenarios: {err}\n")
            args.scenarios = [
                s for s in args.scenarios if not scenario_preset(s).planner.startswith("lexicon")
            ]
            if not args.scenarios:
                sys.stderr.write("eval: no scenario left to run\n")
                return 1
    # seed-major order: complete seeds finish first, so a partial episodes.jsonl is usable
    tasks = [
        {
            "method": m,
            "scenario": s,
            "seed": seed,
            "n_answers": args.answers,
            "learner": args.learner,
        }
        for seed in seeds
        for s in args.scenarios
        for m in args.methods
        if applicable(m, s)
    ]
    # the command that reproduces the figures: --resume only reuses identical (seeded) episodes
    command = "moral-compass eval " + " ".join(shlex.quote(a) for a in argv if a != "--resume")
    started = time.monotonic()
    pretrained = pretrain_models(tasks, args.workers, out, args.resume)
    sys.stderr.write(
        f"eval: {len(tasks)} episodes ({len(args.methods)} methods x "
        f"{len(args.scenarios)} scenarios x {len(seeds)} seeds) on {args.workers} "
        f"worker(s) -> {out}\n"
    )
    records, reused = run_tasks(tasks, args.workers, out / "episodes.jsonl", args.resume)
    wall_s = time.monotonic() - started
    metrics = compute_metrics(records)
    scenario_settings = {}
    for name in args.scenarios:
        cfg = dataclasses.replace(scenario_preset(name), **scenario_overrides(name, args.answers))
        scenario_settings[name] = {
            **dataclasses.asdict(cfg),
            "fingerprints": split_scenario(name)[1],
            "drift_reference": drift_reference(cfg),
        }
    example_cfg = learner_config(scenario_preset(args.scenarios[0]), seeds[0], args.learner)
    document = {
        "command": command,
        "argv": argv,
        "git_commit": _git_commit(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "quick": bool(args.quick),
        "seeds": seeds,
        "methods": {m: ALL_METHODS[m] for m in args.methods},
        "scenarios": scenario_settings,
        "learner_config": {
            "overrides": args.learner,
            "example (first scenario, first seed; 'seed' = episode seed; information_mode, "
            "selection_rule and update_rule set per method)": example_cfg.to_dict(),
        },
        "workers": args.workers,
        "wall_time_s": wall_s,
        "pretrained_fingerprints": [
            {k: d[k] for k in ("scenario", "seed", "people", "answers", "gain")}
            for d in pretrained
        ],
        "host": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
        },
        "definitions": METRIC_DEFINITIONS,
        "metrics": metrics,
    }
    (out / "metrics.json").write_text(json.dumps(document, indent=1, allow_nan=False))
    plots = write_plots(
        records, out, args.methods, args.scenarios, np.random.default_rng(PLOT_BOOTSTRAP_SEED)
    )
    summary = summary_markdown(
        metrics, command, args.methods, args.scenarios, len(seeds), wall_s, reused, args.quick
    )
    (out / "summary.md").write_text(summary)
    sys.stderr.write(
        f"eval: done in {_format_duration(wall_s)}; {out / 'metrics.json'}, "
        f"{out / 'summary.md'}, {', '.join(p.name for p in plots)}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
