# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Durable feedback journal and atomic learner snapshots (no ROS, no pickle).

The compass node must never lose an acknowledged human answer and never apply one twice, even
when it is SIGKILLed at an arbitrary instant.  Its protocol, per accepted feedback event::

    seq = journal.append(event)      # durable (fsync) BEFORE anything else; may raise JournalError
    learner.apply(event)             # only after append returned
    acknowledge(event.feedback_id)   # the sender may now stop retrying
    every k events: snapshots.save(learner.state_dict(), seq)

and on start-up::

    restored = snapshots.load()                  # (state, seq) or None
    state, seq = restored if restored else (fresh_state, 0)
    for seq, event in journal.events_after(seq):  # replay the tail deterministically
        learner.apply(event)

Journal format
--------------
An append-only UTF-8 JSON-lines file of two record kinds, in the order they were applied.
Line ``n`` (1-based) is an answer or a social pull::

    {"seq":<int>,"crc32":<int>,"event":<FeedbackEvent.to_dict() as canonical JSON>}\n
    {"seq":<int>,"crc32":<int>,"pull":<CompassPull.to_dict() as canonical JSON>}\n

* canonical JSON = ``json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)``
  (Python's float repr round-trips float64 exactly; NaN/inf are written as ``NaN``/``Infinity``);
* ``crc32 = zlib.crc32(canonical({"seq": seq, KIND: record}))``, KIND ``event`` or ``pull``;
* ``seq`` starts at 1 and increases by exactly 1 per line.

One event = one ``write`` of the whole line, then ``fsync``; :meth:`FeedbackJournal.append`
returns only after both succeeded, so **an event is durable iff its full line, newline
included, is on disk**.

Crash recovery
--------------
A crash during ``append`` can leave a partial ("torn") last line.  Its event was never
acknowledged -- ``append`` had not returned, so the event was neither applied nor acknowledged
and the sender still retries it -- so discarding that line loses nothing.  On open, an invalid
or newline-less **last** line is reported (``warnings.warn`` with a :class:`JournalTornTailWarning`
and :attr:`FeedbackJournal.recovery`) and truncated away (not in read-only mode).  An invalid
line **before** the last one cannot come from a crash and raises :class:`JournalCorruptError`
naming the line: the operator must look at the file.

Write failures (disk full, I/O error) raise :class:`JournalWriteError` /
:class:`JournalDiskFullError`; the partial line is rolled back (truncated) so that it can never
be read as an event or turn into a corrupt middle line.  If even the rollback fails, the journal
refuses further appends until reopened (reopening truncates the torn tail).

Snapshots
---------
:class:`SnapshotStore` writes one ``.npz`` archive per snapshot (arrays as ``.npy`` members,
the nested structure as JSON, a SHA-256 over everything; loaded with ``allow_pickle=False``, so
a snapshot file cannot execute code), atomically (temporary file, fsync, ``os.replace``, fsync of
the directory), and keeps the newest two.  A corrupt newest snapshot is quarantined
(``*.corrupt``) and the previous one is used; when none is usable, :class:`SnapshotCorruptError`
tells the caller to replay the whole journal.
"""

from __future__ import annotations

import bisect
import errno
import hashlib
import json
import os
import re
import struct
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import numpy as np

from .events import CompassPull, FeedbackEvent

try:  # advisory single-writer lock; POSIX only
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX platforms
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DuplicateEventError",
    "FeedbackJournal",
    "JournalCorruptError",
    "JournalDiskFullError",
    "JournalError",
    "JournalLockedError",
    "JournalTornTailWarning",
    "JournalUnwritableError",
    "JournalWriteError",
    "RecoveryReport",
    "SnapshotCorruptError",
    "SnapshotError",
    "SnapshotStore",
    "SnapshotWriteError",
]

PathLike = Union[str, "os.PathLike[str]"]

#: File mode of new journals and snapshots: answers name operators, keep them private.
FILE_MODE = 0o600
#: errno values reported as "disk full".
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


# ---------------------------------------------------------------------------------- errors
class JournalError(Exception):
    """Base class of every journal failure."""


class JournalCorruptError(JournalError, ValueError):
    """A line before the last one is invalid; ``line_number`` is 1-based."""

    def __init__(self, path: PathLike, line_number: int, reason: str) -> None:
        self.path = str(path)
        self.line_number = int(line_number)
        self.reason = reason
        super().__init__(
            f"journal {self.path} is corrupt at line {self.line_number}: {reason} "
            "(only the last line may be torn by a crash; inspect the file)"
        )


class JournalUnwritableError(JournalError):
    """The journal (or its directory) cannot be created or opened for writing."""


class JournalLockedError(JournalError):
    """Another process holds the journal open for writing."""


class JournalWriteError(JournalError):
    """An append failed; the event is NOT journaled and must not be applied or acknowledged."""


class JournalDiskFullError(JournalWriteError):
    """An append failed because the disk (or quota) is full (ENOSPC / EDQUOT)."""


class DuplicateEventError(JournalError, ValueError):
    """The journal already holds an event with this ``feedback_id`` (it was applied once)."""


class JournalTornTailWarning(RuntimeWarning):
    """A torn last line (an unacknowledged, partially written event) was found."""


class SnapshotError(Exception):
    """Base class of snapshot failures."""


class SnapshotCorruptError(SnapshotError, ValueError):
    """A snapshot file cannot be read or fails its integrity check."""


class SnapshotWriteError(SnapshotError):
    """A snapshot could not be written (the previous snapshots are untouched)."""


# ---------------------------------------------------------------------------------- helpers
def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _canonical(obj: Any) -> str:
    """Canonical JSON text: sorted keys, no spaces, NaN/Infinity allowed, ASCII only."""
    return json.dumps(
        obj,
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=True,
        ensure_ascii=True,
        default=_json_default,
    )


#: Journal record kinds: the key of the record in a line, and its class.
RECORD_KINDS = {"event": FeedbackEvent, "pull": CompassPull}
Record = Union[FeedbackEvent, CompassPull]


def _encode_line(seq: int, kind: str, record_dict: dict) -> bytes:
    """One journal line, newline included."""
    record_json = _canonical(record_dict)
    # crc32 = zlib.crc32(canonical({"seq": seq, kind: record})); with sorted keys ("event" and
    # "pull" both sort before "seq") that text is '{"<kind>":' + record + ',"seq":' + seq + '}'
    crc = zlib.crc32(f'{{"{kind}":{record_json},"seq":{seq}}}'.encode("ascii"))
    return f'{{"seq":{seq},"crc32":{crc},"{kind}":{record_json}}}\n'.encode("ascii")


def _fsync_dir(directory: PathLike) -> None:
    """fsync a directory so that a created/renamed/removed entry is durable."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_data(fd: int) -> None:
    """Flush file data (and the size needed to read it back) to stable storage."""
    sync = getattr(os, "fdatasync", os.fsync)
    sync(fd)


def _write_all(fd: int, data: bytes, offset: int) -> None:
    """pwrite ``data`` at ``offset``, looping over short writes (raises OSError)."""
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        if n <= 0:  # pragma: no cover - a regular file never returns 0 for a non-empty write
            raise OSError(errno.EIO, "write returned 0 bytes")
        view = view[n:]
        offset += n


@dataclass(frozen=True)
class RecoveryReport:
    """What :class:`FeedbackJournal` found and did about a torn last line.

    Attributes
    ----------
    path : str
    line_number : int
        1-based number of the torn line.
    valid_bytes : int
        Length of the journal up to the end of the last valid line.
    discarded_bytes : int
        Bytes of the torn line.
    reason : str
    truncated : bool
        Whether the torn line was removed from the file (False in read-only mode).
    """

    path: str
    line_number: int
    valid_bytes: int
    discarded_bytes: int
    reason: str
    truncated: bool


class _BadLine(ValueError):
    pass


_LINE_PREFIX = re.compile(rb'\{"seq":(0|[1-9][0-9]*),"crc32":(0|[1-9][0-9]*),"(event|pull)":')


def _parse_line(raw: bytes, expected_seq: Optional[int]) -> Tuple[int, Record]:
    """Parse and verify one journal line (without its newline); raises ``_BadLine``.

    The CRC is checked on the raw bytes: for a line we wrote, the record text is canonical, so
    ``b'{"<kind>":' + record_text + b',"seq":' + seq + b'}'`` *is* the canonical JSON the CRC
    was computed over -- no re-serialisation needed.
    """
    m = _LINE_PREFIX.match(raw)
    if m is None or not raw.endswith(b"}"):
        raise _BadLine("not a journal record {seq, crc32, event|pull}")
    seq, crc, kind = int(m.group(1)), int(m.group(2)), m.group(3)
    event_bytes = raw[m.end() : -1]
    actual = zlib.crc32(
        b"," + b'"seq":' + m.group(1) + b"}",
        zlib.crc32(event_bytes, zlib.crc32(b'{"' + kind + b'":')),
    )
    if actual != crc:
        raise _BadLine(f"CRC mismatch for seq {seq}")
    if expected_seq is not None and seq != expected_seq:
        raise _BadLine(f"seq {seq} where {expected_seq} was expected (not contiguous)")
    if expected_seq is None and seq < 1:
        raise _BadLine(f"seq {seq} < 1")
    name = kind.decode("ascii")
    try:
        record_dict = json.loads(event_bytes.decode("ascii"))
        if not isinstance(record_dict, dict):
            raise ValueError(f"{name} is not a JSON object")
        record = RECORD_KINDS[name].from_dict(record_dict)
    except (KeyError, TypeError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise _BadLine(f"invalid {name} ({exc!r})") from None
    return seq, record


@dataclass
class _Scan:
    entries: List[Tuple[int, int, Record]]  # (seq, byte offset, record)
    valid_bytes: int
    torn: Optional[Tuple[int, int, str]]  # (line_number, discarded_bytes, reason)


def _scan(path: Path, data: bytes) -> _Scan:
    """Validate every line of ``data``; the last line may be torn, no other."""
    entries: List[Tuple[int, int, Record]] = []
    offset = 0
    line_number = 0
    expected: Optional[int] = None
    while offset < len(data):
        line_number += 1
        newline = data.find(b"\n", offset)
        end = len(data) if newline < 0 else newline + 1
        is_last = end >= len(data)
        try:
            if newline < 0:
                raise _BadLine("no terminating newline (partial write)")
            seq, event = _parse_line(data[offset:newline], expected)
        except _BadLine as exc:
            if is_last:
                return _Scan(entries, offset, (line_number, len(data) - offset, str(exc)))
            raise JournalCorruptError(path, line_number, str(exc)) from None
        entries.append((seq, offset, event))
        expected = seq + 1
        offset = end
    return _Scan(entries, offset, None)


# ---------------------------------------------------------------------------------- journal
class FeedbackJournal:
    """Append-only, fsynced, CRC-checked JSON-lines journal of answers (:class:`FeedbackEvent`)
    and social pulls (:class:`CompassPull`), in the order they were applied.

    Parameters
    ----------
    path : str or PathLike
        Journal file; its directory is created if missing.
    readonly : bool
        Open for reading only: no directory creation, no lock, no truncation of a torn tail.

    Raises
    ------
    JournalUnwritableError
        The directory or file cannot be created/opened for writing.
    JournalLockedError
        Another process has the journal open for writing.
    JournalCorruptError
        A line other than the last is invalid.

    Notes
    -----
    A torn last line found on open is reported via :class:`JournalTornTailWarning` and
    :attr:`recovery`, and (unless ``readonly``) truncated.  One writer per file at a time,
    enforced with ``flock`` where available.
    """

    def __init__(self, path: PathLike, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = bool(readonly)
        self.recovery: Optional[RecoveryReport] = None
        self._fd: Optional[int] = None
        self._broken: Optional[str] = None
        self._seqs: List[int] = []
        self._offsets: List[int] = []
        self._ids: Dict[str, int] = {}
        self._event_seqs: List[int] = []  # seqs of the answers (not the pulls)
        self._end = 0
        if self.readonly:
            self._load(self._read_bytes(), truncate=False)
            return
        created = self._open_for_writing()
        try:
            if created:
                try:
                    _fsync_dir(self.path.parent)
                except OSError as exc:
                    raise JournalUnwritableError(
                        f"cannot sync directory {self.path.parent}: {exc}"
                    ) from exc
            self._load(self._read_bytes(), truncate=True)
        except BaseException:
            self.close()
            raise

    # -- opening ---------------------------------------------------------------------
    def _open_for_writing(self) -> bool:
        parent = self.path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            existed = self.path.exists()
            fd = os.open(
                self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), FILE_MODE
            )
        except OSError as exc:
            raise JournalUnwritableError(
                f"cannot open journal {self.path} for writing: {exc.strerror or exc} "
                f"(check that {parent} is a writable directory)"
            ) from exc
        self._fd = fd
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                self.close()
                raise JournalLockedError(
                    f"journal {self.path} is open for writing in another process"
                ) from exc
        return not existed

    def _read_bytes(self) -> bytes:
        try:
            with open(self.path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            if self.readonly:
                return b""
            raise

    def _load(self, data: bytes, truncate: bool) -> _Scan:
        scan = _scan(self.path, data)
        self._seqs = [seq for seq, _, _ in scan.entries]
        self._offsets = [off for _, off, _ in scan.entries]
        self._ids = {}
        self._event_seqs = []
        for seq, _, record in scan.entries:
            if isinstance(record, FeedbackEvent):
                self._ids.setdefault(record.feedback_id, seq)
                self._event_seqs.append(seq)
        self._end = scan.valid_bytes
        if scan.torn is None:
            return scan
        line_number, discarded, reason = scan.torn
        if truncate:
            assert self._fd is not None
            try:
                os.ftruncate(self._fd, self._end)
                os.fsync(self._fd)
            except OSError as exc:
                raise JournalUnwritableError(
                    f"cannot truncate the torn last line of {self.path}: {exc}"
                ) from exc
        self.recovery = RecoveryReport(
            str(self.path), line_number, self._end, discarded, reason, truncated=truncate
        )
        warnings.warn(
            JournalTornTailWarning(
                f"journal {self.path}: torn last line {line_number} ({discarded} bytes: "
                f"{reason}); "
                f"it was never acknowledged, {'discarded' if truncate else 'ignored'}"
            ),
            stacklevel=3,
        )
        return scan

    # -- writing ---------------------------------------------------------------------
    def append(self, event: FeedbackEvent) -> int:
        """Durably append ``event``; return its sequence number (1, 2, ...).

        The line is written with one positioned write and ``fdatasync`` ed before returning.

        Raises
        ------
        DuplicateEventError
            An event with the same ``feedback_id`` is already journaled.
        JournalDiskFullError, JournalWriteError
            The write or sync failed; the partial line has been rolled back and the event is
            NOT journaled (do not apply or acknowledge it).
        JournalError
            The journal is closed, read-only, or unusable after a failed rollback.
        """
        if not isinstance(event, FeedbackEvent):
            raise TypeError(f"expected a FeedbackEvent, got {type(event).__name__}")
        if event.feedback_id in self._ids:
            raise DuplicateEventError(
                f"feedback id {event.feedback_id!r} is already journaled "
                f"(seq {self._ids[event.feedback_id]})"
            )
        seq = self._append("event", event.to_dict(), f"feedback {event.feedback_id!r}")
        self._ids[event.feedback_id] = seq
        self._event_seqs.append(seq)
        return seq

    def append_pull(self, pull: CompassPull) -> int:
        """Durably append a social pull, as :meth:`append` does an answer; return its seq.

        Raises
        ------
        JournalDiskFullError, JournalWriteError, JournalError
            As :meth:`append`: the pull is NOT journaled (do not apply it).
        """
        if not isinstance(pull, CompassPull):
            raise TypeError(f"expected a CompassPull, got {type(pull).__name__}")
        return self._append(
            "pull", pull.to_dict(), f"a social pull (version {pull.version_before})"
        )

    def _append(self, kind: str, record: dict, what: str) -> int:
        """Write one record line at the end, fdatasync it; roll back a failed write."""
        if self.readonly:
            raise JournalError(f"journal {self.path} is open read-only")
        if self._fd is None:
            raise JournalError(f"journal {self.path} is closed")
        if self._broken is not None:
            raise JournalWriteError(
                f"journal {self.path} refuses appends after a failed rollback "
                f"({self._broken}); reopen it to recover"
            )
        seq = self._seqs[-1] + 1 if self._seqs else 1
        line = _encode_line(seq, kind, record)
        try:
            _write_all(self._fd, line, self._end)
            _sync_data(self._fd)
        except OSError as exc:
            self._rollback(exc)
            error = JournalDiskFullError if exc.errno in DISK_FULL_ERRNOS else JournalWriteError
            raise error(
                f"could not journal {what} to {self.path}: {exc.strerror or exc}; it was NOT "
                "journaled"
            ) from exc
        self._seqs.append(seq)
        self._offsets.append(self._end)
        self._end += len(line)
        return seq

    def _rollback(self, cause: OSError) -> None:
        """Cut the file back to the last complete line after a failed append."""
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, self._end)
            os.fsync(self._fd)
        except OSError as exc:
            self._broken = f"{cause!r}, then rollback failed: {exc!r}"

    # -- reading ---------------------------------------------------------------------
    def read(self) -> List[Tuple[int, FeedbackEvent]]:
        """All journaled answers as ``(seq, event)`` in order (a torn tail is ignored)."""
        return self.events_after(0)

    def events_after(self, seq: int) -> List[Tuple[int, FeedbackEvent]]:
        """Answers with sequence number > ``seq``, in order (pulls left out)."""
        return [(s, r) for s, r in self.records_after(seq) if isinstance(r, FeedbackEvent)]

    def recent_events(self, n: int) -> List[Tuple[int, FeedbackEvent]]:
        """The last ``n`` answers (pulls left out), in order."""
        if n <= 0 or not self._event_seqs:
            return []
        return self.events_after(self._event_seqs[-min(n, len(self._event_seqs))] - 1)

    def records_after(self, seq: int) -> List[Tuple[int, Record]]:
        """Answers and pulls with sequence number > ``seq``, in order (the tail to replay)."""
        if self.readonly:  # another process may be appending: rescan the file
            scan = self._load(self._read_bytes(), truncate=False)
            return [(s, record) for s, _, record in scan.entries if s > seq]
        i = bisect.bisect_right(self._seqs, int(seq))
        if i >= len(self._seqs):
            return []
        start = self._offsets[i]
        with open(self.path, "rb") as f:
            f.seek(start)
            data = f.read(self._end - start)
        out: List[Tuple[int, Record]] = []
        offset, expected = 0, self._seqs[i]
        line_number = i
        while offset < len(data):
            line_number += 1
            newline = data.find(b"\n", offset)
            try:
                if newline < 0:
                    raise _BadLine("no terminating newline")
                out.append(_parse_line(data[offset:newline], expected))
            except _BadLine as exc:  # changed on disk behind our back
                raise JournalCorruptError(self.path, line_number, str(exc)) from None
            expected += 1
            offset = newline + 1
        return out

    def contains(self, feedback_id: str) -> bool:
        """Whether an event with this feedback id is journaled (idempotency check)."""
        return feedback_id in self._ids

    def seq_of(self, feedback_id: str) -> Optional[int]:
        """Sequence number of the event with this feedback id, or None."""
        return self._ids.get(feedback_id)

    @property
    def last_seq(self) -> int:
        """Sequence number of the last journaled record, answer or pull (0 when empty)."""
        return self._seqs[-1] if self._seqs else 0

    def __len__(self) -> int:
        """Number of journaled answers (pulls are not counted)."""
        return len(self._event_seqs)

    def __iter__(self) -> Iterator[Tuple[int, FeedbackEvent]]:
        return iter(self.read())

    # -- lifetime --------------------------------------------------------------------
    def close(self) -> None:
        """Release the file and its lock (idempotent)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def __enter__(self) -> "FeedbackJournal":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------- snapshots
_SNAPSHOT_FORMAT = "moral_compass_ros.snapshot"
_SNAPSHOT_VERSION = 1
_SNAPSHOT_RE = re.compile(r"^snapshot-(\d{12})\.npz$")
_META_KEY = "__meta__"
_DIGEST_KEY = "__sha256__"
_ALLOWED_KINDS = frozenset("biufcSU")  # bool, int, uint, float, complex, bytes, str


def _array_digest(a: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(f"{a.dtype.str}|{a.shape}|".encode("ascii"))
    h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _encode(value: Any, arrays: Dict[str, np.ndarray], where: str) -> Any:
    """Structure node for ``value``; arrays go to ``arrays`` (raises TypeError)."""
    if isinstance(value, (np.ndarray, np.generic)):  # first: np.float64 subclasses float
        arr = np.asarray(value)
        if arr.dtype.kind not in _ALLOWED_KINDS:
            raise TypeError(
                f"state{where}: arrays of dtype {arr.dtype} cannot be snapshotted without pickle"
            )
        key = f"a{len(arrays)}"
        arrays[key] = arr
        return {"a" if isinstance(value, np.ndarray) else "s": key}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"state{where}: dict keys must be str, got {k!r}")
            out[k] = _encode(v, arrays, f"{where}[{k!r}]")
        return {"d": out}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(value)]
        return {"t" if isinstance(value, tuple) else "l": items}
    hint = ""
    if "Tensor" in type(value).__name__:
        hint = " (convert tensors with .detach().cpu().numpy())"
    raise TypeError(f"state{where}: unsupported type {type(value).__name__}{hint}")


def _decode(node: Any, arrays: Dict[str, np.ndarray]) -> Any:
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if not isinstance(node, dict) or len(node) != 1:
        raise ValueError(f"bad structure node {node!r:.80}")
    ((tag, body),) = node.items()
    if tag == "d" and isinstance(body, dict):
        return {k: _decode(v, arrays) for k, v in body.items()}
    if tag in ("l", "t") and isinstance(body, list):
        items = [_decode(v, arrays) for v in body]
        return tuple(items) if tag == "t" else items
    if tag in ("a", "s") and isinstance(body, str):
        arr = arrays[body]
        return arr if tag == "a" else arr[()]
    raise ValueError(f"bad structure node tag {tag!r}")


class SnapshotStore:
    """Atomic, pickle-free snapshots of a learner state, newest ``keep`` kept.

    Parameters
    ----------
    directory : str or PathLike
        Created if missing.
    keep : int
        Number of snapshots kept (>= 2 so that a corrupt newest falls back to the previous).

    Notes
    -----
    A state is a nested structure of ``dict`` (str keys), ``list``, ``tuple``, ``numpy``
    arrays and scalars (bool/int/uint/float/complex/str dtypes), ``int``, ``float``, ``str``,
    ``bool`` and ``None``.  It round-trips exactly: float64 bit patterns, dtypes, shapes,
    tuple-vs-list.  File name ``snapshot-<seq, 12 digits>.npz``; members ``a0, a1, ...``
    (arrays), ``__meta__`` (UTF-8 JSON: format, version, seq, structure, per-array SHA-256)
    and ``__sha256__`` (SHA-256 of ``__meta__``).
    """

    def __init__(self, directory: PathLike, keep: int = 2) -> None:
        if int(keep) < 2:
            raise ValueError(f"keep must be >= 2 (fallback needs a previous snapshot), got {keep}")
        self.directory = Path(directory)
        self.keep = int(keep)
        #: (path, reason) of snapshots skipped as corrupt by the last :meth:`load`.
        self.skipped: List[Tuple[str, str]] = []
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SnapshotWriteError(
                f"cannot create snapshot directory {self.directory}: {exc}"
            ) from exc

    def paths(self) -> List[Path]:
        """Snapshot files, newest (highest seq) first."""
        found = []
        for p in self.directory.iterdir():
            m = _SNAPSHOT_RE.match(p.name)
            if m:
                found.append((int(m.group(1)), p))
        return [p for _, p in sorted(found, reverse=True)]

    def save(self, state: Dict[str, Any], seq: int) -> Path:
        """Atomically write a snapshot of ``state`` covering journal events 1..``seq``.

        Raises
        ------
        TypeError
            ``state`` holds an unsupported type.
        ValueError
            ``seq`` is negative or lower than the newest snapshot's.
        SnapshotWriteError
            The file could not be written (earlier snapshots are untouched).
        """
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict, got {type(state).__name__}")
        if isinstance(seq, bool) or not isinstance(seq, (int, np.integer)) or seq < 0:
            raise ValueError(f"seq must be an int >= 0, got {seq!r}")
        seq = int(seq)
        existing = self.paths()
        if existing:
            newest = int(_SNAPSHOT_RE.match(existing[0].name).group(1))  # type: ignore[union-attr]
            if seq < newest:
                raise ValueError(f"seq {seq} is older than the newest snapshot ({newest})")
        arrays: Dict[str, np.ndarray] = {}
        structure = _encode(state, arrays, "")
        meta = {
            "format": _SNAPSHOT_FORMAT,
            "version": _SNAPSHOT_VERSION,
            "seq": seq,
            "structure": structure,
            "digests": {k: _array_digest(a) for k, a in arrays.items()},
        }
        # insertion order of dict keys is part of the state: no sort_keys here
        meta_bytes = json.dumps(meta, allow_nan=True).encode("utf-8")
        members = dict(arrays)
        members[_META_KEY] = np.frombuffer(meta_bytes, dtype=np.uint8)
        members[_DIGEST_KEY] = np.frombuffer(hashlib.sha256(meta_bytes).digest(), dtype=np.uint8)

        final = self.directory / f"snapshot-{seq:012d}.npz"
        tmp = self.directory / f".{final.name}.{os.getpid()}.tmp"
        try:
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), FILE_MODE
            )
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **members)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
            _fsync_dir(self.directory)
        except OSError as exc:
            try:
                tmp.unlink()
            except FileNotFoundError:
                pass
            except OSError as cleanup_exc:
                warnings.warn(
                    f"could not remove temporary snapshot {tmp}: {cleanup_exc}",
                    RuntimeWarning,
                    stacklevel=2,
                )
            raise SnapshotWriteError(f"could not write snapshot {final}: {exc}") from exc
        self._prune()
        return final

    def _prune(self) -> None:
        stale = self.paths()[self.keep :]
        for p in stale:
            try:
                p.unlink()
            except OSError as exc:
                warnings.warn(
                    f"could not remove old snapshot {p}: {exc}", RuntimeWarning, stacklevel=3
                )
        for p in self.directory.glob(".snapshot-*.tmp"):  # leftovers of a crash during save
            try:
                p.unlink()
            except OSError as exc:
                warnings.warn(
                    f"could not remove stale temporary {p}: {exc}", RuntimeWarning, stacklevel=3
                )
        if stale:
            _fsync_dir(self.directory)

    def load(self) -> Optional[Tuple[Dict[str, Any], int]]:
        """Newest readable snapshot as ``(state, seq)``, or None when there is none.

        Corrupt snapshots are skipped with a ``RuntimeWarning``, renamed to ``*.corrupt``
        (kept for inspection, never loaded or counted again) and listed in :attr:`skipped`.

        Raises
        ------
        SnapshotCorruptError
            Snapshots exist but none is readable: replay the whole journal from seq 0.
        """
        self.skipped = []
        for path in self.paths():
            try:
                return self.load_file(path)
            except SnapshotCorruptError as exc:
                self.skipped.append((str(path), str(exc)))
                warnings.warn(
                    f"{exc}; falling back to an older snapshot", RuntimeWarning, stacklevel=2
                )
                try:
                    os.replace(path, path.with_name(path.name + ".corrupt"))
                except OSError as rename_exc:
                    warnings.warn(
                        f"could not quarantine {path}: {rename_exc}", RuntimeWarning, stacklevel=2
                    )
        if self.skipped:
            raise SnapshotCorruptError(
                "no readable snapshot in {}: {}; replay the whole journal".format(
                    self.directory, "; ".join(reason for _, reason in self.skipped)
                )
            )
        return None

    @staticmethod
    def load_file(path: PathLike) -> Tuple[Dict[str, Any], int]:
        """Read and verify one snapshot file; raises :class:`SnapshotCorruptError`."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as npz:
                members = {name: npz[name] for name in npz.files}
            meta_bytes = members.pop(_META_KEY).tobytes()
            digest = members.pop(_DIGEST_KEY).tobytes()
            if hashlib.sha256(meta_bytes).digest() != digest:
                raise ValueError("metadata checksum mismatch")
            meta = json.loads(meta_bytes.decode("utf-8"))
            if meta.get("format") != _SNAPSHOT_FORMAT or meta.get("version") != _SNAPSHOT_VERSION:
                raise ValueError(f"unknown format {meta.get('format')!r} v{meta.get('version')!r}")
            if set(meta["digests"]) != set(members):
                raise ValueError("array members do not match the metadata")
            for key, arr in members.items():
                if _array_digest(arr) != meta["digests"][key]:
                    raise ValueError(f"checksum mismatch in array {key}")
            state = _decode(meta["structure"], members)
            seq = meta["seq"]
            if type(seq) is not int or not isinstance(state, dict):
                raise ValueError("bad seq or state")
        # Everything a damaged archive can make zipfile/numpy raise (a flipped compression
        # field gives NotImplementedError, a RuntimeError; an inflated shape, MemoryError).
        except (
            OSError,
            EOFError,
            KeyError,
            ValueError,
            TypeError,
            RuntimeError,
            MemoryError,
            struct.error,
            zipfile.BadZipFile,
            zlib.error,
        ) as exc:
            raise SnapshotCorruptError(
                f"snapshot {path} is corrupt or unreadable: {type(exc).__name__}: {exc}"
            ) from exc
        return state, seq
