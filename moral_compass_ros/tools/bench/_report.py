# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""What ``moral-compass bench`` prints and draws from its JSON."""

from __future__ import annotations

from pathlib import Path

from moral_compass_ros.tools.bench._decision import REPLAN_PAUSE_S


def table(out: dict) -> str:
    rows = [
        (
            "decision p50 / p99 (ms)",
            f"{out['decision_ms_p50']:.2f} / {out['decision_ms_p99']:.2f}",
        ),
        ("decision cold p50 (ms)", f"{out['decision_cold_ms_p50']:.2f}"),
        (
            "decision paced p50 / p99",
            f"{out['decision_paced_ms_p50']:.2f} / {out['decision_paced_ms_p99']:.2f}  "
            f"({REPLAN_PAUSE_S * 1e3:.0f} ms idle between re-plans, as in the e2e run)",
        ),
        (
            "POT loop (ms)",
            f"{out['pot_loop_ms_p50']:.1f}  (speed-up ×{out['speedup_vs_pot']:.1f}, "
            f"tol {out['tol']:g})",
        ),
        (
            f"max |Δ| vs POT @ {out['pot_reference_tol']:g}",
            f"{out['max_abs_diff_vs_pot']:.2e}  (rel "
            f"{out['max_rel_diff_vs_pot']:.1e}; POT "
            f"{out['pot_reference_ms']:.0f} ms)",
        ),
        (
            f"max |Δ| vs POT @ {out['tol']:g}",
            f"{out['max_abs_diff_vs_pot_same_tol']:.2e}  (rel "
            f"{out['max_rel_diff_vs_pot_same_tol']:.1e}: POT's own "
            "error at that tolerance)",
        ),
        (
            "exp bound (ms)",
            f"{out['exp_bound_ms']:.2f}  (decision / bound = {out['ratio_to_bound']:.2f}, "
            f"{out['exp_ns']:.2f} ns/exp {out['precision']} × {out['exp_count']})",
        ),
        ("update p50 (ms)", f"{out['update_ms_p50']:.1f}"),
    ]
    if "decision_breakdown_ms" in out:
        parts = out["decision_breakdown_ms"]
        rows.insert(
            2,
            (
                "decision parts p50 (ms)",
                "  ".join(f"{name[:-3]} {value:.2f}" for name, value in parts.items())
                + f"  ({out['iterations_cross_mean']:.1f} iterations, "
                f"{out['cross_ns_per_entry_iteration']:.3f} ns/entry/iteration)",
            ),
        )
    if "decision_pruned_ms_p50" in out:
        rows.insert(
            2,
            (
                "pruned p50 / p99 (ms)",
                f"{out['decision_pruned_ms_p50']:.2f} / "
                f"{out['decision_pruned_ms_p99']:.2f}  ({100 * out['pruned_solved_fraction']:.0f} "
                f"% of "
                f"candidates solved; / its own exp bound {out['exp_bound_pruned_ms']:.2f} ms = "
                f"{out['ratio_to_bound_pruned']:.1f})",
            ),
        )
    if "e2e_ms_p50" in out:
        rows += [
            (
                "e2e p50 / p99 (ms)",
                f"{out['e2e_ms_p50']:.2f} / {out['e2e_ms_p99']:.2f}  (in the "
                f"selector {out['e2e_selector_compute_ms_p50']:.2f} / "
                f"{out['e2e_selector_compute_ms_p99']:.2f})",
            ),
            (
                "DDS ping-pong p99 (ms)",
                f"{out['dds_pingpong_ms_p99']:.2f}  (e2e budget p99 = "
                f"{out['dds_pingpong_ms_p99'] + out['decision_ms_p99'] + 1:.2f})",
            ),
            (
                "message round trip (ms)",
                f"{out['dds_message_roundtrip_ms_p50']:.2f} / "
                f"{out['dds_message_roundtrip_ms_p99']:.2f}  (canned selection; e2e overhead "
                f"{out['e2e_overhead_ms_p50']:.2f} / {out['e2e_overhead_ms_p99']:.2f})",
            ),
            (
                "… as serialised bytes (ms)",
                f"{out['dds_serialized_roundtrip_ms_p50']:.2f} / "
                f"{out['dds_serialized_roundtrip_ms_p99']:.2f}  (DDS alone at these sizes)",
            ),
            (
                "message conversion (ms)",
                "  ".join(f"{name} {ms:.2f}" for name, ms in out["message_conversion_ms"].items()),
            ),
            ("RSS (MB)", ", ".join(f"{k} {v:.0f}" for k, v in out["rss_mb"].items())),
        ]
    lines = [
        f"bench ({out['solver']}): B={out['B']} N={out['N']} K={out['K']} M={out['M']} "
        f"ε={out['epsilon']} "
        f"threads={out['threads']}",
        "",
    ]
    lines += [f"  {name:26s} {value}" for name, value in rows]
    lines += ["", "  B     N     decision p50  p99     cold p50   exp bound  ratio  update p50"]
    for g in out["grid"]:
        lines.append(
            f"  {g['B']:<5d} {g['N']:<5d} {g['decision_ms_p50']:9.2f}  "
            f"{g['decision_ms_p99']:8.2f}  "
            f"{g['decision_cold_ms_p50']:8.2f}  {g['exp_bound_ms']:9.2f}  "
            f"{g['ratio_to_bound']:5.2f}  "
            f"{g['update_ms_p50']:9.1f}"
        )
    return "\n".join(lines)


