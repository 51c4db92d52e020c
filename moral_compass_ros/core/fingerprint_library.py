# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The fingerprint library: value profiles the deployer knows for actions (``doc/design.md``
§10.1).

A library maps action ids or labels to a value profile h(a) on Θ; the learner then uses the
fingerprint Dir(κ_h h(a) + floor) for that action instead of the learned network's guess. The
order of sources is: the planner's hint, then the library, then the learned network ψ.

File format (YAML or JSON)::

    value_names: [care, fairness, loyalty, authority, sanctity]
    entries:
      - {id: "r000001-c0", profile: [0.6, 0.1, 0.1, 0.1, 0.1]}     # exact action id
      - {label: "hand the tool over", profile: [...]}              # exact label
      - {pattern: "*gently", profile: [...]}                        # shell-style label pattern

Exact ids win over exact labels, which win over patterns; patterns are tried in file order.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import yaml

from .value_space import check_simplex

#: ``Scores.fingerprint_source`` values, in the order they are tried.
FINGERPRINT_SOURCES = ("hint", "library", "learned")


@dataclass(frozen=True)
class FingerprintLibrary:
    """Known value profiles by action id, exact label and label pattern.

    Parameters
    ----------
    value_names : tuple of str
        The M values the profiles are over (must equal the learner's).
    by_id, by_label : dict of str to ndarray (M,)
    patterns : tuple of (str, ndarray (M,))
        Shell-style patterns (``fnmatch``, case-sensitive) over labels, tried in order.
    """

    value_names: tuple
    by_id: dict
    by_label: dict
    patterns: tuple

    @classmethod
    def from_entries(
        cls, value_names: Sequence[str], entries: Sequence[dict]
    ) -> "FingerprintLibrary":
        """Build from ``{"id"|"label"|"pattern": str, "profile": [M floats]}`` entries.

        Raises
        ------
        ValueError
            An entry without exactly one key of id/label/pattern, or a profile off the simplex
            or of the wrong length (the message names the entry).
        """
        names = tuple(str(v) for v in value_names)
        by_id: dict = {}
        by_label: dict = {}
        patterns: list = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise ValueError(f"library entry {index}: must be a mapping, got {entry!r}")
            keys = [k for k in ("id", "label", "pattern") if k in entry]
            if len(keys) != 1:
                raise ValueError(
                    f"library entry {index}: needs exactly one of id, label, pattern; got "
                    f"{sorted(entry)}"
                )
            try:
                profile = np.asarray(entry.get("profile"), dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    f"library entry {index}: profile must be {len(names)} numbers"
                ) from None
            if profile.shape != (len(names),):
                raise ValueError(
                    f"library entry {index}: profile must have {len(names)} values "
                    f"({', '.join(names)}), got shape {profile.shape}"
                )
            total = (
                float(np.sum(profile))
                if np.all(np.isfinite(profile)) and np.all(profile >= 0)
                else 0.0
            )
            if total <= 0.0:
                raise ValueError(
                    f"library entry {index}: profile must be finite, >= 0 and not all 0"
                )
            profile = check_simplex(profile / total, f"library entry {index} profile")
            key = str(entry[keys[0]])
            if keys[0] == "id":
                by_id[key] = profile
            elif keys[0] == "label":
                by_label[key] = profile
            else:
                patterns.append((key, profile))
        return cls(names, by_id, by_label, tuple(patterns))

    @classmethod
    def load(cls, path: "str | Path", value_names: Sequence[str]) -> "FingerprintLibrary":
        """Read a library file (YAML or JSON, see the module docstring).

        Raises
        ------
        ValueError
            Unreadable file, other value names than ``value_names``, or a bad entry.
        """
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as err:
            raise ValueError(f"cannot read fingerprint library {path}: {err}") from None
        try:
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as err:  # JSONDecodeError is a ValueError
            raise ValueError(
                f"fingerprint library {path} is not valid {path.suffix or 'YAML'}: {err}"
            ) from None
        if not isinstance(data, dict) or "entries" not in data:
            raise ValueError(
                f"fingerprint library {path} must be a mapping with 'value_names' and 'entries'"
            )
        names = tuple(str(v) for v in data.get("value_names", ()))
        if names != tuple(value_names):
            raise ValueError(
                f"fingerprint library {path} is over values {list(names)}, "
                f"the learner's are {list(value_names)}"
            )
        return cls.from_entries(names, data["entries"] or [])

    def __len__(self) -> int:
        return len(self.by_id) + len(self.by_label) + len(self.patterns)

    def lookup(self, action_id: str, label: str) -> Optional[np.ndarray]:
        """The profile (M,) for this action, or None when the library does not know it."""
        if action_id in self.by_id:
            return self.by_id[action_id]
        if label in self.by_label:
            return self.by_label[label]
        for pattern, profile in self.patterns:
            if fnmatch.fnmatchcase(label, pattern):
                return profile
        return None

    def resolve(
        self, ids: Sequence[str], labels: Sequence[str], hints: Optional[np.ndarray]
    ) -> tuple[np.ndarray, tuple]:
        """Fill the candidates without a planner hint from the library.

        Parameters
        ----------
        ids, labels : sequence of str, length B
        hints : ndarray, shape (B, M), or None
            Planner hints; a row of NaN = none.

        Returns
        -------
        hints : ndarray, shape (B, M)
            Planner hints where sent, else library profiles, else NaN rows.
        sources : tuple of str, length B
            ``"hint"``, ``"library"`` or ``"learned"`` per candidate.
        """
        m = len(self.value_names)
        out = (
            np.full((len(ids), m), np.nan)
            if hints is None
            else np.array(hints, dtype=np.float64, copy=True)
        )
        sources = []
        for b, (action_id, label) in enumerate(zip(ids, labels)):
            if not np.isnan(out[b]).any():
                sources.append("hint")
                continue
            profile = self.lookup(str(action_id), str(label))
            if profile is None:
                sources.append("learned")
            else:
                out[b] = profile
                sources.append("library")
        return out, tuple(sources)


__all__ = ["FINGERPRINT_SOURCES", "FingerprintLibrary"]
