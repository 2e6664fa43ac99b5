"""The load model and the traces."""

import numpy as np
import pytest

from autoscaler.domain import Capacity
from bench import traces
from bench.sim import LADDER, SimConfig, initial_capacity, utilization


def test_utilization_follows_instances_and_shape():
    cpu, mem = utilization(1.5, 4.0, Capacity(2, LADDER[0]))  # 1.5 OCPU over 2 x 1 OCPU, 16 GB each
    assert cpu == pytest.approx(75.0)
    assert mem == pytest.approx(100 * (4.0 + 2.0 * 1.5 / 2) / 16)
    cpu, mem = utilization(1.5, 4.0, Capacity(1, LADDER[1]))  # one 2 OCPU / 32 GB instance
    assert cpu == pytest.approx(75.0) and mem == pytest.approx(100 * (4.0 + 3.0) / 32)
    assert utilization(3.0, 4.0, Capacity(1, LADDER[0]))[0] == pytest.approx(300.0)  # uncapped: overload shows


@pytest.mark.parametrize("name", list(traces.GENERATORS))
def test_traces_are_reproducible_and_sized(name):
    first, again = traces.make(name, 1), traces.make(name, 1)
    assert (
        first.minutes == 1440 and np.array_equal(first.cpu, again.cpu) and np.array_equal(first.base_gb, again.base_gb)
    )
    assert (first.cpu > 0).all() and (first.base_gb > 0).all()
    assert not np.array_equal(first.cpu, traces.make(name, 1, seed=7).cpu)


def test_traces_fit_the_largest_capacity():
    """Every trace can be served within the SLO by some capacity the limits allow (the oracle's premise)."""
    for name in traces.GENERATORS:
        trace = traces.make(name, 7)
        cpu, mem = utilization(trace.cpu, trace.base_gb, Capacity(4, LADDER[-1]))
        assert max(cpu.max(), mem.max()) <= 90, name


def test_steps_mark_load_rising():
    for name in ("spike", "flash"):
        trace = traces.make(name, 7)
        assert trace.steps
        for step in trace.steps:
            assert trace.cpu[step] > 2 * trace.cpu[step - 1]


def test_initial_capacity_serves_the_first_hour():
    trace = traces.make("steady", 1)
    capacity = initial_capacity(trace, SimConfig())
    assert max(utilization(trace.cpu[:60], trace.base_gb[:60], capacity)[0]) <= 90
