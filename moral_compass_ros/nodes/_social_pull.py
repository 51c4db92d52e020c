# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Social pull for compass_node (``doc/design.md`` §8): pull q^(i) towards the population compass.

``attach_social_pull(node)`` is the one hook ``compass_node`` calls at the end of its
``__init__``. It declares the ``social_pull_*`` parameters and, when ``social_pull_enabled``,
subscribes to the population compass (``/population/compass``, published by population_node).
When a new population compass arrives (at most once per ``social_pull_period_s``) it computes

    q^(i) <- q ∝ q̂^κ (q^(i))^(1-κ),  κ = 2ν/(2ν+1)   (core.population.social_pull)

and applies it like feedback: **journal first** (durable, fsync), then apply (the learner's
compass is replaced and its version bumped by one), then publish.

Pull journal
------------
Feedback events live in the compass node's journal (``FeedbackEvent`` records only), so pulls
get a journal of their own beside it, ``<state_dir>/social_pull.jsonl``, one JSON line per pull::

    {"crc32": <crc of the canonical record>, "record": {"after_seq": S, "version_before": V,
     "population_version": P, "kappa": κ, "particles": [[...], ...], "weights": [...]}}

``after_seq`` is the last feedback sequence number journaled when the pull was applied and
``version_before`` the learner version it was applied to; the record holds the *result* (the
pulled compass), so replay needs no recomputation and is exact. After every applied pull the
node snapshots (through its own ``_snapshot()``) and, once that succeeded, the pull journal is
emptied: normally it is empty, or holds the one pull a crash interrupted. A restart restores the
newest snapshot (version V_s, feedback seq S_s) and, when the pull journal is not empty,
replays in order the feedback events after S_s interleaved with the pulls whose
``version_before >= V_s``: pull p goes after feedback event ``p.after_seq`` and before event
``p.after_seq + 1``. Versions only grow (reset included), so a pull with
``version_before < V_s`` is already inside the snapshot. A torn last line (a crash while a
never-applied pull was being written) is dropped on open.
"""

from __future__ import annotations

import json
import os
import time
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from moral_compass_ros.conversions import InvalidMessage, compass_from_msg
from moral_compass_ros.core import Compass
from moral_compass_ros.core.journal import (
    FILE_MODE,
    JournalError,
    SnapshotCorruptError,
    _sync_data,
    _write_all,
)
from moral_compass_ros.core.population import (
    DEFAULT_BANDWIDTH,
    kappa_from_nu,
    social_pull,
)
from moral_compass_ros import topics
from moral_compass_ros.msg import MoralCompass
from moral_compass_ros.parameters import ParameterSpec, declare_parameters
from moral_compass_ros.qos import STATE_QOS

PULL_JOURNAL_NAME = "social_pull.jsonl"

SOCIAL_PULL_SPECS = [
    ParameterSpec(
        "social_pull_enabled",
        False,
        "Pull this robot's compass towards the "
        "population compass when one arrives (``doc/design.md`` §8).",
        read_only=True,
    ),
    ParameterSpec(
        "social_pull_nu",
        1.0,
        "ν ≥ 0 of the social pull: q ∝ q̂^κ q^(1−κ) with "
        "κ = 2ν/(2ν+1) (ν = 0: no pull; ν = 0.5: κ = 0.5; large ν: adopt q̂).",
        minimum=0.0,
        maximum=1e6,
    ),
    ParameterSpec(
        "social_pull_topic",
        "/" + topics.POPULATION_COMPASS,
        "MoralCompass topic "
        "of the population compass (absolute: population_node runs in the root "
        "namespace).",
        read_only=True,
    ),
    ParameterSpec(
        "social_pull_period_s",
        5.0,
        "At most one pull per this many seconds (s).",
        minimum=0.0,
        maximum=1e6,
    ),
    ParameterSpec(
        "social_pull_bandwidth",
        DEFAULT_BANDWIDTH,
        "Kernel bandwidth h of the projection onto the common support (squared simplex distance).",
        minimum=1e-6,
        maximum=10.0,
    ),
]


class PullJournalError(JournalError):
    """The pull journal cannot be read or written (the message says which file and why)."""


@dataclass(frozen=True)
class PullRecord:
    """One journaled social pull (see the module docstring)."""

    after_seq: int
    version_before: int
    population_version: int
    kappa: float
    compass: Compass

    def to_dict(self) -> dict:
        particles, weights = self.compass.to_arrays()
        return {
            "after_seq": self.after_seq,
            "version_before": self.version_before,
            "population_version": self.population_version,
            "kappa": self.kappa,
            "particles": particles.tolist(),
            "weights": weights.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "PullRecord":
        return cls(
            int(data["after_seq"]),
            int(data["version_before"]),
            int(data["population_version"]),
            float(data["kappa"]),
            Compass(
                np.asarray(data["particles"], dtype=np.float64),
                np.asarray(data["weights"], dtype=np.float64),
            ),
        )


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


class PullJournal:
    """Append-only, fsynced JSON-lines journal of :class:`PullRecord` s.

    Parameters
    ----------
    path : Path
        Created (with its directory) if missing.

    Raises
    ------
    PullJournalError
        A line before the last one is invalid (not a crash artefact: inspect the file).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.records: list[PullRecord] = []
        self.dropped_tail = ""
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        complete, tail = lines[:-1], lines[-1]
        good_bytes = 0
        for number, raw in enumerate(complete, start=1):
            try:
                entry = json.loads(raw.decode("utf-8"))
                record = entry["record"]
                if zlib.crc32(_canonical(record).encode("utf-8")) != entry["crc32"]:
                    raise ValueError("CRC mismatch")
                self.records.append(PullRecord.from_dict(record))
            except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
                if number == len(complete) and not tail:
                    self.dropped_tail = f"line {number}: {error}"
                    break
                raise PullJournalError(
                    f"pull journal {self.path} is corrupt at line {number}: {error}"
                ) from error
            good_bytes += len(raw) + 1
        if tail:
            self.dropped_tail = f"line {len(complete) + 1}: no terminating newline"
        if self.dropped_tail:
            with open(self.path, "r+b") as f:
                f.truncate(good_bytes)
                os.fsync(f.fileno())

    def append(self, record: PullRecord) -> None:
        """Write ``record`` durably (one positioned write + fdatasync) before it is applied.

        A failed write is rolled back (the file cut to its previous length), as in the feedback
        journal, so a partial line can never be read back as a pull.
        """
        body = record.to_dict()
        line = (
            _canonical({"crc32": zlib.crc32(_canonical(body).encode("utf-8")), "record": body})
            + "\n"
        )
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
        except OSError as error:
            raise PullJournalError(f"could not open {self.path}: {error}") from error
        try:
            end = os.fstat(fd).st_size
            try:
                _write_all(fd, line.encode("utf-8"), end)
                _sync_data(fd)
            except OSError as error:
                os.ftruncate(fd, end)
                os.fsync(fd)
                raise PullJournalError(
                    f"could not journal a social pull to {self.path}: "
                    f"{error}; the pull was NOT journaled"
                ) from error
        except OSError as error:  # the rollback itself failed
            raise PullJournalError(
                f"could not roll back a failed write to {self.path}: {error}"
            ) from error
        finally:
            os.close(fd)
        self.records.append(record)

    def clear(self) -> None:
        """Empty the journal (after a snapshot that covers every record)."""
        try:
            with open(self.path, "wb") as f:
                os.fsync(f.fileno())
        except OSError as error:
            raise PullJournalError(f"could not empty {self.path}: {error}") from error
        self.records = []


