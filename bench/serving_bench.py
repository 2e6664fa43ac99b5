"""Serving on the priced yardstick: request-driven traces, the M/M/c serving model, the real function, the exact
optimum (bench/SERVING.md tells the method; bench/serving_results.md holds the tables).

Each profile's traces run as deployments of bench/sim.py's closed loop (its Store, Monitoring, update draws,
billing and alarm delivery); only what a minute publishes differs: a request rate meets the M/M/c model
(emulator/serving.py) instead of CPU demand meeting OCPUs. A minute whose mean latency is over the profile's SLO is
a violation minute; hours are OCPU-hours (CPU shapes) or GPU-hours. J_k = H + λ_k·V with λ_k = k·H0*/T against the
exact minimum (bench/optimum.py's program over the same mechanics, `Program.of_table`), as bench/priced.py prices
the CPU bench. The rivals, CPU-based scaling (the function with signals cpu, swept over cpu_target) and request
target tracking (SageMaker-style on requests per instance, swept over its target), are tuned per k on seeds 0-4
(bench/serving_frozen.json); ours (signals requests,latency, and gpu,latency on the GPU profile) runs one setting.

    python -m bench.serving_bench            # tune on seeds 0-4, score held-out seeds 1000-1009, 1 day each
    python -m bench.serving_bench --quick    # half a day, 1 tuning seed, 1 held-out seed: what the test runs
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from autoscaler.constants import HIGH_TITLE, alarm_query, mql_number
from autoscaler.domain import Capacity, Shape
from autoscaler.forecast import MIN_HISTORY_HOURS
from bench import priced
from bench.optimum import KS, NAME, Program, solve_program
from bench.policies import Ours, TargetTracking, alarm, terraform_defaults
from bench.report import bounds_dict
from bench.sim import COMPARTMENT, LADDER, NAMESPACE, Controller, SimConfig, Simulation, deployment_id, start_time
from emulator.serving import PROFILES, Profile, mmc, servers

HERE = Path(__file__).resolve().parent
FROZEN = HERE / "serving_frozen.json"
RESULTS = HERE / "serving_results.md"
DAY = 1440
HELD_OUT = 1000  # the first held-out seed
E4_1 = Shape(name="VM.Standard.E4.Flex", ocpus=1, memory_gbs=16)
A10_1 = Shape(name="VM.GPU.A10.1")
# The reference instance of each profile in emulator/serving.py: one E4.Flex OCPU for the CPU shapes, one A10 GPU.
PROFILE_SHAPE = {"cpu_bound": E4_1, "io_bound": E4_1, "gpu_bound": A10_1}
PROFILE_NAMES = tuple(PROFILE_SHAPE)
FAMILIES = ("diurnal", "bursts", "steps", "ramps", "noisy")
TARGET_SHARE = 0.7  # ours' requests_target = this x one reference instance's saturation rate (a load test's)
SLO_MULTIPLE = 5.0  # latency_slo_ms = this x the profile's base service time
# Ours: the function with these signals, one setting for every k (as in the CPU bench).
OURS = {
    "cpu_bound": ("requests,latency",),
    "io_bound": ("requests,latency",),
    "gpu_bound": ("requests,latency", "gpu,latency"),
}
RIVALS = ("cpu", "tt")
# The rivals' grids. cpu: the function's cpu_target at these points of the CPU-bound profile's curve (70 is the
# default), moved onto the profile's own CPU range with the Terraform high threshold (target + 5) and the low
# threshold (target x 2/7, 20 at 70) moved alike: what a user sweeping cpu_target on this deployment would set.
# tt: target tracking's requests per instance per minute, as shares of one instance's saturation rate.
CPU_TARGETS = (40, 55, 70, 85)
TT_SHARES = (0.5, 0.6, 0.7, 0.8, 0.9)


def config_for(profile: str) -> SimConfig:
    """The simulator's mechanics for a serving profile: bench/sim.py's defaults (update durations and draws,
    delivery delay, evaluation slack, billing the larger set while UPDATING), instances 1-8 of the profile's shape,
    no warm-up (the serving model has none: each minute is its steady state)."""
    return SimConfig(min_instances=1, max_instances=8, ladder=(PROFILE_SHAPE[profile],), warmup_minutes=0)


def options(config: SimConfig) -> list[Capacity]:
    return [Capacity(n, s) for s in config.ladder for n in range(config.min_instances, config.max_instances + 1)]


@dataclass(frozen=True)
class Calibration:
    """What the user configures for a profile, from the model (a load test)."""

    profile: str
    shape: Shape
    saturation_rate: float  # requests/min one reference instance serves at utilization 1 (60 x workers / S)
    slo_ms: float
    requests_target: float  # ours' AUTOSCALE_REQUESTS_TARGET (per instance per minute)


def calibration(profile: str) -> Calibration:
    base = PROFILES[profile]
    saturation = 60 * base.workers * 1000 / base.service_ms
    return Calibration(
        profile,
        PROFILE_SHAPE[profile],
        saturation,
        SLO_MULTIPLE * base.service_ms,
        float(round(TARGET_SHARE * saturation)),
    )


def scale_of(shape: Shape) -> float:
    """Size of one instance relative to the profile's reference instance: GPUs, else OCPUs."""
    if shape.gpus is not None:
        return float(shape.gpus)
    return float(shape.size[0]) if shape.size else 1.0


