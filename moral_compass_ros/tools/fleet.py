# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""``moral-compass fleet``: N simulated robots, each with its own simulated people
(``doc/design.md`` §8).

    moral-compass fleet --robots N --out DIR [--mode batched|graph] [--answers T]
                        [--social-pull NU] [--seed S] [--particles K] [--scaling 10,100,1000]

Modes
-----
``batched`` (default; any N, thousands in one process)
    Every robot's compass is a weight vector on one shared support of K particles (drawn once
    from the Dirichlet prior), so the whole fleet is one (N, K) array and every step is
    vectorised across robots: each robot scores B candidate actions by its predicted approval
    Σ_k W_rk σ(β(τ − ‖θ_k − fp‖²)) (ε-greedy; β and τ the robots' fixed model), its own
    simulated person answers with the package's response model (:mod:`moral_compass_ros.sim`:
    P(approve) = σ(β_r(τ_r − ‖θ*_r − fp‖²)), with β_r, τ_r and the profile's concentration
    drawn per person as a scenario's people are, ``sim.draw_person_parameters``, so no person
    answers with the robots' β and τ; profiles by ``sim.draw_profile``), and the robot updates
    by Bayesian reweighting with forgetting, W ← W^γ · ℓ(y | θ, fp) normalised (a fixed
    response model and no moves: the learner that keeps a common support). Because the support is
    shared the average compass (the 1/N mixture) and social pull are *exact* on it:
    q̄ = mean of the rows, W ← q̄^κ W^(1−κ) (core.population). The fleet is run twice with the
    same seed — without and with social pull (``--social-pull NU``, default 1.0) — so the plots
    compare them. People drift: half of them move gradually to another dominant value between
    T/3 and 2T/3, so the average compass moves.
``graph`` (small N)
    Real node graphs over DDS on loopback: robot i runs the robot graph plus its simulated
    world (``sim_world_node`` with seed S + i) in namespace ``/robot_i`` (GraphRunner), and
    ``population_node`` runs in the root namespace; ``--social-pull NU`` turns on the pull in
    every compass_node. A probe records ``/population/status`` until every robot has applied T
    answers (or ``--timeout`` s pass).

Outputs in DIR
--------------
``fleet.json`` (configuration, every series plotted, timings, the exact command),
``average_compass.png`` (θ̄_t, the mean of the average compass, per value over time),
``drift.png`` (S_ε(q̄_t, q̄_{t−Δ})/Δ and the speed of the mean), ``social_pull.png``
(convergence — error of each robot's compass mean to its own person's values, and approval
rate — and diversity — mean S_ε(q^(i), q̄) — with vs without social pull; batched only), and
with ``--scaling``, ``cost_vs_n.png`` and ``cost_vs_n.md`` (seconds per step vs N).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import signal
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from moral_compass_ros.core.population import (
    average_weights,
    geometric_mixture,
    kappa_from_nu,
    shared_support_divergence,
)
from moral_compass_ros.sim import (
    MORAL_FOUNDATIONS,
    ScenarioConfig,
    draw_person_parameters,
    draw_profile,
)
from moral_compass_ros.tools.cli import description

#: Candidate actions per decision (the sim scenarios' default).
N_CANDIDATES = 6
#: The batched robots' fixed likelihood σ(β(τ − ‖θ − fp‖²)) (1 / squared distance; squared
#: distance): a reweighting learner's assumed response model. No person answers with it: each
#: draws their own β and τ (``PEOPLE``).
MODEL_BETA = 20.0
MODEL_TAU = 0.3
#: The population the fleet's people draw their β, τ and profile concentration from: a
#: scenario's default ranges (each person their own, from the seed's people stream).
PEOPLE = ScenarioConfig(name="fleet")
#: Exploration rate of the batched robots' ε-greedy choice.
EXPLORATION = 0.1
#: Forgetting factor γ of the batched robots' reweighting (half the people drift; the
#: learner's own default is γ = 1 with change points, which a shared support cannot hold).
FORGETTING = 0.95
#: Fraction of people whose values drift in the batched simulation.
DRIFT_FRACTION = 0.5
#: Solver controls of the metrics' S_ε (a metric, not a learning step: 1e-6 is plenty).
METRIC_SOLVER = {"tol": 1e-6, "max_iter": 2000}
#: Dominant value of the population's "culture" (care) and how often a person shares it.
CULTURE_SHARE = 0.5


@dataclass
class FleetConfig:
    """One batched fleet run (see the module docstring)."""

    robots: int = 100
    answers: int = 60
    particles: int = 128
    seed: int = 0
    nu: float = 1.0
    pull_every: int = 5
    metrics_every: int = 5
    epsilon: float = 0.05
    diversity_sample: int = 100000
    value_names: tuple = MORAL_FOUNDATIONS


@dataclass
class FleetRun:
    """Series of one batched run (index = metric snapshot, time in answers per robot)."""

    pull: bool
    t: list = field(default_factory=list)
    average_mean: list = field(default_factory=list)
    drift_rate: list = field(default_factory=list)
    mean_speed: list = field(default_factory=list)
    error: list = field(default_factory=list)
    approval: list = field(default_factory=list)
    diversity: list = field(default_factory=list)
    spread: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)
    unconverged: int = 0


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # σ(x), overflow-free


