# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The demo report: ``metrics.json`` and a self-contained ``report.html`` with plots.

Pure Python + matplotlib (Agg): it reads what the monitor collected and the simulator's truth
log, so it can be re-made offline from a run folder.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend choice)
import numpy as np  # noqa: E402

from moral_compass_ros.metrics import approval_quality  # noqa: E402
from moral_compass_ros.tools import _eval_metrics as em  # noqa: E402

ROLLING_WINDOW = 10
#: The verdict's approval figures look at the last this-many answers.
VERDICT_LAST = 20
#: The bounds run offline on the demo's own seeded person and candidate stream (``moral-compass
#: eval``'s methods): exact Bayes with the robot's knowledge, and a logistic regression given
#: the same inputs.
REPORT_BOUNDS = {"bayes": "exact Bayes, same knowledge", "logistic": "logistic regression"}


def fingerprint_condition(sim: dict, selector: dict) -> str:
    """Where a run's fingerprints came from, as ``moral-compass eval`` names it (``hints``,
    ``library`` or ``features``), from the simulator's and the selector's parameters (the
    simulated planner sends hints unless ``send_hints`` is false)."""
    if sim.get("send_hints", True):
        return "hints"
    return "library" if selector.get("fingerprint_library") else "features"


def bound_runs(params_file: Path, n_answers: int) -> dict[str, list[float]]:
    """P(approve) of the action each bound chooses, per answer, on the demo's own person.

    Each bound of :data:`REPORT_BOUNDS` runs as an episode of ``moral-compass eval`` on the
    simulator's scenario and seed (the same person and candidate stream: they do not depend on
    the choices), with the fingerprints from where the demo's came (hints, the library or
    none); a bound that needs known profiles is left out without them. Empty when the run's
    parameters do not name a scenario.
    """
    import yaml

    from moral_compass_ros.graph import node_parameters
    from moral_compass_ros.tools.evaluate import applicable, run_episode

    try:
        params = yaml.safe_load(Path(params_file).read_text()) or {}
    except (OSError, ValueError):
        return {}
    sim = node_parameters(params, "sim_world_node")
    selector = node_parameters(params, "action_selector_node")
    if "scenario" not in sim or n_answers < 1:
        return {}
    name = f"{sim['scenario']}:{fingerprint_condition(sim, selector)}"
    out = {}
    for method in REPORT_BOUNDS:
        if applicable(method, name):
            task = {
                "method": method,
                "scenario": name,
                "seed": int(sim.get("sim_seed", 0)),
                "n_answers": int(n_answers),
                "learner": {},
            }
            out[method] = run_episode(task)["p_chosen"]
    return out


def verdict(truth: list[dict], final_mean, bounds: dict | None = None) -> dict:
    """The run's headline numbers, from the simulator's truth log and the final compass mean.

    ``answers_to_90`` (first answer count whose rolling 10 reaches 90 % of the oracle's
    approval probability, None = never), ``approval`` (thumbs-up share of the last
    :data:`VERDICT_LAST` answers), ``chosen``/``oracle``/``random`` (mean approval probability
    of the chosen action, the best one and a random one over those queries), ``bounds`` (the
    same mean for each bound of :func:`bound_runs` given in ``bounds``), ``cosine`` and
    ``distance`` (final compass mean against the last answering person's profile).
    """
    last = truth[-VERDICT_LAST:]
    answered = [r["approved"] for r in last if r["approved"] is not None]
    out = {
        "answers": len(truth),
        "operators": len({r["operator"] for r in truth}),
        "answers_to_90": None,
        "approval": None,
        "chosen": None,
        "oracle": None,
        "random": None,
        "cosine": None,
        "distance": None,
        "bounds": {
            method: float(np.mean(chosen[-VERDICT_LAST:]))
            for method, chosen in (bounds or {}).items()
        },
    }
    if truth:
        ratio = em.ratio_to_oracle(
            [r["p_approve_selected"] for r in truth], [r["p_approve_oracle"] for r in truth]
        )
        out["answers_to_90"] = em.answers_to_fraction_of_oracle(ratio)
        out["approval"] = float(np.mean(answered)) if answered else None
        for key, field in (
            ("chosen", "p_approve_selected"),
            ("oracle", "p_approve_oracle"),
            ("random", "p_approve_mean"),
        ):
            out[key] = float(np.mean([r[field] for r in last]))
    if truth and final_mean is not None:
        mean, profile = (
            np.asarray(final_mean, dtype=float),
            np.asarray(truth[-1]["true_profile"], dtype=float),
        )
        out["cosine"] = em.cosine(mean, profile)
        out["distance"] = float(np.linalg.norm(mean - profile))
    return out


