# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Multi-host fleet over DDS: robots and population_node in separate network namespaces.

Topology (all made by this test, all deleted at the end even on failure)::

    netns <p>h1 (10.231.0.1): /robot_1/compass_node ─┐
    netns <p>h2 (10.231.0.2): /robot_2/compass_node ─┼─ veth ── bridge in netns <p>sw
    netns <p>h3 (10.231.0.3): population_node + probe┘

Every DDS process runs with ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` (no multicast beyond
its own namespace's loopback) and ``ROS_STATIC_PEERS`` = the other hosts' addresses: discovery
across hosts uses only the explicit peer list. The addresses exist only inside namespaces this
test created, so no packet can leave them. The test asserts that population_node, on its own
host, averages both robots' compasses (the 1/N mixture of their clouds).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid

import numpy as np
import pytest

from moral_compass_ros.graph import GRAPH_NODES, GraphRunner
from moral_compass_ros.nodes.population_node import POPULATION_NODE
from ros_helpers import REPO_ROOT

pytestmark = pytest.mark.ros

SUBNET = "10.231.0"
PARTICLES = 32

PROBE = r"""
import json, sys, time
import numpy as np
import rclpy, rclpy.node
from rclpy.executors import SingleThreadedExecutor
from moral_compass_ros.msg import MoralCompass, PopulationCompass
from moral_compass_ros.qos import STATE_QOS
rclpy.init()
node = rclpy.node.Node("multihost_probe")
seen = {"status": None, "robot_1": None, "robot_2": None}
def keep(key):
    return lambda msg: seen.__setitem__(key, msg)
node.create_subscription(PopulationCompass, "/population/status", keep("status"), STATE_QOS)
for r in ("robot_1", "robot_2"):
    node.create_subscription(MoralCompass, f"/{r}/compass", keep(r), STATE_QOS)
executor = SingleThreadedExecutor()
executor.add_node(node)
deadline = time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline:
    executor.spin_once(timeout_sec=0.1)
    s = seen["status"]
    if s is not None and len(s.robots) == 2 and seen["robot_1"] and seen["robot_2"]:
        break
out = {"status": None}
s = seen["status"]
if s is not None:
    out["status"] = {"robots": list(s.robots), "versions": [int(v) for v in s.robot_versions],
                     "distances": list(s.distances), "mean": list(s.average.mean),
                     "weights": list(s.average.weights), "particles": list(s.average.particles)}
for r in ("robot_1", "robot_2"):
    m = seen[r]
    out[r] = None if m is None else {"mean": list(m.mean), "particles": list(m.particles),
                                     "weights": list(m.weights), "version": int(m.version)}
sys.stdout.write("RESULT " + json.dumps(out) + "\n")
node.destroy_node()
rclpy.try_shutdown()
"""


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30)


class Namespaces:
    """Creates the namespaces, bridge and veths; ``close()`` deletes every one of them."""

    def __init__(self, n_hosts: int):
        tag = uuid.uuid4().hex[:5]
        self.switch = f"mc{tag}sw"
        self.hosts = [f"mc{tag}h{i + 1}" for i in range(n_hosts)]
        self.addresses = [f"{SUBNET}.{i + 1}" for i in range(n_hosts)]
        self.created: list[str] = []
        self.tag = tag

    def _must(self, *args: str) -> None:
        result = _run(*args)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: {result.stderr.strip()}")

    def open(self) -> None:
        self._must("ip", "netns", "add", self.switch)
        self.created.append(self.switch)
        self._must("ip", "-n", self.switch, "link", "set", "lo", "up")
        self._must("ip", "-n", self.switch, "link", "add", "br0", "type", "bridge")
        self._must("ip", "-n", self.switch, "link", "set", "br0", "up")
        for i, (host, address) in enumerate(zip(self.hosts, self.addresses)):
            self._must("ip", "netns", "add", host)
            self.created.append(host)
            inside, port = f"eth{i}", f"p{self.tag}{i}"
            # created inside the host namespace with its peer inside the switch: the root
            # namespace never holds either end
            self._must(
                "ip",
                "-n",
                host,
                "link",
                "add",
                inside,
                "type",
                "veth",
                "peer",
                "name",
                port,
                "netns",
                self.switch,
            )
            self._must("ip", "-n", self.switch, "link", "set", port, "master", "br0")
            self._must("ip", "-n", self.switch, "link", "set", port, "up")
            self._must("ip", "-n", host, "addr", "add", f"{address}/24", "dev", inside)
            self._must("ip", "-n", host, "link", "set", inside, "up")
            self._must("ip", "-n", host, "link", "set", "lo", "up")

    def close(self) -> list[str]:
        problems = []
        for name in reversed(self.created):
            result = _run("ip", "netns", "del", name)
            if result.returncode != 0:
                problems.append(f"{name}: {result.stderr.strip()}")
        self.created = []
        return problems


def _netns_unavailable() -> str | None:
    if shutil.which("ip") is None:
        return "the 'ip' command (iproute2) is not installed"
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    probe = f"mcprobe{uuid.uuid4().hex[:6]}"
    result = _run("ip", "netns", "add", probe)
    if result.returncode != 0:
        return f"'ip netns add' is not permitted here: {result.stderr.strip()}"
    _run("ip", "netns", "del", probe)
    return None


def _dds_env(domain_id: int, peers: list[str]) -> dict:
    env = dict(os.environ)
    env.update(
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        ROS_STATIC_PEERS=";".join(peers),
        ROS_DOMAIN_ID=str(domain_id),
        PYTHONUNBUFFERED="1",
    )
    env.pop("ROS_LOCALHOST_ONLY", None)
    return env


def _start(netns: str, command: list[str], env: dict, log) -> subprocess.Popen:
    return subprocess.Popen(
        ["ip", "netns", "exec", netns, *command],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=REPO_ROOT,
        start_new_session=True,
    )


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_population_node_averages_robots_on_other_hosts(tmp_path, domain_id):
    reason = _netns_unavailable()
    if reason:
        pytest.skip(reason)
    nets = Namespaces(3)
    procs: list[subprocess.Popen] = []
    logs = tmp_path / "logs"
    logs.mkdir()
    try:
        nets.open()
        robot_hosts, population_host = nets.hosts[:2], nets.hosts[2]
        robot_ips, population_ip = nets.addresses[:2], nets.addresses[2]
        compass_node = next(n for n in GRAPH_NODES if n.name == "compass_node")
        for i, host in enumerate(robot_hosts):
            runner = GraphRunner(
                [compass_node],
                namespace=f"robot_{i + 1}",
                overrides={
                    "state_dir": str(tmp_path / f"state_{i + 1}"),
                    "n_particles": PARTICLES,
                    "n_fingerprint_samples": 8,
                    "seed": 100 + i,
                },
            )
            with open(logs / f"robot_{i + 1}.log", "wb") as log:
                procs.append(
                    _start(
                        host,
                        runner.command(compass_node),
                        _dds_env(domain_id, [population_ip]),
                        log,
                    )
                )
        population = GraphRunner(
            [POPULATION_NODE],
            overrides={"robots": ["robot_1", "robot_2"], "publish_period_s": 0.5},
        )
        with open(logs / "population.log", "wb") as log:
            procs.append(
                _start(
                    population_host,
                    population.command(POPULATION_NODE),
                    _dds_env(domain_id, robot_ips),
                    log,
                )
            )
        probe = subprocess.run(
            ["ip", "netns", "exec", population_host, sys.executable, "-c", PROBE, "120"],
            env=_dds_env(domain_id, robot_ips),
            capture_output=True,
            text=True,
            timeout=180,
            cwd=REPO_ROOT,
        )
        lines = [line for line in probe.stdout.splitlines() if line.startswith("RESULT ")]
        node_logs = "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
            for p in sorted(logs.glob("*.log"))
        )
        assert lines, f"probe printed no result:\n{probe.stdout}\n{probe.stderr}\n{node_logs}"
        result = json.loads(lines[-1][len("RESULT ") :])
        status = result["status"]
        assert status is not None and status["robots"] == ["robot_1", "robot_2"], (
            f"population node did not average both robots: {status}\n{node_logs}"
        )
        assert result["robot_1"] and result["robot_2"], node_logs
        # The average is the 1/N mixture of the two clouds: concatenated particles, weights/2.
        expected_particles = result["robot_1"]["particles"] + result["robot_2"]["particles"]
        expected_weights = (
            np.concatenate([result["robot_1"]["weights"], result["robot_2"]["weights"]]) / 2
        )
        np.testing.assert_allclose(status["particles"], expected_particles, atol=0)
        np.testing.assert_allclose(status["weights"], expected_weights, atol=1e-15)
        np.testing.assert_allclose(
            status["mean"],
            (np.array(result["robot_1"]["mean"]) + np.array(result["robot_2"]["mean"])) / 2,
            atol=1e-12,
        )
        assert status["versions"] == [result["robot_1"]["version"], result["robot_2"]["version"]]
        assert len(status["distances"]) == 2 and min(status["distances"]) > 0
        # robots with different seeds hold different priors, so the fleet is diverse
        assert not np.allclose(result["robot_1"]["particles"], result["robot_2"]["particles"])
    finally:
        _stop(procs)
        problems = nets.close()
        leftover = _run("ip", "netns", "list").stdout
        assert nets.tag not in leftover, f"namespaces left behind: {leftover}"
        assert not problems, problems
