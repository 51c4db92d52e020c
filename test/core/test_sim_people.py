# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Simulated people: response model, B-Pref teacher faults, drift, operator pools."""

import dataclasses

import numpy as np
import pytest

from moral_compass_ros.sim import (
    DEFAULT_BETA,
    DEFAULT_REWARD_WEIGHT,
    DEFAULT_TAU,
    AbruptDrift,
    DirichletProfile,
    GradualDrift,
    NoDrift,
    OperatorPool,
    ScenarioConfig,
    SimulatedPerson,
    draw_person_parameters,
    make_scenario,
)

THETA0 = np.array([0.5, 0.2, 0.1, 0.1, 0.1])
THETA1 = np.array([0.05, 0.05, 0.1, 0.2, 0.6])
N = 4000  # answers per statistical test


def binomial_tol(p: float, n: int, k: float = 4.0) -> float:
    """k binomial standard deviations of a frequency estimated from n trials."""
    return k * np.sqrt(p * (1 - p) / n)


def answers(person, fp, reward, n, seed):
    rng = np.random.default_rng(seed)
    return [person.respond(fp, reward, rng) for _ in range(n)]


def test_approval_probability_closed_form():
    person = SimulatedPerson(THETA0, beta=20.0, tau=0.3, myopia=0.25, reward_weight=0.1)
    fp = np.array([0.2, 0.2, 0.2, 0.2, 0.2])
    r = 0.7
    d2 = np.sum((THETA0 - fp) ** 2)
    u = 0.75 * (0.3 - d2) + 0.1 * r
    np.testing.assert_allclose(
        person.approval_probability(fp, r), 1 / (1 + np.exp(-20 * u)), rtol=1e-12
    )
    # vectorised over candidates
    fps = np.vstack([fp, THETA0])
    np.testing.assert_allclose(
        person.approval_probability(fps, [r, 0.0]),
        [1 / (1 + np.exp(-20 * u)), 1 / (1 + np.exp(-20 * 0.75 * 0.3))],
        rtol=1e-12,
    )


def test_approval_probability_decreases_with_distance_to_profile():
    person = SimulatedPerson(THETA0)
    rng = np.random.default_rng(0)
    # along a segment theta0 -> vertex the distance grows as s^2 ||theta0 - v||^2
    s = np.linspace(0, 1, 50)[:, None]
    fps = (1 - s) * THETA0 + s * np.eye(5)[4]
    p = person.approval_probability(fps, np.zeros(50))
    assert np.all(np.diff(p) < 0)
    # random pairs: closer fingerprint => higher (or equal) approval at equal reward
    a, b = rng.dirichlet(np.ones(5), 500), rng.dirichlet(np.ones(5), 500)
    da, db = np.sum((a - THETA0) ** 2, 1), np.sum((b - THETA0) ** 2, 1)
    pa, pb = person.approval_probability(a, 0.0), person.approval_probability(b, 0.0)
    assert np.all((pa >= pb) == (da <= db))


def test_myopia_moves_weight_from_values_to_task_reward():
    far = np.eye(5)[4]
    fully_myopic = SimulatedPerson(THETA0, myopia=1.0, reward_weight=0.2)
    # m = 1: values do not matter at all, only the immediate reward
    np.testing.assert_allclose(
        fully_myopic.approval_probability(far, 1.0), fully_myopic.approval_probability(THETA0, 1.0)
    )
    considered = SimulatedPerson(THETA0, myopia=0.0, reward_weight=0.2)
    half = SimulatedPerson(THETA0, myopia=0.5, reward_weight=0.2)
    gap = [
        float(p.approval_probability(THETA0, 0.0) - p.approval_probability(far, 0.0))
        for p in (considered, half, fully_myopic)
    ]
    assert gap[0] > gap[1] > gap[2] == 0.0


def test_mistakes_flip_answers_at_the_stated_rate():
    eps = 0.2
    fp = THETA0  # d = 0 and beta * tau = 30 * 0.3 = 9: P(approve) = 0.99988
    honest = SimulatedPerson(THETA0, mistake_prob=0.0)
    faulty = SimulatedPerson(THETA0, mistake_prob=eps)
    a = answers(honest, fp, 0.0, N, seed=1)
    b = answers(faulty, fp, 0.0, N, seed=1)  # common random numbers: same draws
    differ = np.array([x.approved != y.approved for x, y in zip(a, b)])
    flipped = np.array([y.flipped for y in b])
    np.testing.assert_array_equal(differ, flipped)  # a difference is exactly a flip
    assert abs(flipped.mean() - eps) < binomial_tol(eps, N)
    approve_rate = np.mean([y.approved for y in b])
    p_yes, _, _ = faulty.answer_probabilities(fp, 0.0)
    assert abs(approve_rate - p_yes) < binomial_tol(p_yes, N)
    np.testing.assert_allclose(p_yes, 0.8 * 0.99988 + 0.2 * 0.00012, atol=1e-5)


