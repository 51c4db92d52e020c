# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The legitimacy policy: who may shape the compass, through which device, with what weight.

Pure Python. The compass node applies :meth:`LegitimacyPolicy.decide` to every feedback event
before it is journaled — the one enforcement point every input path (gamepad, tablet, plain
topic, scripts publishing on ``feedback`` directly) passes through. Refused events are counted
and acknowledged with the reason, never dropped silently.

Policy file (``config/legitimacy.yaml``)::

    sources:               # input devices; a source not listed is refused
      joy:    {allowed: true, weight: 1.0}
      tablet: {allowed: true, weight: 1.0}
    operators:             # operator ids; "*" = every operator not listed; none listed = refused
      "*":    {allowed: true, weight: 1.0}
      visitor: {allowed: false}
    quorum:                # optional: a large compass move needs several operators
      enabled: false
      move_threshold: 0.02 # S_eps(q_new, q_old) above which a move counts as large
      min_operators: 2     # distinct operators among the last `window` applied answers + this one
      window: 10
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import yaml

WILDCARD = "*"


class PolicyError(ValueError):
    """The policy file is malformed (the message names the entry)."""


@dataclass(frozen=True)
class Permission:
    """Whether a source or operator may shape the compass, and the weight of its answers."""

    allowed: bool
    weight: float = 1.0


@dataclass(frozen=True)
class Quorum:
    """Large compass moves need ``min_operators`` distinct operators in the recent window."""

    enabled: bool = False
    move_threshold: float = 0.02
    min_operators: int = 2
    window: int = 10

    def refusal(self, operators: set, move: Callable[[], float]) -> str:
        """Why an answer lacks a quorum, or '' when it may go ahead.

        ``operators``: who answered in the last ``window`` answers, this one's operator
        included; ``move()``: the S_ε the answer would move the compass by (computed only
        when too few operators answered).
        """
        if not self.enabled or len(operators) >= self.min_operators:
            return ""
        moved = move()
        if moved <= self.move_threshold:
            return ""
        return (
            f"would move the compass by S_eps {moved:.4f} > {self.move_threshold} with "
            f"only {len(operators)} operator(s) in the last {self.window} answers "
            f"(quorum {self.min_operators})"
        )


@dataclass(frozen=True)
class Decision:
    """The policy's verdict on one answer: ``weight`` multiplies its log-likelihood."""

    allowed: bool
    weight: float
    reason: str = ""


def _permission(entry, where: str) -> Permission:
    if not isinstance(entry, Mapping):
        raise PolicyError(f"{where} must be a mapping like {{allowed: true, weight: 1.0}}")
    unknown = set(entry) - {"allowed", "weight"}
    if unknown:
        raise PolicyError(f"{where} has unknown keys {sorted(unknown)}")
    allowed = entry.get("allowed")
    if not isinstance(allowed, bool):
        raise PolicyError(f"{where}.allowed must be true or false")
    weight = entry.get("weight", 1.0)
    if (
        isinstance(weight, bool)
        or not isinstance(weight, (int, float))
        or not (math.isfinite(weight) and 0.0 <= weight <= 1.0)
    ):
        raise PolicyError(f"{where}.weight must be a number in [0, 1], got {weight!r}")
    return Permission(allowed, float(weight))


@dataclass(frozen=True)
class LegitimacyPolicy:
    """Who may shape the compass (see the module docstring for the file format)."""

    sources: Mapping[str, Permission]
    operators: Mapping[str, Permission]
    quorum: Quorum = field(default_factory=Quorum)

    @classmethod
    def from_dict(cls, data) -> "LegitimacyPolicy":
        """Validate a parsed policy; raises :class:`PolicyError` naming the bad entry."""
        if not isinstance(data, Mapping):
            raise PolicyError("the legitimacy policy must be a mapping")
        unknown = set(data) - {"sources", "operators", "quorum"}
        if unknown:
            raise PolicyError(f"unknown policy keys {sorted(unknown)}")
        for key in ("sources", "operators"):
            if not isinstance(data.get(key), Mapping) or not data[key]:
                raise PolicyError(f"policy needs a non-empty '{key}' mapping")
        sources = {str(k): _permission(v, f"sources.{k}") for k, v in data["sources"].items()}
        operators = {
            str(k): _permission(v, f"operators.{k}") for k, v in data["operators"].items()
        }
        raw_quorum = data.get("quorum") or {}
        if not isinstance(raw_quorum, Mapping):
            raise PolicyError("quorum must be a mapping")
        unknown = set(raw_quorum) - {"enabled", "move_threshold", "min_operators", "window"}
        if unknown:
            raise PolicyError(f"quorum has unknown keys {sorted(unknown)}")
        quorum = Quorum(**raw_quorum)
        if (
            not isinstance(quorum.enabled, bool)
            or quorum.move_threshold < 0
            or int(quorum.min_operators) < 1
            or int(quorum.window) < 1
        ):
            raise PolicyError(
                "quorum needs enabled: bool, move_threshold >= 0, min_operators >= 1, window >= 1"
            )
        return cls(sources, operators, quorum)

    @classmethod
    def load(cls, path: str | Path) -> "LegitimacyPolicy":
        """Read and validate a policy YAML file."""
        try:
            data = yaml.safe_load(Path(path).read_text())
        except (OSError, yaml.YAMLError) as error:
            raise PolicyError(f"cannot read legitimacy policy {path}: {error}") from error
        return cls.from_dict(data)

    @classmethod
    def allow_all(cls) -> "LegitimacyPolicy":
        """Every source and operator at full weight (for offline tools and tests)."""
        return cls({WILDCARD: Permission(True)}, {WILDCARD: Permission(True)})

    def decide(self, source: str, operator: str) -> Decision:
        """May ``operator`` shape the compass through ``source``, and with what weight?

        The weight is the product of the source's and the operator's weights; an operator
        not listed falls back to the ``"*"`` entry, and without one is refused.
        """
        source_permission = self.sources.get(source, self.sources.get(WILDCARD))
        if source_permission is None or not source_permission.allowed:
            return Decision(False, 0.0, f"source {source!r} may not shape the compass")
        operator_permission = self.operators.get(operator, self.operators.get(WILDCARD))
        if operator_permission is None or not operator_permission.allowed:
            return Decision(False, 0.0, f"operator {operator!r} may not shape the compass")
        return Decision(True, source_permission.weight * operator_permission.weight)