def units(capacity: Capacity) -> float:
    """What an hour of this capacity bills: GPUs for GPU shapes, else OCPUs."""
    return capacity.instance_count * scale_of(capacity.shape)


def billed(serving: Capacity, configured: Capacity, config: SimConfig) -> float:
    """Units billed in a minute, as bench.sim.billed bills OCPUs: while UPDATING the old capacity serves and the new
    one is configured."""
    if config.bill_both_sets and serving.shape != configured.shape:
        return units(serving) + units(configured)
    return max(units(serving), units(configured))


@dataclass(frozen=True)
class Minute:
    latency_ms: float  # mean response time (what PredictLatency reads), the profile's timeout when overloaded
    cpu: float
    gpu: float
    mem: float
    rho: float


@lru_cache(maxsize=1_000_000)
def reading(profile: Profile, rate: int, instances: int, scale: float) -> Minute:
    """emulator.serving.serve's mean latency and utilizations (not its p95: the score reads the mean), op for op."""
    arrival, service = rate / 60, 1000 / profile.service_ms
    queue = mmc(arrival, service, servers(profile, instances, scale))
    rho = queue.utilization
    mean_ms = min(queue.mean_response * 1000, profile.timeout_ms) if queue.stable else profile.timeout_ms
    return Minute(
        mean_ms,
        min(100.0, profile.cpu_idle + (profile.cpu_busy - profile.cpu_idle) * rho),
        min(100.0, profile.gpu_busy * rho),
        min(100.0, profile.mem_base + profile.mem_busy * rho),
        rho,
    )


# -- traces: request rate (requests/min) -------------------------------------------------------------------------