def test_random_skip_rate():
    person = SimulatedPerson(THETA0, skip_prob=0.3)
    got = answers(person, THETA1, 0.0, N, seed=2)
    skipped = np.array([r.approved is None for r in got])
    assert abs(skipped.mean() - 0.3) < binomial_tol(0.3, N)
    assert {r.skip_reason for r in got if r.approved is None} == {"random"}


def test_cant_tell_band_skips_only_near_one_half():
    # choose tau so that u = 0 exactly for THETA1: P(approve) = 1/2
    tau = float(np.sum((THETA0 - THETA1) ** 2))
    unsure = SimulatedPerson(THETA0, tau=tau, reward_weight=0.0, skip_margin=0.05)
    got = answers(unsure, THETA1, 0.0, 200, seed=3)
    assert all(r.approved is None and r.skip_reason == "cant_tell" for r in got)
    clear = answers(unsure, THETA0, 0.0, 200, seed=3)  # P(approve) far from 1/2
    assert all(r.approved is not None for r in clear)


def test_answer_probabilities_match_frequencies():
    person = SimulatedPerson(THETA0, beta=8.0, mistake_prob=0.1, skip_prob=0.15)
    fp = np.array([0.3, 0.3, 0.2, 0.1, 0.1])
    p_yes, p_no, p_skip = person.answer_probabilities(fp, 0.2)
    np.testing.assert_allclose(p_yes + p_no + p_skip, 1.0)
    got = [r.approved for r in answers(person, fp, 0.2, N, seed=4)]
    for value, p in ((True, p_yes), (False, p_no), (None, p_skip)):
        freq = np.mean([g is value for g in got])
        assert abs(freq - p) < binomial_tol(p, N), (value, freq, p)


def test_abrupt_drift_switches_at_the_stated_answer():
    person = SimulatedPerson(THETA0, drift=AbruptDrift(at_answer=5, new_profile=THETA1))
    np.testing.assert_array_equal(person.true_profile(4), THETA0)
    np.testing.assert_array_equal(person.true_profile(5), THETA1)
    rng = np.random.default_rng(0)
    fp = np.full(5, 0.2)
    for t in range(8):
        np.testing.assert_array_equal(person.true_profile(), THETA0 if t < 5 else THETA1)
        expected_p = float(
            SimulatedPerson(THETA0 if t < 5 else THETA1).approval_probability(fp, 0.0)
        )
        r = person.respond(fp, 0.0, rng)
        assert r.answer_index == t
        np.testing.assert_allclose(r.p_approve, expected_p, rtol=1e-12)


def test_gradual_drift_interpolates_linearly():
    person = SimulatedPerson(THETA0, drift=GradualDrift(start=10, end=20, new_profile=THETA1))
    np.testing.assert_array_equal(person.true_profile(0), THETA0)
    np.testing.assert_array_equal(person.true_profile(10), THETA0)
    np.testing.assert_allclose(person.true_profile(15), 0.5 * (THETA0 + THETA1), atol=1e-15)
    np.testing.assert_allclose(person.true_profile(12), 0.8 * THETA0 + 0.2 * THETA1, atol=1e-15)
    np.testing.assert_array_equal(person.true_profile(20), THETA1)
    np.testing.assert_array_equal(person.true_profile(1000), THETA1)
    for t in range(25):
        theta = person.true_profile(t)
        assert np.all(theta >= 0)
        np.testing.assert_allclose(theta.sum(), 1.0, atol=1e-12)
    # distance to the old profile grows monotonically during the drift
    d = [np.sum((person.true_profile(t) - THETA0) ** 2) for t in range(9, 22)]
    assert np.all(np.diff(d) >= 0) and d[-1] > d[0]


def test_no_drift_and_skips_count_as_answers_for_drift_clock():
    person = SimulatedPerson(
        THETA0, skip_prob=1.0, drift=AbruptDrift(at_answer=3, new_profile=THETA1)
    )
    rng = np.random.default_rng(0)
    for _ in range(3):
        assert person.respond(THETA0, 0.0, rng).approved is None
    np.testing.assert_array_equal(person.true_profile(), THETA1)
    assert NoDrift().weight(10**6) == 0.0