def _sq_dist(points: np.ndarray, fingerprints: np.ndarray) -> np.ndarray:
    """‖θ_k − fp_{rb}‖² for a shared support (K, M) and fingerprints (R, B, M) -> (R, B, K)."""
    return (
        np.sum(points**2, axis=1)[None, None, :]
        + np.sum(fingerprints**2, axis=2)[..., None]
        - 2.0 * fingerprints @ points.T
    )


def _profiles(
    rng: np.random.Generator, n: int, m: int, scales: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start and end profiles (n, M) and which people drift (n,) — all from ``rng``; start
    profiles with each person's concentration scale ``scales`` (n,)."""
    dominant = np.where(rng.uniform(size=n) < CULTURE_SHARE, 0, rng.integers(0, m, size=n))
    start = np.stack([draw_profile(rng, m, int(d), c) for d, c in zip(dominant, scales)])
    target = np.stack(
        [draw_profile(rng, m, int((d + 1 + rng.integers(0, m - 1)) % m)) for d in dominant]
    )
    drifts = rng.uniform(size=n) < DRIFT_FRACTION
    return start, target, drifts


def run_batched(config: FleetConfig, pull: bool) -> FleetRun:
    """Simulate the fleet for ``config.answers`` answers per robot, vectorised across robots.

    Parameters
    ----------
    config : FleetConfig
    pull : bool
        Apply social pull with κ = 2ν/(2ν+1) every ``pull_every`` answers.

    Returns
    -------
    FleetRun
        Same seed ⇒ same people, candidates and answers stream for both arms (the draws do not
        depend on the robots' choices), so the arms differ only by the pull.
    """
    r_n, k_n, m = config.robots, config.particles, len(config.value_names)
    world = np.random.default_rng([config.seed, 1])  # people and candidates
    choice = np.random.default_rng([config.seed, 2])  # exploration and answers
    support = np.random.default_rng([config.seed, 0]).dirichlet(np.ones(m), size=k_n)  # (K, M)
    people = np.random.default_rng([config.seed, 4])  # each person's β, τ and concentration
    drawn = [draw_person_parameters(people, PEOPLE) for _ in range(r_n)]
    beta = np.array([p.beta for p in drawn])  # β_r, (R,)
    tau = np.array([p.tau for p in drawn])  # τ_r, (R,)
    start, target, drifts = _profiles(world, r_n, m, [p.concentration_scale for p in drawn])
    weights = np.full((r_n, k_n), 1.0 / k_n)  # W: row r = robot r's compass on the support
    kappa = kappa_from_nu(config.nu)
    run = FleetRun(pull=pull, seconds={"step": 0.0, "pull": 0.0, "metrics": 0.0})
    previous_average = None
    approvals = np.zeros(r_n)
    # S_ε to the average for at most diversity_sample robots (a fixed seeded sample; default:
    # all): the shared-kernel Sinkhorn costs O(R K²) per iteration, a learning step O(R B K).
    sample = np.sort(
        np.random.default_rng([config.seed, 3]).permutation(r_n)[
            : min(r_n, config.diversity_sample)
        ]
    )
    t1, t2 = config.answers / 3.0, 2.0 * config.answers / 3.0
    for t in range(config.answers + 1):
        lam = np.clip((t - t1) / (t2 - t1), 0.0, 1.0) * drifts  # gradual drift per person
        truth = (1.0 - lam)[:, None] * start + lam[:, None] * target  # θ*_r(t), (R, M)
        if t % config.metrics_every == 0 or t == config.answers:
            tic = time.perf_counter()
            average = average_weights(weights)  # q̄_t = (1/N) Σ_r q^(r)
            mean = average @ support
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                diversity = shared_support_divergence(
                    support, average, weights[sample], config.epsilon, **METRIC_SOLVER
                )  # S_ε(q̄, q^(r)) for the sampled robots
                rate, speed = 0.0, 0.0
                if previous_average is not None:
                    dt = t - previous_average[0]
                    rate = (
                        float(
                            shared_support_divergence(
                                support,
                                average,
                                previous_average[1][None, :],
                                config.epsilon,
                                **METRIC_SOLVER,
                            )[0]
                        )
                        / dt
                    )
                    speed = float(np.linalg.norm(mean - previous_average[1] @ support)) / dt
            run.unconverged += len(caught)
            previous_average = (t, average)
            run.t.append(t)
            run.average_mean.append(mean.tolist())
            run.drift_rate.append(max(rate, 0.0))
            run.mean_speed.append(speed)
            run.error.append(float(np.mean(np.sum((weights @ support - truth) ** 2, axis=1))))
            run.approval.append(float(approvals.mean() / max(t, 1)))
            run.diversity.append(float(np.mean(np.maximum(diversity, 0.0))))
            run.spread.append(float(np.mean(np.sum((weights @ support - mean) ** 2, axis=1))))
            run.seconds["metrics"] += time.perf_counter() - tic
        if t == config.answers:
            break
        tic = time.perf_counter()
        fingerprints = world.dirichlet(np.ones(m), size=(r_n, N_CANDIDATES))  # (R, B, M)
        likelihood = _sigmoid(MODEL_BETA * (MODEL_TAU - _sq_dist(support, fingerprints)))
        predicted = np.einsum("rk,rbk->rb", weights, likelihood)  # ŷ_rb = Σ_k W_rk ℓ(1|θ_k, fp)
        chosen = np.argmax(predicted, axis=1)
        explore = choice.uniform(size=r_n) < EXPLORATION
        chosen = np.where(explore, choice.integers(0, N_CANDIDATES, size=r_n), chosen)
        rows = np.arange(r_n)
        fp = fingerprints[rows, chosen]  # (R, M)
        p_true = _sigmoid(beta * (tau - np.sum((truth - fp) ** 2, axis=1)))
        approved = choice.uniform(size=r_n) < p_true  # y_r ~ Bernoulli(σ(β_r(τ_r − ‖θ*_r − fp‖²)))
        approvals += p_true
        ell = likelihood[rows, chosen]  # ℓ(1 | θ_k, fp_r), (R, K)
        ell = np.where(approved[:, None], ell, 1.0 - ell)
        log_w = FORGETTING * np.log(np.maximum(weights, 1e-300)) + np.log(np.maximum(ell, 1e-300))
        log_w -= log_w.max(axis=1, keepdims=True)  # W ← W^γ ℓ(y|θ, fp), normalised
        weights = np.exp(log_w)
        weights /= weights.sum(axis=1, keepdims=True)
        run.seconds["step"] += time.perf_counter() - tic
        if pull and (t + 1) % config.pull_every == 0:
            tic = time.perf_counter()
            weights = geometric_mixture(average_weights(weights), weights, kappa)
            run.seconds["pull"] += time.perf_counter() - tic
    return run


def scaling(sizes: Sequence[int], answers: int, particles: int, seed: int) -> list[dict]:
    """Seconds per answer-step (all robots), per pull and per metrics snapshot vs N."""
    rows = []
    for n in sizes:
        config = FleetConfig(
            robots=int(n),
            answers=answers,
            particles=particles,
            seed=seed,
            pull_every=5,
            metrics_every=5,
        )
        tic = time.perf_counter()
        run = run_batched(config, pull=True)
        total = time.perf_counter() - tic
        n_pulls = answers // config.pull_every
        n_metrics = len(run.t)
        rows.append(
            {
                "robots": int(n),
                "answers": answers,
                "particles": particles,
                "total_s": total,
                "step_ms": 1e3 * run.seconds["step"] / answers,
                "pull_ms": 1e3 * run.seconds["pull"] / max(n_pulls, 1),
                "metrics_ms": 1e3 * run.seconds["metrics"] / n_metrics,
                "per_robot_answer_us": 1e6 * total / (n * answers),
            }
        )
    return rows


# ----------------------------------------------------------------------------- graph mode
def run_graph(
    robots: int,
    answers: int,
    nu: Optional[float],
    seed: int,
    out: Path,
    timeout_s: float,
    particles: int = 64,
) -> dict:
    """Real namespaced node graphs + population_node over loopback DDS; returns the series."""
    import rclpy
    from rclpy.signals import SignalHandlerOptions
    import rclpy.node
    import yaml
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor

    from moral_compass_ros import topics
    from moral_compass_ros.graph import GRAPH_NODES, SIM_NODES, GraphRunner, config_file
    from moral_compass_ros.msg import MoralCompass, PopulationCompass
    from moral_compass_ros.nodes.population_node import POPULATION_NODE
    from moral_compass_ros.qos import STATE_QOS

    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("ROS_DOMAIN_ID", str(os.getpid() % 90 + 5))
    params = yaml.safe_load(config_file().read_text())
    params["/**"]["ros__parameters"].update(n_particles=particles, n_fingerprint_samples=16)
    params_path = out / "graph_params.yaml"
    params_path.write_text(yaml.safe_dump(params))
    names = [f"robot_{i + 1}" for i in range(robots)]
    runners = []
    series: dict = {
        "t": [],
        "average_mean": [],
        "drift_rate": [],
        "mean_speed": [],
        "diversity": [],
        "applied": [],
        "robots": names,
    }
    # Ctrl-C must stop the tool even when it was started with SIGINT ignored (a background
    # job of a non-interactive shell passes SIG_IGN on, and Python keeps it).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    context = Context()
    rclpy.init(
        context=context,
        domain_id=int(os.environ["ROS_DOMAIN_ID"]),
        signal_handler_options=SignalHandlerOptions.NO,
    )  # Ctrl-C -> KeyboardInterrupt
    probe = rclpy.node.Node("fleet_probe", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(probe)
    applied = {name: 0 for name in names}

    def on_compass(name, msg):
        applied[name] = max(applied[name], int(msg.applied_events))

    def on_status(msg):
        series["t"].append(time.monotonic() - started)
        series["average_mean"].append(list(msg.average.mean))
        series["drift_rate"].append(float(msg.drift_rate))
        series["mean_speed"].append(float(msg.mean_speed))
        series["diversity"].append(float(msg.diversity))
        series["applied"].append(dict(applied))

    for name in names:
        probe.create_subscription(
            MoralCompass,
            f"/{name}/{topics.COMPASS}",
            lambda msg, n=name: on_compass(n, msg),
            STATE_QOS,
        )
    probe.create_subscription(
        PopulationCompass, "/" + topics.POPULATION_STATUS, on_status, STATE_QOS
    )
    started = time.monotonic()
    try:
        for i, name in enumerate(names):
            runner = GraphRunner(
                GRAPH_NODES + SIM_NODES,
                namespace=name,
                params_files=[params_path],
                log_dir=out / "logs" / name,
            )
            runner.start(
                node_overrides={
                    "compass_node": {
                        "state_dir": str(out / "state" / name),
                        "social_pull_enabled": nu is not None,
                        "social_pull_nu": float(nu if nu is not None else 1.0),
                        "social_pull_period_s": 2.0,
                    },
                    "sim_world_node": {
                        "sim_seed": seed + i + 1,
                        "n_answers": answers,
                        "scenario": "gradual_drift" if i % 2 else "fixed_profile",
                    },
                }
            )
            runners.append(runner)
        population = GraphRunner(
            [POPULATION_NODE],
            params_files=[config_file("population_node.yaml")],
            log_dir=out / "logs" / "population",
            overrides={
                "robots": names,
                "publish_period_s": 1.0,
                "cost": params["/**"]["ros__parameters"].get("cost", "sqeuclidean"),
            },
        )
        population.start()
        runners.append(population)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and min(applied.values()) < answers:
            executor.spin_once(timeout_sec=0.1)
            dead = {k: v for r in runners for k, v in r.dead().items()}
            if dead:
                raise RuntimeError(f"graph nodes exited: {dead} (logs in {out / 'logs'})")
        end = time.monotonic() + 3.0
        while time.monotonic() < end:  # one more publication after the last answer
            executor.spin_once(timeout_sec=0.1)
    finally:
        for runner in runners:
            runner.stop()
        executor.shutdown()
        probe.destroy_node()
        rclpy.try_shutdown(context=context)
    series["complete"] = min(applied.values()) >= answers
    series["wall_s"] = time.monotonic() - started
    return series


# ----------------------------------------------------------------------------- plots
def _plot_average(path: Path, t, means: dict, names, xlabel: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(means), figsize=(5.5 * len(means), 3.8), squeeze=False)
    for ax, (label, mean) in zip(axes[0], means.items()):
        mean = np.asarray(mean)
        if mean.size:
            ax.stackplot(t, mean.T, labels=names)
        ax.set_title(f"average compass mean θ̄_t ({label})")
        ax.set_xlabel(xlabel)
        ax.set_ylim(0, 1)
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_drift(path: Path, t, runs: dict, xlabel: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.8))
    for label, run in runs.items():
        a.plot(t[1:], run["drift_rate"][1:], label=label)
        b.plot(t[1:], run["mean_speed"][1:], label=label)
    a.set_title("drift of the average: S_ε(q̄_t, q̄_{t−Δ}) / Δ")
    b.set_title("speed of the mean ‖θ̄_t − θ̄_{t−Δ}‖ / Δ")
    for ax in (a, b):
        ax.set_xlabel(xlabel)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_pull(path: Path, runs: dict, xlabel: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    for label, run in runs.items():
        axes[0].plot(run["t"], run["error"], label=label)
        axes[1].plot(run["t"], run["approval"], label=label)
        axes[2].plot(run["t"], run["diversity"], label=label)
    axes[0].set_title("convergence: mean ‖E_q(i)[θ] − θ*_i‖²")
    axes[1].set_title("approval rate so far (mean P(approve))")
    axes[2].set_title("diversity: mean S_ε(q^(i), q̄)")
    for ax in axes:
        ax.set_xlabel(xlabel)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_cost(path: Path, rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [r["robots"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in (
        ("step_ms", "answer step (all robots)"),
        ("pull_ms", "social pull"),
        ("metrics_ms", "metrics (S_ε to q̄ for every robot)"),
    ):
        ax.loglog(n, [r[key] for r in rows], "o-", label=label)
    ax.set_xlabel("robots N")
    ax.set_ylabel("ms")
    ax.set_title("batched fleet: cost vs N")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _cost_table(rows: list[dict], command: str) -> str:
    lines = [
        f"`{command}` ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)",
        "",
        "| robots N | answer step (ms) | social pull (ms) | metrics snapshot (ms) | "
        "µs per robot-answer | total (s) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['robots']} | {r['step_ms']:.2f} | {r['pull_ms']:.3f} | "
            f"{r['metrics_ms']:.1f} | {r['per_robot_answer_us']:.1f} | "
            f"{r['total_s']:.2f} |"
        )
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- CLI
def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="moral-compass fleet",
        description=description(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--robots", type=int, required=True, help="number of robots N (>= 1)")
    parser.add_argument(
        "--mode",
        choices=("batched", "graph"),
        default="batched",
        help="batched: every robot in one vectorised simulation (fast, up to "
        "thousands); graph: real namespaced node graphs over DDS (slow, a few)",
    )
    parser.add_argument("--answers", type=int, default=60, help="answers per robot T")
    parser.add_argument(
        "--social-pull",
        type=float,
        default=None,
        metavar="NU",
        help="ν of the social pull (κ = 2ν/(2ν+1)); batched: the 'with' arm "
        "(default 1.0); graph: enables the pull in every compass_node",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the simulated people (default 0)"
    )
    parser.add_argument(
        "--particles",
        type=int,
        default=None,
        help="particles K per compass (batched default 128, graph 64)",
    )
    parser.add_argument(
        "--scaling",
        default="",
        help="batched: also time N in this comma list (e.g. 10,100,1000,3000)",
    )
    parser.add_argument(
        "--scaling-answers",
        type=int,
        default=20,
        help="answers per robot in each --scaling run (default 20)",
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="graph mode limit (s)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args(list(argv))
    if args.robots < 1 or args.answers < 1:
        parser.error("--robots and --answers must be >= 1")
    if args.social_pull is not None and not args.social_pull >= 0:
        parser.error("--social-pull must be >= 0")
    if args.mode == "graph" and args.robots > 8:
        parser.error(
            "graph mode starts 5 processes per robot: use --robots <= 8 (or --mode batched)"
        )
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fleet simulation; return the exit code."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    command = "moral-compass fleet " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    result: dict = {
        "command": command,
        "mode": args.mode,
        "robots": args.robots,
        "answers": args.answers,
        "seed": args.seed,
        "value_names": list(MORAL_FOUNDATIONS),
    }
    names = list(MORAL_FOUNDATIONS)
    tic = time.perf_counter()
    if args.mode == "batched":
        nu = 1.0 if args.social_pull is None else args.social_pull
        config = FleetConfig(
            robots=args.robots,
            answers=args.answers,
            seed=args.seed,
            nu=nu,
            particles=args.particles or 128,
        )
        runs = {
            "without pull": asdict(run_batched(config, pull=False)),
            f"with pull (ν={nu:g}, κ={kappa_from_nu(nu):.2f})": asdict(
                run_batched(config, pull=True)
            ),
        }
        result.update(
            config={
                k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()
            },
            kappa=kappa_from_nu(nu),
            runs=runs,
        )
        t = next(iter(runs.values()))["t"]
        _plot_average(
            out / "average_compass.png",
            t,
            {k: v["average_mean"] for k, v in runs.items()},
            names,
            "answers per robot",
        )
        _plot_drift(out / "drift.png", t, runs, "answers per robot")
        _plot_pull(out / "social_pull.png", runs, "answers per robot")
        if args.scaling:
            sizes = [int(s) for s in args.scaling.split(",") if s.strip()]
            rows = scaling(sizes, args.scaling_answers, args.particles or 128, args.seed)
            result["scaling"] = rows
            _plot_cost(out / "cost_vs_n.png", rows)
            (out / "cost_vs_n.md").write_text(_cost_table(rows, command))
            sys.stdout.write(_cost_table(rows, command))
        for label, run in runs.items():
            sys.stdout.write(
                f"{label}: final error {run['error'][-1]:.4f}, diversity "
                f"{run['diversity'][-1]:.4f}, approval {run['approval'][-1]:.3f}; "
                f"{sum(run['seconds'].values()):.2f} s\n"
            )
    else:
        series = run_graph(
            args.robots,
            args.answers,
            args.social_pull,
            args.seed,
            out,
            args.timeout,
            args.particles or 64,
        )
        result.update(social_pull_nu=args.social_pull, graph=series)
        label = "graph" + ("" if args.social_pull is None else f", pull ν={args.social_pull:g}")
        _plot_average(
            out / "average_compass.png",
            series["t"],
            {label: series["average_mean"]},
            names,
            "seconds",
        )
        _plot_drift(out / "drift.png", series["t"], {label: series}, "seconds")
        sys.stdout.write(
            f"{len(series['t'])} population averages in {series['wall_s']:.0f} s; "
            f"every robot answered {args.answers}: {series['complete']}\n"
        )
    result["wall_s"] = time.perf_counter() - tic
    (out / "fleet.json").write_text(json.dumps(result, indent=1))
    sys.stdout.write(f"wrote {out}/fleet.json and plots\n")
    if args.mode == "graph" and not result["graph"]["complete"]:
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