_PART_LABELS = {
    "sampling_ms": "Dirichlet sampling",
    "kernel_ms": "forming kernels (matmul + exp)",
    "cross_ms": "cross iterations",
    "self_ms": "self iterations",
    "other_ms": "the rest",
}


def _legend_below(ax) -> None:
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)


def plot(out: dict, path: Path) -> None:
    """The figures as a PNG: where a decision's time goes against the exp bound, what an e2e
    request adds to the decision, and how a decision grows with B and N."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    has_grid = len({(g["B"], g["N"]) for g in out["grid"]}) > 1
    panels = 1 + ("e2e_ms_p50" in out) + has_grid
    fig, axes = plt.subplots(1, panels, figsize=(5.4 * panels, 4.4), squeeze=False)
    axes = list(axes[0])
    ax = axes.pop(0)
    colours = dict(zip(_PART_LABELS, plt.get_cmap("tab10").colors))
    parts = out.get("decision_breakdown_ms") or {"other_ms": out["decision_ms_p50"]}
    bars = [
        (
            "decision",
            [
                (parts[part], colours[part], _PART_LABELS[part])
                for part in _PART_LABELS
                if part in parts
            ],
        )
    ]
    if "decision_pruned_ms_p50" in out:
        bars.append(
            ("pruned", [(out["decision_pruned_ms_p50"], "tab:olive", "with prune_candidates")])
        )
    bars.append(("exp bound", [(out["exp_bound_ms"], "tab:gray", "the exponentials alone")]))
    for row, (_, segments) in enumerate(bars):
        left = 0.0
        for ms, colour, label in segments:
            ax.barh(row, ms, left=left, color=colour, label=label)
            left += ms
        ax.text(left, row, f" {left:.2f} ms", va="center", fontsize=8)
    ax.axvline(3 * out["exp_bound_ms"], color="k", ls="--", lw=1, label="target: 3 × exp bound")
    ax.set_yticks(range(len(bars)), [name for name, _ in bars])
    ax.invert_yaxis()
    ax.set_xlabel("ms (median)")
    ax.set_title(f"Decision, B={out['B']} N={out['N']} K={out['K']}", fontsize=10)
    _legend_below(ax)
    if "e2e_ms_p50" in out:
        ax = axes.pop(0)
        trip = out["dds_message_roundtrip_ms_p50"]
        wire = min(trip, out.get("dds_serialized_roundtrip_ms_p50", trip))
        compute, hot = out["e2e_selector_compute_ms_p50"], out["decision_ms_p50"]
        paced = min(compute, max(hot, out.get("decision_paced_ms_p50", hot)))
        left = 0.0
        for ms, label, colour in (
            (min(hot, compute), "decision, back to back", "tab:blue"),
            (paced - min(hot, compute), "decision after an idle (paced)", "tab:cyan"),
            (compute - paced, "rest of the selector's compute", "tab:purple"),
            (wire, "DDS round trip of these messages' bytes", "tab:orange"),
            (trip - wire, "rclpy's message conversion (round trip)", "tab:red"),
            (max(0.0, out["e2e_overhead_ms_p50"] - trip), "rest of the node", "tab:gray"),
        ):
            ax.barh(0, ms, left=left, color=colour, label=label)
            left += ms
        ax.barh(1, out["dds_pingpong_ms_p50"], color="tab:green", label="DDS ping-pong")
        budget = out["dds_pingpong_ms_p99"] + out["decision_ms_p99"] + 1.0
        ax.plot([out["e2e_ms_p99"]], [0], "kv", label=f"e2e p99 {out['e2e_ms_p99']:.2f} ms")
        ax.axvline(budget, color="k", ls="--", lw=1, label=f"p99 budget {budget:.2f} ms")
        ax.set_yticks([0, 1], ["e2e", "ping-pong"])
        ax.invert_yaxis()
        ax.set_xlabel("ms (median)")
        ax.set_title("Planner → selection over DDS", fontsize=10)
        _legend_below(ax)
    if has_grid:
        ax = axes.pop(0)
        sizes = sorted({g["N"] for g in out["grid"]})
        for b, marker in ((16, "o"), (256, "s")):
            rows = sorted((g for g in out["grid"] if g["B"] == b), key=lambda g: g["N"])
            ax.loglog(
                [g["N"] for g in rows],
                [g["decision_ms_p50"] for g in rows],
                marker + "-",
                label=f"B={b}",
            )
            ax.loglog(
                [g["N"] for g in rows],
                [g["exp_bound_ms"] for g in rows],
                marker + ":",
                color="gray",
                label=f"B={b} exp bound",
            )
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.minorticks_off()
        ax.set_xlabel("N particles")
        ax.set_ylabel("decision ms (median)")
        ax.set_title(f"Growth, K={out['K']}", fontsize=10)
        _legend_below(ax)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _targets(out: dict) -> list[tuple[str, str, bool]]:
    """(target, measured, met) of every speed target the page reports, met or not."""
    rows = [
        (
            "decision p50 ≤ 10 ms",
            f"{out['decision_ms_p50']:.1f} ms",
            out["decision_ms_p50"] <= 10.0,
        ),
        ("update p50 ≤ 25 ms", f"{out['update_ms_p50']:.1f} ms", out["update_ms_p50"] <= 25.0),
        (
            "≥ ×20 faster than POT one candidate at a time, same tolerance",
            f"×{out['speedup_vs_pot']:.0f}",
            out["speedup_vs_pot"] >= 20.0,
        ),
        (
            "alignment within 1e-4 (relative) of POT converged to 1e-9",
            f"{out['max_rel_diff_vs_pot']:.1e}",
            out["max_rel_diff_vs_pot"] <= 1e-4,
        ),
        (
            "decision ≤ ×3 the time of its exponentials alone",
            f"×{out['ratio_to_bound']:.1f}",
            out["ratio_to_bound"] <= 3.0,
        ),
    ]
    if "e2e_ms_p99" in out:
        budget = out["dds_pingpong_ms_p99"] + out["decision_ms_p99"] + 1.0
        rows.append(
            (
                "planner → selection over DDS p99 ≤ ping-pong p99 + decision p99 + 1 ms",
                f"{out['e2e_ms_p99']:.1f} ms against {budget:.1f} ms",
                out["e2e_ms_p99"] <= budget,
            )
        )
    return rows


def performance_markdown(out: dict, command: str, figure: str) -> str:
    """``doc/performance.md``: every figure from the bench JSON ``out``, plus how the decision
    and the update are made fast (mechanisms only, so the page never holds a stale number)."""

    def ms(key: str) -> str:
        return f"{out[key + '_p50']:.2f} / {out[key + '_p99']:.2f}"

    lines = [
        "# Performance",
        "",
        f"Made with `{command}` ({out.get('bench_seconds', 0):.0f} s; {out['threads']} torch "
        f"thread(s); a "
        "shared 2-core machine, so compare ratios within the run rather than absolute times). "
        "This page is generated from the JSON beside the figure; the bench's module docstring "
        "(`moral_compass_ros/tools/bench/__init__.py`) defines every field.",
        "",
        f"![where a decision's time goes, what DDS adds, growth with B and N]({figure})",
        "",
        f"At B = {out['B']} candidates, N = {out['N']} particles, K = {out['K']} fingerprint "
        f"samples, "
        f"M = {out['M']} values, ε = {out['epsilon']}, as the selector runs it ({out['repeats']} "
        f"re-plans "
        "whose candidates and planner rewards drift a little):",
        "",
        "| measure | p50 / p99 (ms) or value |",
        "|---|---|",
        f"| decision (Step 1, every term of every candidate) | {ms('decision_ms')} |",
        f"| … paced: {REPLAN_PAUSE_S * 1e3:.0f} ms idle between re-plans, as in the DDS run | "
        f"{ms('decision_paced_ms')} |",
        f"| … cold: every warm start dropped | {out['decision_cold_ms_p50']:.2f} (p50) |",
    ]
    if "decision_breakdown_ms" in out:
        parts = ", ".join(
            f"{_PART_LABELS.get(k, k)} {v:.2f}" for k, v in out["decision_breakdown_ms"].items()
        )
        lines.append(
            f"| … where the median decision's time goes | {parts} "
            f"({out['iterations_cross_mean']:.1f} "
            f"iterations per candidate, {out['cross_ns_per_entry_iteration']:.3f} ns per kernel "
            f"entry "
            "per iteration) |"
        )
    if "decision_pruned_ms_p50" in out:
        lines.append(
            f"| … with `prune_candidates: true` (same selections) | {ms('decision_pruned_ms')} "
            f"({100 * out['pruned_solved_fraction']:.0f} % of the candidates solved) |"
        )
    lines += [
        f"| POT, one candidate at a time, same ε and tolerance | {out['pot_loop_ms_p50']:.0f} "
        f"(×{out['speedup_vs_pot']:.0f} slower) |",
        f"| largest difference to POT converged to {out['pot_reference_tol']:g} | "
        f"{out['max_abs_diff_vs_pot']:.1e} "
        f"(relative {out['max_rel_diff_vs_pot']:.1e}) |",
        f"| the exponentials alone ({out['precision']}, {out['exp_ns']:.2f} ns each × "
        f"{out['exp_count']:,}) | "
        f"{out['exp_bound_ms']:.2f}: the decision takes ×{out['ratio_to_bound']:.1f} that |",
        f"| update (Step 2 + Step 3, one answer) | {ms('update_ms')} |",
    ]
    if "e2e_ms_p50" in out:
        lines += [
            f"| planner → selection over DDS, between processes | {ms('e2e_ms')} |",
            f"| … of which in the selector | {ms('e2e_selector_compute_ms')} |",
            f"| floor: DDS ping-pong of a short string | {ms('dds_pingpong_ms')} |",
            f"| floor: the same messages answered by an echo node (no scoring) | "
            f"{ms('dds_message_roundtrip_ms')} |",
            f"| floor: the same bytes, no Python message objects | "
            f"{ms('dds_serialized_roundtrip_ms')} |",
            "| node memory (RSS, MB) | "
            + ", ".join(f"{k} {v:.0f}" for k, v in out["rss_mb"].items())
            + " |",
        ]
    lines += [
        "",
        "Growth with the number of candidates B and particles N (p50, ms):",
        "",
        "| B | N | decision | exponentials alone | update |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {g['B']} | {g['N']} | {g['decision_ms_p50']:.1f} | {g['exp_bound_ms']:.2f} | "
        f"{g['update_ms_p50']:.1f} |"
        for g in out["grid"]
    ]
    lines += ["", "Targets, from the same run:", "", "| target | measured | |", "|---|---|---|"]
    lines += [
        f"| {label} | {value} | {'met' if met else 'missed'} |"
        for label, value, met in _targets(out)
    ]
    lines += ["", HOW_IT_WORKS]
    return "\n".join(lines) + "\n"


HOW_IT_WORKS = """## How

