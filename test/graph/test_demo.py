# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The main job end to end: ``moral-compass demo`` (full node graph, simulated planner and
people, a bag, the report), then ``moral-compass replay`` of its bag.

A short episode (10 answers) of the same code path as ``make demo``: every answer is
acknowledged, the report and metrics exist, the bag holds every candidate set and the compass
from the prior (version 0) on, and the replay reproduces every selection and compass version.
"""

from __future__ import annotations

import json

import pytest

from moral_compass_ros.tools import demo, replay

pytestmark = pytest.mark.ros

ANSWERS = 10


def test_demo_runs_the_graph_and_its_bag_replays_exactly(tmp_path, capsys):
    code = demo.main(
        ["--answers", str(ANSWERS), "--duration", "180", "--runs-dir", str(tmp_path / "runs")]
    )
    out = capsys.readouterr().out
    run = (tmp_path / "runs" / "latest").resolve()
    logs = "\n".join(
        f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}"
        for p in sorted((run / "logs").glob("*.log"))
    )
    assert code == 0, out + logs
    assert f"demo: {ANSWERS} answers" in out
    assert "demo: starting compass_node" in out and "demo: nodes up after" in out
    metrics = json.loads((run / "metrics.json").read_text())
    # the console ends with the same verdict the report opens with
    assert f"demo: verdict: {metrics['verdict']}" in out
    assert "of the oracle's approval" in metrics["verdict"] and "cosine" in metrics["verdict"]
    page = (run / "report.html").read_text()
    assert page.count("<img ") == page.count("class='caption'") >= 6  # every plot has a caption
    assert "class=\"verdict\"" in page and page.count("class='key'") == 3
    assert "<h2>Pluralism</h2>" in page and "{&quot;" not in page  # a table, not JSON
    truth = [json.loads(line) for line in (run / "truth.jsonl").read_text().splitlines()]
    assert len(truth) == ANSWERS

    code = replay.main([str(run / "bag"), "--out", str(tmp_path / "replay"), "--no-plots"])
    out = capsys.readouterr().out
    assert code == 0, out
    document = json.loads((tmp_path / "replay" / "metrics.json").read_text())
    selections, compass = document["selections"], document["compass"]
    assert selections["replayed"] == ANSWERS  # every candidate set is in the bag
    assert selections["agree"] == selections["compared_with_recorded"] == ANSWERS
    assert compass["start_version"] == 0 and compass["final_version"] == ANSWERS
    assert compass["versions_reproduced_exactly"]
