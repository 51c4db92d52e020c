# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Deterministic replay of a recorded session (sqlite3 and MCAP), and "what if" replays.

The session bag is synthesised with the core *exactly as the nodes compute it* (no DDS, so the
test is fast and its timing is under control): a compass learner that applies every answer
(compass_node), and a selector replica that loads each version from the published
``MoralCompass`` + ``ModelParameters`` messages and scores against it (action_selector_node).
The selector deliberately lags behind the compass every other step, so an answer is *received*
before a request that was still scored against the previous version: a replay by receive time
alone would get those selections wrong; the causal replay must reproduce every one exactly.
(A bag of the real node graph, recorded by ``moral-compass demo``, was replayed exactly by
hand; an automated graph test is left to the demo's own tests, which take about a minute.)
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from rclpy.serialization import serialize_message
from rosbags.rosbag2 import StoragePlugin, Writer

from moral_compass_ros import topics
from moral_compass_ros.bag import read_bag, typestore
from moral_compass_ros.bag._recorder import _bag_qos, _flush
from moral_compass_ros.conversions import (
    candidates_from_msg,
    compass_from_msg,
    compass_to_msg,
    feedback_from_msg,
    model_from_msg,
    model_to_msg,
    selection_to_msg,
)
from moral_compass_ros.core import DynamicValueLearner, LearnerConfig
from moral_compass_ros.msg import (
    CandidateAction,
    CandidateActions,
    HumanFeedback,
)
from moral_compass_ros.qos import FEEDBACK_QOS, STATE_QOS, STREAM_QOS
from moral_compass_ros.tools import replay as replay_tool

STORAGES = ["sqlite3", "mcap"]
# A small, fast learner (the defaults take seconds per update).
SMALL = {
    "feature_dim": 3,
    "context_dim": 2,
    "n_particles": 24,
    "n_fingerprint_samples": 6,
    "gradient_steps": 1,
    "proximal_steps": 2,
    "replay_window": 8,
    "sinkhorn_max_iter": 200,
    "seed": 3,
}
MS = 1_000_000


def params_document(**changes) -> dict:
    """A ROS parameters document like the demo's params.yaml."""
    return {
        "/**": {"ros__parameters": {**SMALL, **changes}},
        "compass_node": {"ros__parameters": {"state_dir": ""}},
        "action_selector_node": {
            "ros__parameters": {"veto_ids": [""], "veto_label_substrings": [""]}
        },
    }


def _request(k: int, rng: np.random.Generator) -> CandidateActions:
    candidates = [
        CandidateAction(
            id=f"r{k}-a{i}",
            label=f"action {i}",
            features=rng.normal(size=3).tolist(),
            expected_task_reward=float(rng.normal()),
            task_reward_std=0.5,
            value_hint=rng.dirichlet(np.ones(5)).tolist() if i == 0 else [],
        )
        for i in range(3)
    ]
    msg = CandidateActions(
        request_id=f"r{k}", context=rng.normal(size=2).tolist(), candidates=candidates
    )
    msg.header.stamp.sec = 1000 + k
    return msg


def build_session(
    run_dir: Path,
    storage: str,
    n_requests: int = 8,
    seed: int = 0,
    lag_every: int = 2,
    resend: bool = True,
    feedback_type=None,
) -> dict:
    """Write ``run_dir/bag`` (+ ``run_dir/params.yaml``) of a short session; return the truth.

    Returns
    -------
    dict
        ``selections``: ``{request_id: (selected_id, compass_version)}``;
        ``means``: ``{version: compass mean}``.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "params.yaml").write_text(yaml.safe_dump(params_document()))
    config = LearnerConfig(**SMALL)
    compass_learner = DynamicValueLearner(config)  # compass_node
    selector = DynamicValueLearner(config)  # action_selector_node's replica
    rng = np.random.default_rng(seed)
    records = []  # (topic, msg, receive time ns)
    t = 1_700_000_000_000 * MS

    def publish_state(at: int):
        version = compass_learner.version
        model = model_to_msg(compass_learner.model_parameters(), version)
        compass = compass_to_msg(
            compass_learner.compass, config.value_names, version, version, "cards"
        )
        records.append((topics.MODEL, model, at))
        records.append((topics.COMPASS, compass, at + 1))
        return compass, model

    pending = publish_state(t)
    truth = {"selections": {}, "means": {0: compass_learner.compass.mean.tolist()}}
    for k in range(n_requests):
        t += 100 * MS
        # The selector switches to the newest version unless it is lagging this step.
        if pending is not None and (lag_every == 0 or k % lag_every == 0):
            compass_msg, model_msg = pending
            selector.load_model_parameters(model_from_msg(model_msg), int(model_msg.version))
            selector.set_compass(compass_from_msg(compass_msg), int(compass_msg.version))
            pending = None
        request = _request(k, rng)
        records.append((topics.CANDIDATES, request, t))
        batch = candidates_from_msg(request, 3, 2, 5)
        scores = selector.score(
            batch.features, batch.context, batch.reward_mean, batch.reward_std, batch.value_hints
        )
        selection = selection_to_msg(
            batch,
            scores,
            scores.selected,
            np.zeros(3, bool),
            config.information_mode,
            "cards",
            1.0,
        )
        records.append((topics.SELECTION, selection, t + 5 * MS))
        truth["selections"][request.request_id] = (selection.selected_id, int(scores.version))
        feedback = HumanFeedback(
            feedback_id=f"f{k}",
            request_id=request.request_id,
            action=selection.selected,
            context=request.context,
            approved=bool(rng.random() < 0.6),
            task_reward=math.nan,
            source="sim",
            operator_id="sim",
            weight=1.0,
        )
        feedback.header.stamp.sec = 1000 + k
        records.append((topics.FEEDBACK, feedback, t + 10 * MS))
        if resend:  # the feedback node re-sends until acknowledged: a duplicate
            records.append((topics.FEEDBACK, feedback, t + 11 * MS))
        result = compass_learner.update(feedback_from_msg(feedback, 3, 2, 5))
        assert result.applied, result.reason
        truth["means"][compass_learner.version] = compass_learner.compass.mean.tolist()
        pending = publish_state(t + 20 * MS)
    write_bag(run_dir / "bag", storage, records, feedback_type=feedback_type)
    return truth


def write_bag(path: Path, storage: str, records, feedback_type=None) -> None:
    """Write ``(relative topic, rclpy message, time)`` records like BagRecorder does."""
    profiles = {
        topics.CANDIDATES: STREAM_QOS,
        topics.SELECTION: STREAM_QOS,
        topics.FEEDBACK: FEEDBACK_QOS,
        topics.COMPASS: STATE_QOS,
        topics.MODEL: STATE_QOS,
    }
    store = typestore()
    writer = Writer(
        path,
        version=9,
        storage_plugin={"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}[storage],
    )
    writer.open()
    connections = {}
    for name, msg, stamp in records:
        if name not in connections:
            msgtype = f"moral_compass_ros/msg/{type(msg).__name__}"
            if name == topics.FEEDBACK and feedback_type is not None:
                connections[name] = feedback_type["connect"](writer, "/" + name)
            else:
                connections[name] = writer.add_connection(
                    "/" + name,
                    msgtype,
                    typestore=store,
                    offered_qos_profiles=[_bag_qos(profiles[name])],
                )
        data = (
            feedback_type["serialize"](msg)
            if name == topics.FEEDBACK and feedback_type
            else serialize_message(msg)
        )
        writer.write(connections[name], stamp, data)
        _flush(writer)  # as the recorder does every second: one MCAP chunk per message here
    writer.close()


def run_replay(argv: list[str], capsys) -> tuple[int, str, str]:
    code = replay_tool.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("storage", STORAGES)
def test_replay_reproduces_selections_and_compass_exactly(tmp_path, storage, capsys):
    truth = build_session(tmp_path / "run", storage)
    out = tmp_path / "replay"
    code, stdout, stderr = run_replay([str(tmp_path / "run" / "bag"), "--out", str(out)], capsys)
    assert code == 0, stderr
    assert "params.yaml (beside the bag)" in stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["mode"] == "exact"
    sel = metrics["selections"]
    assert sel["compared_with_recorded"] == len(truth["selections"]) == sel["agree"]
    assert sel["compass_version_agree"] == len(truth["selections"])
    assert sel["max_abs_total_diff"] == 0.0
    assert sel["reproduced_exactly"] is True
    comp = metrics["compass"]
    assert comp["versions_compared"] == len(truth["means"])
    assert comp["max_abs_mean_diff"] == 0.0
    assert comp["max_abs_particle_diff"] == 0.0
    assert comp["versions_reproduced_exactly"] is True
    for version, mean in truth["means"].items():
        np.testing.assert_array_equal(comp["mean_per_version"][str(version)], mean)
    quality = metrics["approval_prediction"]["replayed"]
    assert quality["n"] == len(truth["selections"])
    assert 0.0 <= quality["brier"] <= 1.0 and quality["log_loss"] > 0 and 0 <= quality["ece"] <= 1
    assert sum(metrics["skipped"].values()) == len(truth["selections"])  # the re-sent copies
    for name in ("compass_mean.png", "reliability.png", "agreement.png"):
        assert (out / name).stat().st_size > 1000

    # The output bag holds the replayed selections (decoded, compared field by field).
    output = read_bag(out / "replay.mcap")
    selections = [m.message for m in output.messages if m.topic == "/selection"]
    compasses = [m.message for m in output.messages if m.topic == "/compass"]
    assert [(s.selected_id, int(s.compass_version)) for s in selections] == [
        truth["selections"][s.request_id] for s in selections
    ]
    assert len(selections) == len(truth["selections"])
    assert [int(c.version) for c in compasses] == sorted(truth["means"])


@pytest.mark.parametrize("storage", STORAGES)
def test_receive_order_alone_would_not_reproduce(tmp_path, storage):
    """The causal order matters: the lagging selector scored some requests against a version
    older than the answers received before them."""
    truth = build_session(tmp_path / "run", storage)
    contents = read_bag(tmp_path / "run" / "bag")
    answers = [m.timestamp for m in contents.messages if m.topic == "/feedback"]
    requests = [m for m in contents.messages if m.topic == "/planner/candidates"]
    lagging = 0
    for request in requests:
        received_before = len({a for a in answers if a < request.timestamp}) // 2  # re-sends
        if truth["selections"][request.message.request_id][1] < received_before:
            lagging += 1
    assert lagging >= 2


@pytest.mark.parametrize("storage", STORAGES)
def test_what_if_reports_agreement_not_exactness(tmp_path, storage, capsys):
    truth = build_session(tmp_path / "run", storage, n_requests=6)
    out = tmp_path / "whatif"
    code, stdout, _ = run_replay(
        [
            str(tmp_path / "run" / "bag"),
            "--out",
            str(out),
            "--set",
            "lambda_info=0.5",
            "--set",
            "information_mode=seek",
            "--set",
            "gamma=0.9",
            "--set",
            "n_particles=16",
        ],
        capsys,
    )
    assert code == 0
    assert "what if lambda_info=0.5, information_mode=seek, gamma=0.9, n_particles=16" in stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["mode"] == "what_if"
    assert metrics["parameters"]["what_if"] == {
        "lambda_info": 0.5,
        "information_mode": "seek",
        "gamma": 0.9,
        "n_particles": 16,
    }
    assert metrics["parameters"]["selector"]["information_mode"] == "seek"
    sel = metrics["selections"]
    assert sel["compared_with_recorded"] == len(truth["selections"])
    assert 0.0 <= sel["agreement"] <= 1.0
    # Every request is still scored at its recorded place in the answer stream.
    assert sel["compass_version_agree"] == len(truth["selections"])
    assert metrics["compass"]["versions_reproduced_exactly"] is False  # N differs


def test_explicit_params_file_wins_and_bad_override_is_refused(tmp_path, capsys):
    build_session(tmp_path / "run", "mcap", n_requests=3)
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(params_document(lambda_task=3.0)))
    code, stdout, stderr = run_replay(
        [str(tmp_path / "run" / "bag"), "--out", str(tmp_path / "o1"), "--params", str(other)],
        capsys,
    )
    assert "other.yaml (--params)" in stdout
    assert "recorded selections were made with other parameters" in stderr
    assert "lambda_task 1 (replay: 3)" in stderr
    assert code == 1  # a faithful replay with the wrong parameters does not reproduce
    code, _, stderr = run_replay(
        [str(tmp_path / "run" / "bag"), "--out", str(tmp_path / "o2"), "--set", "no_such_knob=1"],
        capsys,
    )
    assert code == 2 and "unknown parameter(s) ['no_such_knob']" in stderr
    code, _, stderr = run_replay(
        [str(tmp_path / "run" / "bag"), "--out", str(tmp_path / "o3"), "--set", "gamma=7"], capsys
    )
    assert code == 2 and "gamma must be in (0.0, 1.0]" in stderr


def test_default_parameters_are_named_when_nothing_is_beside_the_bag(tmp_path, capsys):
    build_session(tmp_path / "run", "sqlite3", n_requests=2)
    (tmp_path / "run" / "params.yaml").unlink()
    code, stdout, stderr = run_replay(
        [str(tmp_path / "run" / "bag"), "--out", str(tmp_path / "o")], capsys
    )
    assert "package default; no params.yaml beside the bag" in stdout
    # The package's dimensions (F=8) do not fit this session's (F=3): clear, not a traceback.
    assert "Traceback" not in stderr
    assert "request rejected: context has length 2, expected 3" in stderr
    assert "feedback rejected: action.features has length 3, expected 8" in stderr
    assert code == 1  # a faithful replay that cannot reproduce the recording says so


def test_help_and_usage_errors(capsys):
    assert replay_tool.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: moral-compass replay" in out and "--set KEY=VALUE" in out
    assert replay_tool.main([]) == 2
    assert "the following arguments are required" in capsys.readouterr().err
    assert replay_tool.main(["x", "--out", "y", "--storage", "zip"]) == 2