def verdict_line(v: dict) -> str:
    """One sentence of :func:`verdict`'s numbers (the demo's last console line)."""
    if not v["answers"]:
        return "no answer was exchanged"
    reached = (
        f"90 % of the oracle's approval after {v['answers_to_90']} answers"
        if v["answers_to_90"] is not None
        else f"90 % of the oracle's approval not reached in {v['answers']} answers"
    )
    who = "the last answering person's" if v["operators"] > 1 else "the person's"
    approved = "no answers" if v["approval"] is None else f"{v['approval']:.0%} approved"
    bounds = "".join(
        f", {REPORT_BOUNDS[method]} {value:.0%}" for method, value in v.get("bounds", {}).items()
    )
    parts = [
        reached,
        f"last {VERDICT_LAST} answers {approved} (chosen actions {v['chosen']:.0%} likely, "
        f"the best on offer {v['oracle']:.0%}, a random one {v['random']:.0%}{bounds})",
    ]
    if v["cosine"] is not None:
        parts.append(
            f"compass mean vs {who} hidden profile: cosine {v['cosine']:.2f}, "
            f"distance {v['distance']:.2f}"
        )
    return "; ".join(parts)


def simplex_projection_2d(m: int) -> np.ndarray:
    """Linear map P, shape (M, 2), that sends the simplex's vertices to a regular M-gon.

    A point theta maps to (theta - 1/M) @ P: each vertex e_i lands on the polygon corner i and
    the barycentre on the origin, so a compass mean is drawn as the weighted average of the
    corners (the usual "radar" reading of a point on the simplex). Exact, because the centred
    vertices and the centred polygon both sum to zero and the former span R^M's sum-zero plane.
    """
    angles = 2 * np.pi * np.arange(m) / m + np.pi / 2
    polygon = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    centred_vertices = np.eye(m) - 1.0 / m
    projection, *_ = np.linalg.lstsq(centred_vertices, polygon - polygon.mean(axis=0), rcond=None)
    return projection


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def compute_metrics(
    collected: dict, truth: list[dict], node_exit_codes: dict | None = None
) -> dict:
    """Summary figures of a run (the report's metrics table labels each)."""
    answered = [r for r in truth if r["approved"] is not None]
    approvals = np.array([bool(r["approved"]) for r in answered], dtype=float)
    predicted = np.array([r["predicted_approval"] for r in answered])
    ratio = np.array([r["p_approve_selected"] / max(r["p_approve_oracle"], 1e-12) for r in truth])
    acks = collected.get("acks", [])
    sent_ids = {f["feedback_id"] for f in collected.get("feedback", [])}
    applied_ids = {a["feedback_id"] for a in acks if a["status"] in (0, 1)}
    compute_ms = np.array([s["compute_ms"] for s in collected.get("selections", [])])
    compasses = collected.get("compasses", [])
    quality = approval_quality(predicted, approvals)
    metrics = {
        "queries": len(truth),
        "answers": len(answered),
        "skipped": len(truth) - len(answered),
        "approval_rate": float(approvals.mean()) if approvals.size else None,
        "approval_rate_last_20": float(approvals[-20:].mean()) if approvals.size else None,
        "approval_probability_vs_oracle_last_20": float(ratio[-20:].mean())
        if ratio.size
        else None,
        "approval_probability_vs_oracle_first_20": float(ratio[:20].mean())
        if ratio.size
        else None,
        "ece_predicted_approval": quality["ece"] if approvals.size else None,
        "brier_predicted_approval": quality["brier"] if approvals.size else None,
        "feedback_events_sent": len(sent_ids),
        "feedback_events_acknowledged": len(applied_ids & sent_ids),
        "feedback_events_unacknowledged": len(sent_ids - applied_ids),
        "acks_by_status": {
            name: sum(a["status"] == code for a in acks)
            for code, name in ((0, "applied"), (1, "duplicate"), (2, "rejected"))
        },
        "compass_versions_seen": len(compasses),
        "final_compass_version": compasses[-1]["version"] if compasses else None,
        "final_compass_mean": compasses[-1]["mean"] if compasses else None,
        "selection_compute_ms_p50": float(np.percentile(compute_ms, 50))
        if compute_ms.size
        else None,
        "selection_compute_ms_p99": float(np.percentile(compute_ms, 99))
        if compute_ms.size
        else None,
        "value_cards_hash": collected.get("value_cards_hash", ""),
        "pluralism": {k: v for k, v in collected["pluralism"][-1].items()}
        if collected.get("pluralism")
        else None,
        "node_exit_codes": node_exit_codes or {},
    }
    if compasses and truth:
        metrics["cosine_final_mean_vs_last_operator_profile"] = em.cosine(
            compasses[-1]["mean"], truth[-1]["true_profile"]
        )
    return metrics