def test_dirichlet_profile_is_drawn_per_seed():
    spec = DirichletProfile(np.array([5.0, 1.0, 1.0, 1.0, 2.0]))
    a = SimulatedPerson(spec, seed=1).true_profile()
    b = SimulatedPerson(spec, seed=1).true_profile()
    c = SimulatedPerson(spec, seed=2).true_profile()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    draws = np.array([SimulatedPerson(spec, seed=s).true_profile() for s in range(2000)])
    # mean of Dir(alpha) is alpha / alpha_0; entry variance <= 1/(4 (alpha_0 + 1))
    np.testing.assert_allclose(draws.mean(0), spec.mean, atol=4 * np.sqrt(1 / (4 * 11 * 2000)))


def test_operator_pool_round_robin_shifts():
    persons = [
        SimulatedPerson(THETA0, operator_id="alice"),
        SimulatedPerson(THETA1, operator_id="bob"),
    ]
    pool = OperatorPool(persons, schedule="round_robin", turn_length=3, seed=0)
    ids = []
    for _ in range(12):
        assert pool.current.operator_id == pool.operator_ids[pool.current_index]
        ids.append(pool.respond(THETA0, 0.0).operator_id)
    assert ids == ["alice"] * 3 + ["bob"] * 3 + ["alice"] * 3 + ["bob"] * 3
    assert persons[0].n_answers == persons[1].n_answers == 6  # each has its own drift clock


def test_operator_pool_random_schedule_is_seeded_and_switches_only_between_shifts():
    def run(seed):
        persons = [SimulatedPerson(THETA0, operator_id=f"op{i}") for i in range(3)]
        pool = OperatorPool(persons, schedule="random", turn_length=4, seed=seed)
        return [pool.respond(THETA0, 0.0).operator_id for _ in range(400)]

    a, b, c = run(5), run(5), run(6)
    assert a == b and a != c
    shifts = [a[i : i + 4] for i in range(0, 400, 4)]
    assert all(len(set(s)) == 1 for s in shifts)
    counts = np.array([sum(s[0] == f"op{i}" for s in shifts) for i in range(3)])
    assert np.all(np.abs(counts / 100 - 1 / 3) < binomial_tol(1 / 3, 100))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(beta=0.0),
        dict(beta=np.inf),
        dict(mistake_prob=1.5),
        dict(skip_prob=-0.1),
        dict(myopia=2.0),
        dict(skip_margin=0.6),
        dict(reward_weight=-1.0),
    ],
)
def test_invalid_person_arguments(kwargs):
    with pytest.raises(ValueError):
        SimulatedPerson(THETA0, **kwargs)


def test_invalid_profiles_and_pools():
    with pytest.raises(ValueError):
        SimulatedPerson(np.array([0.5, 0.6, 0.0, 0.0, 0.0]))
    with pytest.raises(ValueError):
        SimulatedPerson(THETA0, drift=AbruptDrift(3, np.array([0.5, 0.5])))
    with pytest.raises(ValueError):
        GradualDrift(start=5, end=5, new_profile=THETA1)
    with pytest.raises(ValueError):
        OperatorPool(
            [SimulatedPerson(THETA0, operator_id="x"), SimulatedPerson(THETA1, operator_id="x")]
        )
    with pytest.raises(ValueError):
        SimulatedPerson(THETA0).respond(np.ones(3) / 3, 0.0, np.random.default_rng(0))


def test_a_profile_is_checked_by_the_core_rule_and_rounding_is_renormalised():
    from moral_compass_ros.core import SimplexError

    with pytest.raises(SimplexError, match="profile"):
        SimulatedPerson(np.array([0.5, 0.6, -0.1]))
    with pytest.raises(SimplexError, match="profile"):
        SimulatedPerson(np.array([0.5, 0.6, 0.1]))
    person = SimulatedPerson(np.array([0.5, 0.3, 0.2 + 5e-7]))
    np.testing.assert_allclose(person.true_profile().sum(), 1.0, atol=1e-15)


