# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""``moral-compass bench --quick`` writes every field of its JSON and its figure, and agrees with
POT
(no times asserted)."""

import json
import os
import subprocess
import sys

import pytest

from core_helpers import REPO_ROOT

pytestmark = pytest.mark.ros

FIELDS = (
    "decision_ms_p50",
    "decision_ms_p99",
    "decision_cold_ms_p50",
    "pot_loop_ms_p50",
    "speedup_vs_pot",
    "max_abs_diff_vs_pot",
    "max_rel_diff_vs_pot",
    "max_abs_diff_vs_pot_same_tol",
    "pot_reference_tol",
    "precision",
    "exp_bound_ms",
    "ratio_to_bound",
    "update_ms_p50",
    "e2e_ms_p50",
    "e2e_ms_p99",
    "e2e_selector_compute_ms_p50",
    "decision_paced_ms_p50",
    "decision_paced_ms_p99",
    "dds_pingpong_ms_p99",
    "dds_message_roundtrip_ms_p99",
    "dds_serialized_roundtrip_ms_p99",
    "message_conversion_ms",
    "rss_mb",
    "grid",
    "threads",
    "decision_breakdown_ms",
    "iterations_cross_mean",
    "cross_ns_per_entry_iteration",
)


def test_quick_bench_writes_every_field_and_matches_pot(tmp_path):
    out = tmp_path / "bench.json"
    # a child process: the bench sets torch's thread count and starts DDS nodes of its own
    page = tmp_path / "performance.md"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "moral_compass_ros.tools.cli",
            "bench",
            "--quick",
            "--threads",
            "1",
            "--out",
            str(out),
            "--page",
            str(page),
        ],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    for field in FIELDS:
        assert field in result, field
    assert result["pot_reference_tol"] <= 1e-9 and result["max_rel_diff_vs_pot"] <= 1e-4
    assert set(result["rss_mb"]) >= {"compass_node", "action_selector_node"}
    assert all(v > 0 for v in result["rss_mb"].values())
    assert {"B", "N", "decision_ms_p50", "exp_bound_ms", "update_ms_p50"} <= set(result["grid"][0])
    assert set(result["decision_breakdown_ms"]) == {
        "sampling_ms",
        "kernel_ms",
        "cross_ms",
        "self_ms",
        "other_ms",
    }
    assert result["iterations_cross_mean"] >= 1
    assert "decision p50" in proc.stdout
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the page holds this run's figures, and each target says met or missed by this run's numbers
    text = page.read_text()
    assert (
        f"moral-compass bench --quick --threads 1 --out {out}" in text and "](bench.png)" in text
    )
    assert f"| {result['decision_ms_p50']:.2f} / {result['decision_ms_p99']:.2f} |" in text
    verdict = "met" if result["decision_ms_p50"] <= 10.0 else "missed"
    assert f"| decision p50 ≤ 10 ms | {result['decision_ms_p50']:.1f} ms | {verdict} |" in text


def test_the_page_is_remade_from_a_json_without_measuring(tmp_path, capsys):
    from moral_compass_ros.tools import bench

    source = json.loads((REPO_ROOT / "doc" / "bench" / "bench.json").read_text())
    (tmp_path / "b.json").write_text(json.dumps(source))
    assert (
        bench.main(["--from-json", str(tmp_path / "b.json"), "--page", str(tmp_path / "p.md")])
        == 0
    )
    assert (tmp_path / "b.png").exists()
    assert f"×{source['speedup_vs_pot']:.0f}" in (tmp_path / "p.md").read_text()
