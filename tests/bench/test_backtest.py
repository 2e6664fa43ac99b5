"""The backtest (bench/backtest.py) is honest: a history the simulator generated from a known trace, read back through
the real SDK, rebuilds that trace, and the replay of the function on it matches the direct simulation."""

import json
import math
import os
import time

import numpy as np
import pytest

from autoscaler.domain import Capacity
from autoscaler.oci_gateway import OciGateway
from bench import backtest as bt
from bench import traces
from bench.policies import Native, Ours
from bench.seed_history import post, seed_emulator, simulate_history
from bench.sim import LADDER, Controller, SimConfig, Simulation, apply, hottest_share, slot_weights, utilization
from emulator import serve_in_thread
from emulator.monitoring import Monitoring, rfc3339
from emulator.sdk_fakes import FakeDataScienceClient, FakeMonitoringClient
from emulator.store import Store

SEED = json.loads((bt.ROOT / "emulator" / "seed.json").read_text())
E4_1, E4_2 = LADDER[0], LADDER[1]


def gateway(store) -> OciGateway:
    return OciGateway(FakeDataScienceClient(store), FakeMonitoringClient(store))


def history_capacity(trace) -> Capacity:
    """Four instances (every slot of the function's default limits shows its share) on the smallest rung that keeps
    every minute below saturation: an uncensored history."""
    share = hottest_share(slot_weights(trace.name, SimConfig()), 4)
    for rung in LADDER:
        cpu, mem = utilization(trace.cpu, trace.base_gb, Capacity(4, rung), share)
        if max(cpu.max(), mem.max()) < bt.CENSOR_AT:
            return Capacity(4, rung)
    raise AssertionError(f"{trace.name}: no rung serves it uncensored")


def read(sim, days=1):
    """What the backtest reads of the simulated deployment, through the real SDK (the in-process fakes)."""
    [md] = sim.ids
    g = gateway(sim.store)
    deployment = g.get_deployment(md)
    now = sim.start + 60 * len(sim.series[md].cpu) + bt.INGESTION_SLACK_SECONDS
    start, end, step = bt.history_range(days, now)
    return deployment, bt.read_history(g, deployment, start, end, step, ("cpu", "mem"), pace=0)


def rebuild(sim, managed=False, target=None, **kwargs):
    deployment, reading = read(sim)
    shape = deployment.state.capacity.shape
    return bt.reconstruct(reading, shape, LADDER, managed, target, **kwargs), reading


def test_history_range_follows_the_documented_resolution_limits():
    now = 1_767_571_200.0 + 30
    start, end, step = bt.history_range(7, now)
    assert (
        step == 1 and end <= now - bt.INGESTION_SLACK_SECONDS and start > now - 7 * 86400 and end - start > 6.9 * 86400
    )
    start, end, step = bt.history_range(8, now)
    assert step == 5 and start % 300 == 0 and round((end - start) / 86400) == 8
    with pytest.raises(bt.BacktestError, match="30 days"):
        bt.history_range(31, now)


