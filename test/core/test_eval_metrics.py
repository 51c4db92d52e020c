# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Metric functions of ``moral-compass eval`` against hand-computed cases (no torch, no ROS)."""

import math

import numpy as np
import pytest

from moral_compass_ros.tools import _eval_metrics as em


def test_ratio_to_oracle_divides_and_validates():
    np.testing.assert_allclose(
        em.ratio_to_oracle([0.2, 0.5, 0.0], [0.4, 0.5, 0.0]), [0.5, 1.0, 0.0]
    )
    with pytest.raises(ValueError, match="equal length"):
        em.ratio_to_oracle([0.1, 0.2], [0.3])
    with pytest.raises(ValueError, match="probabilities"):
        em.ratio_to_oracle([1.2], [0.3])


def test_rolling_mean_uses_full_windows_only():
    out = em.rolling_mean([1.0, 2.0, 3.0, 4.0], window=2)
    assert math.isnan(out[0])
    np.testing.assert_allclose(out[1:], [1.5, 2.5, 3.5])
    assert np.all(np.isnan(em.rolling_mean([1.0, 2.0], window=3)))
    with pytest.raises(ValueError, match="window"):
        em.rolling_mean([1.0], window=0)


def test_answers_to_90pct_oracle_hand_computed():
    # windows ending at n = 10, 11, 12, 13: (5·0.5 + 5)/10 = 0.75, 0.80, 0.85, 0.90 -> 13
    ratio = [0.5] * 5 + [1.0] * 10
    assert em.answers_to_fraction_of_oracle(ratio) == 13
    assert em.answers_to_fraction_of_oracle([1.0] * 12) == 10  # a full window is the minimum
    assert em.answers_to_fraction_of_oracle([0.89] * 50) is None  # never: right-censored
    assert em.answers_to_fraction_of_oracle([1.0] * 9) is None  # shorter than one window


def test_drift_recovery_counts_only_post_drift_windows():
    # perfect before the drift; after it 3 misses then hits: post-drift windows ending at
    # k = 10, 11, 12 hold 7, 8, 9 hits -> recovered after 12 answers
    ratio = [1.0] * 20 + [0.0] * 3 + [1.0] * 12
    assert em.drift_recovery_answers(ratio, drift_point=20) == 12
    # post-drift window 0.8 < 0.9; a window straddling the drift (0.9 from k = 1) must not count
    assert em.drift_recovery_answers([1.0] * 20 + [0.0] * 2 + [1.0] * 8, drift_point=20) is None
    assert em.drift_recovery_answers([1.0] * 30, drift_point=20) == 10
    with pytest.raises(ValueError, match="start"):
        em.drift_recovery_answers([1.0] * 5, drift_point=6)


def test_ece_hand_computed_and_skips_dropped():
    # bin 0: predicted 0.1, actual 1/2 -> |0.5 - 0.1| = 0.4, weight 1/2
    # bin 4: predicted 0.9, actual 1   -> 0.1, weight 1/2          => ECE = 0.25
    predicted = [0.1, 0.1, 0.9, 0.9, 0.5, None]
    approved = [False, True, True, True, None, True]
    assert em.ece(predicted, approved) == pytest.approx(0.25)
    assert em.ece([0.3], [None]) is None


