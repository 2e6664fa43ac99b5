"""bench/serving_bench.py: the serving model it drives, its traces, the exact bound's replay through the serving
simulation, the real function in the loop, and one `--quick` run of the priced comparison (half a day, one tuning
and one held-out seed per family)."""

import json

import numpy as np
import pytest

from autoscaler.constants import METRIC_NAMES
from bench import priced
from bench import serving_bench as sb
from bench.optimum import KS, LEXICOGRAPHIC, NAME, Replay
from bench.sim import COMPARTMENT, NAMESPACE, START, deployment_id
from emulator.serving import PROFILES, serve


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_latency_rises_with_utilization_in_the_model(name):
    """The premise of the bench: at a fixed capacity, latency (mean and p95) and utilization grow with the rate,
    slowly at first and without bound as utilization nears 1 (M/M/c)."""
    profile = PROFILES[name]
    saturation = 60 * profile.workers * 1000 / profile.service_ms  # requests/min of one instance at rho = 1
    readings = [serve(profile, share * 2 * saturation, 2) for share in (0.1, 0.5, 0.8, 0.9, 0.97)]
    for low, high in zip(readings, readings[1:], strict=False):
        assert high.utilization > low.utilization
        assert high.latency_ms >= low.latency_ms and high.latency_p95_ms >= low.latency_p95_ms
    assert readings[-1].latency_ms > 1.3 * readings[0].latency_ms
    assert not serve(profile, 2.5 * saturation, 2).stable


def test_each_profile_shows_its_bottleneck_and_hides_the_others():
    at = {name: serve(p, 0.95 * 60 * p.workers * 1000 / p.service_ms, 1) for name, p in PROFILES.items()}
    assert at["cpu_bound"].cpu > 75  # the Terraform high CPU alarm (75) sees it
    assert at["io_bound"].cpu < 30 and at["io_bound"].gpu == 0  # CPU never reaches any CPU alarm
    assert at["gpu_bound"].gpu > 75 and at["gpu_bound"].cpu < 30


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_the_benchs_reading_is_the_models_to_the_float(name):
    profile, cal = PROFILES[name], sb.calibration(name)
    for rate in (0, 1, int(0.5 * cal.saturation_rate), int(2.9 * cal.saturation_rate), int(9 * cal.saturation_rate)):
        for count in (1, 3, 8):
            mine, theirs = sb.reading(profile, rate, count, 1.0), serve(profile, float(rate), count, 1.0)
            assert (mine.latency_ms, mine.cpu, mine.gpu, mine.mem, mine.rho) == (
                theirs.latency_ms,
                theirs.cpu,
                theirs.gpu,
                theirs.mem,
                theirs.utilization,
            )


def test_traces_have_five_families_with_parameters_drawn_per_seed():
    cal = sb.calibration("io_bound")
    for family in sb.FAMILIES:
        traces = [sb.make_trace(family, seed, cal, sb.DAY) for seed in range(5)]
        assert len({t.load.tobytes() for t in traces}) == len({str(t.params) for t in traces}) == 5, family
        for trace in traces:
            assert trace.rate.dtype.kind == "i" and trace.rate.min() >= 0 and trace.minutes == sb.DAY
            assert 0.05 <= trace.load.min() and trace.load.max() <= 5.5


def _replay(profile, trace, start, plan):
    sim = sb.ServingSimulation(profile, [trace], Replay(plan), [start])
    [series] = sim.run().series.values()
    return sb.score("replay", profile, series, sim.cal.slo_ms)


