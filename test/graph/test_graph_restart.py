# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""A restarted compass node comes back to exactly the state it had (separate processes)."""

import numpy as np
import pytest

from graph_fixture import node_logs, running_graph

pytestmark = pytest.mark.ros


def test_compass_node_restart_restores_version_and_particles(tmp_path):
    with running_graph(tmp_path) as (runner, probe):
        for i in range(3):
            probe.request(f"r{i}")
            assert probe.spin_until(lambda: probe.selection_for(f"r{i}")), node_logs(tmp_path)
            before = probe.latest_version()
            assert probe.wait_feedback_node_saw(f"r{i}"), node_logs(tmp_path)
            probe.press(i % 2)
            assert probe.spin_until(lambda: probe.latest_version() == before + 1), node_logs(
                tmp_path
            )
            probe.spin_for(0.1)
        before = max(probe.compasses, key=lambda c: c.version)
        runner.kill("compass_node")
        probe.compasses.clear()
        runner.start_node(next(n for n in runner.nodes if n.name == "compass_node"))
        assert probe.spin_until(lambda: probe.compasses, 90), node_logs(tmp_path)
        after = probe.compasses[-1]
        assert after.version == before.version == 3
        np.testing.assert_allclose(after.particles, before.particles, rtol=0, atol=1e-12)
        np.testing.assert_allclose(after.weights, before.weights, rtol=0, atol=1e-12)