def test_cosine_hand_computed():
    assert em.cosine([1.0, 0.0], [1.0, 1.0]) == pytest.approx(1 / math.sqrt(2))
    assert em.cosine([0.2, 0.3, 0.5], [0.4, 0.6, 1.0]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="zero"):
        em.cosine([0.0, 0.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="equal length"):
        em.cosine([1.0], [1.0, 0.0])


def test_approval_rate_last_drops_skips():
    assert em.approval_rate_last(
        [False] * 10 + [True, None, False, True], last=4
    ) == pytest.approx(2 / 3)
    assert em.approval_rate_last([None, None], last=20) is None


def test_summarise_treats_censored_as_infinite():
    s = em.summarise([10, 12, None, None, 20], censored_as_inf=True)
    # sorted [10, 12, 20, inf, inf]: q25 = 12, median = 20, q75 = inf -> None
    assert (s["n"], s["n_valid"], s["q25"], s["median"], s["q75"], s["mean"]) == (
        5,
        3,
        12,
        20,
        None,
        None,
    )
    t = em.summarise([1.0, None, 3.0])
    assert (t["n"], t["n_valid"], t["median"], t["mean"]) == (3, 2, 2.0, 2.0)
    assert em.summarise([])["median"] is None


def test_bootstrap_band_of_identical_curves_is_degenerate():
    curves = np.tile([0.2, 0.4, np.nan], (5, 1))
    mean, low, high = em.bootstrap_mean_band(curves, np.random.default_rng(0), n_boot=50)
    np.testing.assert_allclose(mean[:2], [0.2, 0.4])
    np.testing.assert_allclose(low[:2], [0.2, 0.4])
    np.testing.assert_allclose(high[:2], [0.2, 0.4])
    assert math.isnan(mean[2])


def test_the_report_the_evaluation_and_the_replay_share_one_calibration_rule():
    from moral_compass_ros.metrics import approval_quality
    from moral_compass_ros.tools.report import compute_metrics

    # 0.05 and 0.15 fall in different bins of ten: ECE = ½·|1 − 0.05| + ½·|0 − 0.15| = 0.55
    # (one bin of five would give |½ − 0.1| = 0.4)
    predicted, approved = [0.05, 0.15], [True, False]
    assert approval_quality(np.array(predicted), np.array(approved, dtype=float))[
        "ece"
    ] == pytest.approx(0.55)
    assert em.ece(predicted, approved) == pytest.approx(0.55)
    truth = [
        {
            "approved": a,
            "predicted_approval": p,
            "p_approve_selected": 0.5,
            "p_approve_oracle": 1.0,
        }
        for p, a in zip(predicted, approved)
    ]
    demo = compute_metrics({}, truth)
    assert demo["ece_predicted_approval"] == pytest.approx(0.55)
    assert demo["brier_predicted_approval"] == pytest.approx((0.95**2 + 0.15**2) / 2)


def test_the_verdict_names_answers_to_90_percent_approval_against_bounds_and_compass_error():
    from moral_compass_ros.tools.report import verdict, verdict_line

    profile = [0.6, 0.1, 0.1, 0.1, 0.1]
    rows = [
        {
            "p_approve_selected": p,
            "p_approve_oracle": 1.0,
            "p_approve_mean": 0.3,
            "approved": p > 0.5,
            "operator": "op",
            "true_profile": profile,
        }
        for p in [0.2] * 5 + [0.95] * 25
    ]  # 5 poor choices, then good ones
    v = verdict(rows, [0.6, 0.1, 0.1, 0.1, 0.1])
    ratio = [r["p_approve_selected"] for r in rows]
    assert v["answers_to_90"] == em.answers_to_fraction_of_oracle(ratio)
    assert v["approval"] == 1.0 and v["oracle"] == 1.0 and v["random"] == pytest.approx(0.3)
    assert v["cosine"] == pytest.approx(1.0) and v["distance"] == pytest.approx(0.0)
    line = verdict_line(v)
    assert line.startswith(f"90 % of the oracle's approval after {v['answers_to_90']} answers")
    assert "a random one 30%" in line and "cosine 1.00" in line
    never = verdict([dict(r, p_approve_selected=0.2, approved=False) for r in rows], None)
    assert never["answers_to_90"] is None and never["cosine"] is None
    assert "not reached in 30 answers" in verdict_line(never)
    bounded = verdict(rows, None, {"bayes": [0.5] * 10 + [0.8] * 20, "logistic": [0.6] * 30})
    assert bounded["bounds"] == {"bayes": pytest.approx(0.8), "logistic": pytest.approx(0.6)}
    assert "exact Bayes, same knowledge 80%, logistic regression 60%" in verdict_line(bounded)


def test_the_report_runs_the_bounds_on_the_demo_s_own_person(tmp_path):
    import yaml

    from moral_compass_ros.tools.evaluate import run_episode
    from moral_compass_ros.tools.report import bound_runs

    params = tmp_path / "params.yaml"
    sim = {"scenario": "fixed_profile", "sim_seed": 3, "send_hints": True}
    params.write_text(yaml.safe_dump({"/**/sim_world_node": {"ros__parameters": sim}}))
    bounds = bound_runs(params, 12)
    assert set(bounds) == {"bayes", "logistic"} and all(len(v) == 12 for v in bounds.values())
    task = {"method": "logistic", "scenario": "fixed_profile:hints", "seed": 3, "n_answers": 12}
    assert bounds["logistic"] == run_episode(dict(task, learner={}))["p_chosen"]
    sim["send_hints"] = False  # no profile known: exact Bayes with the same knowledge has none
    params.write_text(yaml.safe_dump({"/**/sim_world_node": {"ros__parameters": sim}}))
    assert set(bound_runs(params, 12)) == {"logistic"}
    assert bound_runs(tmp_path / "missing.yaml", 12) == {}


def test_the_targets_are_measured_paired_and_marked_met_or_missed():
    from moral_compass_ros.tools.evaluate import target_table

    def entry(approval, answers):
        return {
            "seeds": [0, 1, 2],
            "approval_rate_last_20": {"per_seed": approval},
            "answers_to_90pct_oracle": {"median": answers},
        }

    metrics = {
        "dvs_avoid": {"fixed_profile": entry([0.80, 0.70, 0.75], 14.0)},
        "bayes": {"fixed_profile": entry([0.80, 0.75, 0.80], 11.0)},
    }
    lines = target_table(metrics)
    approval = next(x for x in lines if "approval, last 20: DVS ≥ bayes − 0.02" in x)
    assert "-0.033 ± 0.017" in approval and approval.endswith("| missed |")
    answers = next(x for x in lines if "answers to 90 %" in x)
    assert "14.0 against 11.0" in answers and answers.endswith("| missed |")
    metrics["dvs_avoid"]["fixed_profile"] = entry([0.80, 0.75, 0.80], 13.0)
    assert all(x.endswith("| met |") for x in target_table(metrics) if x.startswith("| fixed"))
    assert target_table({}) == []
