# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""``moral-compass bench``: how fast a decision and an update are, against POT and the exp bound.

    moral-compass bench --out FILE.json [--quick] [--threads 1|2] [--repeats N]

writes FILE.json and the figures FILE.png.

Measures in one run (medians and p99 over repeats):

* ``decision_ms_p50/p99`` — Step 1 (:meth:`DynamicValueLearner.score`: alignment = −S_ε,
  information gain, task term, for every candidate) at B = 64, N = 512, K = 64, M = 5, exactly as
  the selector calls it. Each repeat is a re-plan: the candidate features drift a little from
  the previous request (same compass version), so warm starts are what a robot would get.
  ``decision_cold_ms_p50`` is the same with every warm start dropped. ``decision_breakdown_ms``:
  where the median decision's time goes (Dirichlet sampling, forming the kernels, the cross and
  self iterations, the rest), with ``iterations_cross_mean`` and ``cross_ns_per_entry_iteration``.
  ``decision_paced_ms_p50/p99``: the same re-plans with the e2e run's idle time between them
  (``REPLAN_PAUSE_S``), as a selector answering a planner sees them: a decision that starts on
  a core that has just been idle is slower than one back to back.
* ``pot_loop_ms_p50`` — the same alignment values computed with POT one candidate at a time
  (numpy, ``ot.solve(C, a, b, reg=ε, reg_type="KL")``, the full entropic objective — POT's
  ``empirical_sinkhorn_divergence`` returns the linear part, which is a different number),
  same ε and tolerance (``scoring_tol``); OT_ε(q, q) once, OT_ε(β, β) and OT_ε(q, β) per
  candidate; ``speedup_vs_pot``. ``max_abs_diff_vs_pot`` (also relative to max |S_ε|):
  against POT converged to 1e-9 (``pot_reference_tol``), the float64 check of the float32 path;
  ``max_abs_diff_vs_pot_same_tol``: against the timed POT loop (POT's value at a loose
  tolerance is a primal value on a not-quite-feasible plan, first order in its marginal error,
  so that difference is mostly POT's).
* ``decision_pruned_ms_p50/p99`` — the same re-plans with ``prune_candidates`` (same
  selections; ``pruned_solved_fraction`` of the candidates get a Sinkhorn solve, the rest their
  bound), and ``ratio_to_bound_pruned`` against ``exp_bound_pruned_ms``, the exponentials of
  the solved candidates' kernels alone.
* ``exp_bound_ms`` — exp throughput measured now in the decision's precision, times the
  exponentials the kernel-domain algorithm must evaluate (one per kernel entry: B·N·K cross +
  B·K·K self); ``ratio_to_bound``.
* ``update_ms_p50`` — one feedback update (Step 2 + Step 3) at N = 512.
* ``e2e_ms_p50/p99`` — compass_node + action_selector_node started as processes (GraphRunner,
  this process's DDS domain), the compass node restored from a journal of the same answers the
  in-process learner had, so the selector scores the same compass; the bench publishes the
  same re-plans as ``CandidateActions`` and waits for each ``ActionSelection``;
  ``e2e_overhead_ms_p50/p99`` is e2e minus the selector's own compute time, per request.
  ``dds_pingpong_ms_p99`` — round trip to a tiny echo node in a child process, same run;
  ``dds_message_roundtrip_ms_p50/p99`` — the same re-plans answered by that echo node with a
  canned ``ActionSelection`` of the same size (DDS and rclpy's message conversion, no scoring);
  ``dds_serialized_roundtrip_ms_p50/p99`` — the same bytes both ways with no Python message
  object at either end (serialised subscriptions, the canned selection published as bytes):
  DDS alone, at these message sizes.
  ``message_conversion_ms`` — each conversion on one request's way, timed in this process.
  ``rss_mb`` per node from /proc/PID/status.
* ``grid`` — decision and POT-free figures at B ∈ {16, 256} × N ∈ {256, 2048}.

Times are wall-clock on a shared machine; ratios within one run are what count. p99 over the
default 200 repeats lies between the second- and third-largest sample (over 50 it was the
largest, and moved by a millisecond from run to run). Nothing in the test suite asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from moral_compass_ros.tools.bench._decision import (
    DEFAULT_REPEATS,
    REFERENCE_TOL,
    REPLAN_PAUSE_S,
    _learner,
    _pct,
    _progress,
    _requests,
    _reset_warm_start,
    decision_breakdown,
    exp_throughput_ns,
    kernel_exp_count,
    measure_decision,
    measure_update,
    pot_loop_alignment,
)
from moral_compass_ros.core.profiling import Profile
from moral_compass_ros.tools.bench._dds import echo_main, measure_dds, measure_message_conversion
from moral_compass_ros.tools.bench._report import performance_markdown, plot, table
from moral_compass_ros.tools.cli import description


def run(
    quick: bool,
    threads: int,
    repeats: int | None,
    dds: bool = True,
    solver: str = "auto",
    grid_sizes: bool = True,
) -> dict:
    torch.set_num_threads(threads)
    b, n, k = (16, 128, 16) if quick else (64, 512, 64)
    reps = repeats or (5 if quick else DEFAULT_REPEATS)
    warm_updates = 1 if quick else 3
    learner = _learner(n, k, threads, updates=warm_updates)
    out: dict = {
        "solver": solver,
        "threads": threads,
        "quick": quick,
        "B": b,
        "N": n,
        "K": k,
        "M": learner.value_space.dim,
        "epsilon": learner.config.epsilon,
        "tol": learner.config.scoring_tol,
        "repeats": reps,
    }
    _progress(f"decision B={b} N={n} K={k} x{reps}")
    infos: list = []
    decision = measure_decision(learner, b, reps, breakdown=infos, method=solver)
    cold = measure_decision(learner, b, max(3, reps // 5), cold=True, method=solver)
    paced = measure_decision(learner, b, reps, pause_s=REPLAN_PAUSE_S, method=solver)
    out.update(
        decision_ms_p50=_pct(decision, 50),
        decision_ms_p99=_pct(decision, 99),
        decision_cold_ms_p50=_pct(cold, 50),
        decision_paced_ms_p50=_pct(paced, 50),
        decision_paced_ms_p99=_pct(paced, 99),
        **decision_breakdown(decision, infos, b, n, k),
    )
    if solver != "pot":  # the same re-plans with prune_candidates: same selections, fewer solves
        pruned, solved = _learner(n, k, threads, updates=warm_updates, prune_candidates=True), []
        pruned_ms = measure_decision(pruned, b, reps, solved=solved)
        out.update(
            decision_pruned_ms_p50=_pct(pruned_ms, 50),
            decision_pruned_ms_p99=_pct(pruned_ms, 99),
            pruned_solved_fraction=float(np.mean(solved)),
        )
    # POT loop on one request, same run, same samples
    phi, s, rm, rs = _requests(learner.config, b, 1, seed=23)[0]
    _reset_warm_start(learner)
    profile = Profile()
    ours = -learner.score(phi, s, rm, rs, method=solver, profile=profile).divergence  # −S_ε
    precision = profile.info.get("dtype", "float64")
    _progress("POT loop")
    pot_values, pot_ms = pot_loop_alignment(learner, phi, s, rm, rs, learner.config.scoring_tol)
    scale = max(float(np.max(np.abs(pot_values))), 1e-300)
    diff = float(np.max(np.abs(ours - pot_values)))
    # the float64 check: POT converged far tighter than the decision, as the reference
    tight_values, tight_ms = pot_loop_alignment(learner, phi, s, rm, rs, REFERENCE_TOL)
    tight_diff = float(np.max(np.abs(ours - tight_values)))
    out.update(
        pot_loop_ms_p50=pot_ms,
        speedup_vs_pot=pot_ms / out["decision_ms_p50"],
        alignment_scale=scale,
        precision=precision,
        pot_reference_tol=REFERENCE_TOL,
        pot_reference_ms=tight_ms,
        max_abs_diff_vs_pot=tight_diff,
        max_rel_diff_vs_pot=tight_diff / scale,
        max_abs_diff_vs_pot_same_tol=diff,
        max_rel_diff_vs_pot_same_tol=diff / scale,
    )
    _progress("exp throughput, update")
    ns = exp_throughput_ns(torch.float32 if precision == "float32" else torch.float64)
    n_exp = kernel_exp_count(b, n, k)
    out.update(
        exp_ns=ns,
        exp_count=n_exp,
        exp_bound_ms=ns * n_exp / 1e6,
        ratio_to_bound=out["decision_ms_p50"] / (ns * n_exp / 1e6),
    )
    if "decision_pruned_ms_p50" in out:
        # against the exponentials pruning itself evaluates: the solved candidates' kernels only
        out["exp_bound_pruned_ms"] = out["exp_bound_ms"] * out["pruned_solved_fraction"]
        out["ratio_to_bound_pruned"] = out["decision_pruned_ms_p50"] / out["exp_bound_pruned_ms"]
    upd_learner = _learner(n, k, threads, seed=8, updates=1)
    upd = measure_update(upd_learner, max(3, reps // 5) if not quick else 2)
    out.update(update_ms_p50=_pct(upd, 50), update_ms_p99=_pct(upd, 99))
    grid = []
    updates_by_n: dict = {}
    for gb in (16, 256):
        for gn in (256, 2048):
            if (quick or not grid_sizes) and (gb, gn) != (16, 256):
                continue
            _progress(f"grid B={gb} N={gn}")
            gl = _learner(gn, k, threads, seed=9, updates=1)
            big = gb * gn >= 256 * 2048
            g_reps = 3 if big else max(3, reps // 5)
            dec = measure_decision(gl, gb, g_reps, method=solver)
            gcold = measure_decision(gl, gb, 1 if big else 3, cold=True, method=solver)
            if gn not in updates_by_n:  # the update does not depend on B
                updates_by_n[gn] = measure_update(gl, 1 if gn > 512 or quick else 3)
            gupd = updates_by_n[gn]
            bound = ns * kernel_exp_count(gb, gn, k) / 1e6
            grid.append(
                {
                    "B": gb,
                    "N": gn,
                    "decision_ms_p50": _pct(dec, 50),
                    "decision_ms_p99": _pct(dec, 99),
                    "decision_cold_ms_p50": _pct(gcold, 50),
                    "exp_bound_ms": bound,
                    "ratio_to_bound": _pct(dec, 50) / bound,
                    "update_ms_p50": _pct(gupd, 50),
                }
            )
    out["grid"] = grid
    if dds:
        out["message_conversion_ms"] = measure_message_conversion(learner, b, reps)
        _progress("DDS e2e and ping-pong")
        out.update(measure_dds(b, n, k, reps if not quick else 5, threads, updates=warm_updates))
    return out


def main(argv: list[str] | None = None) -> int:
    """``moral-compass bench``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--echo"]:
        return echo_main()
    parser = argparse.ArgumentParser(prog="moral-compass bench", description=description(__doc__))
    parser.add_argument("--out", help="JSON file to write (required unless --from-json)")
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats (a test)")
    parser.add_argument(
        "--threads", type=int, choices=(1, 2), default=2, help="torch/OpenMP threads"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help=f"decision and e2e repeats (default {DEFAULT_REPEATS}; quick 5)",
    )
    parser.add_argument(
        "--solver",
        choices=("auto", "pot"),
        default="auto",
        help="Step 1 solver: auto (kernel domain) or pot (POT's path, for comparison)",
    )
    parser.add_argument("--small-grid", action="store_true", help="grid: only B=16, N=256")
    parser.add_argument("--no-dds", action="store_true", help="skip the DDS e2e / ping-pong part")
    parser.add_argument(
        "--page",
        default=None,
        metavar="FILE.md",
        help="also write the performance page (doc/performance.md) from the results",
    )
    parser.add_argument(
        "--from-json",
        default=None,
        metavar="FILE.json",
        help="measure nothing: remake the figure and --page from an earlier run's JSON",
    )
    args = parser.parse_args(argv)
    if not (args.out or args.from_json):
        parser.error("--out is required")
    if args.from_json:
        out = json.loads(Path(args.from_json).read_text())
        _write_outputs(out, Path(args.from_json), args.page)
        return 0
    started = time.perf_counter()
    out = run(
        args.quick,
        args.threads,
        args.repeats,
        dds=not args.no_dds,
        solver=args.solver,
        grid_sizes=not args.small_grid,
    )
    out["bench_seconds"] = time.perf_counter() - started
    out["command"] = "moral-compass bench " + " ".join(argv)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2, sort_keys=True))
    _write_outputs(out, Path(args.out), args.page)
    return 0


def _write_outputs(out: dict, json_path: Path, page: str | None) -> None:
    figure = json_path.with_suffix(".png")
    plot(out, figure)
    print(table(out))
    written = [str(json_path), str(figure)]
    if page:
        page_path = Path(page)
        relative = os.path.relpath(figure, page_path.parent)
        page_path.write_text(
            performance_markdown(out, out.get("command", "moral-compass bench"), relative)
        )
        written.append(str(page_path))
    print(f"\nwrote {', '.join(written)} ({out.get('bench_seconds', 0):.0f} s)")
