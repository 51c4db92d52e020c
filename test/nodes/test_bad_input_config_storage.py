# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Bad configuration and storage faults: refused with the reason, never a traceback, never a
changed state (the rest of the bad-input table is in ``test_bad_input_table.py``).

Faults found at start-up (a bad parameter, an unwritable, locked or corrupt state directory)
stop the node before it touches any state: :class:`InvalidParameters` with the reason, which
``main()`` turns into exit code 2 and one line on stderr. Faults at run time (a refused
parameter change, a full disk) leave the node running and the state unchanged.

The disk-full and read-only cases mount a small tmpfs (root only); without the privilege they
skip with that reason.
"""

from __future__ import annotations

import errno
import os
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticStatus
from rclpy.parameter import Parameter

from moral_compass_ros.core.journal import FeedbackJournal
from moral_compass_ros.msg import FeedbackAck
from moral_compass_ros.nodes.action_selector_node import ActionSelectorNode
from moral_compass_ros.nodes.compass_node import CompassNode
from moral_compass_ros.parameters import InvalidParameters
from reliability_helpers import (
    compass_arrays,
    event_to_msg,
    in_process,
    learner_parameters,
    make_events,
    reference_model,
    node_learner_config,
)
from ros_helpers import ros_context, run_compass_node

pytestmark = pytest.mark.ros


def compass_params(state_dir: Path, *extra: Parameter) -> list[Parameter]:
    """Small learner, ``state_dir``, then ``extra``."""
    return learner_parameters() + [Parameter("state_dir", value=str(state_dir)), *extra]


def start_compass(params):
    """Construct a CompassNode in a private context and return the start-up error, if any."""
    with ros_context() as context:
        try:
            node = CompassNode(context=context, parameter_overrides=params)
        except InvalidParameters as error:
            return error
        node.destroy_node()
    return None


@pytest.fixture
def tmpfs(tmp_path):
    """``mount(name, options) -> Path``: a fresh tmpfs under ``tmp_path``, unmounted after."""
    mounted: list[Path] = []

    def mount(name: str, options: str) -> Path:
        target = tmp_path / name
        target.mkdir()
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip()}): needs root")
        mounted.append(target)
        return target

    yield mount
    for target in reversed(mounted):
        if subprocess.run(["umount", str(target)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(target)], capture_output=True)


# ------------------------------------------------------------------------------ config
@pytest.mark.parametrize(
    "name, value, reason",
    [
        ("gamma", 2.0, "gamma"),  # out of range (0, 1]
        ("n_particles", 0, "n_particles"),  # out of range >= 1
        ("epsilon", -0.1, "epsilon"),  # out of range > 0
        ("n_particles", "many", "n_particles"),  # wrong type
        ("information_mode", "maybe", "information_mode"),  # not one of avoid/seek
        ("snapshot_every", 0, "snapshot_every"),  # node parameter out of range
        ("lambda_task", [1.0, 2.0], "lambda_task"),  # wrong type (a list)
        ("fingerprint_model", "/nonexistent/psi.npz", "no such file: /nonexistent/psi.npz"),
    ],
    ids=[
        "gamma-out-of-range",
        "n_particles-zero",
        "epsilon-negative",
        "n_particles-wrong-type",
        "information_mode-unknown",
        "snapshot_every-zero",
        "lambda_task-list",
        "fingerprint_model-missing",
    ],
)
def test_bad_start_up_parameters_are_refused_before_any_state_is_touched(
    tmp_path, name, value, reason
):
    error = start_compass(compass_params(tmp_path / "state", Parameter(name, value=value)))
    assert isinstance(error, InvalidParameters) and reason in str(error), error
    assert not (tmp_path / "state").exists()  # nothing created, nothing changed


def test_a_bad_run_time_parameter_change_is_refused_and_the_node_keeps_serving(tmp_path):
    from test_bad_input_table import candidates

    with in_process(ActionSelectorNode, learner_parameters()) as harness:
        node = harness.node
        config_before = node._config
        for parameter in (
            Parameter("lambda_task", value=-1.0),
            Parameter("gamma", value=7.0),
            Parameter("lambda_info", value="lots"),
        ):
            result = node.set_parameters([parameter])[0]
            assert not result.successful, result
            assert parameter.name in result.reason or "type" in result.reason, result
        assert node._config is config_before
        node._on_candidates(candidates(request_id="r-after-refusal"))
        assert node._health.counts["selections.published"] == 1


def test_a_malformed_legitimacy_policy_is_refused(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "sources: {joy: {allowed: true, weight: 2.0}}\noperators: {'*': {allowed: true}}\n"
    )
    error = start_compass(
        compass_params(tmp_path / "state", Parameter("legitimacy_file", value=str(policy)))
    )
    assert isinstance(error, InvalidParameters)
    assert "sources.joy.weight must be a number in [0, 1]" in str(error)


# ------------------------------------------------------------------------------ storage
def _journal(state: Path, events) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with FeedbackJournal(state / "journal.jsonl") as journal:
            for event in events:
                journal.append(event)


def test_a_corrupt_snapshot_is_quarantined_and_the_journal_replayed(tmp_path):
    state = tmp_path / "state"
    events = make_events(6, seed=8)
    params = compass_params(state, Parameter("snapshot_every", value=2))
    with in_process(CompassNode, params) as harness:
        for event in events:
            harness.node._on_feedback(event_to_msg(event))
    snapshots = sorted((state / "snapshots").glob("snapshot-*.npz"))
    assert len(snapshots) == 2
    for path in snapshots:  # flip bytes in the middle of both: nothing usable is left
        data = bytearray(path.read_bytes())
        data[len(data) // 2 : len(data) // 2 + 16] = b"\xff" * 16
        path.write_bytes(bytes(data))
    with in_process(CompassNode, params) as harness:
        assert "corrupt" in harness.health.last_problem
        assert harness.health.counts["rejected.restore"] >= 1
        assert harness.diagnostic_with("corrupt") is not None
        assert harness.node.learner.version == len(events)
        reference = reference_model(events, node_learner_config())
        for got, want in zip(compass_arrays(harness.node._model), compass_arrays(reference)):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert len(list((state / "snapshots").glob("*.corrupt"))) == 2


def test_a_state_dir_that_is_not_a_directory_is_refused_with_the_reason(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    error = start_compass(compass_params(blocker / "state"))
    assert isinstance(error, InvalidParameters)
    assert "cannot open journal" in str(error) and "Not a directory" in str(error)


def test_a_read_only_state_dir_is_refused_with_the_reason(tmpfs):
    readonly = tmpfs("readonly", "ro,size=64k")
    error = start_compass(compass_params(readonly / "state"))
    assert isinstance(error, InvalidParameters)
    assert "Read-only file system" in str(error)


def test_an_unwritable_state_dir_exits_with_code_2_and_one_line_of_reason(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    proc = run_compass_node(blocker / "state", tmp_path / "ros_home")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Not a directory" in proc.stderr and "Traceback" not in proc.stderr


def test_a_journal_held_by_another_compass_node_is_refused(tmp_path):
    state = tmp_path / "state"
    with in_process(CompassNode, compass_params(state)):
        error = start_compass(compass_params(state))
    assert isinstance(error, InvalidParameters)
    assert "open for writing in another process" in str(error)


def test_a_corrupt_middle_journal_line_is_refused_not_silently_skipped(tmp_path):
    state = tmp_path / "state"
    _journal(state, make_events(3, seed=9))
    lines = (state / "journal.jsonl").read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b'"approved":', b'"approved" :', 1)  # CRC no longer matches
    (state / "journal.jsonl").write_bytes(b"\n".join(lines))
    before = (state / "journal.jsonl").read_bytes()
    error = start_compass(compass_params(state))
    assert isinstance(error, InvalidParameters)
    assert "corrupt at line 2" in str(error)
    assert (state / "journal.jsonl").read_bytes() == before  # left for a person to inspect


def test_a_journal_that_does_not_fit_the_configuration_is_refused(tmp_path):
    state = tmp_path / "state"
    _journal(state, make_events(2, seed=9, feature_dim=4))  # written by a 4-feature learner
    error = start_compass(compass_params(state))
    assert isinstance(error, InvalidParameters) and "features must have shape" in str(error)


def test_disk_full_on_journal_write_applies_nothing_and_the_retry_succeeds(tmpfs):
    disk = tmpfs("disk", "size=256k")
    state = disk / "state"
    state.mkdir()
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:  # fill every page of the tmpfs
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as error:
        assert error.errno == errno.ENOSPC
    finally:
        os.close(fd)
    event = make_events(1, seed=12)[0]
    with in_process(CompassNode, compass_params(state)) as harness:
        node, acks = harness.node, []
        node._ack_pub.publish = acks.append
        before = (node.learner.version, compass_arrays(node._model)[0].tobytes())
        node._on_feedback(event_to_msg(event))
        assert (node.learner.version, compass_arrays(node._model)[0].tobytes()) == before
        assert node._store.applied_events == 0 and not node._store.contains(event.feedback_id)
        assert acks == []  # not acknowledged: the sender keeps re-sending it
        assert node._health.counts["feedback.journal_failed"] == 1
        status = harness.diagnostic_with(
            "No space left on device", levels=(DiagnosticStatus.ERROR,)
        )
        assert status is not None and event.feedback_id in status.message
        assert os.path.getsize(state / "journal.jsonl") == 0  # the partial line rolled back
        filler.unlink()  # space comes back; the sender's re-send is applied, once
        node._on_feedback(event_to_msg(event))
        node._on_feedback(event_to_msg(event))
        assert [a.status for a in acks] == [
            FeedbackAck.STATUS_APPLIED,
            FeedbackAck.STATUS_DUPLICATE,
        ]
        assert node.learner.version == 1 and node._store.applied_events == 1
        assert (
            harness.diagnostic_with("No space", levels=(DiagnosticStatus.ERROR,), timeout_s=3)
            is None
        )  # the error cleared


def test_an_answer_journaled_but_never_acknowledged_is_applied_once_after_a_crash(tmp_path):
    """The narrow crash window the SIGKILL test may miss on a fast machine (its kills land by
    timing): the answer is in the journal, the node died before applying or acknowledging it.
    The restarted node replays it; the sender's re-send is acknowledged as a duplicate."""
    state = tmp_path / "state"
    event = make_events(1, seed=21)[0]
    _journal(state, [event])  # what a node killed right after the journal append leaves
    with in_process(CompassNode, compass_params(state)) as harness:
        node, acks = harness.node, []
        node._ack_pub.publish = acks.append
        assert node.learner.version == 1 and node._store.contains(event.feedback_id)
        node._on_feedback(event_to_msg(event))  # the sender never saw an ack: it re-sends
        assert [a.status for a in acks] == [FeedbackAck.STATUS_DUPLICATE]
        assert node.learner.version == 1 and node._store.applied_events == 1