* **Decision.** The Gibbs kernels exp(−C/ε) are formed by one matmul of augmented coordinates and
  an in-place exp, in float32 where ε keeps C/ε far from float32's underflow (at ε = 0.05,
  C/ε ≤ 40), a few candidates at a time so that the exp pass and the iterations on those
  candidates share the core's L2 cache. The Sinkhorn iterations run compiled (numba,
  `core/_sinkhorn_loops.py`), one candidate at a time, each stopping on its own marginal error;
  one alternating iteration is one pass over the kernel. The alignment is stationary in the dual
  potentials, so its error is second order in the marginal error: at `scoring_tol` 1e-3 it sits
  far below the Monte-Carlo spread of K fingerprint samples (the table's difference to POT
  converged to 1e-9; tested on random inputs). POT's own value at a loose tolerance is a primal
  value on a not-quite-feasible plan, first order in its error. OT_ε(q, q) is computed once per
  compass version; the previous decision's scalings warm-start the next; the information gain is
  one logsigmoid pass. Where ε is too small for float32 the path runs in float64, and below that
  in POT's log domain.
* **Pruning** (`prune_candidates: true`, off by default so that every reported alignment is
  exact): the mean shift between two clouds bounds their Sinkhorn divergence from below for every
  ε, so a candidate's total is bounded without any transport. Candidates are solved in
  decreasing order of that bound until a solved total beats every remaining bound; the skipped
  ones report the bound with `alignment_is_bound` set. The selection is the same (tested).