def _plot_compass_means(compasses, truth) -> str:
    fig, ax = plt.subplots(figsize=(7, 3.6))
    versions = [c["version"] for c in compasses]
    means = np.array([c["mean"] for c in compasses])
    names = compasses[-1]["value_names"]
    colors = plt.cm.tab10(np.arange(len(names)))
    for j, name in enumerate(names):
        ax.plot(versions, means[:, j], color=colors[j], label=name, lw=2)
    if truth:
        answer_versions = [r["compass_version"] for r in truth]
        profiles = np.array([r["true_profile"] for r in truth])
        for j in range(len(names)):
            ax.plot(answer_versions, profiles[:, j], color=colors[j], ls="--", lw=1, alpha=0.7)
    ax.set_xlabel("compass version (= answers applied)")
    ax.set_ylabel("weight on the value")
    ax.set_title("Compass mean per value (solid) and the answering person's true profile (dashed)")
    ax.legend(ncol=len(names), fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    return _png(fig)


def _plot_simplex(compasses, truth) -> str:
    names = compasses[-1]["value_names"]
    m = len(names)
    projection = simplex_projection_2d(m)
    vertices = (np.eye(m) - 1.0 / m) @ projection
    fig, ax = plt.subplots(figsize=(5.6, 5.6))
    for i in range(m):
        for j in range(i + 1, m):
            ax.plot(*vertices[[i, j]].T, color="0.85", lw=0.8, zorder=0)
        ax.annotate(names[i], vertices[i] * 1.08, ha="center", va="center", fontsize=10)
    final = compasses[-1]
    particles = (np.asarray(final["particles"]) - 1.0 / m) @ projection
    weights = np.asarray(final["weights"])
    ax.scatter(
        *particles.T,
        s=4 + 400 * weights / weights.max(),
        c=weights,
        cmap="viridis",
        alpha=0.5,
        lw=0,
        label=f"particles of version {final['version']} (size = weight)",
    )
    trajectory = (np.array([c["mean"] for c in compasses]) - 1.0 / m) @ projection
    ax.plot(*trajectory.T, color="crimson", lw=1.5, label="compass mean over time")
    ax.scatter(*trajectory[-1], color="crimson", s=60, zorder=5)
    if truth:
        seen = {}
        for r in truth:
            seen.setdefault(r["operator"] or "person", r["true_profile"])
            seen[r["operator"] or "person"] = r["true_profile"]
        for k, (operator, profile) in enumerate(seen.items()):
            point = (np.asarray(profile) - 1.0 / m) @ projection
            ax.scatter(
                *point,
                marker="*",
                s=220,
                color=plt.cm.Set1(k),
                edgecolor="k",
                zorder=6,
                label=f"true profile of {operator} (at the end)",
            )
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("The compass on the value simplex (vertices on a regular polygon)")
    ax.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, -0.25))
    return _png(fig)


def _plot_approval(truth, bounds: dict) -> str:
    fig, ax = plt.subplots(figsize=(7, 3.4))
    answers = np.arange(1, len(truth) + 1)
    selected = np.array([r["p_approve_selected"] for r in truth])
    oracle = np.array([r["p_approve_oracle"] for r in truth])
    random_choice = np.array([r["p_approve_mean"] for r in truth])
    actual = np.array([np.nan if r["approved"] is None else float(r["approved"]) for r in truth])
    kernel = np.ones(ROLLING_WINDOW)

    def rolling(x):
        valid = ~np.isnan(x)
        num = np.convolve(np.where(valid, x, 0.0), kernel)[: len(x)]
        den = np.convolve(valid.astype(float), kernel)[: len(x)]
        return num / np.maximum(den, 1)

    ax.plot(
        answers,
        rolling(actual),
        color="k",
        lw=2,
        label=f"actual approvals (rolling {ROLLING_WINDOW})",
    )
    ax.plot(answers, rolling(selected), color="tab:blue", label="P(approve) of the chosen action")
    ax.plot(answers, rolling(oracle), color="tab:green", ls="--", label="oracle (best action)")
    ax.plot(answers, rolling(random_choice), color="tab:gray", ls=":", label="random action")
    for (method, chosen), color in zip(bounds.items(), ("tab:orange", "tab:brown")):
        ax.plot(
            answers[: len(chosen)],
            rolling(np.asarray(chosen, dtype=float)),
            color=color,
            ls="-.",
            label=f"{REPORT_BOUNDS[method]} (same person, offline)",
        )
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("answers")
    ax.set_ylabel("approval")
    ax.legend(fontsize=8, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.22))
    return _png(fig)


