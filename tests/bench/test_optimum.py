"""The exact optimum: its schedules score in the simulator exactly as the program says, and nothing beats it."""

from dataclasses import replace

import numpy as np
import pytest

from bench import priced, suite
from bench.optimum import LEXICOGRAPHIC, Plan, Program, Replay, solve_case
from bench.report import score
from bench.sim import STARTS, SimConfig, Simulation, capacities, update_kind

BASE = SimConfig()
WORLDS = {
    "default": BASE,
    "both sets billed, two instances at least": replace(BASE, bill_both_sets=True, min_instances=2),
    "updates twice as long": BASE.with_update_minutes(out=(20, 4), shape=(30, 6), **{"in": (10, 2)}),
    "updates half as long": BASE.with_update_minutes(out=(5, 1), shape=(7.5, 1.5), **{"in": (2.5, 0.5)}),
    "no warm-up": replace(BASE, warmup_minutes=0),
}


def _simulate(case, config, controller):
    trace = case.trace()
    start = STARTS[case.start](trace, config)
    [series] = Simulation([trace], controller, config, [start]).run().series.values()
    return score("x", case, series, config.slo)


@pytest.mark.parametrize("world", WORLDS)
def test_every_plan_replays_through_the_simulation_to_the_same_score(world):
    config = WORLDS[world]
    families = ["diurnal", "bursts", "sawtooth", "mem-leak", "large-start", "small-start"]
    for case in suite.cases(1, 0.5, families=families, config=config):
        trace = case.trace()
        program = Program(trace, config, STARTS[case.start](trace, config))
        least = program.solve(LEXICOGRAPHIC)
        for price, severity in ((None, False), (10 * least.ocpu_hours / trace.minutes, False), (0.05, True)):
            plan = least if price is None else program.solve(price, severity)
            s = _simulate(case, config, Replay(plan))
            assert s.violation_minutes == plan.violation_minutes, (world, case.name, price)
            assert s.ocpu_hours == pytest.approx(plan.ocpu_hours, abs=1e-9)
            assert s.severity == pytest.approx(plan.severity, abs=1e-9)
            if price is not None:
                assert plan.priced(price, severity) == pytest.approx(plan.cost, rel=1e-9)
                assert plan.cost <= least.priced(price, severity) + 1e-9  # the priced optimum is at least as good


def test_an_action_late_in_its_minute_arrives_a_minute_later_with_the_same_draw():
    case = suite.cases(1, 0.5, families=["steps"])[0]
    trace = case.trace()
    program = Program(trace, BASE, STARTS[case.start](trace, BASE))
    early, late = program.arrive["out"][100]
    assert late == early + 1
    seconds = program.offset(100, "out")
    assert 0 < seconds < 60


def test_random_schedules_never_beat_the_optimum():
    """Random feasible schedules (hold, or any one-group change at the top of a minute or late in it), replayed
    through the simulator: none has a lower J_k than the program's minimum."""
    rng = np.random.default_rng(5)
    case = suite.cases(1, 0.25, families=["bursts"])[0]
    trace = case.trace()
    start = STARTS[case.start](trace, BASE)
    program = Program(trace, BASE, start)
    least = program.solve(LEXICOGRAPHIC)
    price = 10 * least.ocpu_hours / trace.minutes
    best = program.solve(price)
    options = capacities(BASE)
    for _ in range(12):
        actions, current, t = [], start, 0
        while t < trace.minutes:
            if rng.random() < 0.05:
                choices = [
                    o
                    for o in options
                    if o != current and (o.shape == current.shape or o.instance_count == current.instance_count)
                ]
                target = choices[rng.integers(len(choices))]
                late = bool(rng.integers(2))
                kind = update_kind(current, target)
                actions.append((t, program.offset(t, kind) if late else 0.0, target))
                t, current = int(program.arrive[kind][t, int(late)]), target
            else:
                t += 1
        s = _simulate(case, BASE, Replay(Plan(tuple(actions), 0, 0, 0, 0)))
        assert s.ocpu_hours + price * s.violation_minutes >= best.cost - 1e-9
        assert (s.violation_minutes, s.ocpu_hours) >= (least.violation_minutes, least.ocpu_hours - 1e-9)


def test_no_policy_scores_below_the_exact_bound_on_the_suite():
    cases = suite.cases(1, 0.25, config=BASE)
    policies = ["exact", "ours", "2022", "native", "hpa", "sagemaker", "oracle"]
    results = suite.run_all([suite.Task(c, p, BASE, "fakes", False) for c in cases for p in policies])
    scores = {(r.policy, r.case): r for _, r, _, _ in results}
    assert len(priced.bounds_by_case(scores)) == len(cases)
    assert priced.no_policy_below(scores) == []
    for case in cases:  # the exact policy's own run scores H0*, V0*
        exact = scores[("exact", case.name)]
        assert exact.violation_minutes == exact.bounds["violation_minutes"]
        assert exact.ocpu_hours == pytest.approx(exact.bounds["ocpu_hours"])


def test_the_bounds_price_a_violation_minute_at_k_minutes_of_the_optimums_run_rate():
    case = suite.cases(1, 0.5, families=["flash"])[0]
    trace = case.trace()
    bounds, least = solve_case(trace, BASE, STARTS[case.start](trace, BASE))
    assert bounds.price(100) == pytest.approx(100 * least.ocpu_hours / trace.minutes)
    assert bounds.exact[10] <= bounds.exact[100] <= bounds.exact[1000]
    for k in bounds.exact:  # the lexicographic plan is one candidate of each priced program
        assert bounds.exact[k] <= least.priced(bounds.price(k)) + 1e-9
        assert bounds.exact_severity[k] <= least.priced(bounds.price(k), severity=True) + 1e-9
