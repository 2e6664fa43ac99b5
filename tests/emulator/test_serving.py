"""emulator.serving: the M/M/c model against closed forms, and the shapes of the serving profiles."""

import math

import pytest

from emulator.serving import PROFILES, erlang_b, erlang_c, instances_for, mmc, response_percentile, serve, servers


def test_erlang_b_and_c_closed_forms():
    assert erlang_b(1, 1.0) == pytest.approx(0.5)  # a / (1 + a)
    assert erlang_b(2, 1.0) == pytest.approx(0.2)  # (a^2/2) / (1 + a + a^2/2)
    assert erlang_c(1, 0.7) == pytest.approx(0.7)  # M/M/1: a request waits with probability rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)  # (a^2/2 x 2/(2-a)) / (1 + a + a^2/2 x 2/(2-a))
    assert erlang_c(3, 3.0) == 1.0  # at rho = 1 every request waits


def test_erlang_c_is_stable_for_large_farms():
    value = erlang_c(500, 480.0)
    assert 0 < value < 1 and math.isfinite(value)


def test_mm1_mean_response_and_percentile():
    queue = mmc(arrival_rate=8.0, service_rate=10.0, servers=1)
    assert queue.stable and queue.utilization == pytest.approx(0.8)
    assert queue.mean_response == pytest.approx(1 / (10 - 8))  # M/M/1: 1 / (mu - lambda)
    # M/M/1 response time is Exp(mu - lambda): its q-quantile is -ln(1 - q) / (mu - lambda)
    assert response_percentile(0.95, 8.0, 10.0, 1) == pytest.approx(-math.log(0.05) / 2, rel=1e-6)


def test_percentile_without_queueing_is_the_service_time_quantile():
    # almost no load: T is the service time, Exp(mu)
    assert response_percentile(0.5, 1e-9, 4.0, 8) == pytest.approx(math.log(2) / 4, rel=1e-6)


def test_overload_is_unstable():
    queue = mmc(arrival_rate=20.0, service_rate=10.0, servers=2)
    assert not queue.stable and queue.mean_response == math.inf and queue.utilization == 1.0
    assert response_percentile(0.9, 20.0, 10.0, 2) == math.inf


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_latency_grows_with_the_rate_and_falls_with_instances(name):
    profile = PROFILES[name]
    rates = [10, 100, 300, 600]
    one = [serve(profile, rate, 2).latency_ms for rate in rates]
    assert one == sorted(one)
    more = [serve(profile, 600, count).latency_ms for count in (1, 2, 4, 8)]
    assert more == sorted(more, reverse=True)
    overloaded = serve(profile, 1e7, 1)
    assert not overloaded.stable and overloaded.latency_ms == profile.timeout_ms and overloaded.cpu <= 100


def test_profiles_show_what_each_bottleneck_looks_like():
    # the same rate, each at about 80 % of one instance's capacity
    cpu = serve(PROFILES["cpu_bound"], 0.8 * 60 * 4 * 1000 / 50, 1)
    io = serve(PROFILES["io_bound"], 0.8 * 60 * 32 * 1000 / 200, 1)
    gpu = serve(PROFILES["gpu_bound"], 0.8 * 60 * 1000 / 400, 1)
    assert cpu.cpu > 75 and cpu.gpu == 0
    assert io.cpu < 25 and io.gpu == 0  # I/O-bound: CPU alone would never scale it; requests or latency do
    assert gpu.gpu > 75 and gpu.cpu < 30  # GPU-bound: CPU alone would never scale it; GPU does
    for reading in (cpu, io, gpu):
        assert reading.utilization == pytest.approx(0.8) and reading.latency_p95_ms > reading.latency_ms


def test_a_bigger_rung_adds_workers():
    profile = PROFILES["gpu_bound"]
    assert servers(profile, 1, scale=2) == 2  # an A10.2 has two GPUs
    assert serve(profile, 200, 1, scale=2).latency_ms < serve(profile, 200, 1).latency_ms


def test_instances_for_a_latency_objective():
    profile = PROFILES["gpu_bound"]
    count = instances_for(profile, 300, latency_slo_ms=1000)
    assert count is not None
    assert serve(profile, 300, count).latency_ms <= 1000 < serve(profile, 300, count - 1).latency_ms
    assert instances_for(profile, 1e9, latency_slo_ms=1, limit=3) is None