* **Update.** The particle posterior is re-weighed over every kept answer in numpy (one
  (answers × particles) pass: expected costs by one matmul, log-sigmoids, a masked sum), the
  residual takes one O(P²) online Laplace step per prior scale, and resample-move runs only
  when the effective sample size falls below half the particles. The rest is the reported
  compass movement S_ε(q_{t+1}, q_t): OT_ε(q_{t+1}, q_{t+1}) (which the next decision reuses)
  and the cross term, warm-started, with one Gibbs kernel each; where the alternating
  iteration converges slowly it measures its own contraction and over-relaxes (Thibault et al.
  2021). The seed's proximal Step 3 (`update_rule: proximal`) adds two transports per step.
* Both learner nodes compile the loops at start (`warm_up_solvers`), move the objects of their
  imports out of the garbage collector's sight, and run torch on one thread (`torch_threads: 1`):
  2-thread OpenMP stalls when another process holds a core.
* **Where the time beyond the decision goes over DDS**: the floors measure it in the same run.
  DDS alone (the bytes row) costs about the ping-pong; rclpy's conversion of the nested messages
  (`CandidateActions` carries `CandidateAction[]`, `ActionSelection` carries `ActionScore[]`)
  is most of the rest, and a decision that starts on a core that has just been idle is slower
  than one back to back (the paced row).
"""
