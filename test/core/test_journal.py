# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Durable feedback journal and snapshot store: round trips, crash recovery, failures."""

import errno
import json
import math
import os
import signal
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

from moral_compass_ros.core.events import FeedbackEvent
from moral_compass_ros.core.journal import (
    DuplicateEventError,
    FeedbackJournal,
    JournalCorruptError,
    JournalDiskFullError,
    JournalError,
    JournalLockedError,
    JournalTornTailWarning,
    JournalUnwritableError,
    JournalWriteError,
    SnapshotCorruptError,
    SnapshotStore,
)


def make_event(i: int, **overrides) -> FeedbackEvent:
    rng = np.random.default_rng(i)
    kwargs = dict(
        feedback_id=f"fb-{i}",
        action_id=f"a-{i}",
        features=rng.standard_normal(4),
        context=rng.standard_normal(2),
        approved=bool(i % 2),
        task_reward=float(i) / 3,
        value_hint=rng.dirichlet(np.ones(5)),
        weight=0.5,
        operator="alice",
        source="sim",
        stamp=1.7e9 + i / 7,
        responses=np.array([0.25]),
    )
    kwargs.update(overrides)
    return FeedbackEvent(**kwargs)


def assert_events_equal(a: FeedbackEvent, b: FeedbackEvent) -> None:
    for name in ("features", "context", "value_hint", "responses"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        assert getattr(a, name).dtype == getattr(b, name).dtype == np.float64
    for name in ("feedback_id", "action_id", "approved", "weight", "operator", "source", "stamp"):
        assert getattr(a, name) == getattr(b, name), name
    assert (
        math.isnan(a.task_reward) and math.isnan(b.task_reward)
    ) or a.task_reward == b.task_reward


def lines(path: Path):
    return path.read_bytes().split(b"\n")


# ---------------------------------------------------------------------------------- journal
def test_round_trip_including_nan_reward_and_empty_hints(tmp_path):
    path = tmp_path / "journal.jsonl"
    events = [
        make_event(0),
        make_event(1, task_reward=math.nan),
        make_event(2, value_hint=np.zeros(0), responses=np.zeros(0)),
        make_event(
            3,
            features=np.array([1e-310, -0.0, 1 / 3, 2.0**60]),
            responses=np.array([math.nan]),
            operator="zoë",
        ),
    ]
    with FeedbackJournal(path) as j:
        assert [j.append(e) for e in events] == [1, 2, 3, 4]
        assert len(j) == 4 and j.last_seq == 4
        assert j.contains("fb-2") and not j.contains("fb-9") and j.seq_of("fb-3") == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean journal opens without any warning
        j = FeedbackJournal(path)
    got = j.read()
    assert [s for s, _ in got] == [1, 2, 3, 4]
    for (_, e), ref in zip(got, events):
        assert_events_equal(e, ref)
    assert [s for s, _ in j.events_after(2)] == [3, 4]
    assert j.events_after(4) == []
    assert j.append(make_event(4)) == 5
    j.close()
    assert j.recovery is None


def test_line_format_matches_the_documented_spec(tmp_path):
    path = tmp_path / "j.jsonl"
    with FeedbackJournal(path) as j:
        j.append(make_event(0, task_reward=math.nan))
        j.append(make_event(1))
    raw = path.read_bytes()
    assert raw.endswith(b"\n") and raw.count(b"\n") == 2
    for n, line in enumerate(raw.splitlines(), start=1):
        record = json.loads(line)
        assert list(record) == ["seq", "crc32", "event"] and record["seq"] == n
        canonical = json.dumps(
            {"seq": record["seq"], "event": record["event"]}, sort_keys=True, separators=(",", ":")
        )
        assert record["crc32"] == zlib.crc32(canonical.encode())
        extra = {"task_reward": math.nan} if n == 1 else {}
        assert record["event"] == make_event(n - 1, **extra).to_dict()
    assert json.loads(raw.splitlines()[0])["event"]["task_reward"] is None  # NaN -> null


def test_duplicate_feedback_id_rejected_and_file_unchanged(tmp_path):
    path = tmp_path / "j.jsonl"
    with FeedbackJournal(path) as j:
        j.append(make_event(0))
        size = path.stat().st_size
        with pytest.raises(DuplicateEventError):
            j.append(make_event(0))
        assert path.stat().st_size == size and len(j) == 1


def test_torn_last_line_is_reported_truncated_and_append_continues(tmp_path):
    path = tmp_path / "j.jsonl"
    with FeedbackJournal(path) as j:
        for i in range(3):
            j.append(make_event(i))
    good_size = path.stat().st_size
    full_line = lines(path)[0]
    with open(path, "ab") as f:  # a crash in the middle of writing event 4
        f.write(full_line[: len(full_line) // 2])
    with pytest.warns(JournalTornTailWarning, match="line 4"):
        j = FeedbackJournal(path)
    assert j.recovery is not None and j.recovery.line_number == 4 and j.recovery.truncated
    assert j.recovery.discarded_bytes == len(full_line) // 2
    assert path.stat().st_size == good_size
    assert [e.feedback_id for _, e in j.read()] == ["fb-0", "fb-1", "fb-2"]
    assert j.append(make_event(3)) == 4
    j.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [s for s, _ in FeedbackJournal(path, readonly=True).read()] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    "tail",
    [
        b"\x00\x00\x00\x00",  # zero-filled blocks after a power loss
        b'{"seq":4,"crc32":1,"event":{}}\n',  # complete line with a bad CRC
        None,  # a valid line whose newline never made it
    ],
)
def test_other_torn_tails_are_discarded(tmp_path, tail):
    path = tmp_path / "j.jsonl"
    with FeedbackJournal(path) as j:
        for i in range(3):
            j.append(make_event(i))
    with FeedbackJournal(tmp_path / "other.jsonl") as other:
        for i in range(4):
            other.append(make_event(i))
    if tail is None:
        tail = lines(tmp_path / "other.jsonl")[3]  # the line for seq 4, without "\n"
    with open(path, "ab") as f:
        f.write(tail)
    with pytest.warns(JournalTornTailWarning):
        ro = FeedbackJournal(path, readonly=True)  # read-only: reported, not truncated
    assert not ro.recovery.truncated and len(ro) == 3
    with pytest.warns(JournalTornTailWarning):
        j = FeedbackJournal(path)
    assert [s for s, _ in j.read()] == [1, 2, 3]
    j.close()


def test_corrupt_middle_line_raises_with_line_number(tmp_path):
    path = tmp_path / "j.jsonl"
    with FeedbackJournal(path) as j:
        for i in range(5):
            j.append(make_event(i))
    raw = lines(path)
    raw[2] = raw[2].replace(b'"approved":false', b'"approved":true ')  # bit rot on line 3
    path.write_bytes(b"\n".join(raw))
    with pytest.raises(JournalCorruptError, match="line 3") as info:
        FeedbackJournal(path)
    assert info.value.line_number == 3 and isinstance(info.value, ValueError)
    with pytest.raises(JournalCorruptError, match="line 3"):
        FeedbackJournal(path, readonly=True)


def test_gap_in_sequence_is_corruption(tmp_path):
    path = tmp_path / "j.jsonl"
    with FeedbackJournal(path) as j:
        for i in range(4):
            j.append(make_event(i))
    raw = lines(path)
    del raw[1]  # a lost line in the middle
    path.write_bytes(b"\n".join(raw))
    with pytest.raises(JournalCorruptError, match="line 2.*not contiguous"):
        FeedbackJournal(path)


def test_unwritable_directory_raises_journal_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("I am a file, not a directory")
    with pytest.raises(JournalUnwritableError) as info:
        FeedbackJournal(blocker / "journal.jsonl")
    assert isinstance(info.value, JournalError) and str(blocker) in str(info.value)


def test_second_writer_is_locked_out(tmp_path):
    path = tmp_path / "j.jsonl"
    with FeedbackJournal(path):
        with pytest.raises(JournalLockedError):
            FeedbackJournal(path)
        FeedbackJournal(path, readonly=True).read()  # readers are welcome
    FeedbackJournal(path).close()  # the lock is released on close


@pytest.mark.parametrize("failing", ["pwrite", "fdatasync"])
def test_disk_full_raises_and_leaves_no_partial_line(tmp_path, monkeypatch, failing):
    path = tmp_path / "j.jsonl"
    j = FeedbackJournal(path)
    j.append(make_event(0))
    size = path.stat().st_size
    real_pwrite = os.pwrite

    def half_then_enospc(fd, data, offset):
        real_pwrite(fd, bytes(data[: len(data) // 2]), offset)  # a short write lands on disk
        raise OSError(errno.ENOSPC, "No space left on device")

    def enospc(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    if failing == "pwrite":
        monkeypatch.setattr(os, "pwrite", half_then_enospc)
    else:
        monkeypatch.setattr(os, "fdatasync", enospc)
    with pytest.raises(JournalDiskFullError, match="NOT journaled") as info:
        j.append(make_event(1))
    assert isinstance(info.value, JournalWriteError)
    assert path.stat().st_size == size and len(j) == 1 and not j.contains("fb-1")
    monkeypatch.undo()
    assert j.append(make_event(1)) == 2  # space freed: the retry works, seq is contiguous
    j.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [e.feedback_id for _, e in FeedbackJournal(path).read()] == ["fb-0", "fb-1"]


def test_failed_rollback_blocks_appends_until_reopened(tmp_path, monkeypatch):
    path = tmp_path / "j.jsonl"
    j = FeedbackJournal(path)
    j.append(make_event(0))
    real_pwrite = os.pwrite

    def half_then_eio(fd, data, offset):
        real_pwrite(fd, bytes(data[: len(data) // 2]), offset)
        raise OSError(errno.EIO, "Input/output error")

    def no_truncate(fd, length):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "pwrite", half_then_eio)
    monkeypatch.setattr(os, "ftruncate", no_truncate)
    with pytest.raises(JournalWriteError) as info:
        j.append(make_event(1))
    assert not isinstance(info.value, JournalDiskFullError)
    monkeypatch.undo()
    with pytest.raises(JournalWriteError, match="reopen"):
        j.append(make_event(2))  # would turn the torn line into a corrupt middle line
    j.close()
    with pytest.warns(JournalTornTailWarning):
        j = FeedbackJournal(path)
    assert [s for s, _ in j.read()] == [1]
    assert j.append(make_event(1)) == 2
    j.close()


def _append_forever(path: Path, ack_fd: int, slow_disk: bool) -> None:
    """Body of a killed child: open the journal and append until SIGKILLed, acking each seq.

    ``slow_disk`` makes every ``pwrite`` short (at most 512 bytes, 0.2 ms apart), as a slow or
    congested device may, and says ``mid`` on the pipe when a line is half written, so that the
    parent can kill inside a line and leave a torn tail to recover.
    """
    warnings.simplefilter("ignore")
    if slow_disk:
        real_pwrite = os.pwrite

        def short_pwrite(fd, data, offset):
            time.sleep(0.0002)
            written = real_pwrite(fd, bytes(data[:512]), offset)
            if written < len(data):
                os.write(ack_fd, b"mid\n")
            return written

        os.pwrite = short_pwrite  # only in this forked child, which never returns
    journal = FeedbackJournal(path)
    i = len(journal)
    os.write(ack_fd, b"ready\n")
    while True:
        big = i % 4 == 0  # every 4th line is ~80 kB (20 pages), so that a kill can tear it
        event = FeedbackEvent(
            feedback_id=f"ev-{i}",
            action_id="a",
            features=np.full(4000 if big else 4, i / 7),
            context=np.zeros(2),
            approved=bool(i % 2),
        )
        seq = journal.append(event)
        os.write(ack_fd, f"{seq}\n".encode())  # acknowledged: durable from here on
        i += 1


def _run_and_kill(path: Path, n_acks: int, slow_disk: bool = False) -> set:
    """Fork a real child process that appends in a loop; SIGKILL it once it has acknowledged
    ``n_acks`` appends (a count, not a time: the kill lands in the next append however loaded
    the machine is) and, with ``slow_disk``, is half-way through writing a line.

    Forking the already-imported test process keeps restarts cheap (no interpreter start-up
    and no torch import through ``moral_compass_ros.core``); the child only uses os/json/numpy.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        code = 1
        try:
            os.close(read_fd)
            _append_forever(path, write_fd, slow_disk)
        except BaseException:  # report anything to the parent through the exit code
            code = 2
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as acks:
        assert acks.readline() == b"ready\n"
        seen = []
        while sum(line[:1].isdigit() for line in seen) < n_acks or (
            slow_disk and seen[-1] != b"mid\n"
        ):
            seen.append(acks.readline())
            assert seen[-1].endswith(b"\n"), seen  # the child is alive until the kill
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        rest = acks.read()
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
    return {int(x) for x in b"".join(seen).split() + rest.split() if x.isdigit()}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("slow_disk", [False, True], ids=["normal-writes", "short-writes"])
def test_sigkill_at_random_points_never_corrupts_or_loses_acknowledged_events(tmp_path, slow_disk):
    path = tmp_path / "kill" / "journal.jsonl"
    rng = np.random.default_rng(2024)
    acknowledged = set()
    torn_tails = 0
    for _ in range(20):
        acknowledged |= _run_and_kill(path, int(rng.integers(1, 9)), slow_disk)
        # after every kill: at most a torn tail, never a corrupt middle
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", JournalTornTailWarning)
            seqs = [s for s, _ in FeedbackJournal(path, readonly=True).read()]
        torn_tails += any(issubclass(w.category, JournalTornTailWarning) for w in caught)
        assert seqs == list(range(1, len(seqs) + 1))
    if slow_disk:  # kills land inside lines: the recovery path ran (nearly every time; a
        assert torn_tails >= 1  # parent descheduled for the rest of a line's 30 ms spares one)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", JournalTornTailWarning)
        final = FeedbackJournal(path)
    entries = final.read()
    assert [s for s, _ in entries] == list(range(1, len(entries) + 1))
    # every event is the one the child made for that position: none lost, none twice
    assert [e.feedback_id for _, e in entries] == [f"ev-{s - 1}" for s, _ in entries]
    assert acknowledged <= {s for s, _ in entries}  # nothing acknowledged was lost
    assert len(entries) >= 20
    final.close()


# ---------------------------------------------------------------------------------- snapshots
def nested_state(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "particles": rng.dirichlet(np.ones(5), size=64),
        "weights": rng.random(64) / 64,
        "model": {
            "layers": [rng.standard_normal((8, 4)).astype(np.float32), rng.standard_normal(4)],
            "beta": np.float64(3.25),
            "step": np.int64(17),
            "flag": np.bool_(True),
        },
        "counts": np.arange(10, dtype=np.uint16),
        "empty": np.zeros((0, 5)),
        "names": np.array(["care", "fairness"]),
        "specials": [math.nan, math.inf, -0.0, 1 / 3, 2**80, None, True, "x"],
        "pair": (1, 2.5),
        "rng_state": {"bit_generator": "PCG64", "state": {"state": 2**127 + 5, "inc": 3}},
    }


def assert_state_equal(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_state_equal(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_state_equal(x, y)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b)
        np.testing.assert_array_equal(a, b)
        if a.dtype.kind == "f":  # bit-exact, signed zeros and NaN payloads included
            np.testing.assert_array_equal(
                np.asarray(a).view(f"u{a.dtype.itemsize}"),
                np.asarray(b).view(f"u{b.dtype.itemsize}"),
            )
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b and (not isinstance(a, float) or math.copysign(1, a) == math.copysign(1, b))


def test_snapshot_exact_round_trip(tmp_path):
    store = SnapshotStore(tmp_path / "snaps")
    assert store.load() is None
    state = nested_state()
    store.save(state, seq=42)
    loaded, seq = SnapshotStore(tmp_path / "snaps").load()
    assert seq == 42
    assert_state_equal(state, loaded)


def test_snapshot_keeps_last_two_and_rejects_older_seq(tmp_path):
    store = SnapshotStore(tmp_path)
    for seq in (1, 5, 9):
        store.save({"seq": seq}, seq)
    assert [p.name for p in store.paths()] == [
        "snapshot-000000000009.npz",
        "snapshot-000000000005.npz",
    ]
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))
    with pytest.raises(ValueError, match="older"):
        store.save({"seq": 3}, 3)


def test_corrupt_newest_snapshot_falls_back_to_previous(tmp_path):
    store = SnapshotStore(tmp_path)
    store.save(nested_state(1), 10)
    newest = store.save(nested_state(2), 20)
    data = bytearray(newest.read_bytes())
    newest.write_bytes(bytes(data[: len(data) // 2]))  # truncated by a failing disk
    with pytest.raises(SnapshotCorruptError, match=str(newest)):
        SnapshotStore.load_file(newest)
    with pytest.warns(RuntimeWarning, match="corrupt"):
        state, seq = store.load()
    assert seq == 10
    assert_state_equal(state, nested_state(1))
    assert store.skipped and store.skipped[0][0] == str(newest)
    assert not newest.exists() and newest.with_name(newest.name + ".corrupt").exists()
    store.save(nested_state(3), 30)  # the good previous snapshot survives the pruning
    assert [p.name for p in store.paths()] == [
        "snapshot-000000000030.npz",
        "snapshot-000000000010.npz",
    ]


def test_all_snapshots_corrupt_raises(tmp_path):
    store = SnapshotStore(tmp_path)
    for seq in (1, 2):
        store.save({"x": np.ones(3)}, seq).write_bytes(b"not a zip file")
    with pytest.warns(RuntimeWarning):
        with pytest.raises(SnapshotCorruptError, match="replay the whole journal"):
            store.load()


def test_flipped_bytes_never_yield_a_wrong_state(tmp_path):
    store = SnapshotStore(tmp_path)
    state = nested_state(4)
    path = store.save(state, 1)
    clean = path.read_bytes()
    rng = np.random.default_rng(7)
    detected = 0
    for pos in rng.choice(len(clean), size=60, replace=False):
        data = bytearray(clean)
        data[pos] ^= 0xFF
        path.write_bytes(bytes(data))
        try:
            loaded, _ = SnapshotStore.load_file(path)
        except SnapshotCorruptError:
            detected += 1
            continue
        assert_state_equal(state, loaded)  # undetected only where the flip is harmless
    assert detected >= 40  # ~90 % of bytes are covered by a checksum (the rest: zip metadata)


def test_snapshot_refuses_pickle_and_unsupported_types(tmp_path):
    evil = tmp_path / "snapshot-000000000001.npz"
    np.savez(evil, a0=np.array([object()], dtype=object))  # would need pickle to load
    with pytest.raises(SnapshotCorruptError):
        SnapshotStore.load_file(evil)
    store = SnapshotStore(tmp_path / "ok")
    with pytest.raises(TypeError, match="object"):
        store.save({"x": np.array([None], dtype=object)}, 1)
    with pytest.raises(TypeError, match="set"):
        store.save({"x": {1, 2}}, 1)
    with pytest.raises(TypeError, match="keys"):
        store.save({"x": {1: 2}}, 1)
    with pytest.raises(ValueError):
        store.save({}, -1)
    assert store.paths() == []
