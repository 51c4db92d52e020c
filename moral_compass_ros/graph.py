# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The node graph: which nodes run, under which names, with which config.

One source of truth for ``launch/moral_compass.launch.py`` (a robot's ``ros2 launch``) and for
:class:`GraphRunner` (this package's own runner, for machines without ``ros2 launch``). A test
loads the launch file and checks it starts exactly these nodes with exactly these arguments.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import yaml

PACKAGE = "moral_compass_ros"
SOURCE_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class GraphNode:
    """One node of the graph: its executable (``ros2 run`` name = node name), its module, and
    whether the graph is pointless without it (its exit, even at start-up, stops the graph)."""

    executable: str
    module: str
    required: bool = False

    @property
    def name(self) -> str:
        """The node name (equal to the executable's name, as the style guide asks)."""
        return self.executable


# The robot graph (launch/moral_compass.launch.py starts these).
GRAPH_NODES = (
    GraphNode("compass_node", "moral_compass_ros.nodes.compass_node", required=True),
    GraphNode(
        "action_selector_node", "moral_compass_ros.nodes.action_selector_node", required=True
    ),
    GraphNode("feedback_node", "moral_compass_ros.nodes.feedback_node"),
    GraphNode("visualization_node", "moral_compass_ros.nodes.visualization_node"),
)

# The simulated world the demo adds (a planner that executes selections and people who answer).
SIM_NODES = (GraphNode("sim_world_node", "moral_compass_ros.nodes.sim_world_node"),)


def config_file(name: str = "moral_compass.yaml") -> Path:
    """A config file of the package: the installed share directory, else the source tree."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

        try:
            return Path(get_package_share_directory(PACKAGE)) / "config" / name
        except PackageNotFoundError:
            pass
    except ImportError:
        pass
    return SOURCE_ROOT / "config" / name


def node_key(name: str) -> str:
    """The key of node ``name``'s section in a parameter YAML: ``/**/name``.

    It matches the node in every namespace. A plain ``name:`` key matches only ``/name``, so on
    a robot launched with ``namespace:=robot_1`` rcl silently skips that section and the node
    runs on its declared defaults.
    """
    return f"/**/{name}"


def names_node(key: str, name: str) -> bool:
    """Whether the parameter-YAML key ``key`` is a section of node ``name`` (``name``,
    ``/name`` or ``/**/name``; ``/**`` alone is every node's)."""
    return key in (name, "/" + name, node_key(name))


def node_parameters(document: dict, name: str) -> dict:
    """The ``ros__parameters`` of node ``name`` in a parsed parameter YAML, to read or edit in
    place: the first section :func:`names_node` finds, else a new ``/**/name`` section."""
    for key, body in document.items():
        if names_node(str(key), name) and isinstance(body, dict):
            return body.setdefault("ros__parameters", {})
    return document.setdefault(node_key(name), {}).setdefault("ros__parameters", {})


def ros_arguments(
    node: GraphNode, namespace: str, params_files: Sequence[str | Path], log_level: str = "info"
) -> list[str]:
    """The ``--ros-args`` of ``node``: its name, namespace, log level and parameter files (the
    launch file passes the same)."""
    args = ["--ros-args", "-r", f"__node:={node.name}", "--log-level", log_level]
    if namespace:
        args += ["-r", f"__ns:={namespace if namespace.startswith('/') else '/' + namespace}"]
    for path in params_files:
        args += ["--params-file", str(path)]
    return args


class GraphRunner:
    """Starts graph nodes as child processes (``python -m <module> --ros-args ...``).

    The children inherit the environment, including ``ROS_DOMAIN_ID`` and
    ``ROS_AUTOMATIC_DISCOVERY_RANGE``, which the caller must have set. Their output goes to
    ``log_dir/<node>.log``, else line by line to ``on_output(node_name, line)`` (from a reader
    thread per node), else nowhere.
    """

    def __init__(
        self,
        nodes: Sequence[GraphNode],
        namespace: str = "",
        params_files: Sequence[str | Path] = (),
        log_level: str = "info",
        overrides: dict | None = None,
        log_dir: Path | None = None,
        on_output: Callable[[str, str], None] | None = None,
    ):
        if (
            os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") != "LOCALHOST"
            and os.environ.get("MC_ALLOW_NETWORK") != "1"
        ):
            raise RuntimeError(
                "refusing to start nodes without ROS_AUTOMATIC_DISCOVERY_RANGE="
                "LOCALHOST (set MC_ALLOW_NETWORK=1 on a robot network)"
            )
        self.nodes = tuple(nodes)
        self.namespace = namespace
        self.params_files = tuple(params_files) or (config_file(),)
        self.log_level = log_level
        self.overrides = dict(overrides or {})
        self.log_dir = log_dir
        self.on_output = on_output
        self.processes: dict[str, subprocess.Popen] = {}
        self._forwarders: list[threading.Thread] = []
        self._override_dir: Path | None = None

    def command(self, node: GraphNode, overrides: dict | None = None) -> list[str]:
        """The command line that starts ``node``: the parameter files, then, when there are
        overrides, one more file with them in ``node``'s section.

        A file and not ``-p``: rcl files ``-p`` values under ``/**``, which loses to any section
        of the node's own in the files; a later file's section of the node wins.
        """
        files = list(self.params_files)
        values = {**self.overrides, **(overrides or {})}
        if values:
            if self._override_dir is None:
                self._override_dir = Path(tempfile.mkdtemp(prefix="mc-overrides-"))
            path = self._override_dir / f"{node.name}.yaml"
            path.write_text(yaml.safe_dump({node_key(node.name): {"ros__parameters": values}}))
            files.append(path)
        return [
            sys.executable,
            "-m",
            node.module,
            *ros_arguments(node, self.namespace, files, self.log_level),
        ]

    def start(self, node_overrides: dict[str, dict] | None = None) -> None:
        """Start every node (``node_overrides``: extra parameters per node name)."""
        for node in self.nodes:
            self.start_node(node, (node_overrides or {}).get(node.name))

    def start_node(self, node: GraphNode, overrides: dict | None = None) -> subprocess.Popen:
        """Start (or restart) one node."""
        output = subprocess.DEVNULL
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = open(self.log_dir / f"{node.name}.log", "ab")  # noqa: SIM115 (child owns it)
        elif self.on_output is not None:
            output = subprocess.PIPE
        proc = subprocess.Popen(
            self.command(node, overrides),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if output is subprocess.PIPE:
            forwarder = threading.Thread(
                target=self._forward,
                args=(node.name, proc.stdout),
                name=f"output-{node.name}",
                daemon=True,
            )
            forwarder.start()
            self._forwarders.append(forwarder)
        elif output is not subprocess.DEVNULL:
            output.close()
        self.processes[node.name] = proc
        return proc

    def _forward(self, name: str, stream) -> None:
        with stream:
            for line in stream:
                self.on_output(name, line.decode(errors="replace").rstrip("\n"))

    def kill(self, name: str) -> None:
        """SIGKILL one node (crash testing) and reap it."""
        proc = self.processes[name]
        proc.kill()
        proc.wait()

    def dead(self) -> dict[str, int]:
        """``{name: exit code}`` of nodes that have exited."""
        return {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}

    def stop(self, timeout_s: float = 10.0) -> dict[str, int]:
        """SIGINT every node, wait, SIGKILL stragglers; return the exit codes."""
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + timeout_s
        codes = {}
        for name, proc in self.processes.items():
            try:
                codes[name] = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = proc.wait()
        if self._override_dir is not None:
            shutil.rmtree(self._override_dir, ignore_errors=True)
            self._override_dir = None
        for forwarder in self._forwarders:  # the last lines a node wrote before it exited
            forwarder.join(timeout=5.0)
        self._forwarders.clear()
        return codes

    def __enter__(self) -> "GraphRunner":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