@pytest.mark.parametrize("family", list(traces.FAMILIES))
def test_the_replay_of_ours_matches_the_direct_simulation(family):
    """Every bench family, one seed, one day: the history of a fixed, uncensored capacity rebuilds the trace, and the
    function replayed on it does what it does on the trace itself (same start, same config; the update-duration draws
    follow the deployment's name, so the replay is given the trace's)."""
    trace = traces.family(family, 0, days=1)
    start = history_capacity(trace)
    sim = simulate_history(trace, start)
    now = sim.start + 60 * trace.minutes + bt.INGESTION_SLACK_SECONDS
    result = bt.backtest(gateway(sim.store), sim.ids[0], 1, now=now, pace=0, name=trace.name, runs=("ours",))
    recon = result.recon
    assert not recon.censored.any() and recon.trace.minutes == trace.minutes
    np.testing.assert_allclose(recon.trace.cpu, trace.cpu, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(recon.trace.base_gb, trace.base_gb, rtol=1e-9, atol=1e-9)
    truth = slot_weights(trace.name, SimConfig())[:4]
    np.testing.assert_allclose(recon.weights[:4], truth / truth[0], rtol=1e-9)
    [direct] = Simulation([trace], Ours(transport="fakes"), SimConfig(), [start]).run().series.values()
    ours = result.outcomes["ours"]
    hours = sum(direct.billed_ocpus) / 60
    violations = sum(c > 90 or m > 90 for c, m in zip(direct.cpu, direct.mem, strict=True))
    assert abs(ours.ocpu_hours - hours) <= 0.02 * hours
    assert abs(ours.violation_minutes - violations) <= 2


def step_trace(low=0.4, high=2.2, tail=0.3) -> traces.Trace:
    cpu = np.concatenate([np.full(90, low), np.full(120, high), np.full(240, tail)])
    return traces.Trace("step", "test step", cpu, np.full(len(cpu), 4.0), (90,))


def test_saturated_minutes_are_censored_lower_bounds():
    trace = step_trace()
    sim = simulate_history(trace, Capacity(1, E4_1))  # 2.2 OCPUs of work on one 1-OCPU instance: 100 % for 2 hours
    recon, _ = rebuild(sim)
    assert recon.censored[90:210].all() and not recon.censored[:90].any() and not recon.censored[211:].any()
    assert np.allclose(recon.trace.cpu[90:210], 1.0)  # what one OCPU at 100 % served: a lower bound of 2.2
    assert (recon.trace.cpu <= trace.cpu + 1e-9).all()
    np.testing.assert_allclose(recon.trace.cpu[~recon.censored], trace.cpu[~recon.censored])
    assert any("120 censored minutes" in note and "lower bound" in note for note in recon.notes)


def test_missing_datapoints_and_gaps_are_filled_and_said():
    trace = traces.family("diurnal", 0, days=1)
    sim = simulate_history(trace, Capacity(2, E4_2))
    deployment, reading = read(sim)
    first, second = sorted(reading.cpu)
    for minute in (300, 301, 302):  # one instance loses three datapoints
        del reading.cpu[first][minute]
    for table in (reading.cpu, reading.mem):  # every stream silent for 20 minutes
        for series in table.values():
            for minute in range(600, 620):
                series.pop(minute, None)
    for table in (reading.cpu, reading.mem):  # no data yet in the first 30 minutes of the range
        for series in table.values():
            for minute in range(30):
                series.pop(minute, None)
    recon = bt.reconstruct(reading, deployment.state.capacity.shape, LADDER, False)
    assert recon.offset == 30 and recon.trace.minutes == trace.minutes - 30
    assert {c.instance_count for c in recon.schedule} == {2}  # held across the gap
    truth = trace.cpu[30:]
    assert abs(recon.trace.cpu[300 - 30 : 303 - 30] - truth[270:273]).max() < 0.1 * truth[270:273].max()
    assert abs(recon.trace.cpu[570:590] - truth[570:590]).max() < 0.15 * truth[570:590].max()
    text = " ".join(recon.notes)
    assert "3 missing per-instance datapoints" in text
    assert "20 minutes in 1 gaps" in text and "instance silences longer" in text
    assert "first 30" in text and "trimmed" in text


class Shape(Controller):
    """Changes the compute shape once, at `minute`, as a user (or the function) would."""

    def __init__(self, minute: int, target: Capacity):
        self.minute, self.target = minute, target

    def tick(self, minute: int, now: float) -> None:
        if minute == self.minute:
            [md] = self.sim.ids
            self.acted = apply(self.sim.store, md, self.target)


def test_instances_added_and_removed_are_counted_minute_by_minute():
    trace = traces.family("bursts", 0, days=1)
    sim = simulate_history(trace, Capacity(1, E4_2), Native())
    [series] = sim.series.values()
    recon, _ = rebuild(sim)
    counts = [c.instance_count for c in recon.schedule]
    assert counts == [round(s / 2) for s in series.serving_ocpus] and len(set(counts)) > 2
    ok = ~recon.censored
    np.testing.assert_allclose(recon.trace.cpu[ok], trace.cpu[ok], rtol=1e-9)
    truth = slot_weights(trace.name, SimConfig())
    seen = recon.observed_slots
    assert seen == max(counts)
    np.testing.assert_allclose(recon.weights[:seen], truth[:seen] / truth[0], rtol=1e-9)


def test_a_shape_change_is_found_when_the_function_managed_the_deployment():
    trace = traces.family("diurnal", 0, days=1)
    tags = {"autoscale_state_target": f"2 x {E4_2}", "autoscale_state_last_up": "1"}
    sim = simulate_history(trace, Capacity(2, E4_1), Shape(300, Capacity(2, E4_2)), tags=tags)
    recon, _ = rebuild(sim, managed=True, target=tags["autoscale_state_target"])
    change = next(m for m, c in enumerate(recon.schedule) if c.shape == E4_2)
    assert 300 < change < 330 and all(c.shape == E4_1 for c in recon.schedule[:change])
    ok = ~recon.censored
    np.testing.assert_allclose(recon.trace.cpu[ok], trace.cpu[ok], rtol=1e-9)
    notes = " ".join(recon.notes)
    assert f"shape change at minute {change}: {E4_1} -> {E4_2}" in notes and "work request" in notes
    assert "no update work request" not in notes
    # Never managed: the current shape throughout, and the report says so (the demand before the change is doubled).
    unmanaged, _ = rebuild(sim)
    assert all(c.shape == E4_2 for c in unmanaged.schedule)
    assert "never managed" in " ".join(unmanaged.notes)
    assert np.allclose(unmanaged.trace.cpu[: change - 1], 2 * trace.cpu[: change - 1])


def test_hostile_values_are_dropped_or_capped_and_said():
    trace = traces.family("steady", 0, days=1)
    sim = simulate_history(trace, history_capacity(trace))
    deployment, reading = read(sim)
    one = sorted(reading.cpu)[0]
    reading.cpu[one][100] = math.nan
    reading.cpu[one][200] = -5.0
    reading.cpu[one][300] = 250.0
    reading.mem[one][400] = math.inf
    recon = bt.reconstruct(reading, deployment.state.capacity.shape, LADDER, False)
    notes = " ".join(recon.notes)
    assert "2 not a number, 1 negative, 1 above 100 %" in notes
    assert recon.censored[300] and recon.censored.sum() == 1
    assert abs(recon.trace.cpu[100] - trace.cpu[100]) < 0.1 and abs(recon.trace.cpu[200] - trace.cpu[200]) < 0.1
    assert np.isfinite(recon.trace.cpu).all() and np.isfinite(recon.trace.base_gb).all()


def test_hostile_values_through_the_sdk():
    """A negative and a 250 % datapoint as the service would post them, read back through SummarizeMetricsData."""
    now = 1_767_571_200.0 + 7200
    store = Store.from_seed(SEED, monitoring=Monitoring(wall_clock=lambda: now))
    md = "ocid1.datasciencemodeldeployment.oc1.iad.demo1"
    metrics = []
    for index in range(2):
        for name, value in (("CpuUtilization", 40.0), ("MemoryUtilization", 30.0)):
            points = []
            for minute in range(120):
                v = {50: -5.0, 60: 250.0}.get(minute, value) if index == 0 and name == "CpuUtilization" else value
                points.append({"timestamp": rfc3339(now - 7200 + 60 * minute), "value": v})
            dims = {"resourceId": md, "instanceId": f"{md}.i{index}"}
            metrics.append(
                {
                    "namespace": bt.NAMESPACE,
                    "compartmentId": "ocid1.compartment.oc1..demo",
                    "name": name,
                    "dimensions": dims,
                    "datapoints": points,
                }
            )
    store.post_service_metrics({"metricData": metrics})
    g = gateway(store)
    deployment = g.get_deployment(md)
    reading = bt.read_history(g, deployment, now - 7200, now, 1, ("cpu", "mem"), pace=0)
    recon = bt.reconstruct(reading, deployment.state.capacity.shape, LADDER, False)
    assert "1 negative, 1 above 100 %" in " ".join(recon.notes)
    assert recon.censored.sum() == 1 and recon.trace.cpu[50] == pytest.approx(0.8)


def test_chunks_stay_within_the_answer_limits(monkeypatch):
    trace = traces.family("noise-fast", 0, days=1)
    sim = simulate_history(trace, Capacity(4, E4_1))
    whole, reading = rebuild(sim)
    monkeypatch.setattr(bt, "MAX_DATAPOINTS", 2500)  # 4 streams x 1440 minutes in chunks of at most 500 minutes
    chunked, small = rebuild(sim)
    assert small.calls > reading.calls + 4
    np.testing.assert_array_equal(chunked.trace.cpu, whole.trace.cpu)


@pytest.fixture
def emulator(monkeypatch):
    """The emulator (seed.json) on HTTP, and no AUTOSCALE_* setting in the environment the command reads."""
    for key in [k for k in os.environ if k.startswith("AUTOSCALE_")]:
        monkeypatch.delenv(key)
    store = Store.from_seed(SEED, monitoring=Monitoring())
    url, stop = serve_in_thread(store)
    yield store, url
    stop()


NATIVE_MD = "ocid1.datasciencemodeldeployment.oc1.iad.native"


def test_the_command_against_the_emulator_writes_its_report(emulator, tmp_path, capsys):
    store, url = emulator
    now = time.time()
    trace = traces.family("diurnal", 0, days=1)
    posted = seed_emulator(url, NATIVE_MD, "ocid1.compartment.oc1..demo", trace, Capacity(2, E4_1), now - 180)
    assert posted == 2 * 2 * trace.minutes
    config = tmp_path / "function.env"
    config.write_text("# the function's config\nAUTOSCALE_MAX_INSTANCES=3\nexport cpu_target='65'\n")
    code = bt.main(
        [NATIVE_MD, "--emulator", url, "--days", "1", "--out", str(tmp_path / "out"), "--config", str(config)]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert (tmp_path / "out" / "timeline.png").stat().st_size > 10_000
    for row in ("| the capacity it had |", "| ours (the function) |", "| its native policy (CPU > 65 % / < 10 %) |"):
        assert row in summary
    assert "exact bound" in summary and "instances 1-3" in summary and "own AutoScalingPolicy" in summary
    assert "Traceback" not in out.out + out.err
    # More than 7 days back: 5-minute means (the day of history is all there is).
    assert bt.main([NATIVE_MD, "--emulator", url, "--days", "8", "--out", str(tmp_path / "five")]) == 0
    assert "5-minute means" in (tmp_path / "five" / "summary.md").read_text()


def test_no_history_and_no_deployment_are_clear_messages(emulator, tmp_path, capsys):
    _, url = emulator
    for md, says in (
        ("ocid1.datasciencemodeldeployment.oc1.iad.demo1", "no CpuUtilization datapoints"),
        ("ocid1.datasciencemodeldeployment.oc1.iad.nothere", "not found"),
        ("ocid1.datasciencemodeldeployment.oc1.iad.gpu1", "GPU shapes are not backtested"),
    ):
        code = bt.main([md, "--emulator", url, "--days", "1", "--out", str(tmp_path)])
        out = capsys.readouterr()
        assert code == 2 and says in out.err and "Traceback" not in out.err, (md, out.err)
    bad = tmp_path / "bad.env"
    bad.write_text("AUTOSCALE_MAX_INSTANCES=lots\n")
    code = bt.main(["ocid1.datasciencemodeldeployment.oc1.iad.demo1", "--emulator", url, "--config", str(bad)])
    assert code == 2 and "AUTOSCALE_MAX_INSTANCES" in capsys.readouterr().err


def test_config_files_as_the_function_reads_them(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"AUTOSCALE_DRY_RUN": True, "signals": ["cpu", "mem"], "max_instances": 6}))
    assert bt.read_config_file(path) == {
        "AUTOSCALE_DRY_RUN": "true",
        "AUTOSCALE_SIGNALS": "cpu,mem",
        "AUTOSCALE_MAX_INSTANCES": "6",
    }
    path.write_text("just words\n")
    with pytest.raises(bt.BacktestError, match="line 1"):
        bt.read_config_file(path)


