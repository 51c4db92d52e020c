# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Pre-training ψ from many people's answers: the fit, its file, the learner loading it, and
``moral-compass pretrain`` on journals, bags and the simulator."""

from __future__ import annotations

import numpy as np
import pytest

from moral_compass_ros.core import (
    DynamicValueLearner,
    FeedbackEvent,
    LearnerConfig,
    PretrainedFingerprints,
    pretrain_fingerprints,
)
from moral_compass_ros.core.journal import FeedbackJournal
from moral_compass_ros.tools import pretrain as pretrain_tool
from moral_compass_ros.tools.evaluate import population_answers
from test_bag_replay import build_session

SIM = {
    "value_names": ("care", "fairness", "loyalty", "authority", "sanctity"),
    "feature_dim": 8,
    "context_dim": 3,
    "seed": 0,
}


@pytest.fixture(scope="module")
def sim_answers():
    """20 simulated people of one world, 60 random actions each."""
    return population_answers("fixed_profile", 0, n_people=20)


@pytest.fixture(scope="module")
def fitted(sim_answers):
    return pretrain_fingerprints(sim_answers, LearnerConfig(**SIM), iterations=300)


def held_out_log_likelihood(psi_file, answers) -> float:
    """Mean log-likelihood of each person's last 20 answers after a learner saw their first 40."""
    total, n = 0.0, 0
    by_person: dict = {}
    for event in answers:
        by_person.setdefault(event.operator, []).append(event)
    for events in by_person.values():
        config = LearnerConfig(**SIM, n_particles=128, fingerprint_model=psi_file)
        learner = DynamicValueLearner(config)
        for event in events[:40]:
            learner.update(event)
        for event in events[40:]:
            p = float(learner.predict_approval(event.features[None], event.context)[0])
            total += np.log(p if event.approved else 1.0 - p)
            n += 1
    return total / n


def test_psi_learns_what_actions_mean_from_many_people(fitted, sim_answers, tmp_path):
    assert fitted.people == 20 and fitted.answers == len(sim_answers)
    assert fitted.gain > 0.1, fitted  # nats per answer over a near-uniform ψ
    # On *new* people of the same world, a compass with the pre-trained ψ predicts their later
    # answers better than one whose ψ starts untrained. Each person answers with a response
    # model of their own (β, τ, ρ drawn per person), so the gain varies from person to person
    # (-0.2 to +0.15 nats here): 12 people, a mean gain of at least 0.03 nats per answer.
    new_people = population_answers("fixed_profile", 0, n_people=32)[len(sim_answers) :]
    assert len({e.operator for e in new_people}) == 12
    path = fitted.save(tmp_path / "psi.npz")
    assert (
        held_out_log_likelihood(str(path), new_people)
        > held_out_log_likelihood("", new_people) + 0.03
    )


def test_the_file_round_trips_and_the_learner_loads_it(fitted, tmp_path):
    path = fitted.save(tmp_path / "psi.npz")
    loaded = PretrainedFingerprints.load(path)
    for name, value in fitted.parameters.items():
        np.testing.assert_array_equal(loaded.parameters[name], value)
    assert loaded.profile_alpha == fitted.profile_alpha
    assert len(fitted.profile_alpha) == 5 and min(fitted.profile_alpha) > 0
    assert loaded.gain == pytest.approx(fitted.gain)
    learner = DynamicValueLearner(LearnerConfig(**SIM, fingerprint_model=str(path)))
    for name, value in fitted.parameters.items():
        np.testing.assert_array_equal(learner.model_parameters()[f"fingerprint.{name}"], value)


