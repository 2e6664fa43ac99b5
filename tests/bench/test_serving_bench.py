"""bench/serving_bench.py: the serving model it drives, its traces, and one `--quick` closed-loop run (1 day, 1 seed
per family, every profile and policy, the real function) asserting what must hold whatever the numbers."""

import math

import numpy as np
import pytest

from autoscaler.constants import METRIC_NAMES
from bench import serving_bench as sb
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


def test_traces_have_five_families_with_parameters_drawn_per_seed():
    cal = sb.calibration("io_bound", sb.Config())
    for family in sb.FAMILIES:
        traces = [sb.make_trace(family, seed, cal, sb.DAY) for seed in range(5)]
        assert len({t.load.tobytes() for t in traces}) == len({str(t.params) for t in traces}) == 5, family
        for trace in traces:
            assert trace.rate.dtype.kind == "i" and trace.rate.min() >= 0 and len(trace.rate) == sb.DAY
            assert 0.05 <= trace.load.min() and trace.load.max() <= 5.5


def test_sensitivity_changes_the_model_not_the_users_configuration():
    base, slow = sb.Config(), sb.Config(service_scale=1.5, workers_scale=0.5)
    assert sb.calibration("io_bound", base) == sb.calibration("io_bound", slow)
    assert sb.model_profile("io_bound", slow).service_ms == 1.5 * PROFILES["io_bound"].service_ms
    assert sb.model_profile("io_bound", slow).workers == PROFILES["io_bound"].workers // 2
    assert sb.model_profile("gpu_bound", slow).workers == 1  # never below one request at a time


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("serving") / "serving_results.md"
    result = sb.main(["--quick", "--out", str(out)])
    result["text"] = out.read_text()
    return result


def run_of(quick, profile, policy):
    [run] = [r for r in quick["results"] if r["profile"] == profile and r["policy"] == policy]
    return run


def test_quick_writes_the_report(quick):
    # (How long --quick takes is a benchmark figure, printed by the run: never a timed assertion here.)
    text = quick["text"]
    for heading in ("## cpu_bound", "## io_bound", "## gpu_bound", "## Goals", "## Function activity"):
        assert heading in text
    assert text.count("| oracle |") == 2 * 3  # the profile table and the per-family table
    assert "Goal 1, io_bound, `requests` vs `cpu`" in text and "Goal 2, cpu_bound" in text
    policies = {(r["profile"], r["policy"]) for r in quick["results"]}
    assert policies == {(p, name) for p, names in sb.POLICIES.items() for name in names}
    for r in quick["results"]:
        assert len(r["scores"]["mean"]) == len(sb.FAMILIES)  # one seed of every family


def test_metrics_reached_the_emulators_monitoring(quick):
    for profile in ("cpu_bound", "io_bound", "gpu_bound"):
        metrics = run_of(quick, profile, "requests")["metrics"]
        per_instance = ["CpuUtilization", "MemoryUtilization"] + (
            ["GPUCoreUtilization"] if profile == "gpu_bound" else []
        )
        for name in [*per_instance, "PredictRequestCount", "PredictLatency"]:
            assert metrics[name]["deployments"] == len(sb.FAMILIES), (profile, name)
            assert metrics[name]["datapoints"] >= len(sb.FAMILIES) * sb.DAY * 0.99, (profile, name)
        if profile != "gpu_bound":
            assert metrics["GPUCoreUtilization"]["deployments"] == 0  # no GPU metric on a CPU shape
    assert set(METRIC_NAMES.values()) == set(metrics)


def test_request_alarms_come_from_the_products_convergence_at_start(quick):
    run = run_of(quick, "io_bound", "requests")
    for states in run["initial_alarms"].values():
        assert states["model_deployment_high_requests"] == "exists (created here or by a concurrent call)"
        assert states["model_deployment_low_cpu"] == "absent"  # cpu is not among this deployment's signals
    gpu = run_of(quick, "gpu_bound", "gpu")
    assert all(states["model_deployment_high_requests"] == "absent" for states in gpu["initial_alarms"].values())


def applied(run, deployment_id=None, title=None, action=None):
    return [
        entry
        for entry in run["log"]
        if entry[4] == "applied"
        and (deployment_id is None or entry[3] == deployment_id)
        and (title is None or entry[1] == title)
        and (action is None or entry[5] == action)
    ]


def test_the_real_function_scales_an_io_bound_step_on_requests_and_cpu_does_not(quick):
    steps = next(md for md in run_of(quick, "io_bound", "requests")["series"] if "-steps-" in md)
    requests = run_of(quick, "io_bound", "requests")
    assert applied(requests, steps, "model_deployment_high_requests", "scale_out")
    assert applied(requests, steps, "model_deployment_low_requests", "scale_in")
    series = requests["series"][steps]
    assert max(series.serving) > series.start.instance_count
    # CPU-based scaling never sees an I/O-bound deployment's load: no scale-out, and it scales in on the low CPU
    cpu = run_of(quick, "io_bound", "cpu")
    assert not [e for e in cpu["log"] if e[5] == "scale_out"]
    assert applied(cpu, steps, "model_deployment_low_cpu", "scale_in")
    cpu_score = next(s for s in cpu["scores"]["mean"] if s.family == "steps")
    requests_score = next(s for s in requests["scores"]["mean"] if s.family == "steps")
    assert requests_score.latency_minutes < cpu_score.latency_minutes


def test_gpu_scales_on_gpu_and_no_outcome_is_an_error(quick):
    gpu = run_of(quick, "gpu_bound", "gpu")
    assert applied(gpu, title="model_deployment_high_gpu", action="scale_out")
    ladder = run_of(quick, "gpu_bound", "gpu-ladder")
    assert applied(ladder, action="shape_up")
    assert {"VM.GPU.A10.2"} <= {shape for s in ladder["series"].values() for shape in s.serving_shape}
    for r in quick["results"]:
        assert not r["statuses"].get("error"), (r["profile"], r["policy"])
    # the function confirmed each firing with Monitoring's alarm state before it changed the deployment
    calls = run_of(quick, "io_bound", "requests")["calls"]
    assert calls["RetrieveDimensionStates"] >= calls["UpdateModelDeployment"] > 0


def test_the_oracle_bounds_latency_and_native_waits_for_its_rules(quick):
    for profile in ("cpu_bound", "io_bound", "gpu_bound"):
        oracle = run_of(quick, profile, "oracle")["scores"]["mean"]
        assert sum(s.latency_minutes for s in oracle) <= 5 * len(oracle)
        requests = run_of(quick, profile, "requests")["scores"]["mean"]
        assert sum(s.latency_minutes for s in oracle) <= sum(s.latency_minutes for s in requests)
    native = run_of(quick, "cpu_bound", "native")
    assert native["invocations"] == 0 and max(s.actions for s in native["scores"]["mean"]) > 0


def test_scores_count_what_the_series_show(quick):
    run = run_of(quick, "gpu_bound", "requests")
    slo = sb.calibration("gpu_bound", sb.Config()).slo_ms
    for score in run["scores"]["mean"]:
        series = next(s for s in run["series"].values() if s.trace.family == score.family)
        assert score.latency_minutes == int(np.sum(np.array(series.latency) > slo))
        assert score.hours == pytest.approx(sum(series.billed) / 60, abs=0.01)
        assert score.actions == len(series.actions)
        assert all(math.isfinite(v) for v in series.p95)
