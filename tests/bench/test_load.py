"""The load model, the traces and families, the start capacities, update durations by kind."""

import numpy as np
import pytest

from autoscaler.domain import Capacity
from bench import suite, traces
from bench.sim import (
    LADDER,
    START,
    STARTS,
    SimConfig,
    Simulation,
    apply,
    hottest_share,
    serves,
    slot_weights,
    user_capacity,
    utilization,
)
from bench.traces import Trace


def flat(level: float, minutes: int = 60, name: str = "flat", base: float = 4.0) -> Trace:
    return Trace(name, "flat", np.full(minutes, level), np.full(minutes, base))


def test_utilization_of_the_hottest_instance():
    cpu, mem = utilization(1.5, 4.0, Capacity(2, LADDER[0]))  # an even spread over 2 x 1 OCPU, 16 GB each
    assert cpu == pytest.approx(75.0) and mem == pytest.approx(100 * (4.0 + 2.0 * 0.75) / 16)
    cpu, _ = utilization(1.5, 4.0, Capacity(2, LADDER[0]), share=0.6)  # one instance takes 60 % of the load
    assert cpu == pytest.approx(90.0)
    assert utilization(3.0, 4.0, Capacity(1, LADDER[0]))[0] == pytest.approx(300.0)  # uncapped: overload shows


def test_slot_weights_are_fixed_per_trace_and_within_the_imbalance():
    config = SimConfig(imbalance=0.2)
    weights = slot_weights("diurnal#3", config)
    assert np.array_equal(weights, slot_weights("diurnal#3", SimConfig(imbalance=0.2, seed=8)))  # not the update seed
    assert not np.array_equal(weights, slot_weights("diurnal#4", config))
    assert ((weights >= 0.8) & (weights <= 1.2)).all()
    assert hottest_share(np.array([1.2, 0.8]), 2) == pytest.approx(0.6)
    assert list(slot_weights("x", SimConfig(weights=(1.0, 3.0)))) == [1.0, 3.0]


@pytest.mark.parametrize("name", list(traces.GENERATORS))
def test_named_examples_are_reproducible(name):
    first, again = traces.make(name, 1), traces.make(name, 1)
    assert first.minutes == 1440 and np.array_equal(first.cpu, again.cpu)
    assert (first.cpu > 0).all() and (first.base_gb > 0).all()
    assert not np.array_equal(first.cpu, traces.make(name, 1, seed=7).cpu)


def test_families_draw_their_parameters_per_seed():
    assert len(traces.FAMILIES) >= 12
    for name in traces.FAMILIES:
        a, b, again = traces.family(name, 0, 2), traces.family(name, 1, 2), traces.family(name, 0, 2)
        assert np.array_equal(a.cpu, again.cpu) and a.params == again.params, name
        assert a.params != b.params, name  # another seed, other parameters
        assert a.family == name and a.name == f"{name}#0"
        least, most = traces.limits(name)  # the rough families may stop (0) and peak above PEAK_OCPUS
        assert (a.cpu >= least).all() and a.cpu.max() <= most + 1e-9
        # every family can be served within the SLO by the largest capacity the limits allow
        assert serves(a, Capacity(4, LADDER[-1]), SimConfig(), slice(None)), name


def test_the_sawtooth_family_has_periods_of_hours():
    periods = [traces.family("sawtooth", s, 1).params["period_hours"] for s in range(5)]
    assert all(2 <= p <= 8 for p in periods) and len(set(periods)) == 5


def test_a_user_starts_on_the_bottom_rung_with_enough_instances():
    config = SimConfig(weights=(1.0,) * 16)
    assert user_capacity(flat(0.5), config) == Capacity(1, LADDER[0])
    assert user_capacity(flat(1.5), config) == Capacity(2, LADDER[0])  # 75 % each
    assert user_capacity(flat(0.5, base=20.0), config).shape == LADDER[1]  # 20 GB does not fit 16
    assert STARTS["large"](flat(0.5), config) == Capacity(2, LADDER[2])


def test_the_suite_has_families_start_cases_and_examples():
    cases = suite.cases(seeds=5, days=1)
    families = {c.family for c in cases}
    assert families >= set(traces.FAMILIES) | {"large-start", "small-start", "examples"}
    for family in families - {"examples"}:
        assert len([c for c in cases if c.family == family]) == 5
    small = [c for c in cases if c.family == "small-start"]
    for case in small:  # an undersized start: the first hour needs more than it has
        trace = case.trace()
        assert not serves(trace, STARTS["small"](trace, SimConfig()), SimConfig(), slice(0, 60))
    assert len({c.name for c in cases}) == len(cases)


@pytest.mark.parametrize(
    ("target", "kind"),
    [(Capacity(3, LADDER[0]), "out"), (Capacity(1, LADDER[0]), "in"), (Capacity(2, LADDER[1]), "shape")],
)
def test_updates_take_their_kind_of_time(target, kind):
    config = SimConfig().with_update_minutes(out=(10, 0), **{"in": (4, 0)}, shape=(16, 0))
    sim = Simulation([flat(1.0)], suite.controller("2022", "fakes"), config, [Capacity(2, LADDER[0])])
    [md_id] = sim.ids
    sim.clock.now = START
    assert apply(sim.store, md_id, target)
    minutes = {"out": 10, "in": 4, "shape": 16}[kind]
    sim.clock.now = START + 60 * minutes - 1
    assert sim.store.get_model_deployment(md_id)[0]["lifecycleState"] == "UPDATING"
    sim.clock.now = START + 60 * minutes
    assert sim.store.get_model_deployment(md_id)[0]["lifecycleState"] == "ACTIVE"


def test_one_option_group_per_update():
    """OCI takes a count or a shape change while ACTIVE, not both: apply() sends only what changes."""
    sim = Simulation([flat(1.0)], suite.controller("2022", "fakes"), SimConfig(), [Capacity(2, LADDER[0])])
    [md_id] = sim.ids
    assert apply(sim.store, md_id, Capacity(2, LADDER[1]))
    sent = [c for c in sim.store.calls if c[0] == "UpdateModelDeployment"]
    assert len(sent) == 1