def _plot_reliability(truth) -> str:
    answered = [r for r in truth if r["approved"] is not None]
    predicted = np.array([r["predicted_approval"] for r in answered])
    actual = np.array([float(r["approved"]) for r in answered])
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    ax.plot([0, 1], [0, 1], color="0.7", ls="--", label="perfect calibration")
    quality = approval_quality(predicted, actual)
    xs = [b["mean_predicted"] for b in quality["reliability"]]
    ys = [b["observed"] for b in quality["reliability"]]
    ns = [b["n"] for b in quality["reliability"]]
    ax.plot(xs, ys, "o-", color="tab:purple", label="observed")
    for x, y, n in zip(xs, ys, ns):
        ax.annotate(f"n={n}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted approval")
    ax.set_ylabel("fraction approved")
    ax.set_title(f"Reliability (ECE {quality['ece']:.3f})")
    ax.legend(fontsize=8, loc="upper left")
    return _png(fig)


def _plot_decision(selection: dict, number: int, total: int) -> str:
    """The terms of one decision per candidate, as bars in log-odds of approval.

    Seed rule: the bars add up to the total. Predictive rule: the total is the predicted
    log-odds ± λ_info·IG + (λ_task − 1)·Task; the task, alignment and residual terms are drawn
    beside it as what the prediction rests on.
    """
    scores = selection["scores"]
    lambdas = selection["lambdas"]
    predictive = selection.get("selection_rule", "predictive") == "predictive"
    sign = -1.0 if selection["information_mode"] == "avoid" else 1.0
    task = np.array([s["task_term"] for s in scores])
    align = np.array([s["alignment"] for s in scores])
    if not predictive:
        task, align = lambdas["task"] * task, lambdas["align"] * align
    residual = np.array([s["residual"] for s in scores])
    info = np.array([sign * lambdas["info"] * s["information_gain"] for s in scores])
    x = np.arange(len(scores))
    fig, ax = plt.subplots(figsize=(7.2, 3.2))
    width = 0.16 if predictive else 0.2
    offsets = np.arange(5 if predictive else 4) - (2.0 if predictive else 1.5)
    ax.bar(x + offsets[0] * width, task, width, label="Task" if predictive else "λ_task·Task")
    bound = np.array([bool(s.get("alignment_is_bound", False)) for s in scores])
    align_label = "Align β(τ−S_ε)" if predictive else "λ_align·Align β(τ−S_ε)"
    ax.bar(x[~bound] + offsets[1] * width, align[~bound], width, label=align_label)
    if bound.any():  # pruned candidates: only the bound was computed
        ax.bar(
            x[bound] + offsets[1] * width,
            align[bound],
            width,
            fill=False,
            hatch="//",
            label="Align bound (pruned)",
        )
    ax.bar(x + offsets[2] * width, residual, width, label="residual E[ω]ᵀ[φ;s]")
    ax.bar(
        x + offsets[3] * width, info, width, label=f"{'−' if sign < 0 else '+'}λ_info·IG (nats)"
    )
    if predictive:
        p = np.clip([s["predicted_approval"] for s in scores], 1e-9, 1 - 1e-9)
        ax.bar(
            x + offsets[4] * width,
            np.log(p / (1 - p)),
            width,
            color="0.35",
            label="predicted log-odds (the rule)",
        )
    ax.set_ylabel("log-odds of approval")
    totals = np.array([s["total"] for s in scores])
    ax.plot(x, totals, "k_", ms=18, mew=2, label="total")
    labels = selection.get("labels", {})
    chosen = [s["id"] == selection["selected_id"] for s in scores]
    ax.set_xticks(
        x,
        [
            textwrap.fill(("▶ chosen: " if c else "") + labels.get(s["id"], s["id"]), 16)
            for s, c in zip(scores, chosen)
        ],
        fontsize=7,
    )
    for tick, c in zip(ax.get_xticklabels(), chosen):
        if c:
            tick.set_color("crimson")
            tick.set_fontweight("bold")
    ax.set_xlabel("candidate action")
    ax.axhline(0, color="0.6", lw=0.6)
    largest_info = float(np.max(np.abs(info))) if len(info) else 0.0
    if largest_info < 0.02:
        ax.text(
            0.99,
            0.97,
            f"information term ≤ {largest_info:.3f} (too small to see)",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=7,
            color="0.3",
        )
    ax.set_title(
        f"Decision {number} of {total} (request {selection['request_id']}, "
        f"compass v{selection['compass_version']})",
        fontsize=9,
    )
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.38))
    return _png(fig)