def _rng(*key) -> np.random.Generator:
    digest = hashlib.sha256(":".join(map(str, key)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def load_shape(family: str, seed: int, minutes: int) -> tuple[np.ndarray, dict]:
    """Load in units of one reference instance's saturation rate (1.0 = one instance at utilization 1), with the
    parameters drawn for this seed."""
    rng = _rng("load", family, seed)
    t = np.arange(minutes, dtype=float)
    if family == "diurnal":
        low, high = rng.uniform(0.3, 0.8), rng.uniform(2.5, 4.5)
        peak, sharp = rng.uniform(11, 17) * 60, rng.uniform(1.0, 2.5)
        wave = ((1 + np.cos(2 * np.pi * (t - peak) / DAY)) / 2) ** sharp
        noise = np.convolve(rng.normal(0, 0.05, minutes), np.ones(10) / 10, mode="same") * np.sqrt(10)
        load = (low + (high - low) * wave) * (1 + noise)
        params = dict(low=low, high=high, peak_hour=peak / 60, sharpness=sharp)
    elif family == "bursts":
        base = rng.uniform(0.6, 1.5)
        load = np.full(minutes, base)
        count = int(rng.integers(4, 9) * max(1, minutes // DAY))
        for _ in range(count):
            start = rng.uniform(0, max(1, minutes - 60))
            rise, hold, decay = rng.uniform(1, 5), rng.uniform(10, 45), rng.uniform(5, 20)
            height = rng.uniform(1.5, 3.5)
            up = np.clip((t - start) / rise, 0, 1)
            down = np.clip(1 - (t - start - rise - hold) / decay, 0, 1)
            load = load + height * np.minimum(up, down)
        params = dict(base=base, bursts=count)
    elif family in ("steps", "ramps"):
        load = np.empty(minutes)
        level, at, changes = rng.uniform(0.4, 2.0), 0, 0
        first = level
        while at < minutes:
            hold = int(rng.uniform(60, 240) if family == "steps" else rng.uniform(60, 180))
            load[at : at + hold] = level
            at += hold
            new = rng.uniform(0.4, 4.5)
            if family == "ramps" and at < minutes:
                span = int(rng.uniform(20, 120))
                load[at : at + span] = np.linspace(level, new, span + 2)[1:-1][: max(0, min(span, minutes - at))]
                at += span
            level, changes = new, changes + 1
        params = dict(first=first, changes=changes, top=load.max())
    elif family == "noisy":
        base, phi, sd = rng.uniform(1.0, 2.5), rng.uniform(0.9, 0.98), rng.uniform(0.2, 0.4)
        x = np.empty(minutes)
        x[0] = rng.normal(0, sd)
        shocks = rng.normal(0, sd * np.sqrt(1 - phi**2), minutes)
        for i in range(1, minutes):
            x[i] = phi * x[i - 1] + shocks[i]
        load = base * np.exp(x - sd**2 / 2)
        spikes = rng.integers(0, minutes, int(rng.integers(3, 8)))
        load[spikes] *= rng.uniform(1.5, 2.5, len(spikes))
        params = dict(base=base, phi=phi, sd=sd)
    else:
        raise ValueError(f"unknown trace family {family!r}")
    return np.clip(load, 0.05, 5.5), {k: round(float(v), 2) for k, v in params.items()}


@dataclass(frozen=True)
class Trace:
    """A request trace, shaped for bench.sim's loop: it hands each minute's `cpu` (here the request rate) to the
    serving simulation's `_publish`."""

    name: str  # family#seed
    family: str
    seed: int
    load: np.ndarray  # in saturation units of the model
    rate: np.ndarray  # requests per minute (integers): Poisson counts drawn once per trace, the same for every policy
    params: dict

    @property
    def minutes(self) -> int:
        return len(self.rate)

    @property
    def cpu(self) -> np.ndarray:
        return self.rate.astype(float)

    @property
    def base_gb(self) -> np.ndarray:
        return np.zeros(len(self.rate))


def make_trace(family: str, seed: int, cal: Calibration, minutes: int) -> Trace:
    load, params = load_shape(family, seed, minutes)
    rate = _rng("poisson", family, seed, cal.profile).poisson(load * cal.saturation_rate)
    return Trace(f"{family}#{seed}", family, seed, load, rate.astype(np.int64), params)


def start_capacity(trace: Trace, cal: Calibration, config: SimConfig) -> Capacity:
    """What a user would create: the fewest instances that serve the first hour's busiest minute at no more than
    ours' `requests_target` each (the same start for every policy)."""
    count = math.ceil(int(trace.rate[:60].max()) / cal.requests_target)
    return Capacity(min(max(count, config.min_instances), config.max_instances), cal.shape)


# -- the closed loop: bench/sim.py's, publishing what the serving model gives ------------------------------------


@dataclass
class Series:
    """One deployment under one policy, minute by minute."""

    trace: Trace
    start: Capacity
    serving: list[int] = field(default_factory=list)  # instances serving
    billed: list[float] = field(default_factory=list)  # OCPUs or GPUs billed
    latency: list[float] = field(default_factory=list)  # mean ms (what PredictLatency reads)
    cpu: list[float] = field(default_factory=list)
    gpu: list[float] = field(default_factory=list)
    rho: list[float] = field(default_factory=list)
    actions: list[tuple[int, Capacity, Capacity]] = field(default_factory=list)  # (minute seen, before, after)


class ServingSimulation(Simulation):
    """bench.sim.Simulation over request traces: the same Store (update draws by kind at the minute made, the old
    capacity serving while UPDATING), Monitoring (alarm evaluation, slack) and delivery of alarm messages; each
    minute publishes per instance CpuUtilization, MemoryUtilization and (GPU shapes) GPUCoreUtilization, and per
    deployment PredictRequestCount (the minute's count) and PredictLatency (its mean in ms), from the M/M/c model
    at the serving capacity. The pooled queue has no instance imbalance and no warm-up."""

    def __init__(self, profile: str, traces: list[Trace], controller: Controller, starts: list[Capacity] | None = None):
        self.profile, self.cal, self.model = profile, calibration(profile), PROFILES[profile]
        config = config_for(profile)
        starts = starts or [start_capacity(trace, self.cal, config) for trace in traces]
        super().__init__(traces, controller, config, starts)
        tags = getattr(controller, "tags", None)
        if tags is not None:  # the deployment's overrides, as Terraform's module writes them
            state = self.store.dump()
            for body in state["modelDeployments"]:
                body["freeformTags"] = tags(body["id"])
            self.store.load(state)
        self.series = {md_id: Series(self.traces[md_id], self.initial[md_id]) for md_id in self.ids}

    def _publish(self, md_id: str, d, minute: int, now: float) -> None:
        serving, post = d.serving, self.monitoring.post
        rate = int(d.cpu[minute])
        r = reading(self.model, rate, serving.instance_count, scale_of(serving.shape))
        gpu_shape = serving.shape.gpus is not None
        for instance_id, _ in d.instances:  # pooled M/M/c: every instance equally busy
            dims = {"resourceId": md_id, "instanceId": instance_id}
            post(COMPARTMENT, NAMESPACE, "CpuUtilization", dims, [(now, r.cpu)])
            post(COMPARTMENT, NAMESPACE, "MemoryUtilization", dims, [(now, r.mem)])
            if gpu_shape:
                post(COMPARTMENT, NAMESPACE, "GPUCoreUtilization", dims, [(now, r.gpu)])
        post(COMPARTMENT, NAMESPACE, "PredictRequestCount", {"resourceId": md_id}, [(now, rate)])
        if rate > 0:
            post(
                COMPARTMENT,
                NAMESPACE,
                "PredictLatency",
                {"resourceId": md_id, "result": "Success"},
                [(now, r.latency_ms)],
            )
        s = self.series[md_id]
        s.serving.append(serving.instance_count)
        s.billed.append(billed(serving, d.configured, self.config))
        s.latency.append(r.latency_ms)
        s.cpu.append(r.cpu)
        s.gpu.append(r.gpu)
        s.rho.append(r.rho)


# -- the policies -------------------------------------------------------------------------------------------------


class Function(Ours):
    """The real function (bench.policies.Ours over the in-process SDK fakes, with its hourly reconcile tick): the
    deployment carries the override tags Terraform's module writes (signals, requests_target, latency_slo_ms, and
    for the CPU rival cpu_target and cpu_low_threshold); Terraform's high alarms exist for its signals among cpu,
    mem, gpu and latency; the function converges its own (low and request alarms) on its first tick."""

    def __init__(self, name: str, profile: str, signals: str, cpu: dict | None = None, predict: bool = False):
        self.cal, self.signals, self.cpu = calibration(profile), tuple(signals.split(",")), cpu
        high = {"gpu": terraform_defaults()["gpu_high_threshold"]}
        if cpu:
            high["cpu"] = mql_number(cpu["high"])
        ladder = ",".join(map(str, LADDER))  # the function's CPU ladder (its modes here are horizontal)
        env = {"AUTOSCALE_SHAPE_LADDER": ladder, "AUTOSCALE_PREDICT": "true" if predict else "false"}
        super().__init__(name, high=high, transport="fakes", **env)

    def alarms(self, md_id: str) -> list[dict]:
        h, out = self.high, []
        for metric in ("cpu", "mem", "gpu", "latency"):
            if metric in self.signals:
                threshold = self.cal.slo_ms if metric == "latency" else float(h[metric])
                query = alarm_query(metric, md_id, ">", threshold)
                name = f"md-autoscale-high-{metric}"
                out.append(alarm(md_id, name, HIGH_TITLE[metric], query, h["pending"], h["repeat"]))
        return out

    def tags(self, md_id: str) -> dict[str, str]:
        tags = {
            "autoscale_signals": ",".join(self.signals),
            "autoscale_requests_target": mql_number(self.cal.requests_target),
            "autoscale_latency_slo_ms": mql_number(self.cal.slo_ms),
        }
        if self.cpu:
            tags["autoscale_cpu_target"] = mql_number(self.cpu["target"])
            tags["autoscale_cpu_low_threshold"] = mql_number(self.cpu["low"])
        return tags


class RequestTracking(TargetTracking):
    """Target tracking on requests per instance (SageMaker's InvocationsPerInstance, Application Auto Scaling's
    form: bench.policies.TargetTracking's `sagemaker`): desired = ⌈instances × requests per instance ÷ target⌉,
    from `PredictRequestCount[1m]{resourceId = …}.grouping().sum()` over the minute that ends the evaluation slack
    before now, divided by the instances that served it."""

    def __init__(self, name: str, target: float):
        super().__init__(name, "sagemaker", target=target)

    def _metric(self, md_id: str, now: float) -> float | None:
        from emulator.monitoring import parse_query

        query = self._queries.get(md_id)
        if query is None:
            query = parse_query(f'PredictRequestCount[1m]{{resourceId = "{md_id}"}}.grouping().sum()')
            self._queries[md_id] = query
        slack = self.sim.config.slack_minutes
        values = self.sim.monitoring.stream_values(COMPARTMENT, NAMESPACE, query, now - 60 * slack)
        if not values:
            return None
        serving = self.sim.series[md_id].serving
        return next(iter(values.values()))[1] / serving[max(0, len(serving) - 1 - round(slack))]


def cpu_setting(profile: str, reference_target: float) -> dict[str, float]:
    """cpu_target, Terraform's high threshold and cpu_low_threshold for a target given on the CPU-bound profile's
    curve, moved onto this profile's CPU range (the same utilization ρ)."""
    reference, own = PROFILES["cpu_bound"], PROFILES[profile]

    def moved(percent: float) -> float:
        rho = (percent - reference.cpu_idle) / (reference.cpu_busy - reference.cpu_idle)
        return round(own.cpu_idle + (own.cpu_busy - own.cpu_idle) * rho, 1)

    t = reference_target
    return {"target": moved(t), "high": moved(t + 5), "low": moved(t * 2 / 7)}


def grid(profile: str) -> dict[str, dict[str, float]]:
    """rival -> {setting name: its value} (cpu: the target on the CPU-bound curve; tt: requests per instance)."""
    cal = calibration(profile)
    cpu = {f"cpu:target={cpu_setting(profile, t)['target']:g}": t for t in CPU_TARGETS}
    tt = {
        f"tt:target={round(share * cal.saturation_rate):g}": round(share * cal.saturation_rate) for share in TT_SHARES
    }
    return {"cpu": cpu, "tt": tt}


def make_policy(profile: str, name: str, days: float) -> Controller:
    family, _, spec = name.partition(":")
    # The forecast stays out on less than MIN_HISTORY_HOURS of history whatever it reads, so off changes no decision
    # on a run no longer than that; on, each scale-in would read 15 days of hourly CPU history (most of the time).
    predict = days * 24 > MIN_HISTORY_HOURS
    if family == "ours":
        return Function(name, profile, spec, predict=predict)
    settings = grid(profile)
    if family == "cpu" and name in settings["cpu"]:
        return Function(name, profile, "cpu", cpu_setting(profile, settings["cpu"][name]), predict=predict)
    if family == "tt" and name in settings["tt"]:
        return RequestTracking(name, settings["tt"][name])
    raise ValueError(f"unknown serving policy {name!r} on {profile}")


# -- cases, the exact bound, scores -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    """What bench/priced.py prices: `ocpu_hours` holds the billed unit-hours (GPU-hours on GPU shapes)."""

    policy: str
    case: str
    profile: str
    family: str
    seed: int
    ocpu_hours: float
    violation_minutes: int  # minutes whose mean latency is over the SLO
    severity: float  # Σ over them of latency ÷ SLO
    actions: int
    bounds: dict | None = None  # on the exact policy's score: priced.py's bounds


def case_name(profile: str, trace: Trace) -> str:
    return f"{profile} {trace.name}"


def score(policy: str, profile: str, series: Series, slo: float) -> Score:
    over = [v for v in series.latency if v > slo]
    trace = series.trace
    return Score(
        policy,
        case_name(profile, trace),
        profile,
        trace.family,
        trace.seed,
        sum(series.billed) / 60,
        len(over),
        sum(v / slo for v in over),
        len(series.actions),
    )


def program(profile: str, trace: Trace, md_id: str, start: Capacity) -> Program:
    """The exact program of one deployment: each option's mean latency per minute against the SLO, units billed as
    the simulation bills them, the simulator's update draws for `md_id`."""
    config, cal, model = config_for(profile), calibration(profile), PROFILES[profile]
    choices = options(config)
    hot = np.array(
        [[reading(model, int(r), o.instance_count, scale_of(o.shape)).latency_ms for r in trace.rate] for o in choices]
    )
    bill = lambda a, b: billed(a, b, config)  # noqa: E731
    return Program.of_table(choices, hot, cal.slo_ms, bill, config, start, md_id, start_time(trace))


@dataclass
class Split:
    """One profile's traces on a range of seeds, as deployments of one simulation, with their exact bounds."""

    profile: str
    traces: list[Trace]
    starts: list[Capacity]
    exact: dict[str, Score]  # case -> the exact optimum's score, carrying the bounds
    seconds: float = 0.0

    @property
    def cases(self) -> list[str]:
        return [case_name(self.profile, t) for t in self.traces]


def split(profile: str, seeds: int, first: int, days: float, families=FAMILIES) -> Split:
    started = time.perf_counter()
    cal, config = calibration(profile), config_for(profile)
    minutes = int(round(days * DAY))
    traces = [make_trace(f, s, cal, minutes) for f in families for s in range(first, first + seeds)]
    starts = [start_capacity(t, cal, config) for t in traces]
    exact = {}
    for index, (trace, start) in enumerate(zip(traces, starts, strict=True)):
        bounds, least = solve_program(program(profile, trace, deployment_id(index, trace.name), start))
        exact[case_name(profile, trace)] = Score(
            NAME,
            case_name(profile, trace),
            profile,
            trace.family,
            trace.seed,
            least.ocpu_hours,
            least.violation_minutes,
            least.severity,
            len(least.actions),
            bounds_dict(bounds),
        )
    return Split(profile, traces, starts, exact, time.perf_counter() - started)


@dataclass
class RunSummary:
    profile: str
    policy: str
    seeds: str  # "tuning" or "held-out"
    scores: dict[str, Score]
    invocations: int
    ticks: int
    statuses: dict[str, int]
    wall_seconds: float
    run: object = None  # bench.sim.Run (series, invocations, ticks) when kept


def run_policy(part: Split, name: str, days: float, keep: bool = False) -> RunSummary:
    seeds = "held-out" if part.traces[0].seed >= HELD_OUT else "tuning"
    controller = make_policy(part.profile, name, days)
    sim = ServingSimulation(part.profile, part.traces, controller, part.starts)
    run = sim.run()
    slo = sim.cal.slo_ms
    scores = {}
    for series in run.series.values():
        s = score(name, part.profile, series, slo)
        scores[s.case] = s
    records = run.invocations + run.ticks
    statuses = Counter(o["status"] for record in records for o in record["outcomes"])
    return RunSummary(
        part.profile,
        name,
        seeds,
        scores,
        len(run.invocations),
        len(run.ticks),
        dict(statuses),
        run.wall_seconds,
        run if keep else None,
    )


# -- tuning, figures, report ---------------------------------------------------------------------------------------


def mean_ratios(scores: dict, names: list[str], cases: list[str]) -> dict[str, dict[int, float]]:
    bounds = priced.bounds_by_case(scores)
    return {
        n: {k: float(np.mean([priced.ratio(scores[(n, c)], bounds[c], k) for c in cases])) for k in KS} for n in names
    }


def freeze(mean_ratio: dict, settings: dict[str, dict]) -> dict[int, dict[str, str]]:
    """Per k, each rival's setting with the least mean R_k (bench/tune.py's rule)."""
    return {
        k: {rival: min(names, key=lambda n, k=k: mean_ratio[n][k]) for rival, names in settings.items()} for k in KS
    }


def comparison(scores: dict, cases: list[str], ours_of, frozen: dict[str, dict]) -> dict:
    """Per k on these cases: ours' win share (J_k ≤ TIE × the rival's, at the rival's setting frozen for the case's
    profile and k) against each rival, and the R_k medians, each with a paired bootstrap 95 % interval."""
    bounds = priced.bounds_by_case(scores)
    cases = [c for c in cases if c in bounds]
    rng = np.random.default_rng(2026)
    draws = rng.integers(0, len(cases), (priced.BOOTSTRAP, len(cases)))
    out: dict = {"cases": len(cases)}
    profile_of = {c: c.split(" ", 1)[0] for c in cases}
    for k in KS:
        exact = np.array([bounds[c]["exact"][str(k)] for c in cases])
        ours = np.array([priced.cost(scores[(ours_of(c), c)], bounds[c], k) for c in cases])
        row = {"ours": priced.interval(ours / exact, np.median, rng, draws)}
        for rival in RIVALS:
            theirs = np.array([priced.cost(scores[(frozen[profile_of[c]][k][rival], c)], bounds[c], k) for c in cases])
            row[f"win {rival}"] = priced.interval((ours <= priced.TIE * theirs).astype(float), np.mean, rng, draws)
            row[rival] = priced.interval(theirs / exact, np.median, rng, draws)
        out[k] = row
    return out


def ours_of(name_by_profile: dict[str, str]):
    return lambda case: name_by_profile[case.split(" ", 1)[0]]


ROWS = (
    # (label, profiles, ours' policy per profile)
    ("io_bound", ("io_bound",), {"io_bound": "ours:requests,latency"}),
    ("gpu_bound", ("gpu_bound",), {"gpu_bound": "ours:requests,latency"}),
    ("gpu_bound", ("gpu_bound",), {"gpu_bound": "ours:gpu,latency"}),
    (
        "io + gpu",
        ("io_bound", "gpu_bound"),
        {"io_bound": "ours:requests,latency", "gpu_bound": "ours:requests,latency"},
    ),
    ("io + gpu", ("io_bound", "gpu_bound"), {"io_bound": "ours:requests,latency", "gpu_bound": "ours:gpu,latency"}),
    ("cpu_bound", ("cpu_bound",), {"cpu_bound": "ours:requests,latency"}),
)


def figures(scores: dict, held: dict[str, Split], frozen: dict) -> list[dict]:
    out = []
    for label, profiles, ours in ROWS:
        if not all(p in held for p in profiles):
            continue
        cases = [c for p in profiles for c in held[p].cases]
        signals = {p: f"`{n.partition(':')[2]}`" for p, n in ours.items()}
        if len(set(signals.values())) == 1:
            named = next(iter(signals.values()))
        else:
            named = ", ".join(f"{s} ({p.removesuffix('_bound')})" for p, s in signals.items())
        out.append({"label": label, "ours": named, **comparison(scores, cases, ours_of(ours), frozen)})
    return out


def goal_table(rows: list[dict]) -> list[str]:
    ci = priced._ci
    lines = [
        "| traces | ours' signals | k | cases | ours ≤ 1.02 × best CPU setting (goal ≥ 90 %) | ours ≤ 1.02 × request "
        "TT | R_k median: ours | CPU (frozen) | request TT (frozen) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        for k in KS:
            r = row[k]
            lines.append(
                f"| {row['label']} | {row['ours']} | {k} | {row['cases']} | {ci(r['win cpu'], True)} | "
                f"{ci(r['win tt'], True)} | {ci(r['ours'])} | {ci(r['cpu'])} | {ci(r['tt'])} |"
            )
    return lines


def verdicts(rows: list[dict]) -> list[str]:
    """The goal, mechanically: ours' win share against the frozen CPU setting on the held-out I/O- and GPU-bound
    traces, per k, against 90 %."""
    out = []
    for row in rows:
        if row["label"] != "io + gpu":
            continue
        for k in KS:
            share, low, high = row[k]["win cpu"]
            word = "MET" if share >= 0.9 else "NOT MET"
            out.append(
                f"- k = {k}, ours {row['ours']}: **{word}**: J_k ≤ 1.02 × the frozen CPU setting's on "
                f"{100 * share:.0f} % of {row['cases']} traces (95 % interval {100 * low:.0f}–{100 * high:.0f} %; "
                "goal ≥ 90 %)."
            )
    return out


def family_tables(scores: dict, held: dict[str, Split], frozen: dict, k: int) -> list[str]:
    lines = []
    for profile, part in held.items():
        cases = set(part.cases)
        mine = {key: s for key, s in scores.items() if key[1] in cases}
        lines += [f"{profile}:", "", priced.family_table(mine, frozen[profile], k, "ours:requests,latency"), ""]
    return lines


def frozen_table(frozen: dict) -> list[str]:
    lines = ["| profile | k | CPU-based scaling | request target tracking |", "|---|---:|---|---|"]
    for profile, per_k in frozen.items():
        for k in KS:
            lines.append(f"| {profile} | {k} | `{per_k[k]['cpu']}` | `{per_k[k]['tt']}` |")
    return lines


def tuning_table(mean_ratio: dict, frozen: dict) -> list[str]:
    lines = ["| profile | setting | " + " | ".join(f"mean R_{k}" for k in KS) + " |", "|---|---|" + "---:|" * len(KS)]
    for profile, per_name in mean_ratio.items():
        for name, per_k in per_name.items():
            rival = name.partition(":")[0]
            cells = [f"**{per_k[k]:.3f}**" if frozen[profile][k][rival] == name else f"{per_k[k]:.3f}" for k in KS]
            lines.append(f"| {profile} | `{name}` | " + " | ".join(cells) + " |")
    return lines


def medians_table(scores: dict, held: dict[str, Split], runs: list[RunSummary]) -> list[str]:
    lines = [
        "| profile | policy | hours billed (median) | latency-SLO min (median / max) | actions (median) |",
        "|---|---|---:|---:|---:|",
    ]
    for profile, part in held.items():
        names = [NAME] + [r.policy for r in runs if r.profile == profile and part.cases[0] in r.scores]
        for name in names:
            s = [scores[(name, c)] for c in part.cases]
            v = [x.violation_minutes for x in s]
            lines.append(
                f"| {profile} | `{name}` | {np.median([x.ocpu_hours for x in s]):.1f} | {np.median(v):g} / {max(v)} | "
                f"{np.median([x.actions for x in s]):g} |"
            )
    return lines


def activity_table(runs: list[RunSummary]) -> list[str]:
    lines = [
        "| profile | seeds | policy | traces | alarm messages | reconcile ticks | outcomes | wall s |",
        "|---|---|---|---:|---:|---:|---|---:|",
    ]
    for r in runs:
        if r.invocations or r.ticks:
            statuses = ", ".join(f"{k} {v}" for k, v in sorted(r.statuses.items()))
            lines.append(
                f"| {r.profile} | {r.seeds} | `{r.policy}` | {len(r.scores)} | {r.invocations} | {r.ticks} | "
                f"{statuses} | {r.wall_seconds:.1f} |"
            )
    return lines


def calibration_table() -> list[str]:
    lines = [
        "| profile | shape | service ms | workers / instance | CPU % at ρ = 1 | GPU % at ρ = 1 "
        "| saturation /min/instance | latency_slo_ms | ours' requests_target /min/instance |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for profile in PROFILE_NAMES:
        p, cal = PROFILES[profile], calibration(profile)
        lines.append(
            f"| {profile} | {cal.shape} | {p.service_ms:g} | {p.workers} | {p.cpu_busy:g} | {p.gpu_busy:g} | "
            f"{cal.saturation_rate:g} | {cal.slo_ms:g} | {cal.requests_target:g} |"
        )
    return lines


def report(args, scores, held, frozen, mean_ratio, runs, rows, runtime, tuned: bool) -> str:
    config = config_for("io_bound")
    updates = ", ".join(f"{kind} {m:g} ± {j:g} min" for kind, (m, j) in config.update_minutes)
    below = priced.no_policy_below(scores)
    held_seeds = f"{HELD_OUT}–{HELD_OUT + args.seeds - 1}" if args.seeds > 1 else f"{HELD_OUT}"
    lines = [
        "# Serving on the priced yardstick",
        "",
        f"Generated by `python -m bench.serving_bench{' --quick' if args.quick else ''}`; method in "
        "[SERVING.md](SERVING.md). "
        f"{args.days:g} day(s) per trace; families {', '.join(FAMILIES)}; rivals tuned on seeds 0–{args.tune_seeds - 1}"
        f"{'' if tuned else ' (frozen settings reused from ' + str(args.frozen) + ')'}, scored on held-out seeds "
        f"{held_seeds}: {sum(len(p.traces) for p in held.values())} traces. Instances 1–8 of the profile's shape; "
        f"updates {updates} (guesses, bench/sim.py's); evaluation slack PT3M; delivery 30 s.",
        "",
        "J_k = H + λ_k·V: H the OCPU-hours (CPU shapes) or GPU-hours billed, V the minutes whose mean latency is over "
        "the profile's `latency_slo_ms`, λ_k = k·H0*/T (H0*: the hours of the cheapest schedule with the fewest "
        "attainable latency-SLO minutes). R_k = J_k / J_k*, J_k* the exact minimum (bench/optimum.py over this "
        "simulation's own mechanics). A win: ours' J_k ≤ 1.02 × the rival's at its frozen setting. Intervals: paired "
        "bootstrap 95 % over traces.",
        "",
        "## Ours against the rivals (held-out seeds)",
        "",
        *goal_table(rows),
        "",
        *verdicts(rows),
        "",
        f"Policies below the exact bound (a bug if any): {len(below)}.",
        "",
        "Median R_100 per family (held-out; ours `requests,latency`, the rivals at their settings frozen for k = 100):",
        "",
        *family_tables(scores, held, frozen, 100),
        "## Frozen settings (bench/serving_frozen.json)",
        "",
        *frozen_table(frozen),
        "",
    ]
    if mean_ratio:
        lines += [f"## Tuning (seeds 0–{args.tune_seeds - 1}): mean R_k per setting, frozen in bold", ""]
        lines += [*tuning_table(mean_ratio, frozen), ""]
    lines += [
        "## Held-out medians",
        "",
        *medians_table(scores, held, runs),
        "",
        "## The user's configuration (from the model)",
        "",
        *calibration_table(),
        "",
        "## Function activity",
        "",
        *activity_table(runs),
        "",
        "## Runtime",
        "",
        *[f"- {k}: {v}" for k, v in runtime.items()],
    ]
    return "\n".join(lines) + "\n"


# -- main ---------------------------------------------------------------------------------------------------------


def function_digest() -> str:
    """Which function the run drove: a digest of its package's source (it changes between runs)."""
    digest = hashlib.sha256()
    for path in sorted((HERE.parent / "functions" / "autoscale" / "autoscaler").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def load_frozen(path: Path) -> dict:
    data = json.loads(path.read_text())
    return {p: {int(k): v for k, v in per_k.items()} for p, per_k in data["frozen"].items()}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.serving_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="half a day, 1 tuning and 1 held-out seed; prints only")
    parser.add_argument("--days", type=float, default=None)
    parser.add_argument("--tune-seeds", type=int, default=None, help="tuning seeds from 0 (default 5)")
    parser.add_argument("--seeds", type=int, default=None, help=f"held-out seeds from {HELD_OUT} (default 10)")
    parser.add_argument("--profiles", default=",".join(PROFILE_NAMES))
    parser.add_argument("--frozen", type=Path, default=None, help="reuse these frozen settings: no tuning runs")
    parser.add_argument("--out", type=Path, default=None, help="report path (default bench/serving_results.md)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.out is None and not args.quick:
        args.out = RESULTS
    args.days = args.days if args.days is not None else (0.5 if args.quick else 1.0)
    args.tune_seeds = args.tune_seeds or (1 if args.quick else 5)
    args.seeds = args.seeds or (1 if args.quick else 10)
    profiles = [p for p in args.profiles.split(",") if p]
    source = function_digest()  # the function as the run starts (its modules are imported from here on)
    started = time.perf_counter()
    scores: dict = {}
    runs: list[RunSummary] = []
    held: dict[str, Split] = {}
    frozen = load_frozen(args.frozen) if args.frozen else {}
    mean_ratio: dict = {}
    bound_seconds = 0.0
    for profile in profiles:
        settings = {rival: list(names) for rival, names in grid(profile).items()}
        if profile not in frozen:
            part = split(profile, args.tune_seeds, 0, args.days)
            bound_seconds += part.seconds
            tuning = dict(((NAME, c), s) for c, s in part.exact.items())
            for name in [n for names in settings.values() for n in names]:
                r = run_policy(part, name, args.days)
                runs.append(r)
                tuning.update(((name, c), s) for c, s in r.scores.items())
                print(f"  tune {profile} {name}: {r.wall_seconds:.1f} s", file=sys.stderr)
            mean_ratio[profile] = mean_ratios(tuning, [n for names in settings.values() for n in names], part.cases)
            frozen[profile] = freeze(mean_ratio[profile], settings)
        part = split(profile, args.seeds, HELD_OUT, args.days)
        bound_seconds += part.seconds
        held[profile] = part
        scores.update(((NAME, c), s) for c, s in part.exact.items())
        chosen = [f"ours:{signals}" for signals in OURS[profile]]
        chosen += sorted({frozen[profile][k][rival] for k in KS for rival in RIVALS})
        for name in chosen:
            r = run_policy(part, name, args.days)
            runs.append(r)
            scores.update(((name, c), s) for c, s in r.scores.items())
            print(f"  held-out {profile} {name}: {r.wall_seconds:.1f} s", file=sys.stderr)
    rows = figures(scores, held, frozen)
    seconds = time.perf_counter() - started
    deployment_days = sum(len(r.scores) for r in runs) * args.days
    runtime = {
        "total": f"{seconds:.0f} s wall (one process) for {len(runs)} simulation runs, {deployment_days:g} "
        "deployment-days",
        "exact bounds": f"{bound_seconds:.1f} s",
        "function": f"{sum(r.invocations for r in runs)} alarm messages and {sum(r.ticks for r in runs)} reconcile "
        f"ticks through the real function (its source at the start: sha256 {source[:12]} of "
        "functions/autoscale/autoscaler/*.py" + (")" if function_digest() == source else "; edited on disk since)"),
    }
    text = report(args, scores, held, frozen, mean_ratio, runs, rows, runtime, tuned=args.frozen is None)
    if args.out is not None:
        args.out.write_text(text)
        if args.frozen is None:
            data = {
                "about": "bench/serving_bench.py: per profile and k, each rival's setting with the least mean R_k on "
                "the tuning seeds",
                "seeds": list(range(args.tune_seeds)),
                "days": args.days,
                "frozen": {p: {str(k): v for k, v in per_k.items()} for p, per_k in frozen.items()},
                "mean_ratio": {
                    p: {n: {str(k): v for k, v in per_k.items()} for n, per_k in per_name.items()}
                    for p, per_name in mean_ratio.items()
                },
            }
            path = FROZEN if args.out == RESULTS else args.out.parent / FROZEN.name
            path.write_text(json.dumps(data, indent=1) + "\n")
    print(text)
    return {"scores": scores, "held": held, "frozen": frozen, "runs": runs, "rows": rows, "text": text}


if __name__ == "__main__":
    main()
