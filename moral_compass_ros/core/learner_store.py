# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""A learner's durable state: the feedback journal plus snapshots, and restore after a crash.

:class:`LearnerStore` is what the compass node (and tests) use; the file formats and their
crash guarantees are those of :mod:`moral_compass_ros.core.journal`.
"""

from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .events import CompassPull, FeedbackEvent
from .journal import FeedbackJournal, SnapshotCorruptError, SnapshotStore, SnapshotWriteError
from .journal import JournalError

JOURNAL_NAME = "journal.jsonl"
SNAPSHOT_DIR = "snapshots"


class StoreError(JournalError):
    """A snapshot could not be written (the journal still holds every event)."""


@dataclass
class RestoreReport:
    """What :meth:`LearnerStore.restore` did.

    Attributes
    ----------
    snapshot_seq : int
        Journal sequence number the restored snapshot covered (0 = none used).
    replayed : int
        Journal events applied on top of it.
    warnings : list of str
        Torn journal tail, corrupt snapshots, replay refusals: each worth a diagnostic.
    """

    snapshot_seq: int = 0
    replayed: int = 0
    warnings: list = field(default_factory=list)


class LearnerStore:
    """Journal + snapshots of one learner in ``directory``.

    Parameters
    ----------
    directory : Path
        Created if missing; holds ``journal.jsonl`` and ``snapshots/``.
    """

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._open_warnings: list[str] = []
        self._open()

    def _open(self) -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.journal = FeedbackJournal(self.directory / JOURNAL_NAME)
        self._open_warnings = [str(w.message) for w in caught]
        self.snapshots = SnapshotStore(self.directory / SNAPSHOT_DIR)

    @property
    def applied_events(self) -> int:
        """Number of events in the journal (applied since the last reset)."""
        return len(self.journal)

    def contains(self, feedback_id: str) -> bool:
        """Whether an event with this id is already journaled (and so applied)."""
        return self.journal.contains(feedback_id)

    def append(self, event: FeedbackEvent) -> int:
        """Journal ``event`` durably; return its sequence number (raises ``JournalError``)."""
        return self.journal.append(event)

    def append_pull(self, pull: CompassPull) -> int:
        """Journal a social pull durably; return its sequence number (raises ``JournalError``)."""
        return self.journal.append_pull(pull)

    def snapshot(self, learner) -> None:
        """Snapshot ``learner`` (anything with ``state_dict()``) as covering every journaled
        event."""
        try:
            self.snapshots.save(learner.state_dict(), self.journal.last_seq)
        except SnapshotWriteError as error:
            raise StoreError(f"snapshot failed: {error}") from error

    def restore(self, new: Callable[[], object], from_state: Callable[[dict], object]) -> tuple:
        """Rebuild the learner: newest readable snapshot, then the journal tail.

        ``new()`` makes a fresh learner, ``from_state(state)`` one from a snapshot's state
        dict; either must have ``update(event)``, and ``apply_pull(pull)`` when the journal
        holds social pulls. Answers and pulls are replayed in the order they were journaled.
        Returns ``(learner, RestoreReport)``.
        """
        report = RestoreReport(warnings=list(self._open_warnings))
        learner, seq = None, 0
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                loaded = self.snapshots.load()
            except SnapshotCorruptError as error:
                report.warnings.append(f"{error}")
                loaded = None
        report.warnings += [str(w.message) for w in caught]
        if loaded is not None:
            state, seq = loaded
            try:
                learner = from_state(state)
            except (ValueError, KeyError) as error:
                report.warnings.append(
                    f"snapshot does not fit the configuration ({error}); "
                    "replaying the whole journal"
                )
                learner, seq = None, 0
        if learner is None:
            learner = new()
        report.snapshot_seq = seq
        for _, record in self.journal.records_after(seq):
            if isinstance(record, CompassPull):
                learner.apply_pull(record)
            else:
                learner.update(record)
            report.replayed += 1
        return learner, report

    def archive(self, stamp: str) -> Path:
        """Move the journal and snapshots to ``archive-<stamp>/`` and start empty ones.

        ``stamp`` names the archive (the caller's time: the core reads no clock).
        """
        self.journal.close()
        target = self.directory / f"archive-{stamp}"
        target.mkdir(parents=True)
        for name in (JOURNAL_NAME, SNAPSHOT_DIR):
            if (self.directory / name).exists():
                shutil.move(str(self.directory / name), str(target / name))
        self._open()
        return target

    def close(self) -> None:
        """Close the journal (releases its single-writer lock)."""
        self.journal.close()
