# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""``moral-compass eval``: episodes, bounds, determinism and the CLI outputs (small settings)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from moral_compass_ros.tools import _eval_metrics as em
from moral_compass_ros.tools import evaluate


def _task(method, scenario="fixed_profile", seed=0, answers=20):
    return {
        "method": method,
        "scenario": scenario,
        "seed": seed,
        "n_answers": answers,
        "learner": dict(evaluate.QUICK_LEARNER),
    }


def test_oracle_reaches_ratio_one_and_random_stays_below():
    oracle = evaluate.run_episode(_task("oracle"))
    random = evaluate.run_episode(_task("random"))
    np.testing.assert_allclose(em.ratio_to_oracle(oracle["p_chosen"], oracle["p_oracle"]), 1.0)
    assert evaluate.episode_metrics(oracle)["answers_to_90pct_oracle"] == em.ROLLING_WINDOW
    random_ratio = em.ratio_to_oracle(random["p_chosen"], random["p_oracle"])
    assert random_ratio.mean() < 0.9
    # same seeded candidate stream and person for both methods
    assert oracle["p_oracle"] == random["p_oracle"]
    assert oracle["true_profile"] == random["true_profile"]


def test_learner_episode_records_every_query():
    rec = evaluate.run_episode(_task("dognin", "abrupt_drift", answers=16))
    assert len(rec["p_chosen"]) == 16
    assert rec["drift_reference"] == 8  # preset 40 of 80, scaled to 16 answers
    assert all(m is not None and abs(sum(m) - 1.0) < 1e-9 for m in rec["compass_mean"])
    assert rec["update_failures"] == []
    # the true profile changes at the drift point and nowhere else
    changes = [t for t in range(1, 16) if rec["true_profile"][t] != rec["true_profile"][t - 1]]
    assert changes == [8]


def test_scenario_overrides_scale_drift_points():
    assert evaluate.scenario_overrides("gradual_drift", None) == {}
    assert evaluate.scenario_overrides("gradual_drift", 45) == {
        "n_answers": 45,
        "drift_start": 15,
        "drift_end": 30,
    }
    with pytest.raises(ValueError, match="unknown scenario"):
        evaluate.scenario_overrides("nope", 10)


def _strip_timings(document: dict) -> dict:
    doc = json.loads(json.dumps(document))
    for key in ("wall_time_s", "created", "command", "argv"):
        doc.pop(key)
    for scenarios in doc["metrics"].values():
        for entry in scenarios.values():
            entry.pop("ms_per_answer")
    return doc


def test_same_seeds_give_identical_metrics_and_resume_reuses(tmp_path):
    argv = [
        "--quick",
        "--seeds",
        "2",
        "--answers",
        "12",
        "--workers",
        "1",
        "--methods",
        "dvs_avoid",
        "dognin",
        "random",
        "oracle",
        "--scenarios",
        "fixed_profile",
        "abrupt_drift",
    ]
    documents = []
    for name in ("a", "b"):
        assert evaluate.main(["--out", str(tmp_path / name), *argv]) == 0
        documents.append(json.loads((tmp_path / name / "metrics.json").read_text()))
    assert _strip_timings(documents[0]) == _strip_timings(documents[1])
    # --resume reuses the finished episodes: same numbers, timings included
    assert evaluate.main(["--out", str(tmp_path / "a"), *argv, "--resume"]) == 0
    resumed = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert resumed["metrics"] == documents[0]["metrics"]
    assert len((tmp_path / "a" / "episodes.jsonl").read_text().splitlines()) == 16


def test_quick_cli_writes_metrics_summary_and_plots(tmp_path):
    out = tmp_path / "eval"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "moral_compass_ros.tools.cli",
            "eval",
            "--out",
            str(out),
            "--quick",
            "--seeds",
            "1",
            "--answers",
            "12",
            "--workers",
            "2",
            "--scenarios",
            "fixed_profile",
            "abrupt_drift",
            "two_operators",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    n_episodes = len(evaluate.METHODS) * 3
    assert f"eval {n_episodes}/{n_episodes} episodes" in done.stderr
    document = json.loads((out / "metrics.json").read_text())
    assert set(document["metrics"]) == set(evaluate.METHODS)
    assert document["quick"] is True and document["seeds"] == [0]
    fixed = document["metrics"]["oracle"]["fixed_profile"]
    assert fixed["answers_to_90pct_oracle"]["median"] == em.ROLLING_WINDOW
    assert document["metrics"]["monist"]["fixed_profile"]["cosine_at_20"] is None
    assert document["metrics"]["dvs_avoid"]["two_operators"]["drift_recovery_answers"] is None
    summary = (out / "summary.md").read_text()
    assert summary.startswith("`moral-compass eval --out")
    assert "| dvs_avoid |" in summary
    for png in ("ratio_to_oracle.png", "cosine.png"):
        assert (out / png).stat().st_size > 10_000


def test_bad_arguments_exit_with_code_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        evaluate.main(["--out", str(tmp_path), "--set", "n_particles=0"])
    assert exc.value.code == 2
    assert "n_particles" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        evaluate.main(["--out", str(tmp_path), "--set", "seed=3"])
