# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""``moral-compass pretrain``: pre-train the fingerprint network ψ from many people's answers.

    moral-compass pretrain SOURCE... --out psi.npz [--params FILE.yaml] [--set KEY=VALUE ...]
    moral-compass pretrain --from-sim SCENARIO [--people 50] [--world-seed 0] --out psi.npz

A SOURCE is a compass journal (``journal.jsonl``), a bag (directory, ``.mcap`` or ``.db3``) or
a directory searched for both. Every answer's ``operator`` is one person; at least two are
needed. The learner's dimensions, width and priors come from ``--params`` (default: the
package's ``config/moral_compass.yaml``; a bag's own recorded parameters when it has them) and
``--set``. ``--from-sim`` makes the answers instead: ``--people`` simulated people in the world
of ``--world-seed`` each answer an episode of randomly chosen actions (a pilot study).

Use the result with the parameter ``fingerprint_model: psi.npz`` on compass_node and
action_selector_node. The fit and what it reports: ``doc/design.md`` §10.1.

Exit codes: 0 written, 1 no usable answers, 2 bad arguments or parameters.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from moral_compass_ros.tools.cli import description

#: A fit that adds less than this many nats per answer has learned next to nothing.
MIN_USEFUL_GAIN = 0.01


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="moral-compass pretrain", description=description(__doc__)
    )
    parser.add_argument(
        "sources", nargs="*", type=Path, help="journals, bags or directories holding them"
    )
    parser.add_argument("--out", type=Path, required=True, help="file to write (.npz)")
    parser.add_argument(
        "--params",
        type=Path,
        default=None,
        help="parameter YAML (default: a bag's recorded parameters, else the package's)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change one learner parameter (repeatable)",
    )
    parser.add_argument(
        "--from-sim",
        metavar="SCENARIO",
        default=None,
        help="simulate the answers instead (e.g. fixed_profile)",
    )
    parser.add_argument(
        "--people", type=int, default=50, help="simulated people (with --from-sim)"
    )
    parser.add_argument(
        "--world-seed", type=int, default=0, help="simulated world (with --from-sim)"
    )
    parser.add_argument("--iterations", type=int, default=None, help="optimiser steps of the fit")
    return parser


