# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""``moral-compass run``: start the robot graph without ``ros2 launch``.

    moral-compass run [--namespace robot_1] [--params FILE] [--log-level debug] [--use-sim-time]
                      [--tablet --tablet-operators operators.yaml [--tablet-port 8080]]

The same four nodes, names and arguments as ``launch/moral_compass.launch.py`` (both read
``moral_compass_ros.graph``), with each node's output on this console behind its name. The
tablet page's URL is printed when it is up. Ctrl-C stops every node. As in the launch file,
the compass and the action selector are required: if either exits, the rest are stopped and the
command exits 1.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

from moral_compass_ros.graph import GRAPH_NODES, GraphRunner, config_file
from moral_compass_ros.tools.cli import description

TABLET_URL = re.compile(r"tablet page: (\S+)")


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="moral-compass run", description=description(__doc__))
    parser.add_argument(
        "--namespace",
        default="",
        help="namespace of every node and topic, e.g. robot_1 (default: none)",
    )
    parser.add_argument(
        "--params",
        type=Path,
        default=None,
        help="parameter YAML (default: the package's config/moral_compass.yaml)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=("debug", "info", "warn", "error", "fatal"),
        help="log level of every node (default info)",
    )
    parser.add_argument(
        "--use-sim-time", action="store_true", help="use /clock, as when a bag is played"
    )
    parser.add_argument(
        "--tablet", action="store_true", help="serve the operator tablet page from feedback_node"
    )
    parser.add_argument(
        "--tablet-port",
        type=int,
        default=None,
        help="TCP port of the tablet page (default: the params file's, 8080; 0 = any free port)",
    )
    parser.add_argument(
        "--tablet-operators",
        type=Path,
        default=None,
        help="operators file with token hashes (make entries with moral-compass auth new NAME)",
    )
    return parser.parse_args(argv)


class _Console:
    """Prints node output behind the node's name; spots the tablet page's URL."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def say(self, text: str) -> None:
        with self._lock:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()

    def node_line(self, name: str, line: str) -> None:
        self.say(f"[{name}] {line}")
        found = TABLET_URL.search(line) if name == "feedback_node" else None
        if found:
            self.say(f"run: tablet page: {found.group(1)}  (operators log in with their token)")


def _stop_on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the graph until Ctrl-C or a required node exits; return the exit code."""
    args = _parse(list(sys.argv[1:] if argv is None else argv))
    params = args.params or config_file()
    if not params.is_file():
        sys.stderr.write(f"run: parameter file {params} does not exist\n")
        return 2
    feedback_overrides = {}
    if args.tablet:
        feedback_overrides["tablet_enabled"] = True
        if args.tablet_port is not None:
            feedback_overrides["tablet_port"] = args.tablet_port
        if args.tablet_operators is not None:
            if not args.tablet_operators.is_file():
                sys.stderr.write(f"run: operators file {args.tablet_operators} does not exist\n")
                return 2
            feedback_overrides["tablet_operators_file"] = str(args.tablet_operators.resolve())
    elif args.tablet_port is not None or args.tablet_operators is not None:
        sys.stderr.write("run: --tablet-port and --tablet-operators need --tablet\n")
        return 2
    console = _Console()
    try:
        runner = GraphRunner(
            GRAPH_NODES,
            namespace=args.namespace,
            params_files=[params],
            log_level=args.log_level,
            overrides={"use_sim_time": True} if args.use_sim_time else None,
            on_output=console.node_line,
        )
    except RuntimeError as error:
        sys.stderr.write(f"run: {error}\n")
        return 2
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    console.say(
        f"run: starting {', '.join(n.name for n in GRAPH_NODES)} "
        f"(namespace '{args.namespace or '/'}', domain "
        f"{os.environ.get('ROS_DOMAIN_ID', '0')}, params {params}); Ctrl-C stops them"
    )
    required = {node.name for node in GRAPH_NODES if node.required}
    exit_code = 0
    reported: set[str] = set()
    try:
        runner.start({"feedback_node": feedback_overrides})
        while len(reported) < len(GRAPH_NODES):
            for name, code in runner.dead().items():
                if name in reported:
                    continue
                reported.add(name)
                if name in required:
                    console.say(
                        f"run: required node {name} exited with code {code}; stopping the graph"
                    )
                    exit_code = 1
                    raise KeyboardInterrupt
                console.say(f"run: {name} exited with code {code}; the others keep running")
            time.sleep(0.2)
    except KeyboardInterrupt:
        console.say("run: stopping the nodes")
    finally:
        codes = runner.stop()
    failed = {name: code for name, code in codes.items() if code != 0 and name not in reported}
    if failed:
        console.say(f"run: exit codes {failed}")
        exit_code = 1
    return exit_code


if __name__ == "__main__":
    raise SystemExit(main())
