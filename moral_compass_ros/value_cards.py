# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Value cards: load, validate and hash the normative documentation of every value.

Pure Python (no rclpy): used by the nodes, the reports and offline tools alike.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import yaml

DIMENSIONS = ("criterion", "origin", "measurement", "aggregation", "legitimacy")


class ValueCardError(ValueError):
    """The value cards are missing, incomplete or do not match the learner's values."""


@dataclass(frozen=True)
class ValueCard:
    """The five dimensions of one value (see ``config/value_cards.yaml``)."""

    value_name: str
    criterion: str
    origin: str
    measurement: str
    aggregation: str
    legitimacy: str
    version: str
    author: str


def parse_value_cards(data: dict, value_names: Sequence[str]) -> tuple[ValueCard, ...]:
    """Validate parsed YAML ``{"cards": [...]}`` against ``value_names``.

    Returns the cards in the order of ``value_names``.

    Raises
    ------
    ValueCardError
        Naming the card and the missing dimension, an unknown or duplicate value, or a value
        without a card.
    """
    if not isinstance(data, dict) or not isinstance(data.get("cards"), list):
        raise ValueCardError("value cards must be a mapping with a list under 'cards'")
    by_name = {}
    for index, raw in enumerate(data["cards"]):
        if not isinstance(raw, dict):
            raise ValueCardError(f"card {index} is not a mapping")
        name = str(raw.get("value_name", "")).strip()
        if not name:
            raise ValueCardError(f"card {index} has no value_name")
        if name in by_name:
            raise ValueCardError(f"value {name!r} has two cards")
        for field in (*DIMENSIONS, "version", "author"):
            if not str(raw.get(field, "") or "").strip():
                raise ValueCardError(f"card for {name!r} is missing its {field!r}")
        unknown = set(raw) - {"value_name", *DIMENSIONS, "version", "author"}
        if unknown:
            raise ValueCardError(f"card for {name!r} has unknown keys {sorted(unknown)}")
        by_name[name] = ValueCard(
            **{k: str(raw[k]).strip() for k in ("value_name", *DIMENSIONS, "version", "author")}
        )
    missing = [n for n in value_names if n not in by_name]
    if missing:
        raise ValueCardError(f"no value card for {missing}")
    extra = sorted(set(by_name) - set(value_names))
    if extra:
        raise ValueCardError(f"value cards for values the compass does not have: {extra}")
    return tuple(by_name[n] for n in value_names)


def load_value_cards(path: str | Path, value_names: Sequence[str]) -> tuple[ValueCard, ...]:
    """Read and validate the cards of ``path`` (YAML); see :func:`parse_value_cards`."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ValueCardError(f"cannot read value cards {path}: {error}") from error
    return parse_value_cards(data, value_names)


def cards_hash(cards: Sequence[ValueCard]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``cards``: it names the cards a decision used."""
    canonical = json.dumps([asdict(c) for c in cards], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