@pytest.mark.parametrize("profile", sb.PROFILE_NAMES)
def test_every_plan_replays_through_the_serving_simulation_to_the_same_score(profile):
    """The exact program assumes the serving simulation's mechanics (update draws by kind at the minute made, the
    old capacity serving and the larger set billed while UPDATING, arrival at the first ACTIVE minute, late actions
    a minute later): its plans, played through the simulation, score exactly as it says."""
    part = sb.split(profile, 1, 0, 0.3, families=("steps", "bursts"))
    for index, (trace, start) in enumerate(zip(part.traces, part.starts, strict=True)):
        program = sb.program(profile, trace, deployment_id(index, trace.name), start)
        least = program.solve(LEXICOGRAPHIC)
        assert part.exact[sb.case_name(profile, trace)].ocpu_hours == least.ocpu_hours
        for price, severity in ((None, False), (10 * least.ocpu_hours / trace.minutes, False), (0.02, True)):
            plan = least if price is None else program.solve(price, severity)
            assert plan.actions or price is not None  # the cheapest feasible schedule moves on these traces
            # the deployment's index is part of its update draws: replay it as the only deployment of its id
            s = _replay_as(profile, trace, start, plan, index)
            assert s.violation_minutes == plan.violation_minutes, (trace.name, price)
            assert s.ocpu_hours == pytest.approx(plan.ocpu_hours, abs=1e-9)
            assert s.severity == pytest.approx(plan.severity, abs=1e-9)
            if price is not None:
                assert plan.priced(price, severity) == pytest.approx(plan.cost, rel=1e-9)
                assert plan.cost <= least.priced(price, severity) + 1e-9


def _replay_as(profile, trace, start, plan, index):
    """Replay with the same deployment id as in the split (the draws depend on it): a simulation of `index` idle
    deployments of the same trace before it, which never act (Replay drives the last one)."""
    if index == 0:
        return _replay(profile, trace, start, plan)

    class Last(Replay):
        def tick(self, minute, now):
            ids = self.sim.ids
            self.sim.ids = ids[-1:]
            try:
                super().tick(minute, now)
            finally:
                self.sim.ids = ids

    traces = [trace] * (index + 1)
    sim = sb.ServingSimulation(profile, traces, Last(plan), [start] * (index + 1))
    assert sim.ids[-1] == deployment_id(index, trace.name)
    series = sim.run().series[sim.ids[-1]]
    return sb.score("replay", profile, series, sim.cal.slo_ms)


def test_random_schedules_never_beat_the_optimum():
    rng = np.random.default_rng(5)
    part = sb.split("gpu_bound", 1, 0, 0.2, families=("bursts",))
    [trace], [start] = part.traces, part.starts
    program = sb.program("gpu_bound", trace, deployment_id(0, trace.name), start)
    least = program.solve(LEXICOGRAPHIC)
    price = 10 * least.ocpu_hours / trace.minutes
    best = program.solve(price)
    choices = sb.options(sb.config_for("gpu_bound"))
    for _ in range(6):
        actions, current, t = [], start, 0
        while t < trace.minutes:
            if rng.random() < 0.05:
                target = [o for o in choices if o != current][rng.integers(len(choices) - 1)]
                actions.append((t, 0.0, target))
                current = target
                t += 25  # past the longest update: the deployment is ACTIVE again
            else:
                t += 1
        plan = type(least)(tuple(actions), 0.0, 0, 0.0, 0.0)
        s = _replay("gpu_bound", trace, start, plan)
        assert s.ocpu_hours + price * s.violation_minutes >= best.cost - 1e-9