def _shared_learner(model):
    """The learner a pull applies to: ``model.learner`` (CompassModel) or the model itself."""
    return getattr(model, "learner", model)


def restore_with_pulls(
    store, new: Callable[[], object], from_state: Callable[[dict], object], pulls: list[PullRecord]
):
    """Rebuild the compass state from snapshot + feedback journal + pull journal, in order.

    Parameters
    ----------
    store : LearnerStore
        The compass node's feedback journal and snapshots.
    new, from_state : callable
        Make a fresh model, or one from a snapshot's state dict (the same factories the compass
        node gives ``LearnerStore.restore``); a model has ``update(event)`` and a shared
        ``learner`` (or is the learner).
    pulls : list of PullRecord

    Returns
    -------
    model
    n_pulls : int
        Pulls replayed (0: the snapshot already held every journaled pull).
    notes : list of str
        Warnings worth a diagnostic.
    """
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            loaded = store.snapshots.load()
        except SnapshotCorruptError as error:
            notes.append(str(error))
            loaded = None
    notes += [str(w.message) for w in caught]
    model, seq = None, 0
    if loaded is not None:
        state, seq = loaded
        try:
            model = from_state(state)
        except (ValueError, KeyError) as error:
            notes.append(f"snapshot does not fit the configuration ({error})")
            model, seq = None, 0
    if model is None:
        model = new()
    snapshot_version = _shared_learner(model).version
    # Versions only grow, so a pull applied before the snapshot has version_before < V_s.
    queue = sorted(
        (p for p in pulls if p.version_before >= snapshot_version),
        key=lambda p: (p.after_seq, p.version_before),
    )
    n_pulls = len(queue)

    def apply_until(limit: int) -> None:
        while queue and queue[0].after_seq <= limit:
            pull = queue.pop(0)
            learner = _shared_learner(model)
            if learner.version != pull.version_before:
                notes.append(
                    f"pull journaled at version {pull.version_before} replays at "
                    f"version {learner.version}"
                )
            learner.set_compass(pull.compass, learner.version + 1)

    apply_until(seq)
    for event_seq, event in store.journal.events_after(seq):
        model.update(event)
        apply_until(event_seq)
    apply_until(np.iinfo(np.int64).max)
    return model, n_pulls, notes


