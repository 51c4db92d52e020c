# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""``moral-compass``: the package's command line.

moral-compass demo [--duration S] [--scenario NAME] ...   full graph + simulated world + report
moral-compass run [--namespace NS] [--tablet ...]         the robot graph, as the launch file
moral-compass record [...]                                record the package's topics to a bag
moral-compass replay BAG --out DIR [...]                  deterministic offline replay
moral-compass eval --out DIR [...]                        learners vs baselines on simulated people
moral-compass bench --out FILE.json [...]                 speed, against POT and the exp bound
moral-compass fleet --robots N --out DIR [...]            fleet: average compass, drift, pull
moral-compass library --from sim|emfd --out FILE          write a fingerprint library
moral-compass pretrain SOURCE... --out FILE.npz           pre-train ψ from many people's answers
moral-compass auth new NAME                               a tablet operator's token and entry
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys

_MARKUP = re.compile(r":[a-z]+:`~?([^`]+)`|``([^`]+)``|`([^`]+)`")


def plain(text: str) -> str:
    """Help text without reStructuredText markup: ````x````, ```x``` and ``:func:`x``` become x."""
    return _MARKUP.sub(lambda match: next(group for group in match.groups() if group), text)


def description(doc: str, paragraph: int = 0) -> str:
    """A command's ``--help`` description: one paragraph of its module docstring, plain."""
    return plain(doc.split("\n\n")[paragraph].strip())


# command -> module with main(argv) -> int; imported lazily so one broken tool cannot break
# the others and `--help` stays fast.
COMMANDS = {
    "demo": ("moral_compass_ros.tools.demo", "full node graph with simulated planner and people"),
    "run": ("moral_compass_ros.tools.run", "start the robot graph (the launch file's nodes)"),
    "record": ("moral_compass_ros.tools.record", "record the package's topics into a rosbag2"),
    "replay": ("moral_compass_ros.tools.replay", "replay a bag offline through the core"),
    "eval": ("moral_compass_ros.tools.evaluate", "compare learners and baselines"),
    "bench": ("moral_compass_ros.tools.bench", "measure decision and update speed"),
    "fleet": (
        "moral_compass_ros.tools.fleet",
        "simulate a fleet: average compass, drift, social pull",
    ),
    "library": (
        "moral_compass_ros.tools.library",
        "write a fingerprint library (simulator labels or eMFD)",
    ),
    "pretrain": (
        "moral_compass_ros.tools.pretrain",
        "pre-train the fingerprint network from many people's answers",
    ),
    "auth": ("moral_compass_ros.web.auth", "make tablet operator tokens and their entries"),
}


def _available() -> dict:
    found = {}
    for name, (module, summary) in COMMANDS.items():
        if importlib.util.find_spec(module) is not None:
            found[name] = (module, summary)
    return found


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``moral-compass COMMAND ...``; return the exit code."""
    try:
        return _dispatch(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:
        # the reader went away (``moral-compass -h | head``): stop quietly, as Unix tools do;
        # stdout is pointed at /dev/null so the interpreter's final flush cannot fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _dispatch(argv: list[str]) -> int:
    commands = _available()
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(description(__doc__) + "\n\ncommands:\n")
        for name, (_, summary) in commands.items():
            sys.stdout.write(f"  {name:8s} {summary}\n")
        return 0 if argv else 2
    name = argv[0]
    if name not in commands:
        sys.stderr.write(
            f"moral-compass: unknown command {name!r}; one of: {', '.join(commands)}\n"
        )
        return 2
    module = importlib.import_module(commands[name][0])
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
