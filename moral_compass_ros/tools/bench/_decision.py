# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The in-process measurements of ``moral-compass bench``: decisions, their parts, POT, the exp
bound, updates."""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from moral_compass_ros.core import DynamicValueLearner
from moral_compass_ros.core.config import LearnerConfig
from moral_compass_ros.core.events import FeedbackEvent
from moral_compass_ros.core.profiling import Profile

#: Marginal tolerance of the POT reference that checks the decision's values (float64 check).
REFERENCE_TOL = 1e-9

#: Re-plans per decision and e2e measurement (the p99s need a few hundred to be stable).
DEFAULT_REPEATS = 200

#: Idle time between two re-plans in the e2e run and the paced decision (a 50 Hz planner's gap).
REPLAN_PAUSE_S = 0.02


def _pct(values, q) -> float:
    return (
        float(np.percentile(np.asarray(values, dtype=np.float64), q))
        if len(values)
        else float("nan")
    )


def shipped_config(**overrides) -> LearnerConfig:
    """The learner config of the shipped ``moral_compass.yaml`` (what the nodes run),
    overridden."""
    import dataclasses

    import yaml

    from moral_compass_ros.graph import config_file

    shared = yaml.safe_load(config_file().read_text())["/**"]["ros__parameters"]
    names = {f.name for f in dataclasses.fields(LearnerConfig)}
    values = {
        key: (tuple(v) if isinstance(v, list) else v) for key, v in shared.items() if key in names
    }
    values.update(overrides)
    return LearnerConfig(**values)


def _progress(text: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {text}\n")
    sys.stderr.flush()


def _learner(
    n: int, k: int, threads: int, seed: int = 7, updates: int = 3, **overrides
) -> DynamicValueLearner:
    """A learner at N particles, K samples, after a few updates (a compass that is not the
    prior)."""
    cfg = shipped_config(n_particles=n, n_fingerprint_samples=k, seed=seed, **overrides)
    learner = DynamicValueLearner(cfg)
    for event in _warm_events(cfg, seed, updates):
        learner.update(event)
    return learner


def _warm_events(cfg: LearnerConfig, seed: int, updates: int) -> list[FeedbackEvent]:
    """The answers that take a bench learner from the prior to the compass it is measured on."""
    rng = np.random.default_rng(seed)
    return [_event(cfg, rng, f"warm-{i}") for i in range(updates)]


def _event(cfg: LearnerConfig, rng, fid: str) -> FeedbackEvent:
    return FeedbackEvent(
        feedback_id=fid,
        action_id=fid,
        features=rng.normal(size=cfg.feature_dim),
        context=rng.normal(size=cfg.context_dim),
        approved=bool(rng.integers(2)),
    )


def _requests(cfg: LearnerConfig, b: int, count: int, seed: int = 11, drift: float = 0.02):
    """``count`` re-plans of B candidates: features and planner rewards drift by ``drift`` per
    request; rewards spread like the simulated planner's (mean 1, std 0.5 across candidates,
    each estimate ±0.5)."""
    rng = np.random.default_rng(seed)
    phi = rng.normal(size=(b, cfg.feature_dim))
    reward = rng.normal(1.0, 0.5, size=b)
    context = rng.normal(size=cfg.context_dim)
    out = []
    for _ in range(count):
        phi = phi + drift * rng.normal(size=phi.shape)
        reward = reward + drift * rng.normal(size=b)
        out.append((phi.copy(), context.copy(), reward.copy(), np.full(b, 0.5)))
    return out


def _reset_warm_start(learner) -> None:
    reset = getattr(learner, "reset_warm_start", None)
    if reset is not None:
        reset()


#: The parts of a decision its profiling hook times (kernel path; ``core/profiling.py``).
BREAKDOWN_PARTS = ("sampling_ms", "kernel_ms", "cross_ms", "self_ms")


def measure_decision(
    learner,
    b: int,
    repeats: int,
    cold: bool = False,
    solved: list | None = None,
    breakdown: list | None = None,
    pause_s: float = 0.0,
    method: str = "auto",
) -> list[float]:
    """Wall-clock ms of ``learner.score(..., method=method)`` per re-plan (first call discarded
    as warm-up); ``solved`` collects the fraction of candidates whose S_ε was computed (not
    pruned), ``breakdown`` each decision's profile (where the time went, iterations);
    ``pause_s`` idles that long before each re-plan."""
    times = []
    for i, (phi, s, rm, rs) in enumerate(_requests(learner.config, b, repeats + 1)):
        if cold:
            _reset_warm_start(learner)
        if pause_s:
            time.sleep(pause_s)
        profile = Profile() if breakdown is not None else None
        t0 = time.perf_counter()
        scores = learner.score(phi, s, rm, rs, method=method, profile=profile)
        if i:
            times.append((time.perf_counter() - t0) * 1e3)
            if solved is not None:
                solved.append(1.0 - float(np.mean(scores.alignment_is_bound)))
            if breakdown is not None:
                breakdown.append(profile.info)
    return times


def decision_breakdown(times: list[float], infos: list[dict], b: int, n: int, k: int) -> dict:
    """Medians of where a decision's time went, the rest (``other_ms``: fingerprint model,
    likelihoods, information gain, task term, conversions) as total − parts per decision, and
    the iteration cost: ``cross_ns_per_entry_iteration`` = cross time / (mean iterations ·
    B·N·K), one pass over a kernel entry with its two multiply-adds. Empty off the kernel path."""
    if not infos or any(part not in info for info in infos for part in BREAKDOWN_PARTS):
        return {}
    parts = {part: _pct([info[part] for info in infos], 50) for part in BREAKDOWN_PARTS}
    parts["other_ms"] = _pct(
        [t - sum(info[p] for p in BREAKDOWN_PARTS) for t, info in zip(times, infos)], 50
    )
    iterations = float(np.mean([info["iterations_cross_mean"] for info in infos]))
    per_entry = np.median(
        [info["cross_ms"] / (info["iterations_cross_mean"] * b * n * k) for info in infos]
    )
    return {
        "decision_breakdown_ms": parts,
        "iterations_cross_mean": iterations,
        "cross_ns_per_entry_iteration": float(per_entry) * 1e6,
    }


def pot_loop_alignment(learner, phi, s, rm, rs, tol: float) -> tuple[np.ndarray, float]:
    """−S_ε per candidate by POT one candidate at a time (numpy, float64) at marginal tolerance
    ``tol``; returns (alignment, ms)."""
    import ot

    cfg = learner.config
    samples = learner.fingerprint_samples(phi, s)  # the same K samples score() uses
    theta = np.array(learner.compass.particles, dtype=np.float64)
    w = np.array(learner.compass.weights, dtype=np.float64)
    kw = dict(reg=cfg.epsilon, reg_type="KL", max_iter=100000, tol=tol)

    def cost(x, y):
        if cfg.cost == "hellinger":
            x, y = np.sqrt(x), np.sqrt(y)
        return ot.dist(x, y, metric="sqeuclidean")

    t0 = time.perf_counter()
    ot_qq = float(ot.solve(cost(theta, theta), w, w, **kw).value)
    values = []
    for y in samples:
        u = np.full(len(y), 1.0 / len(y))
        ot_qb = float(ot.solve(cost(theta, y), w, u, **kw).value)
        ot_bb = float(ot.solve(cost(y, y), u, u, **kw).value)
        values.append(ot_qb - 0.5 * ot_qq - 0.5 * ot_bb)
    ms = (time.perf_counter() - t0) * 1e3
    return -np.array(values), ms


def exp_throughput_ns(dtype=torch.float64, n: int = 1 << 21, repeats: int = 15) -> float:
    """Median ns per exp of ``torch.exp`` on a large tensor of ``dtype`` (the precision the
    decision ran in; current thread count)."""
    x = -torch.rand(n, dtype=dtype) * 40.0
    out = torch.empty_like(x)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.exp(x, out=out)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) / n * 1e9


def kernel_exp_count(b: int, n: int, k: int) -> int:
    """Exponentials a kernel-domain S_ε needs: one per entry of exp(−C/ε), cross and self."""
    return b * n * k + b * k * k


def measure_update(learner, repeats: int) -> list[float]:
    rng = np.random.default_rng(99)
    times = []
    for i in range(repeats):
        event = _event(learner.config, rng, f"bench-{i}")
        t0 = time.perf_counter()
        learner.update(event)
        times.append((time.perf_counter() - t0) * 1e3)
    return times
