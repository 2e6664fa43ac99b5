"""A pure queueing model of a model deployment serving predict requests: request rate and capacity in, latency
and utilization out. No I/O, no clock: the tests, the demo and the benchmark can all import it.

The model is M/M/c: Poisson arrivals at rate λ, exponential service at rate μ per server, c identical servers
sharing one queue (the deployment's load balancer spreads requests over its instances; each instance runs
`workers` requests at once, so c = instances x workers). With the offered load a = λ/μ (in Erlangs) and the
utilization ρ = a/c < 1:

    Erlang B by recursion:  B(0) = 1,  B(k) = a B(k-1) / (k + a B(k-1))
    Erlang C (a request waits):  C(c, a) = B(c, a) / (1 - ρ (1 - B(c, a)))
    waiting time:  P(W > t) = C e^{-(cμ - λ) t},  mean W = C / (cμ - λ)
    response time:  T = W + S with S ~ Exp(μ);  mean T = C / (cμ - λ) + 1/μ

Sources: L. Kleinrock, "Queueing Systems, Volume 1: Theory" (Wiley, 1975), chapter 3, the M/M/m queue (Erlang's C
formula and its waiting-time distribution); M. Harchol-Balter, "Performance Modeling and Design of Computer
Systems" (Cambridge University Press, 2013), chapter 14, server farms M/M/k and M/M/k/k (Erlang C, the mean
response time, and computing C from B for numerical stability). The response-time percentile inverts
P(T > t) = (1 - C) e^{-μt} + C P(S + W' > t), W' ~ Exp(cμ - λ), a hypoexponential tail, by bisection.

What it is not: real serving has batching, warm-up, non-exponential service times and per-instance queues behind
a load balancer. Use it to see the shape of the curves (latency explodes as ρ -> 1; more instances at the same
rate lower it), not to predict a deployment's numbers: measure those.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Queue:
    """The steady state of an M/M/c queue (times in seconds)."""

    servers: int
    utilization: float  # ρ = λ / (c μ); 1.0 when overloaded
    wait_probability: float  # Erlang C; 1.0 when overloaded
    mean_wait: float  # inf when overloaded
    mean_response: float  # inf when overloaded
    stable: bool


def erlang_b(servers: int, offered: float) -> float:
    """Erlang B (blocking probability of M/M/c/c) by the stable recursion."""
    if servers < 0 or offered < 0:
        raise ValueError("servers and offered load must be >= 0")
    b = 1.0
    for k in range(1, servers + 1):
        b = offered * b / (k + offered * b)
    return b


def erlang_c(servers: int, offered: float) -> float:
    """Erlang C: the probability that an arriving request waits (offered load a = λ/μ < servers)."""
    if servers < 1:
        raise ValueError("at least one server")
    rho = offered / servers
    if rho >= 1:
        return 1.0
    b = erlang_b(servers, offered)
    return b / (1 - rho * (1 - b))


def mmc(arrival_rate: float, service_rate: float, servers: int) -> Queue:
    """M/M/c with arrivals and service per second."""
    if arrival_rate < 0 or service_rate <= 0 or servers < 1:
        raise ValueError("arrival_rate >= 0, service_rate > 0 and servers >= 1")
    offered = arrival_rate / service_rate
    rho = offered / servers
    if rho >= 1:
        return Queue(servers, 1.0, 1.0, math.inf, math.inf, False)
    c = erlang_c(servers, offered)
    wait = c / (servers * service_rate - arrival_rate)
    return Queue(servers, rho, c, wait, wait + 1 / service_rate, True)


def response_percentile(q: float, arrival_rate: float, service_rate: float, servers: int) -> float:
    """The q-quantile of the response time (seconds) of M/M/c; inf when overloaded."""
    if not 0 < q < 1:
        raise ValueError("q must be in (0, 1)")
    queue = mmc(arrival_rate, service_rate, servers)
    if not queue.stable:
        return math.inf
    mu, theta, c = service_rate, servers * service_rate - arrival_rate, queue.wait_probability

    def tail(t: float) -> float:  # P(T > t)
        if abs(theta - mu) < 1e-12 * mu:
            both = (1 + mu * t) * math.exp(-mu * t)
        else:
            both = (theta * math.exp(-mu * t) - mu * math.exp(-theta * t)) / (theta - mu)
        return (1 - c) * math.exp(-mu * t) + c * both

    low, high = 0.0, 1 / mu
    while tail(high) > 1 - q:
        high *= 2
    for _ in range(100):
        middle = (low + high) / 2
        low, high = (middle, high) if tail(middle) > 1 - q else (low, middle)
    return high


@dataclass(frozen=True)
class Profile:
    """How one instance of a deployment serves: service time, concurrency, and what being busy costs it."""

    name: str
    service_ms: float  # mean time one worker spends on one request
    workers: int  # requests one (reference-size) instance serves at once
    cpu_busy: float  # CPU % of an instance when all its workers are busy
    gpu_busy: float  # GPU % likewise (0: no GPU)
    mem_base: float  # memory % with the model loaded and idle
    mem_busy: float  # memory % added when all workers are busy
    timeout_ms: float = 60_000  # what PredictLatency reads once the queue grows without bound
    cpu_idle: float = 2.0


# Illustrative profiles, not measurements: a CPU-bound model (sklearn, small transformer on CPU) saturates its
# OCPUs; an I/O-bound one (calls a feature store, waits on the network) has many workers and idle CPUs while its
# latency grows; a GPU-bound one (an LLM on an A10) keeps the GPU busy with one request (or batch) at a time.
PROFILES = {
    "cpu_bound": Profile("cpu_bound", service_ms=50, workers=4, cpu_busy=95, gpu_busy=0, mem_base=30, mem_busy=10),
    "io_bound": Profile("io_bound", service_ms=200, workers=32, cpu_busy=25, gpu_busy=0, mem_base=20, mem_busy=20),
    "gpu_bound": Profile("gpu_bound", service_ms=400, workers=1, cpu_busy=30, gpu_busy=97, mem_base=45, mem_busy=5),
}


@dataclass(frozen=True)
class Reading:
    """What the deployment's metrics would read over a minute at this load (utilizations: per-instance means)."""

    requests_per_min: float  # PredictRequestCount[1m].sum()
    latency_ms: float  # PredictLatency[1m].mean()
    latency_p95_ms: float
    cpu: float  # CpuUtilization %
    gpu: float  # GPUCoreUtilization %
    mem: float  # MemoryUtilization %
    utilization: float  # ρ
    stable: bool