def test_drawn_person_parameters_lie_in_their_ranges_and_fixed_ranges_fix_them():
    config = ScenarioConfig(
        name="t",
        beta_range=(5.0, 50.0),
        tau_range=(0.2, 0.25),
        reward_logodds_range=(0.0, 1.0),
        concentration_scale_range=(0.3, 3.0),
    )
    rng = np.random.default_rng(0)
    for _ in range(500):
        p = draw_person_parameters(rng, config)
        assert 5.0 <= p.beta <= 50.0 and 0.2 <= p.tau <= 0.25
        assert 0.0 <= p.reward_logodds <= 1.0 and 0.3 <= p.concentration_scale <= 3.0
        np.testing.assert_allclose(p.reward_weight * p.beta, p.reward_logodds, rtol=1e-12)
    fixed = ScenarioConfig(
        name="t",
        beta_range=(12.5, 12.5),
        tau_range=(0.3, 0.3),
        reward_logodds_range=(1.0, 1.0),
        concentration_scale_range=(1.0, 1.0),
    )
    a = draw_person_parameters(np.random.default_rng(1), fixed)
    assert (a.beta, a.tau, a.reward_logodds, a.concentration_scale) == (12.5, 0.3, 1.0, 1.0)
    # a fixed range still draws its variate: the stream after a person does not move
    free, pinned = np.random.default_rng(2), np.random.default_rng(2)
    draw_person_parameters(free, config)
    draw_person_parameters(pinned, fixed)
    assert free.uniform() == pinned.uniform()


def test_scenario_people_are_drawn_from_the_documented_ranges():
    """The scenario's operators (and, with ``people_seed``, its other people) carry their own
    draw, within the preset's ranges: beta, tau, beta * rho, and the person's answers use it."""
    for name in ("fixed_profile", "noisy_teacher", "two_operators"):
        for seed in range(5):
            scenario = make_scenario(name, seed=seed, people_seed=100 + seed)
            cfg = scenario.config
            assert len(scenario.persons) == len(scenario.person_parameters) == cfg.n_operators
            for person, drawn in zip(scenario.persons, scenario.person_parameters):
                assert cfg.beta_range[0] <= person.beta <= cfg.beta_range[1]
                assert cfg.tau_range[0] <= person.tau <= cfg.tau_range[1]
                low, high = cfg.reward_logodds_range
                assert low <= person.beta * person.reward_weight <= high * (1 + 1e-12)
                scale = cfg.concentration_scale_range
                assert scale[0] <= drawn.concentration_scale <= scale[1]
                assert (person.beta, person.tau) == (drawn.beta, drawn.tau)
                assert person.reward_weight == drawn.reward_weight
                assert (person.mistake_prob, person.myopia) == (cfg.mistake_prob, cfg.myopia)


def test_people_of_many_seeds_span_their_ranges_and_never_take_a_package_default():
    """200 people seeds: beta spans most of its (log) range, tau and beta * rho most of theirs,
    and no person has a default of the learner's response prior or :class:`SimulatedPerson`."""
    from moral_compass_ros.core import LearnerConfig

    def learner_defaults(prefix):
        """Every number among the defaults of the LearnerConfig fields named ``prefix*``."""
        numbers = set()
        for f in dataclasses.fields(LearnerConfig):
            if f.name.startswith(prefix) and f.default is not dataclasses.MISSING:
                numbers.update(np.ravel(np.asarray(f.default, dtype=np.float64)).tolist())
        return numbers

    beta_defaults = learner_defaults("beta") | {DEFAULT_BETA}
    tau_defaults = learner_defaults("tau") | {DEFAULT_TAU}
    logodds_defaults = learner_defaults("task_weight") | {DEFAULT_BETA * DEFAULT_REWARD_WEIGHT}
    assert beta_defaults and tau_defaults and logodds_defaults
    scenario = make_scenario("fixed_profile", seed=0)
    cfg = scenario.config
    drawn = []
    for people_seed in range(200):
        scenario.reset(0, people_seed=people_seed)
        drawn.append(scenario.person_parameters[0])
    beta = np.log([p.beta for p in drawn])
    tau = np.array([p.tau for p in drawn])
    logodds = np.array([p.reward_logodds for p in drawn])
    scale = np.log([p.concentration_scale for p in drawn])
    for values, (low, high) in (
        (beta, np.log(cfg.beta_range)),
        (tau, cfg.tau_range),
        (logodds, cfg.reward_logodds_range),
        (scale, np.log(cfg.concentration_scale_range)),
    ):
        assert np.ptp(values) > 0.9 * (high - low)  # not a constant: most of the range
        assert np.all((values >= low - 1e-12) & (values <= high + 1e-12))
    for p in drawn:
        assert p.beta not in beta_defaults and p.tau not in tau_defaults
        assert p.reward_logodds not in logodds_defaults
        assert p.reward_weight != DEFAULT_REWARD_WEIGHT
        assert p.concentration_scale != 1.0
