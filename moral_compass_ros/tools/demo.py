# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""``moral-compass demo``: the full node graph with a simulated planner and simulated people.

Starts compass_node, action_selector_node and feedback_node (the robot graph) plus
sim_world_node over real DDS on loopback, shows live progress, and leaves under
``runs/<timestamp>/`` (and ``runs/latest``): the bag of every topic, ``params.yaml``,
``truth.jsonl`` (the simulator's hidden truth), ``metrics.json``, ``report.html`` with plots,
and each node's log under ``logs/``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import yaml

from moral_compass_ros import topics
from moral_compass_ros.graph import (
    GRAPH_NODES,
    SIM_NODES,
    GraphRunner,
    config_file,
    node_parameters,
)
from moral_compass_ros.sim import SCENARIO_NAMES
from moral_compass_ros.tools.cli import description


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="moral-compass demo", description=description(__doc__))
    parser.add_argument(
        "--scenario",
        default="fixed_profile",
        choices=SCENARIO_NAMES,
        help="simulated scenario (default: fixed_profile, one person)",
    )
    parser.add_argument(
        "--fingerprints",
        choices=("library", "hints", "learned"),
        default="library",
        help="where fingerprints come from: the fingerprint library "
        "config/fingerprint_library.yaml (default), the planner's value hints, or "
        "only the learned network",
    )
    parser.add_argument(
        "--answers", type=int, default=60, help="answers in the episode (default 60)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the simulated world")
    parser.add_argument(
        "--duration",
        type=float,
        default=240.0,
        help="stop after this many seconds even if answers remain (default 240)",
    )
    parser.add_argument(
        "--answer-via",
        choices=("joy", "topic"),
        default="topic",
        help="how simulated people answer (joy: gamepad presses, one operator)",
    )
    parser.add_argument(
        "--runs-dir", type=Path, default=Path("runs"), help="where run folders go (default ./runs)"
    )
    parser.add_argument(
        "--params",
        type=Path,
        default=None,
        help="parameter YAML (default: the package's config/moral_compass.yaml)",
    )
    parser.add_argument("--no-bag", action="store_true", help="do not record a bag")
    return parser.parse_args(argv)


def _make_run_dir(runs_dir: Path) -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = runs_dir / stamp
    suffix = 1
    while run_dir.exists():
        run_dir = runs_dir / f"{stamp}-{suffix}"
        suffix += 1
    run_dir.mkdir(parents=True)
    latest = runs_dir / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(run_dir.name)
    return run_dir


def _read_truth(path: Path) -> list[dict]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            break  # the writer is mid-line
    return rows


def _progress_line(rows: list[dict], total: int, monitor) -> str:
    answered = [r for r in rows if r["approved"] is not None]
    recent = answered[-10:]
    rate = (sum(r["approved"] for r in recent) / len(recent)) if recent else float("nan")
    ratio = [r["p_approve_selected"] / max(r["p_approve_oracle"], 1e-9) for r in rows[-10:]]
    mean = monitor.compass_mean()
    names = monitor.value_names()
    compass = (
        " ".join(f"{n[:4]} {m:.2f}" for n, m in zip(names, mean)) if mean is not None else "-"
    )
    return (
        f"answers {len(rows):3d}/{total} | approval (last 10) {rate:5.0%} | "
        f"vs oracle {(sum(ratio) / len(ratio)) if ratio else float('nan'):5.0%} | "
        f"compass v{monitor.version()} {compass}"
    )


