# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""``moral-compass fleet --mode graph``: two real namespaced robot graphs + population_node over
loopback DDS (this worker's domain), with social pull on."""

import json

import pytest

from moral_compass_ros.tools import fleet

pytestmark = pytest.mark.ros


def test_two_robot_graphs_and_the_population_node(tmp_path):
    out = tmp_path / "fleet"
    code = fleet.main(
        [
            "--robots",
            "2",
            "--mode",
            "graph",
            "--answers",
            "3",
            "--social-pull",
            "1.0",
            "--timeout",
            "240",
            "--out",
            str(out),
        ]
    )
    logs = "\n".join(
        f"--- {p}\n{p.read_text(errors='replace')[-1500:]}"
        for p in sorted((out / "logs").rglob("*.log"))
    )
    assert code == 0, logs
    result = json.loads((out / "fleet.json").read_text())
    series = result["graph"]
    assert series["complete"]
    assert series["robots"] == ["robot_1", "robot_2"]
    assert len(series["t"]) >= 2
    assert all(abs(sum(mean) - 1.0) < 1e-9 for mean in series["average_mean"])
    assert (out / "average_compass.png").stat().st_size > 5000
    assert (out / "drift.png").stat().st_size > 5000
    # social pull ran in the compass nodes (their logs say so)
    assert "social pull on" in (out / "logs" / "robot_1" / "compass_node.log").read_text()
