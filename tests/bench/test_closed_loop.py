"""A short closed-loop run with the real function (over HTTP to the emulator) and the report."""

import numpy as np
import pytest

from bench import report
from bench.__main__ import main
from bench.policies import Native, Oracle, Ours, Sample2022
from bench.sim import SimConfig, Simulation, ocpus
from bench.traces import Trace


def step_trace() -> Trace:
    """90 minutes at 0.4 OCPU, two hours at 2.2, then four hours at 0.3."""
    cpu = np.concatenate([np.full(90, 0.4), np.full(120, 2.2), np.full(240, 0.3)])
    return Trace("step", "test step", cpu, np.full(len(cpu), 4.0), (90,))


def test_the_real_function_scales_up_under_a_step_and_back_down():
    run = Simulation([step_trace()], Ours(transport="http")).run()
    [series] = run.series.values()
    assert series.serving_ocpus[0] == 1
    assert max(series.serving_ocpus[90:210]) >= 3  # 2.2 OCPU needs 3+ at the 60% target
    assert series.serving_ocpus[-1] == 1  # back to the floor once the low alarm has stepped down
    applied = [o for i in run.invocations for o in i["outcomes"] if o["status"] == "applied"]
    assert {o["action"] for o in applied} == {"scale_out", "scale_in"}
    assert all(i["calls"] for i in run.invocations if i["type"] in ("OK_TO_FIRING", "REPEAT"))
    low = [i for i in run.invocations if i["title"] == "model_deployment_low_cpu"]
    assert low, "the low alarm the function created fired in the simulation"
    score = report.score("ours", series, 90)
    assert score.actions == len(series.actions) >= 2 and score.reversals >= 1
    assert 0 < score.time_to_capacity < 60


@pytest.mark.parametrize("controller", [Sample2022, Native, Oracle])
def test_the_simulated_policies_react_to_the_step(controller):
    [series] = Simulation([step_trace()], controller()).run().series.values()
    assert max(series.serving_ocpus) > series.serving_ocpus[0]


def test_the_oracle_has_no_violations_and_updates_take_time():
    [series] = Simulation([step_trace()], Oracle(), SimConfig(update_jitter_seconds=0)).run().series.values()
    assert report.score("oracle", series, 90).violation_minutes == 0
    first_up = next(m for m, before, after in series.actions if ocpus(after) > ocpus(before))
    # Actions are recorded the minute after they are made; the old capacity serves while UPDATING (10 min).
    assert series.serving_ocpus[first_up + 8] == series.serving_ocpus[first_up]
    assert series.serving_ocpus[first_up + 9] > series.serving_ocpus[first_up]


def test_quick_report_has_every_policy_and_trace(tmp_path):
    text = main(["--quick", "--out", str(tmp_path)])
    assert (tmp_path / "results.md").read_text() == text
    for trace in ("steady", "diurnal", "ramp", "spike", "flash", "noisy", "memory"):
        for policy in report.POLICY_ORDER:
            assert f"| {trace} | {policy} |" in text
        assert f"| {trace} | 2022" in text.split("Does ours dominate?")[1]
