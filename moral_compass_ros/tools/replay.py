# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""``moral-compass replay BAG --out DIR``: re-run selector and compass offline on a recorded bag.

Reads the planner's candidates, the selections, the answers and the compass versions from a
rosbag2 (sqlite3 or MCAP, detected), re-runs the action selector and the compass through the
same core in the causal order the recorded selections imply, and writes ``DIR/metrics.json``
(agreement with the recorded selections, approval-prediction quality, compass trajectory and
exactness), three plots and ``DIR/replay.mcap`` (the replayed ``selection`` and ``compass``).

Parameters: ``--params FILE``, else the parameters stored in the bag, else ``params.yaml``
beside the bag directory (the demo writes ``runs/<ts>/params.yaml``), else the package's
``config/moral_compass.yaml``. ``--set key=value`` (repeatable) changes one for a "what if".

Exit codes: 0 done; 1 done but a faithful replay did not reproduce the recording exactly;
2 bad arguments, parameters or bag (the reason on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Optional, TextIO

from moral_compass_ros.tools.cli import description

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="moral-compass replay",
        description=description(__doc__, 1),
        epilog="example: moral-compass replay runs/latest/bag --out runs/latest/replay "
        "--set lambda_info=0.5 --set information_mode=seek",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("bag", type=Path, help="bag directory, or a .mcap / .db3 file")
    parser.add_argument("--out", type=Path, required=True, help="output directory (created)")
    parser.add_argument(
        "--params",
        type=Path,
        default=None,
        help="ROS parameters YAML the recording ran with (default: stored in "
        "the bag, else params.yaml beside the bag, else the package's)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change one learner parameter (repeatable), e.g. lambda_info=0.5, "
        "information_mode=seek, gamma=0.9, n_particles=256",
    )
    parser.add_argument(
        "--storage",
        choices=("auto", "mcap", "sqlite3"),
        default="auto",
        help="storage of the bag (default: detected)",
    )
    parser.add_argument(
        "--namespace", default=None, help="robot namespace to replay when the bag holds several"
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    return parser


class Progress:
    """A one-line progress indicator on a terminal (silent when ``stream`` is not a tty)."""

    def __init__(self, label: str, stream: TextIO = sys.stderr, enabled: bool = True):
        self.label = label
        self.stream = stream
        self.enabled = enabled and hasattr(stream, "isatty") and stream.isatty()
        self._last = 0.0
        self._started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        """Show ``done`` of ``total`` (``total`` 0 = unknown), at most 10 times a second."""
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.1 and done != total):
            return
        self._last = now
        if total:
            filled = int(30 * done / total)
            bar = "#" * filled + "-" * (30 - filled)
            text = f"{self.label} [{bar}] {done}/{total} {now - self._started:5.1f}s"
        else:
            text = f"{self.label} {done} messages {now - self._started:5.1f}s"
        self.stream.write("\r" + text)
        self.stream.flush()

    def finish(self) -> None:
        """End the line."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def main(argv: Optional[list[str]] = None) -> int:
    """Run ``moral-compass replay``; return the exit code (see the module docstring)."""
    try:
        args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exit_request:  # argparse: --help (0) or a usage error (2)
        return int(exit_request.code or 0)
    from moral_compass_ros.bag import BagError, read_bag
    from moral_compass_ros.bag._output import write_output_bag, write_plots
    from moral_compass_ros.bag._replay import (
        ParameterError,
        build_parameters,
        find_parameters,
        metrics,
        parse_override,
        replay,
    )
    from moral_compass_ros.graph import config_file

    def fail(text: str) -> int:
        sys.stderr.write(f"replay: error: {text}\n")
        return EXIT_USAGE

    try:
        overrides = dict(parse_override(text) for text in args.overrides)
        reading = Progress("replay: reading", enabled=not args.quiet)
        contents = read_bag(args.bag, storage=args.storage, progress=reading)
        reading.finish()
        document, source = find_parameters(
            args.bag, args.params, contents.custom_data, config_file()
        )
        params = build_parameters(document, source, overrides)
    except (BagError, ParameterError) as error:
        return fail(str(error))
    print(
        f"replay: bag {args.bag} ({contents.storage}, "
        f"{len(contents.messages)} package messages"
        f"{'' if contents.complete else ', cut short'})"
    )
    print(f"replay: parameters from {params.source}")
    if overrides:
        print("replay: what if " + ", ".join(f"{k}={v}" for k, v in overrides.items()))
    for warning in contents.warnings:
        sys.stderr.write(f"replay: warning: {warning}\n")
    running = Progress("replay: running", enabled=not args.quiet)
    try:
        result = replay(contents, params, namespace=args.namespace, progress=running)
    except BagError as error:
        running.finish()
        return fail(str(error))
    running.finish()
    for warning in result.warnings:
        sys.stderr.write(f"replay: warning: {warning}\n")
    for reason, count in result.skipped.items():
        sys.stderr.write(f"replay: {count} x {reason}\n")

    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return fail(f"cannot create {args.out}: {error.strerror or error}")
    document = metrics(result, params, contents)
    (args.out / "metrics.json").write_text(json.dumps(document, indent=2) + "\n")
    written = write_output_bag(result, args.out / "replay.mcap")
    plots = [] if args.no_plots else write_plots(document, result, args.out)

    sel, comp = document["selections"], document["compass"]
    quality = document["approval_prediction"]["replayed"]
    agreement = sel["agreement"]
    print(
        f"replay: {sel['replayed']} selections, {sel['agree']}/{sel['compared_with_recorded']}"
        f" agree with the recording"
        + (f" ({agreement:.1%})" if agreement is not None else "")
        + (
            f", max |Δ total| {sel['max_abs_total_diff']:.3g}"
            if sel["max_abs_total_diff"] is not None
            else ""
        )
    )
    print(
        f"replay: compass v{comp['start_version']}..v{comp['final_version']}, "
        f"{comp['versions_compared']} versions compared, max |Δ mean| "
        + (f"{comp['max_abs_mean_diff']:.3g}" if comp["max_abs_mean_diff"] is not None else "n/a")
        + ", reproduced exactly: "
        + (
            ("yes" if comp["versions_reproduced_exactly"] else "no")
            if comp["versions_compared"]
            else "nothing recorded to compare"
        )
    )
    if quality["n"]:
        print(
            f"replay: approval prediction on {quality['n']} answers: Brier "
            f"{quality['brier']:.3f}, log loss {quality['log_loss']:.3f}, "
            f"ECE {quality['ece']:.3f}"
        )
    print(
        f"replay: wrote {args.out / 'metrics.json'}, {args.out / 'replay.mcap'} "
        f"({written} messages)" + (", " + ", ".join(p.name for p in plots) if plots else "")
    )
    mismatch = (sel["compared_with_recorded"] and not sel["reproduced_exactly"]) or (
        comp["versions_compared"] and not comp["versions_reproduced_exactly"]
    )
    if document["mode"] == "exact" and mismatch:
        sys.stderr.write(
            "replay: the replay did not reproduce the recording exactly (see "
            "metrics.json: selections.disagreements, compass.max_abs_mean_diff)\n"
        )
        return EXIT_MISMATCH
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