def find_sources(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """Split ``paths`` into journals and bags, searching directories; ``ValueError`` if missing."""
    journals: list[Path] = []
    bags: list[Path] = []
    for path in paths:
        if not path.exists():
            raise ValueError(f"no such file or directory: {path}")
        if path.is_file():
            (journals if path.suffix == ".jsonl" else bags).append(path)
        elif (path / "metadata.yaml").exists():
            bags.append(path)
        else:
            journals += sorted(path.rglob("journal.jsonl"))
            bags += sorted(p.parent for p in path.rglob("metadata.yaml"))
    return journals, bags


def read_journal(path: Path) -> list:
    """The events of a journal, read-only (a running node may hold it)."""
    from moral_compass_ros.core.journal import FeedbackJournal

    with FeedbackJournal(path, readonly=True) as journal:
        return [event for _, event in journal.read()]


def read_bag_answers(path: Path, config) -> tuple[list, int]:
    """The answers the compass node received (``HumanFeedback`` on ``…/feedback``, not the raw
    input on ``…/feedback/raw``) recorded in a bag, as FeedbackEvents; also the number of
    messages refused (with the compass node's own checks)."""
    from moral_compass_ros import conversions, topics
    from moral_compass_ros.bag import read_bag
    from moral_compass_ros.bag._replay import PKG

    contents = read_bag(path, msgtypes={PKG + "HumanFeedback"})
    events, refused = [], 0
    for message in contents.messages:
        if not message.topic.endswith("/" + topics.FEEDBACK):
            continue
        try:
            events.append(
                conversions.feedback_from_msg(
                    message.message,
                    config.feature_dim,
                    config.context_dim,
                    len(config.value_names),
                )
            )
        except ValueError:
            refused += 1
    return events, refused


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``moral-compass pretrain``; return the exit code (module docstring)."""
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    import yaml

    from moral_compass_ros.bag import BagError
    from moral_compass_ros.bag._replay import ParameterError, build_parameters, parse_override
    from moral_compass_ros.core import pretrain_fingerprints
    from moral_compass_ros.core.journal import JournalError
    from moral_compass_ros.graph import config_file

    def say(text: str) -> None:
        sys.stderr.write(f"pretrain: {text}\n")

    if bool(args.sources) == bool(args.from_sim):
        say("error: give answer sources or --from-sim SCENARIO (not both)")
        return 2
    try:
        overrides = dict(parse_override(text) for text in args.overrides)
        params_path = args.params or config_file()
        document = yaml.safe_load(params_path.read_text(encoding="utf-8"))
        config = build_parameters(document, str(params_path), overrides).compass
    except (OSError, yaml.YAMLError, ParameterError) as error:
        say(f"error: parameters: {error}")
        return 2
    if args.from_sim:
        from moral_compass_ros.tools.evaluate import (
            learner_config,
            population_answers,
            scenario_preset,
        )

        try:
            preset = scenario_preset(args.from_sim)
        except ValueError as error:
            say(f"error: {error}")
            return 2
        # the simulated world fixes F, C and the values; the other parameters stay the file's
        config = learner_config(
            preset,
            config.seed,
            {
                **config.to_dict(),
                "value_names": tuple(preset.value_names),
                "feature_dim": preset.feature_dim,
                "context_dim": preset.context_dim,
            },
        )
        say(
            f"simulating {args.people} people answering {preset.n_answers} random actions each in "
            f"{args.from_sim} world {args.world_seed}"
        )
        events = population_answers(args.from_sim, args.world_seed, n_people=args.people)
    else:
        try:
            journals, bags = find_sources(args.sources)
        except ValueError as error:
            say(f"error: {error}")
            return 2
        events = []
        for path in journals:
            try:
                found = read_journal(path)
            except (JournalError, OSError) as error:
                say(f"skipping journal {path}: {error}")
                continue
            say(f"{len(found)} answers from journal {path}")
            events += found
        for path in bags:
            try:
                found, refused = read_bag_answers(path, config)
            except (BagError, ValueError) as error:
                say(f"skipping bag {path}: {error}")
                continue
            say(
                f"{len(found)} answers from bag {path}"
                + (f" ({refused} refused)" if refused else "")
            )
            events += found
        # an answer re-sent, or in both a journal and a bag of the same run, counts once
        unique = {}
        for event in events:
            unique.setdefault(event.feedback_id, event)
        if len(unique) < len(events):
            twice = len(events) - len(unique)
            say(f"{twice} answers seen twice (re-sent, or in a journal and a bag) counted once")
        events = list(unique.values())
    if not events:
        say("error: no answers found")
        return 1
    people = len({e.operator for e in events})
    say(f"fitting ψ to {len(events)} answers of {people} {'person' if people == 1 else 'people'}")
    options = {} if args.iterations is None else {"iterations": args.iterations}
    try:
        result = pretrain_fingerprints(
            events,
            config,
            **options,
            progress=lambda i, n, ll: say(f"  step {i}/{n}: log-likelihood {ll:.4f}"),
        )
    except ValueError as error:
        say(f"error: {error}")
        return 1
    result.save(args.out)
    say(
        f"ψ explains {result.gain:.3f} nats per answer over a near-uniform ψ (log-likelihood "
        f"{result.log_likelihood:.3f} against {result.reference_log_likelihood:.3f}); "
        f"β {result.beta:.1f}, τ {result.tau:.3f}"
    )
    if not any(event.value_hint.size == 0 for event in events):
        say(
            "warning: every answer's action had a known profile (a hint or a library entry), "
            "and ψ, which serves only actions without one, has nothing to learn from them"
        )
    elif result.gain < MIN_USEFUL_GAIN:
        say(
            "warning: ψ learned next to nothing: too few people, or features that do not carry "
            "what actions mean"
        )
    say(f"wrote {args.out}; use it with the parameter fingerprint_model: {args.out.resolve()}")
    alpha = ", ".join(f"{a:.3g}" for a in result.profile_alpha)
    say(
        f"these {people} people's profiles, as a Dirichlet (a compass prior for a deployment to "
        f"the same population): compass_prior_alpha: [{alpha}]"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