def test_the_observed_replay_serves_the_observed_schedule():
    trace = traces.family("bursts", 0, days=1)
    sim = simulate_history(trace, Capacity(1, E4_2), Native())
    [history] = sim.series.values()
    recon, _ = rebuild(sim)
    policy = bt.function_settings({}, "ocid1.compartment.oc1..x").policy
    outcomes, _, _ = bt.replay(recon, policy, {}, bt.bench_native(SimConfig()), {}, runs=("observed",))
    observed = outcomes["observed"].series
    assert observed.serving_ocpus == history.serving_ocpus
    assert outcomes["observed"].actions == len(history.actions)
    ok = ~recon.censored
    assert np.allclose(np.array(observed.cpu)[ok], np.array(history.cpu)[ok])


def test_request_and_latency_signals_are_read_and_plotted_not_replayed(emulator, tmp_path, capsys):
    store, url = emulator
    md = "ocid1.datasciencemodeldeployment.oc1.iad.req1"  # tag autoscale_signals = requests,latency
    end = time.time() - 180
    trace = traces.family("steady", 0, days=1)
    seed_emulator(url, md, "ocid1.compartment.oc1..demo", trace, history_capacity(trace), end)
    stamps = [end - 60 * k for k in range(1, 1440)]
    serving = [
        {
            "namespace": bt.NAMESPACE,
            "compartmentId": "ocid1.compartment.oc1..demo",
            "name": name,
            "dimensions": {"resourceId": md},
            "datapoints": [{"timestamp": rfc3339(t), "value": value} for t in stamps],
        }
        for name, value in (("PredictRequestCount", 600.0), ("PredictLatency", 120.0))
    ]
    post(url, serving)
    assert bt.main([md, "--emulator", url, "--days", "1", "--out", str(tmp_path)]) == 0
    summary = (tmp_path / "summary.md").read_text()
    assert "its signals are requests,latency" in summary and "ours scales on cpu,mem" in summary
    assert "PredictRequestCount 600 per datapoint on average" in summary and "PredictLatency 120 ms" in summary
    capsys.readouterr()
