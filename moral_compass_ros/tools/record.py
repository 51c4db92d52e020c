# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""``moral-compass record``: record the package's topics of one robot into a rosbag2.

Subscribes to every topic of the package in the given namespace (candidates, selections,
compass and model (latched), value cards, feedback, acknowledgements, joy, markers and
/diagnostics) and writes them to an MCAP (default) or sqlite3 bag until Ctrl-C or
``--duration``, with a progress line of the messages per topic. The bag is readable by
``ros2 bag info/play`` on a ROS install, by MCAP tools and by ``moral-compass replay``.

Exit codes: 0 recorded; 2 bad arguments or the bag cannot be created.
"""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Optional

from moral_compass_ros.tools.cli import description

EXIT_OK, EXIT_USAGE = 0, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="moral-compass record",
        description=description(__doc__, 1),
        epilog="example: moral-compass record --namespace /robot_1 --duration 600 "
        "--params config/moral_compass.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-o",
        "--out",
        type=Path,
        default=None,
        help="bag directory to create (default: bags/moral_compass_<YYYYmmdd-HHMMSS>)",
    )
    parser.add_argument(
        "-s",
        "--storage",
        choices=("mcap", "sqlite3"),
        default="mcap",
        help="storage plugin (default: mcap)",
    )
    parser.add_argument(
        "-n",
        "--namespace",
        default="",
        help="robot namespace of the topics (default: the root namespace)",
    )
    parser.add_argument(
        "-d",
        "--duration",
        type=float,
        default=None,
        help="stop after this many seconds (default: until Ctrl-C)",
    )
    parser.add_argument(
        "--topics",
        nargs="+",
        default=None,
        metavar="TOPIC",
        help="record only these package topics (names as in topics.py, e.g. "
        "planner/candidates selection feedback compass)",
    )
    parser.add_argument(
        "--params",
        type=Path,
        default=None,
        help="parameters YAML the graph runs with: stored in the bag so that "
        "moral-compass replay uses it",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    """Run ``moral-compass record``; return the exit code."""
    try:
        args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exit_request:  # argparse: --help (0) or a usage error (2)
        return int(exit_request.code or 0)
    if args.duration is not None and args.duration <= 0:
        sys.stderr.write("record: error: --duration must be > 0\n")
        return EXIT_USAGE
    out = args.out or Path("bags") / (
        "moral_compass_" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    )
    if out.exists():
        sys.stderr.write(f"record: error: {out} exists already; choose another --out\n")
        return EXIT_USAGE
    custom = {}
    if args.params is not None:
        try:
            custom["moral_compass_ros.params"] = args.params.read_text(encoding="utf-8")
        except OSError as error:
            sys.stderr.write(
                f"record: error: cannot read {args.params}: {error.strerror or error}\n"
            )
            return EXIT_USAGE

    import rclpy
    from rclpy.signals import SignalHandlerOptions
    from rclpy.context import Context
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
    from rclpy.node import Node

    from moral_compass_ros.bag import BagRecorder
    from moral_compass_ros.bag._recorder import describe_counts

    # Ctrl-C must stop the tool even when it was started with SIGINT ignored (a background
    # job of a non-interactive shell passes SIG_IGN on, and Python keeps it).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    context = Context()
    rclpy.init(
        context=context, signal_handler_options=SignalHandlerOptions.NO
    )  # Ctrl-C -> KeyboardInterrupt
    node = executor = recorder = spinner = None
    try:
        namespace = "/" + args.namespace.strip("/") if args.namespace.strip("/") else ""
        node = Node("moral_compass_recorder", namespace=namespace, context=context)
        try:
            recorder = BagRecorder(
                node, out, storage=args.storage, topics=args.topics, custom_data=custom
            )
        except ValueError as error:
            sys.stderr.write(f"record: error: {error}\n")
            return EXIT_USAGE
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        spinner = threading.Thread(target=executor.spin, daemon=True)
        spinner.start()
        print(
            f"record: {args.storage} bag {out}, {len(recorder.topics)} topics in namespace "
            f"{namespace or '/'} (domain {os.environ.get('ROS_DOMAIN_ID', '0')}); "
            + (f"{args.duration:g} s" if args.duration else "Ctrl-C to stop"),
            flush=True,
        )
        started = time.monotonic()
        tty = sys.stderr.isatty()
        last = 0.0
        try:
            # rclpy's SIGINT handler shuts the context down; do not rely on KeyboardInterrupt
            while context.ok() and (
                args.duration is None or time.monotonic() - started < args.duration
            ):
                time.sleep(0.2)
                now = time.monotonic()
                if not args.quiet and now - last >= (0.5 if tty else 5.0):
                    last = now
                    counts = {t: c for t, c in recorder.counts().items() if c}
                    line = f"record: {now - started:6.1f}s {describe_counts(counts, 160)}"
                    sys.stderr.write(("\r" + line) if tty else (line + "\n"))
                    sys.stderr.flush()
        except KeyboardInterrupt:
            pass
        if tty and not args.quiet:
            sys.stderr.write("\n")
    except ExternalShutdownException:
        pass
    finally:
        if recorder is not None:
            recorder.close()
        if executor is not None:
            executor.shutdown()
        if spinner is not None:
            # the spin thread must be out of rclpy before the node and context go away, or
            # the process can abort at exit ("terminate called without an active exception")
            spinner.join(timeout=10.0)
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown(context=context)
    counts = recorder.counts() if recorder is not None else {}
    print(f"record: wrote {out}: {describe_counts(counts)}")
    if recorder is not None and recorder.error:
        sys.stderr.write(
            f"record: warning: some messages could not be written: {recorder.error}\n"
        )
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
