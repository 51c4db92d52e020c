# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""``moral-compass fleet``: the batched fleet simulation, its outputs, and the shared-support
S_ε."""

import json

import numpy as np
import pytest

from moral_compass_ros.core import sinkhorn_divergence
from moral_compass_ros.core.population import shared_support_divergence
from moral_compass_ros.tools import cli, fleet


@pytest.mark.parametrize("cost", ["sqeuclidean", "hellinger"])
def test_shared_support_divergence_agrees_with_the_package_definition(cost):
    rng = np.random.default_rng(0)
    for k, alpha in ((16, 1.0), (64, 0.3), (40, 0.1)):
        support = rng.dirichlet(np.ones(5), size=k)
        b = rng.dirichlet(np.full(k, alpha), size=7)
        a = b.mean(axis=0)
        ours = shared_support_divergence(support, a, b, 0.05, cost=cost)
        reference = sinkhorn_divergence(
            support.copy(), a, support.copy(), b, 0.05, cost, max_iter=20000
        )
        np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(
        shared_support_divergence(support, b[0], b[:1], 0.05), 0.0, atol=1e-9
    )


def test_same_seed_same_fleet():
    config = fleet.FleetConfig(robots=20, answers=12, particles=32, seed=4)
    first, second = fleet.run_batched(config, True), fleet.run_batched(config, True)
    assert first.error == second.error
    assert first.average_mean == second.average_mean
    assert first.diversity == second.diversity


def test_pull_with_nu_zero_is_no_pull_and_pull_reduces_diversity():
    base = dict(robots=40, answers=30, particles=48, seed=1)
    without = fleet.run_batched(fleet.FleetConfig(**base), False)
    zero = fleet.run_batched(fleet.FleetConfig(nu=0.0, **base), True)
    np.testing.assert_allclose(zero.error, without.error, rtol=1e-12)
    pulled = fleet.run_batched(fleet.FleetConfig(nu=2.0, **base), True)
    assert pulled.diversity[-1] < 0.5 * without.diversity[-1]
    assert pulled.spread[-1] < without.spread[-1]
    # the average compass stays a mixture: its mean is on the simplex
    mean = np.asarray(pulled.average_mean)
    np.testing.assert_allclose(mean.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(mean >= 0)


def test_fleet_command_writes_json_plots_and_cost_table(tmp_path):
    out = tmp_path / "fleet"
    code = cli.main(
        [
            "fleet",
            "--robots",
            "12",
            "--answers",
            "10",
            "--particles",
            "32",
            "--social-pull",
            "1.5",
            "--scaling",
            "5,20",
            "--scaling-answers",
            "5",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    result = json.loads((out / "fleet.json").read_text())
    assert result["command"].startswith("moral-compass fleet --robots 12")
    assert result["kappa"] == pytest.approx(0.75)
    assert len(result["runs"]) == 2
    assert [row["robots"] for row in result["scaling"]] == [5, 20]
    for name in ("average_compass.png", "drift.png", "social_pull.png", "cost_vs_n.png"):
        assert (out / name).stat().st_size > 5000, name
    assert "| 20 |" in (out / "cost_vs_n.md").read_text()


def test_fleet_command_rejects_bad_arguments(tmp_path, capsys):
    with pytest.raises(SystemExit):
        fleet.main(["--robots", "0", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        fleet.main(["--robots", "20", "--mode", "graph", "--out", str(tmp_path)])
    assert "graph mode" in capsys.readouterr().err