def _plot_pluralism(pluralism: list[dict], truth: list[dict], names: list[str]) -> str:
    """Pluralism over versions, and each operator's own compass mean against their profile."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"wspace": 0.5})
    versions = [p["version"] for p in pluralism]
    left.plot(versions, [p["origin_pluralism"] for p in pluralism], label="origin pluralism")
    left.plot(versions, [p["criteria_pluralism"] for p in pluralism], label="criteria pluralism")
    disagreement = [p["disagreement"] for p in pluralism]
    if np.any(np.isfinite(disagreement)):
        twin = left.twinx()
        twin.plot(versions, disagreement, color="tab:red", ls="--", label="disagreement (S_ε)")
        twin.set_ylabel("disagreement S_ε", color="tab:red")
    left.set_xlabel("compass version")
    left.set_ylabel("effective number")
    left.set_title("Pluralism measures")
    left.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    final = pluralism[-1]
    profiles = {}
    for row in truth:
        profiles[row["operator"]] = row["true_profile"]
    x = np.arange(len(names))
    width = 0.8 / max(1, 2 * len(final["operators"]))
    for k, operator in enumerate(final["operators"]):
        if final["operator_means"]:
            right.bar(
                x + (2 * k) * width,
                final["operator_means"][k],
                width,
                label=f"{operator}'s compass (share {final['movement_share'][k]:.0%})",
            )
        if operator in profiles:
            right.bar(
                x + (2 * k + 1) * width,
                profiles[operator],
                width,
                alpha=0.45,
                label=f"{operator}'s true profile",
            )
    right.set_xticks(x + width * (len(final["operators"]) - 0.5), names, fontsize=8)
    right.set_title("Per-operator compasses (kept apart, not averaged)")
    right.set_ylabel("weight on the value")
    right.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    return _png(fig)


def _render_rviz(collected: dict, run_dir: Path) -> str | None:
    """PNG of the rviz markers of the final compass and decision, if the viz module exists."""
    compass_msg = collected.get("last_compass_msg")
    if compass_msg is None:
        return None
    from moral_compass_ros.viz import render_compass_png  # needs the built messages

    path = render_compass_png(
        compass_msg, run_dir / "rviz.png", collected.get("last_selection_msg")
    )
    return base64.b64encode(Path(path).read_bytes()).decode()


CAPTIONS = {
    "approval": "Black: the share of thumbs up over the last 10 answers. Blue: how likely the "
    "chosen action was to be approved; green: the best action on offer (the oracle); grey: a "
    "random one. Learning shows as blue rising from grey to green. Dash-dotted: what exact Bayes "
    "with the robot's knowledge (orange) and a logistic regression on the same inputs (brown) "
    "chose for the same person, run offline (moral-compass eval's bounds).",
    "compass": "Solid: the compass's weight on each value after every answer; dashed, same "
    "colour: "
    "the hidden profile of the person answering. They meet as the robot learns.",
    "simplex": "The final particle cloud (dot size: weight) and the path of its mean (red) from "
    "the "
    "centre, where the robot knows nothing, toward the star: the hidden profile.",
    "calibration": "How honest the predicted approval is: points on the diagonal mean that of the "
    "actions predicted at 0.8, about 80 % were approved (n: answers per bin).",
    "pluralism": "Left: the effective number of operators who shaped the compass and of values it "
    "weighs. Right: each operator's own compass beside their hidden profile.",
    "rviz": "The markers visualization_node publishes for rviz, drawn offline: the simplex, the "
    "particles, the mean and its covariance, and the candidates' fingerprints.",
    "decision": "One bar group per candidate action, every term in log-odds of approval: task, "
    "value alignment, the residual on the features, the information term and (the default "
    "rule) the predicted log-odds of approval, which the task, values and residual make up. "
    "The black dash is the total the rule ranks by: the predicted log-odds plus the "
    "information term (the seed rule: the sum of the weighted terms); the chosen action has "
    "the highest.",
}
#: Metric name -> (label, digits) of the report's metrics table.
METRIC_LABELS = {
    "answers": ("answers", 0),
    "skipped": ("queries without an answer", 0),
    "approval_rate": ("approval rate, all answers", 2),
    "approval_rate_last_20": ("approval rate, last 20", 2),
    "approval_probability_vs_oracle_first_20": ("P(approve chosen) / oracle's, first 20", 2),
    "approval_probability_vs_oracle_last_20": ("P(approve chosen) / oracle's, last 20", 2),
    "ece_predicted_approval": ("ECE of predicted approval (10 bins)", 3),
    "brier_predicted_approval": ("Brier score of predicted approval", 3),
    "cosine_final_mean_vs_last_operator_profile": (
        "cosine, final compass mean vs hidden profile",
        3,
    ),
    "feedback_events_sent": ("answers sent", 0),
    "feedback_events_acknowledged": ("answers acknowledged", 0),
    "final_compass_version": ("final compass version", 0),
    "selection_compute_ms_p50": ("decision time p50 (ms)", 1),
    "selection_compute_ms_p99": ("decision time p99 (ms)", 1),
}


def _number(value, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _scenario_text(params_file: Path, truth: list[dict]) -> str:
    try:
        import yaml

        params = yaml.safe_load(Path(params_file).read_text()) or {}
    except (OSError, ValueError):
        params = {}
    from moral_compass_ros.graph import node_parameters

    sim = node_parameters(params, "sim_world_node")
    selector = node_parameters(params, "action_selector_node")
    operators = sorted({r["operator"] for r in truth})
    if len(operators) > 1:
        who = (
            f"{len(operators)} simulated people ({', '.join(operators)}) with different hidden "
            "values take turns answering thumbs up or down after each executed action; the shared "
            "compass can satisfy them only in part, so the per-operator compasses below keep them "
            "apart"
        )
    else:
        who = (
            "one simulated person with hidden values answers thumbs up or down after each "
            "executed action"
        )
    source = {
        "hints": "the planner's value hints",
        "library": "the fingerprint library (what the action labels mean)",
        "features": "the learned network alone",
    }[fingerprint_condition(sim, selector)]
    return (
        f"Scenario <code>{html.escape(str(sim.get('scenario', '?')))}</code>: {who}. "
        f"Fingerprints come from {source}."
    )


def write_report(
    run_dir: Path,
    collected: dict,
    truth: list[dict],
    params_file: Path,
    node_exit_codes: dict | None = None,
) -> Path:
    """Write ``metrics.json`` and ``report.html`` into ``run_dir``; return the report path.

    The page opens with the verdict (:func:`verdict_line`) and three key figures, then every
    plot with a caption saying what to see, the metrics and pluralism as tables, and the value
    cards in use.
    """
    run_dir = Path(run_dir)
    metrics = compute_metrics(collected, truth, node_exit_codes)
    compasses = collected.get("compasses", [])
    selections = collected.get("selections", [])
    bounds = bound_runs(params_file, len(truth))
    v = verdict(truth, compasses[-1]["mean"] if compasses else None, bounds)
    metrics["verdict"] = verdict_line(v)
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    figures = []
    if truth:
        figures.append(
            (
                "Does the robot learn what the person approves of?",
                _plot_approval(truth, bounds),
                "approval",
            )
        )
    if compasses:
        figures.append(("The compass over time", _plot_compass_means(compasses, truth), "compass"))
        figures.append(("The compass on the simplex", _plot_simplex(compasses, truth), "simplex"))
    if truth:
        figures.append(
            ("Calibration of predicted approval", _plot_reliability(truth), "calibration")
        )
    pluralism = collected.get("pluralism", [])
    if pluralism and compasses:
        figures.append(
            (
                "Who shaped the compass: pluralism",
                _plot_pluralism(pluralism, truth, compasses[-1]["value_names"]),
                "pluralism",
            )
        )
    rviz = _render_rviz(collected, run_dir)
    if rviz:
        figures.append(("What rviz shows (final compass and decision)", rviz, "rviz"))
    picks = sorted({0, len(selections) // 2, len(selections) - 1}) if selections else []
    for i in picks:
        figures.append(
            (
                f"Why the robot chose: decision {i + 1} of {len(selections)}",
                _plot_decision(selections[i], i + 1, len(selections)),
                "decision",
            )
        )
    cards = collected.get("value_cards", [])
    card_table = _table(
        [
            "value",
            "criterion",
            "origin",
            "measurement",
            "aggregation",
            "legitimacy",
            "version",
            "author",
        ],
        [
            [
                str(c[k])
                for k in (
                    "value_name",
                    "criterion",
                    "origin",
                    "measurement",
                    "aggregation",
                    "legitimacy",
                    "version",
                    "author",
                )
            ]
            for c in cards
        ],
    )
    metric_table = _table(
        ["metric", "value"],
        [
            [label, _number(metrics.get(key), digits)]
            for key, (label, digits) in METRIC_LABELS.items()
        ],
    )
    plural = metrics.get("pluralism") or {}
    pluralism_table = ""
    if plural:
        rows = [
            ["origin pluralism (effective operators)", _number(plural.get("origin_pluralism"), 2)],
            [
                "criteria pluralism (effective values)",
                _number(plural.get("criteria_pluralism"), 2),
            ],
            ["disagreement between operators (S_ε)", _number(plural.get("disagreement"), 4)],
            [
                "answers refused by the legitimacy policy",
                _number(plural.get("refused_by_policy"), 0),
            ],
        ]
        for operator, share, events in zip(
            plural.get("operators", []),
            plural.get("movement_share", []),
            plural.get("operator_events", []),
        ):
            rows.append(
                [f"{operator}: share of the compass's movement ({events} answers)", f"{share:.0%}"]
            )
        pluralism_table = "<h2>Pluralism</h2>" + _table(["measure", "value"], rows)
    reached = "never" if v["answers_to_90"] is None else str(v["answers_to_90"])
    keys = [
        (reached, "answers to reach 90 % of the oracle's approval"),
        (
            "–" if v["approval"] is None else f"{v['approval']:.0%}",
            f"approved over the last {VERDICT_LAST} (best possible {_percent(v['oracle'])}, "
            f"random {_percent(v['random'])})",
        ),
        (
            "–" if v["cosine"] is None else f"{v['cosine']:.2f}",
            "cosine of the compass mean to the hidden profile",
        ),
    ]
    key_html = "".join(
        f"<div class='key'><b>{html.escape(big)}</b><span>{html.escape(small)}</span></div>"
        for big, small in keys
    )
    body = "".join(
        f"<h2>{html.escape(title)}</h2><img src='data:image/png;base64,{png}' "
        f"alt='{html.escape(title)}'>"
        f"<p class='caption'>{html.escape(CAPTIONS[kind])}</p>"
        for title, png, kind in figures
    )
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>moral_compass_ros demo report</title>
<style>body{{font-family:sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}}
img{{max-width:100%}}table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}}
.verdict{{font-size:17px;line-height:1.4}}.keys{{display:flex;gap:1em;margin:1em 0}}
.key{{flex:1;border:1px solid #ddd;border-radius:6px;padding:.6em}}.key
b{{display:block;font-size:28px}}
.key span{{font-size:13px;color:#555}}
.caption{{font-size:13px;color:#444;margin-top:0}}</style></head><body>
<h1>moral_compass_ros demo report</h1>
<p class="verdict">{html.escape(metrics["verdict"][0].upper() + metrics["verdict"][1:])}.</p>
<div class="keys">{key_html}</div>
<p>{_scenario_text(params_file, truth)} The simulator's hidden truth (profiles, approval
probabilities) is used here only to judge the run; the robot never sees it. Run folder
<code>{html.escape(str(run_dir))}</code>; parameters in
<code>{html.escape(Path(params_file).name)}</code>;
every number below is in <code>metrics.json</code>.</p>
{body}
<h2>Metrics</h2>{metric_table}
{pluralism_table}
<h2>Value cards in use (sha256 {html.escape(metrics['value_cards_hash'][:16])}…)</h2>
{card_table}
</body></html>"""
    report = run_dir / "report.html"
    report.write_text(page)
    return report


def _percent(value) -> str:
    return "–" if value is None else f"{value:.0%}"