def test_the_real_function_scales_on_requests_and_gpu_and_posts_the_services_metrics():
    io = sb.split("io_bound", 1, 0, 0.5, families=("steps",))
    ours = sb.run_policy(io, "ours:requests,latency", 0.5, keep=True)
    titles = {(r["title"], o["status"], o["action"]) for r in ours.run.invocations for o in r["outcomes"]}
    assert ("model_deployment_high_requests", "applied", "scale_out") in titles
    assert ("model_deployment_low_requests", "applied", "scale_in") in titles
    assert ours.ticks >= 12 and not ours.statuses.get("error")
    [series] = ours.run.series.values()
    assert max(series.serving) > series.start.instance_count
    # CPU-based scaling at the default target never sees an I/O-bound deployment's load: it scales in only
    cpu = sb.Function("cpu:default", "io_bound", "cpu")
    sim = sb.ServingSimulation("io_bound", io.traces, cpu, io.starts)
    [cpu_series] = sim.run().series.values()
    assert all(after.instance_count < before.instance_count for _, before, after in cpu_series.actions)
    assert cpu_series.actions
    for name in METRIC_NAMES.values():  # what the service posts, read back through SummarizeMetricsData
        details = {
            "namespace": NAMESPACE,
            "query": f"{name}[1h].groupBy(resourceId).count()",
            "startTime": START - 3600,
            "endTime": START + 86400,
            "resolution": "1h",
        }
        count = sum(
            p["value"] for s in sim.monitoring.summarize(COMPARTMENT, details) for p in s["aggregatedDatapoints"]
        )
        if name == "GPUCoreUtilization":
            assert count == 0  # no GPU metric on a CPU shape
        else:
            assert count >= 0.99 * io.traces[0].minutes, name
    gpu = sb.split("gpu_bound", 1, 0, 0.5, families=("steps",))
    run = sb.run_policy(gpu, "ours:gpu,latency", 0.5, keep=True)
    assert any(
        r["title"] == "model_deployment_high_gpu" and o["status"] == "applied" and o["action"] == "scale_out"
        for r in run.run.invocations
        for o in r["outcomes"]
    )
    [gpu_series] = run.run.series.values()
    assert gpu_series.gpu and max(gpu_series.gpu) > 75
    s = run.scores[sb.case_name("gpu_bound", gpu.traces[0])]
    slo = sb.calibration("gpu_bound").slo_ms
    assert s.violation_minutes == int(np.sum(np.array(gpu_series.latency) > slo))
    assert s.ocpu_hours == pytest.approx(sum(gpu_series.billed) / 60)  # GPU-hours on the GPU shape
    assert s.actions == len(gpu_series.actions)


def test_request_target_tracking_sizes_on_requests_per_instance():
    io = sb.split("io_bound", 1, 0, 0.5, families=("steps",))
    run = sb.run_policy(io, next(iter(sb.grid("io_bound")["tt"])), 0.5, keep=True)
    [series] = run.run.series.values()
    assert run.invocations == 0 and series.actions
    assert max(series.serving) > series.start.instance_count


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("serving") / "serving_results.md"
    result = sb.main(["--quick", "--out", str(out)])
    result["text"] = out.read_text()
    result["frozen_file"] = json.loads((out.parent / "serving_frozen.json").read_text())
    return result


def test_quick_prices_every_policy_against_the_exact_bound(quick):
    # (How long --quick takes is a benchmark figure, printed by the run: never a timed assertion here.)
    text = quick["text"]
    for heading in ("## Ours against the rivals", "## Frozen settings", "## Tuning", "## Function activity"):
        assert heading in text
    assert "Policies below the exact bound (a bug if any): 0." in text
    assert priced.no_policy_below(quick["scores"]) == []
    held = quick["held"]
    assert set(held) == set(sb.PROFILE_NAMES)
    for profile, part in held.items():
        assert len(part.cases) == len(sb.FAMILIES)  # one held-out seed of every family
        assert all(sb.HELD_OUT <= t.seed for t in part.traces)
        for signals in sb.OURS[profile]:
            assert all((f"ours:{signals}", c) in quick["scores"] for c in part.cases)
        for k in KS:
            for rival in sb.RIVALS:
                name = quick["frozen"][profile][k][rival]
                assert name in sb.grid(profile)[rival]
                assert all((name, c) in quick["scores"] for c in part.cases)
        assert all((NAME, c) in quick["scores"] for c in part.cases)
    assert quick["frozen_file"]["frozen"]["io_bound"]["100"] == quick["frozen"]["io_bound"][100]
    labels = {(row["label"], row["ours"]) for row in quick["rows"]}
    assert ("io + gpu", "`requests,latency`") in labels and ("gpu_bound", "`gpu,latency`") in labels
    assert ("io + gpu", "`requests,latency` (io), `gpu,latency` (gpu)") in labels
    for row in quick["rows"]:
        for k in KS:
            low, high = row[k]["win cpu"][1:]
            assert 0 <= low <= row[k]["win cpu"][0] <= high <= 1
    statuses = {s for r in quick["runs"] for s in r.statuses}
    assert "error" not in statuses and "applied" in statuses