class SocialPull:
    """The social-pull side of one compass node (created by :func:`attach_social_pull`).

    Uses, of the compass node: ``learner`` (the shared learner the pull changes), ``_store``
    (feedback journal + snapshots), ``_snapshot()`` / ``_since_snapshot`` (its own snapshot
    path), ``_publish_state()``, ``_health``, and at start-up ``_model`` plus the factories of
    :func:`model_factories` (replaced once when journaled pulls are newer than the snapshot).
    """

    def __init__(self, node, state_dir: Path):
        self._node = node
        self._params = declare_parameters(node, SOCIAL_PULL_SPECS)
        self._journal = PullJournal(Path(state_dir) / PULL_JOURNAL_NAME)
        if self._journal.dropped_tail:
            node._health.problem(
                "social_pull",
                f"dropped the torn last line of the pull journal ({self._journal.dropped_tail})",
            )
        self._last_pull_s = -np.inf
        self._last_population_version = -1
        self.applied = 0
        self.replayed = 0
        if self._journal.records:
            self._replay()
        self._subscription = None
        if self._params["social_pull_enabled"]:
            self._subscription = node.create_subscription(
                MoralCompass, self._params["social_pull_topic"], self._on_population, STATE_QOS
            )
            node.get_logger().info(
                f"social pull on: nu={self._params['social_pull_nu']} "
                f"(kappa={kappa_from_nu(self._params['social_pull_nu']):.3f}) towards "
                f"{self._params['social_pull_topic']}"
            )

    def _replay(self) -> None:
        node = self._node
        new, from_state = model_factories(node)
        model, n, notes = restore_with_pulls(node._store, new, from_state, self._journal.records)
        for note in notes:
            node._health.problem("social_pull", note)
        self.replayed = n
        if n:
            node._model = model  # the one place the hook replaces the node's state
            node._publish_state()
            node.get_logger().info(
                f"replayed {n} journaled social pulls: compass version "
                f"{_shared_learner(model).version}"
            )
            self._snapshot()

    def _on_population(self, msg: MoralCompass) -> None:
        node = self._node
        node._health.count("social_pull.received")
        now = time.monotonic()
        if (
            int(msg.version) == self._last_population_version
            or now - self._last_pull_s < self._params["social_pull_period_s"]
        ):
            return
        learner = node.learner
        try:
            population = compass_from_msg(msg)
            if population.dim != learner.compass.dim:
                raise InvalidMessage(
                    f"population compass has M={population.dim}, this robot "
                    f"M={learner.compass.dim}"
                )
            kappa = kappa_from_nu(self._params["social_pull_nu"])
            result = social_pull(
                learner.compass, population, kappa, bandwidth=self._params["social_pull_bandwidth"]
            )
        except (InvalidMessage, ValueError) as error:
            node._health.problem("social_pull", str(error))
            return
        self._last_population_version = int(msg.version)
        self._last_pull_s = now
        record = PullRecord(
            after_seq=node._store.journal.last_seq,
            version_before=learner.version,
            population_version=int(msg.version),
            kappa=kappa,
            compass=result.compass,
        )
        try:
            self._journal.append(record)  # durable before it is applied
        except PullJournalError as error:
            node._health.error(f"social pull not applied: {error}")
            return
        learner.set_compass(result.compass, learner.version + 1)
        self.applied += 1
        node._health.count("social_pull.applied")
        node._health.values["social_pull_kappa"] = f"{kappa:.3f}"
        self._snapshot()
        node._publish_state()

    def _snapshot(self) -> None:
        """Snapshot through the node's own path; empty the pull journal once it succeeded."""
        node = self._node
        node._snapshot()
        if node._since_snapshot == 0:
            try:
                self._journal.clear()
            except PullJournalError as error:
                node._health.problem("social_pull", str(error))


def model_factories(node) -> tuple[Callable[[], object], Callable[[dict], object]]:
    """``(new, from_state)`` that rebuild the compass node's state object the way it does.

    The node keeps a ``CompassModel`` (``_model``) built from ``_config`` and
    ``_per_operator``; older nodes kept a bare ``DynamicValueLearner``.
    """
    model_type = type(node._model) if hasattr(node, "_model") else type(node.learner)
    if hasattr(node, "_per_operator"):
        per_operator = node._per_operator
        return (
            lambda: model_type(node._config, per_operator),
            lambda state: model_type.from_state_dict(node._config, state, per_operator),
        )
    return (
        lambda: model_type(node._config),
        lambda state: model_type.from_state_dict(node._config, state),
    )


def attach_social_pull(node) -> SocialPull:
    """Declare the social-pull parameters on ``node`` (a CompassNode) and wire the pull.

    Call as the last line of ``CompassNode.__init__`` (after the state is restored and
    published). Journaled pulls newer than the snapshot are replayed even when the pull is now
    disabled, so a restart reproduces the state it had.
    """
    return SocialPull(node, Path(node._store.directory))
