# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Scenario presets (checked against a table), episode determinism, oracle and random bounds."""

import dataclasses

import numpy as np
import pytest

from moral_compass_ros.sim import (
    EXTERNAL_SCENARIOS,
    SCENARIO_NAMES,
    SCENARIOS,
    Scenario,
    ScenarioConfig,
    make_scenario,
    oracle_choice,
    random_choice,
)

# name: (drift, drift_start, drift_end, n_operators, turn_length, faulty teacher?)
EXPECTED = {
    "fixed_profile": ("none", 0, 0, 1, 1, False),
    "abrupt_drift": ("abrupt", 40, 0, 1, 1, False),
    "gradual_drift": ("gradual", 30, 60, 1, 1, False),
    "noisy_teacher": ("none", 0, 0, 1, 1, True),
    "two_operators": ("none", 0, 0, 2, 10, False),
}


def test_presets_match_the_table():
    assert set(SCENARIO_NAMES) == set(EXPECTED)
    for name, (drift, start, end, n_ops, turn, faulty) in EXPECTED.items():
        cfg = SCENARIOS[name]
        assert cfg.name == name
        assert (cfg.drift, cfg.drift_start, cfg.n_operators, cfg.turn_length) == (
            drift,
            start,
            n_ops,
            turn,
        )
        if drift == "gradual":
            assert cfg.drift_end == end
        has_faults = cfg.mistake_prob > 0 and cfg.skip_prob > 0 and cfg.myopia > 0
        assert has_faults == faulty
        assert cfg.n_answers > max(cfg.drift_start, cfg.drift_end)  # drift happens in-episode
        with pytest.raises(dataclasses.FrozenInstanceError):
            cfg.n_answers = 1  # type: ignore[misc]


def episode(scenario: Scenario):
    """Run an episode alternating oracle and random choices; return every observable array."""
    record = {
        k: []
        for k in (
            "features",
            "context",
            "hints",
            "fp",
            "reward",
            "choice",
            "answer",
            "task_reward",
            "profile",
            "operator",
        )
    }
    i = 0
    while not scenario.done:
        cs = scenario.propose()
        record["profile"].append(scenario.true_profile())
        choice = scenario.oracle_choice(cs) if i % 2 else scenario.random_choice(cs)
        r = scenario.respond(cs, choice)
        record["features"].append(cs.features)
        record["context"].append(cs.context)
        record["hints"].append(cs.value_hints)
        record["fp"].append(cs.true_fingerprint)
        record["reward"].append(cs.reward_mean)
        record["choice"].append(choice)
        record["answer"].append(-1 if r.approved is None else int(r.approved))
        record["task_reward"].append(r.task_reward)
        record["operator"].append(int(r.operator_id.split("_")[-1]))
        i += 1
    return {k: np.array(v) for k, v in record.items()}


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_same_seed_same_episode_different_seed_differs(name):
    a = episode(make_scenario(name, seed=123))
    b = episode(make_scenario(name, seed=123))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    c = episode(make_scenario(name, seed=124))
    assert not np.array_equal(a["features"], c["features"])
    assert not np.array_equal(a["profile"], c["profile"])
    # reset(seed) on a used scenario reproduces a fresh one
    s = make_scenario(name, seed=999)
    episode(s)
    s.reset(seed=123)
    d = episode(s)
    for key in a:
        np.testing.assert_array_equal(a[key], d[key], err_msg=key)


def test_episode_length_and_answers():
    rec = episode(make_scenario("fixed_profile", seed=0))
    assert len(rec["answer"]) == SCENARIOS["fixed_profile"].n_answers
    assert set(np.unique(rec["answer"])) <= {0, 1}  # no faults: never a skip
    noisy = episode(make_scenario("noisy_teacher", seed=0))
    assert np.any(noisy["answer"] == -1)