def test_a_mismatched_or_bad_file_is_a_clear_error(fitted, tmp_path):
    path = fitted.save(tmp_path / "psi.npz")
    with pytest.raises(ValueError, match="feature_dim=8, the configuration has feature_dim=4"):
        DynamicValueLearner(
            LearnerConfig(**{**SIM, "feature_dim": 4}, fingerprint_model=str(path))
        )
    with pytest.raises(ValueError, match="fingerprint_hidden=16"):
        DynamicValueLearner(
            LearnerConfig(**SIM, fingerprint_hidden=8, fingerprint_model=str(path))
        )
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="is not a pre-trained fingerprint model"):
        PretrainedFingerprints.load(tmp_path / "junk.npz")
    with pytest.raises(ValueError, match="no such file"):
        PretrainedFingerprints.load(tmp_path / "missing.npz")


def test_one_person_cannot_pre_train(sim_answers):
    one = [e for e in sim_answers if e.operator == "person_0"]
    with pytest.raises(ValueError, match="at least 2 people"):
        pretrain_fingerprints(one, LearnerConfig(**SIM), iterations=5)


def test_the_command_reads_journals_and_bags(tmp_path, capsys):
    build_session(
        tmp_path / "run", "mcap", n_requests=6
    )  # operator "sim", F=3, C=2, a duplicate each
    rng = np.random.default_rng(1)
    with FeedbackJournal(tmp_path / "robot" / "journal.jsonl") as journal:
        for k in range(6):
            journal.append(
                FeedbackEvent(
                    feedback_id=f"j{k}",
                    action_id=f"a{k}",
                    features=rng.normal(size=3),
                    context=rng.normal(size=2),
                    approved=bool(k % 2),
                    task_reward=0.5,
                    operator="alice",
                )
            )
    out = tmp_path / "psi.npz"
    code = pretrain_tool.main(
        [
            str(tmp_path),
            "--out",
            str(out),
            "--params",
            str(tmp_path / "run" / "params.yaml"),
            "--iterations",
            "20",
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert "6 answers from journal" in err and "12 answers from bag" in err
    assert "6 answers seen twice" in err  # each answer was re-sent once: counted once
    assert "fitting ψ to 12 answers of 2 people" in err
    loaded = PretrainedFingerprints.load(out)
    assert (loaded.feature_dim, loaded.context_dim, loaded.people, loaded.answers) == (3, 2, 2, 12)


def test_the_command_refuses_bad_arguments(tmp_path, capsys):
    assert pretrain_tool.main([str(tmp_path / "missing"), "--out", str(tmp_path / "x.npz")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    assert pretrain_tool.main(["--out", str(tmp_path / "x.npz")]) == 2
    assert (
        pretrain_tool.main([str(tmp_path), "--out", str(tmp_path / "x.npz")]) == 1
    )  # nothing found
    assert "no answers found" in capsys.readouterr().err


def test_the_command_simulates_a_pilot_study(tmp_path, capsys):
    out = tmp_path / "psi.npz"
    assert (
        pretrain_tool.main(
            [
                "--from-sim",
                "fixed_profile",
                "--people",
                "3",
                "--out",
                str(out),
                "--iterations",
                "10",
            ]
        )
        == 0
    )
    assert "simulating 3 people" in capsys.readouterr().err
    assert PretrainedFingerprints.load(out).people == 3


def test_answers_in_a_journal_and_a_bag_of_the_same_run_count_once(tmp_path, capsys):
    build_session(tmp_path / "run", "mcap", n_requests=6)
    events = [
        FeedbackEvent(
            feedback_id=f"f{k}",
            action_id="a",
            features=np.zeros(3),
            context=np.zeros(2),
            approved=True,
            operator="sim",
        )
        for k in range(6)
    ]  # the bag's answers f0..f5 (operator "sim"), as the compass node journaled them
    with FeedbackJournal(tmp_path / "run" / "state" / "journal.jsonl") as journal:
        for event in events:
            journal.append(event)
    code = pretrain_tool.main(
        [
            str(tmp_path / "run"),
            "--out",
            str(tmp_path / "psi.npz"),
            "--params",
            str(tmp_path / "run" / "params.yaml"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and "at least 2 people" in err  # one person, whichever the source
    assert "fitting ψ to 6 answers of 1 person" in err