def _wait_for_acknowledgements(monitor, timeout_s: float) -> None:
    """Let the last answers reach the compass before stopping the graph."""
    time.sleep(0.5)
    deadline = time.monotonic() + timeout_s
    while monitor.unacknowledged() and time.monotonic() < deadline:
        time.sleep(0.2)
    if monitor.unacknowledged():
        print(
            f"demo: {monitor.unacknowledged()} answer(s) still unacknowledged after "
            f"{timeout_s:.0f} s"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the exit code."""
    args = _parse(list(sys.argv[1:] if argv is None else argv))
    if (
        os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") != "LOCALHOST"
        or "ROS_DOMAIN_ID" not in os.environ
    ):
        sys.stderr.write(
            "demo: source scripts/env.sh first (DDS must stay on loopback with a "
            "domain id of its own)\n"
        )
        return 2
    # rclpy and the monitor are imported here so `--help` works without a built workspace.
    import rclpy
    from rclpy.signals import SignalHandlerOptions
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor

    from moral_compass_ros.tools.monitor import GraphMonitor
    from moral_compass_ros.tools.report import write_report

    run_dir = _make_run_dir(args.runs_dir)
    params_file = args.params or config_file()
    params = yaml.safe_load(Path(params_file).read_text())
    sim_params = yaml.safe_load(config_file("sim_world.yaml").read_text())
    state_dir = run_dir / "state"
    truth_path = run_dir / "truth.jsonl"
    overrides = {
        "scenario": args.scenario,
        "sim_seed": args.seed,
        "n_answers": args.answers,
        "answer_via": args.answer_via,
        "truth_log": str(truth_path.resolve()),
        # with a bag: the first request waits for the recorder too, and a moment more
        # (discovery is asymmetric), so the bag holds every candidate set
        "min_candidate_subscribers": 1 if args.no_bag else 2,
        "first_request_delay_s": 0.0 if args.no_bag else 1.0,
    }
    overrides["send_hints"] = args.fingerprints == "hints"
    node_parameters(sim_params, "sim_world_node").update(overrides)
    if args.fingerprints == "library":
        node_parameters(params, "action_selector_node")["fingerprint_library"] = str(
            config_file("fingerprint_library.yaml").resolve()
        )
    compass_params = node_parameters(params, "compass_node")
    compass_params["state_dir"] = str(state_dir.resolve())
    compass_params["per_operator_models"] = True  # the report shows the operators' disagreement
    (run_dir / "params.yaml").write_text(yaml.safe_dump({**params, **sim_params}, sort_keys=False))
    print(f"demo: run folder {run_dir} (domain {os.environ['ROS_DOMAIN_ID']}, loopback only)")
    print(
        f"demo: scenario {args.scenario}, fingerprints from {args.fingerprints}, {args.answers} "
        f"answers, "
        f"at most {args.duration:.0f} s"
    )

    runner = GraphRunner(
        GRAPH_NODES + SIM_NODES, params_files=[run_dir / "params.yaml"], log_dir=run_dir / "logs"
    )
    # Ctrl-C must stop the tool even when it was started with SIGINT ignored (a background
    # job of a non-interactive shell passes SIG_IGN on, and Python keeps it).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    context = Context()
    rclpy.init(
        context=context,
        domain_id=int(os.environ["ROS_DOMAIN_ID"]),
        signal_handler_options=SignalHandlerOptions.NO,
    )  # Ctrl-C -> KeyboardInterrupt
    monitor = GraphMonitor(context=context, bag_path=None if args.no_bag else run_dir / "bag")
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(monitor)
    spin_thread = threading.Thread(target=executor.spin, daemon=True)
    spin_thread.start()
    started = time.monotonic()
    exit_code = 0
    try:
        print(
            f"demo: starting {', '.join(n.executable for n in GRAPH_NODES)} (loading torch and "
            f"compiling "
            "the solver takes a few seconds)",
            flush=True,
        )
        for node in GRAPH_NODES:
            runner.start_node(node)
        # The world starts once the monitor holds the prior compass (version 0) and hears the
        # selector: latched topics keep only their newest value, so a recorder that matched
        # after the first update would start the bag at version 1 and replay could not start
        # from the prior. The simulated planner also waits for the recorder on its own topics.
        deadline = time.monotonic() + 60.0
        last_print = time.monotonic()
        while (
            time.monotonic() < deadline
            and not runner.dead()
            and not (monitor.version() >= 0 and monitor.count_publishers(topics.SELECTION) > 0)
        ):
            time.sleep(0.05)
            if time.monotonic() - last_print >= 2.0:
                print(
                    f"demo: waiting for the nodes ({time.monotonic() - started:.0f} s)", flush=True
                )
                last_print = time.monotonic()
        print(
            f"demo: nodes up after {time.monotonic() - started:.0f} s; starting the simulated "
            f"world "
            f"({', '.join(n.executable for n in SIM_NODES)})",
            flush=True,
        )
        for node in SIM_NODES:
            runner.start_node(node)
        last_print = 0.0
        while context.ok():  # rclpy's SIGINT handler shuts the context down on Ctrl-C
            time.sleep(0.25)
            rows = _read_truth(truth_path)
            dead = runner.dead()
            if dead:
                print(f"demo: node(s) exited early: {dead}; see {run_dir / 'logs'}")
                exit_code = 1
                break
            now = time.monotonic()
            if now - last_print >= 2.0:
                print(
                    _progress_line(rows, args.answers, monitor)
                    if rows
                    else "demo: waiting for the first decision and answer",
                    flush=True,
                )
                last_print = now
            if rows and rows[-1].get("done"):
                _wait_for_acknowledgements(monitor, timeout_s=60.0)
                break
            if now - started > args.duration:
                print(f"demo: time limit {args.duration:.0f} s reached")
                break
    except KeyboardInterrupt:
        print("demo: interrupted; writing the report of what ran")
    finally:
        codes = runner.stop()
        monitor.close()
        executor.shutdown()
        spin_thread.join(timeout=10)  # out of rclpy before the node and context go away
        monitor.destroy_node()
        rclpy.try_shutdown(context=context)
    rows = _read_truth(truth_path)
    print(_progress_line(rows, args.answers, monitor))
    report = write_report(
        run_dir,
        monitor.collected(),
        rows,
        params_file=run_dir / "params.yaml",
        node_exit_codes=codes,
    )
    print(f"demo: {len(rows)} answers, wall {time.monotonic() - started:.0f} s")
    print(f"demo: verdict: {json.loads((run_dir / 'metrics.json').read_text())['verdict']}")
    print(f"demo: report  {report}")
    print(f"demo: metrics {run_dir / 'metrics.json'}")
    if not rows:
        print("demo: no answer was exchanged; see the node logs")
        exit_code = 1
    return exit_code


if __name__ == "__main__":
    raise SystemExit(main())