def test_abrupt_drift_scenario_changes_profile_once_at_drift_start():
    cfg = SCENARIOS["abrupt_drift"]
    rec = episode(make_scenario("abrupt_drift", seed=1))
    changes = np.flatnonzero(np.any(np.diff(rec["profile"], axis=0) != 0, axis=1)) + 1
    np.testing.assert_array_equal(changes, [cfg.drift_start])
    before, after = rec["profile"][0], rec["profile"][-1]
    assert np.argmax(before) != np.argmax(after)  # a different dominant value


def test_gradual_drift_scenario_moves_between_start_and_end():
    cfg = SCENARIOS["gradual_drift"]
    rec = episode(make_scenario("gradual_drift", seed=2))
    changes = np.flatnonzero(np.any(np.diff(rec["profile"], axis=0) != 0, axis=1)) + 1
    np.testing.assert_array_equal(changes, np.arange(cfg.drift_start + 1, cfg.drift_end + 1))
    mid = (cfg.drift_start + cfg.drift_end) // 2
    np.testing.assert_allclose(
        rec["profile"][mid], 0.5 * (rec["profile"][0] + rec["profile"][-1]), atol=1e-12
    )


def test_two_operators_take_documented_shifts_with_different_values():
    cfg = SCENARIOS["two_operators"]
    scenario = make_scenario("two_operators", seed=3)
    rec = episode(scenario)
    q = np.arange(cfg.n_answers)
    np.testing.assert_array_equal(rec["operator"], (q // cfg.turn_length) % 2)
    p0, p1 = (person.true_profile() for person in scenario.operators.persons)
    assert np.argmax(p0) != np.argmax(p1)


def test_oracle_is_argmax_and_never_worse_than_random_in_expected_approval():
    gains = []
    for name in SCENARIO_NAMES:
        scenario = make_scenario(name, seed=5)
        rng = np.random.default_rng(0)
        while not scenario.done:
            cs = scenario.propose()
            p = scenario.approval_probabilities(cs)
            person = scenario.current_person
            np.testing.assert_allclose(
                p, person.approval_probability(cs.true_fingerprint, cs.true_reward)
            )
            o = oracle_choice(cs, person)
            assert o == scenario.oracle_choice(cs) == int(np.argmax(p))
            assert p[o] >= p.mean()  # vs the random selector's expectation
            assert p[o] >= p[random_choice(cs, rng)]  # vs any single random draw
            gains.append(p[o] - p.mean())
            scenario.respond(cs, o)
    assert np.mean(gains) > 0.2  # the oracle is far above random: there is something to learn


def test_make_scenario_overrides_and_errors():
    s = make_scenario("fixed_profile", seed=0, n_candidates=3, send_hints=False)
    cs = s.propose()
    assert len(cs) == 3 and not cs.hint_sent.any()
    with pytest.raises(KeyError):
        make_scenario("no_such_scenario", seed=0)
    with pytest.raises(ValueError):
        make_scenario("fixed_profile", seed=0, drift="sideways")
    with pytest.raises(IndexError):
        s.respond(cs, 3)


def people(scenario: Scenario):
    """(beta, tau, reward_weight, profile) of every operator of ``scenario``."""
    return [(p.beta, p.tau, p.reward_weight, p.true_profile()) for p in scenario.persons]


def test_presets_draw_people_from_their_ranges():
    assert SCENARIOS["noisy_teacher"].beta_range == (4.0, 20.0)
    assert EXTERNAL_SCENARIOS["lexicon"].tau_range == (0.1, 0.3)
    default = ScenarioConfig(name="default")
    assert default.beta_range == (8.0, 80.0) and default.tau_range == (0.15, 0.45)
    assert default.reward_logodds_range == (0.25, 2.5)
    assert default.concentration_scale_range == (0.5, 2.0)
    for name in ("beta", "tau", "reward_weight"):
        assert not hasattr(default, name)


def test_different_seeds_give_people_with_different_response_models():
    a, b = make_scenario("two_operators", seed=1), make_scenario("two_operators", seed=2)
    for (beta_a, tau_a, rho_a, _), (beta_b, tau_b, rho_b, _) in zip(people(a), people(b)):
        assert beta_a != beta_b and tau_a != tau_b and rho_a != rho_b
    (beta_0, tau_0, rho_0, _), (beta_1, tau_1, rho_1, _) = people(a)  # two operators differ
    assert beta_0 != beta_1 and tau_0 != tau_1 and rho_0 != rho_1
    # other people of the same world differ too
    c, d = (make_scenario("fixed_profile", seed=1, people_seed=k) for k in (7, 8))
    assert people(c)[0][:3] != people(d)[0][:3]


@pytest.mark.parametrize("people_seed", [None, 40])
def test_same_seed_gives_identical_people_and_episodes(people_seed):
    a = make_scenario("two_operators", seed=5, people_seed=people_seed)
    b = make_scenario("two_operators", seed=5, people_seed=people_seed)
    assert a.person_parameters == b.person_parameters
    for x, y in zip(people(a), people(b)):
        assert x[:3] == y[:3]
        np.testing.assert_array_equal(x[3], y[3])
    ra, rb = episode(a), episode(b)
    for key in ra:
        np.testing.assert_array_equal(ra[key], rb[key], err_msg=key)


def test_ideal_learner_is_built_from_the_current_operators_draw():
    scenario = make_scenario("noisy_teacher", seed=3)
    person = scenario.current_person
    ideal = scenario.ideal_learner(0)
    assert (ideal.beta, ideal.tau, ideal.reward_weight) == (
        person.beta,
        person.tau,
        person.reward_weight,
    )
    assert (ideal.myopia, ideal.mistake_prob) == (0.2, 0.1)
    # its profile prior has the person's concentration scale c: a large c, profiles near
    # their component's mean (a dominant weight of (c0 + c1) / (M c0 + c1) = 5/9)
    assert 0.5 <= scenario.current_parameters.concentration_scale <= 2.0
    big = make_scenario("fixed_profile", seed=3, concentration_scale_range=(50.0, 50.0))
    peak = big.ideal_learner(0).particles.max(axis=1)
    np.testing.assert_allclose(np.mean(peak), 5.0 / 9.0, atol=0.01)
    assert np.var(peak) < 0.2 * np.var(ideal.particles.max(axis=1))
    two = make_scenario("two_operators", seed=3)
    cfg = two.config
    for _ in range(cfg.turn_length):  # the second operator's shift
        cs = two.propose()
        two.respond(cs, 0)
    assert two.current_person is two.persons[1]
    assert two.ideal_learner(0).beta == two.persons[1].beta != two.persons[0].beta
    per_person = two.ideal_learners(0)
    assert list(per_person) == ["operator_0", "operator_1"]
    for person, ideal in zip(two.persons, per_person.values()):
        assert (ideal.beta, ideal.tau, ideal.reward_weight) == (
            person.beta,
            person.tau,
            person.reward_weight,
        )


@pytest.mark.parametrize(
    "field, bounds",
    [
        ("beta_range", (0.0, 10.0)),
        ("beta_range", (20.0, 10.0)),
        ("beta_range", (1.0,)),
        ("tau_range", (0.5, 0.1)),
        ("tau_range", (float("nan"), 0.3)),
        ("reward_logodds_range", (-1.0, 1.0)),
        ("reward_logodds_range", None),
        ("concentration_scale_range", (0.0, 1.0)),
        ("concentration_scale_range", (1.0, float("inf"))),
    ],
)
def test_a_bad_range_raises_value_error_naming_the_field(field, bounds):
    with pytest.raises(ValueError, match=field):
        make_scenario("fixed_profile", seed=0, **{field: bounds})
    with pytest.raises(ValueError, match=field):
        ScenarioConfig(name="bad", **{field: bounds})