def servers(profile: Profile, instances: int, scale: float = 1.0) -> int:
    """Concurrent requests the deployment serves: instances x workers, workers multiplied by `scale` (the rung's
    size relative to the profile's reference instance: 2 for twice the OCPUs, or the GPUs of an A10.2)."""
    if instances < 1 or scale <= 0:
        raise ValueError("at least one instance and a positive scale")
    return instances * max(1, round(profile.workers * scale))


def serve(profile: Profile, requests_per_min: float, instances: int, scale: float = 1.0) -> Reading:
    """The metrics of `instances` instances of `profile` (each `scale` x the reference size) at this request rate."""
    c = servers(profile, instances, scale)
    arrival, service = requests_per_min / 60, 1000 / profile.service_ms
    queue = mmc(arrival, service, c)
    rho = queue.utilization
    if queue.stable:
        mean_ms = queue.mean_response * 1000
        p95_ms = response_percentile(0.95, arrival, service, c) * 1000
    else:
        mean_ms = p95_ms = profile.timeout_ms
    mean_ms, p95_ms = min(mean_ms, profile.timeout_ms), min(p95_ms, profile.timeout_ms)
    return Reading(
        requests_per_min=requests_per_min,
        latency_ms=mean_ms,
        latency_p95_ms=p95_ms,
        cpu=min(100.0, profile.cpu_idle + (profile.cpu_busy - profile.cpu_idle) * rho),
        gpu=min(100.0, profile.gpu_busy * rho),
        mem=min(100.0, profile.mem_base + profile.mem_busy * rho),
        utilization=rho,
        stable=queue.stable,
    )


def instances_for(
    profile: Profile, requests_per_min: float, latency_slo_ms: float, scale: float = 1.0, limit: int = 1000
) -> int | None:
    """The fewest instances whose mean latency meets the objective at this rate (None: not within `limit`)."""
    for count in range(1, limit + 1):
        reading = serve(profile, requests_per_min, count, scale)
        if reading.stable and reading.latency_ms <= latency_slo_ms:
            return count
    return None
