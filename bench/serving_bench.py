"""Issue 15 in closed loop: request-driven traces, the M/M/c serving model, the real function on a virtual clock.

Each virtual minute, for every deployment of a profile (method: bench/SERVING.md):

- the request rate of the minute (requests/min, Poisson counts around a trace) meets the capacity that serves (the
  deployment's configuration once it is ACTIVE again); `emulator.serving.serve` (M/M/c) gives the mean and p95
  response time, the utilization and each instance's CpuUtilization, MemoryUtilization and GPUCoreUtilization;
- those are posted into the emulator's Monitoring as the service would: per instance (resourceId, instanceId) for
  CPU, memory and GPU, per deployment for PredictRequestCount (resourceId; the minute's count) and PredictLatency
  (resourceId, result; the mean in ms);
- the Store's alarms are evaluated by that Monitoring (pending, repeat, evaluation slack: OCI's default PT3M unless
  --slack says otherwise) and their messages delivered `delivery_delay_seconds` later to the REAL function
  (`parse_message` + `handle_message` over `OciGateway(FakeDataScienceClient, FakeMonitoringClient)` on the same
  Store: the function confirms the firing with the same alarm state);
- the Store keeps an update UPDATING for a drawn number of minutes (GUESSES: OCI documents no duration), during
  which the old capacity serves and the larger of the two is billed.

Self-contained on purpose: bench/sim.py and bench/policies.py are being rewritten, so nothing is imported from them.

    python -m bench.serving_bench            # the full grid + sensitivity, writes bench/serving_results.md
    python -m bench.serving_bench --quick    # 1 day, 1 seed, no sensitivity (< 60 s): what the test runs
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import math
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from autoscaler.constants import HIGH_TITLE, METRIC_NAMES, NAMESPACE, OWNER_TAG, OWNER_VALUE, mql_number
from autoscaler.domain import Capacity, Shape
from autoscaler.forecast import MIN_HISTORY_HOURS
from autoscaler.messages import parse_message
from autoscaler.oci_gateway import OciGateway
from autoscaler.owned_alarms import AlarmTemplate, converge, wanted_alarms
from autoscaler.service import handle_message
from autoscaler.settings import Policy as FunctionPolicy
from autoscaler.settings import load_settings
from bench.sim import read_capacity
from emulator.monitoring import Monitoring
from emulator.serving import PROFILES, Profile, serve
from emulator.store import Store

ROOT = Path(__file__).resolve().parents[1]
COMPARTMENT = "ocid1.compartment.oc1..servingbench"
TOPIC = "ocid1.onstopic.oc1.iad.servingbench"
START = 1_767_571_200.0  # Monday 2026-01-05 00:00 UTC: virtual time of minute 0
DAY = 1440
E4_1 = Shape(name="VM.Standard.E4.Flex", ocpus=1, memory_gbs=16)
A10_1 = Shape(name="VM.GPU.A10.1")
# The reference instance of each profile in emulator/serving.py: one E4.Flex OCPU for the CPU shapes, one A10 GPU.
PROFILE_SHAPE = {"cpu_bound": E4_1, "io_bound": E4_1, "gpu_bound": A10_1}
FAMILIES = ("diurnal", "bursts", "steps", "ramps", "noisy")
# Which policies run on which profile (`gpu` only where there is a GPU).
POLICIES = {
    "cpu_bound": ("cpu", "requests", "requests+cpu", "requests-only", "native", "oracle"),
    "io_bound": ("cpu", "cpu-tuned", "requests", "requests+cpu", "requests-only", "native", "oracle"),
    "gpu_bound": ("cpu", "cpu-tuned", "requests", "requests-only", "gpu", "gpu-ladder", "native", "oracle"),
}
# signals of the function's policies (deployment tag autoscale_signals, as Terraform's overrides.signals writes it)
FUNCTION_SIGNALS = {
    "cpu": "cpu,mem",  # today's default
    "cpu-tuned": "cpu,mem",  # the same, CPU target and thresholds moved to this profile's CPU range (see Function)
    "requests": "requests,latency",
    "requests+cpu": "requests,latency,cpu",
    "requests-only": "requests",  # ablation: what the latency alarm's one step adds (or costs) to request sizing
    "gpu": "gpu,latency",
    "gpu-ladder": "gpu,latency",  # gpu_mode = latency_mode = vertical: VM.GPU.A10.1 <-> VM.GPU.A10.2, count kept
}


# -- configuration -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    days: float = 1.0
    seeds: int = 5
    families: tuple[str, ...] = FAMILIES
    # None: each alarm's evaluationSlackDuration, OCI's default PT3M (CreateAlarmDetails); a number overrides all
    slack_seconds: float | None = None
    delivery_delay_seconds: float = 30.0  # alarm evaluation -> the function receives the message (a guess)
    # UPDATING time (mean, +- uniform jitter) in minutes by what an update changes. GUESSES: OCI documents no
    # duration for a model deployment update; a new instance must boot and load the model.
    count_update_minutes: tuple[float, float] = (10.0, 2.0)
    shape_update_minutes: tuple[float, float] = (12.0, 3.0)
    min_instances: int = 1
    max_instances: int = 8
    # The serving MODEL underneath (sensitivity): service time and concurrency per instance multiplied by these.
    # The user's configuration (SLO, requests_target, thresholds) and the traces stay those of the base model.
    service_scale: float = 1.0
    workers_scale: float = 1.0
    score: str = "mean"  # the latency statistic scored against the SLO: "mean" or "p95"
    target_share: float = 0.7  # requests_target = this x one reference instance's saturation rate
    slo_multiple: float = 5.0  # latency_slo_ms = this x the profile's base service time
    seed: int = 7  # update-duration draws (the same for every policy)


@dataclass(frozen=True)
class Calibration:
    """What the user configures for a profile, from the BASE model (a load test): never varied by sensitivity."""

    profile: str
    shape: Shape
    saturation_rate: float  # requests/min one reference instance serves at utilization 1 (60 x workers / S)
    slo_ms: float
    requests_target: float  # AUTOSCALE_REQUESTS_TARGET (per instance per minute)


def calibration(profile: str, config: Config) -> Calibration:
    base = PROFILES[profile]
    saturation = 60 * base.workers * 1000 / base.service_ms
    return Calibration(
        profile,
        PROFILE_SHAPE[profile],
        saturation,
        config.slo_multiple * base.service_ms,
        float(round(config.target_share * saturation)),
    )


def model_profile(profile: str, config: Config) -> Profile:
    """The serving model the simulation runs: the base profile with service time and concurrency scaled."""
    base = PROFILES[profile]
    return replace(
        base,
        service_ms=base.service_ms * config.service_scale,
        workers=max(1, round(base.workers * config.workers_scale)),
    )


def scale_of(shape: Shape) -> float:
    """Size of one instance relative to the profile's reference instance: GPUs, else OCPUs."""
    if shape.gpus is not None:
        return float(shape.gpus)
    return float(shape.size[0]) if shape.size else 1.0


def units(capacity: Capacity) -> float:
    """What an hour of this capacity bills: GPUs for GPU shapes, else OCPUs."""
    return capacity.instance_count * scale_of(capacity.shape)


@lru_cache(maxsize=400_000)
def reading(profile: Profile, rate: int, instances: int, scale: float):
    return serve(profile, float(rate), instances, scale)


def latency_of(profile: Profile, rate: int, capacity: Capacity, score: str) -> float:
    r = reading(profile, rate, capacity.instance_count, scale_of(capacity.shape))
    return r.latency_p95_ms if score == "p95" else r.latency_ms


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
    name: str  # family#seed
    family: str
    seed: int
    load: np.ndarray  # in saturation units of the base model
    rate: np.ndarray  # requests per minute (integers)
    params: dict


def make_trace(family: str, seed: int, cal: Calibration, minutes: int) -> Trace:
    load, params = load_shape(family, seed, minutes)
    rate = _rng("poisson", family, seed, cal.profile).poisson(load * cal.saturation_rate)
    return Trace(f"{family}#{seed}", family, seed, load, rate.astype(np.int64), params)


def start_capacity(trace: Trace, cal: Calibration, config: Config) -> Capacity:
    """What a user would create: the fewest instances that serve the first hour's busiest minute at no more than
    `requests_target` each (the load test's rate, below the SLO's; the same start for every policy)."""
    count = math.ceil(int(trace.rate[:60].max()) / cal.requests_target)
    return Capacity(min(max(count, config.min_instances), config.max_instances), cal.shape)


# -- OCI state: the emulator's Store on the virtual clock ---------------------------------------------------------


class VirtualClock:
    def __init__(self, now: float = START):
        self.now = now

    def __call__(self) -> float:
        return self.now


class ServingStore(Store):
    """The emulator's Store with each update's UPDATING time drawn by what it changes (count or shape), from the
    deployment, the minute and the kind only: every policy making the same change at the same minute waits alike."""

    def __init__(self, config: Config, clock: VirtualClock, monitoring: Monitoring):
        super().__init__(clock=clock, monitoring=monitoring)
        self.config = config

    def update_model_deployment(self, deployment_id, details: dict, if_match: str | None) -> str:
        change = (details.get("modelDeploymentConfigurationDetails") or {}).get("modelConfigurationDetails") or {}
        if "instanceConfiguration" in change:
            mean, jitter = self.config.shape_update_minutes
            kind = "shape"
        elif "scalingPolicy" in change:
            mean, jitter = self.config.count_update_minutes
            kind = "count"
        else:
            mean, jitter, kind = 0.0, 0.0, "tags"
        minute = int((self.clock() - START) // 60)
        digest = hashlib.sha256(f"{self.config.seed}:{deployment_id}:{minute}:{kind}".encode()).digest()
        self.update_delay_seconds = 60 * (mean + jitter * (2 * int.from_bytes(digest[:8], "little") / 2**64 - 1))
        return super().update_model_deployment(deployment_id, details, if_match)


def deployment_id(profile: str, trace: Trace) -> str:
    tail = f"sb-{profile}-{trace.family}-{trace.seed}".replace("_", "-")
    return f"ocid1.datasciencemodeldeployment.oc1.iad.{tail}"


def deployment_body(md_id: str, capacity: Capacity, tags: dict[str, str]) -> dict:
    instance = {"instanceShapeName": capacity.shape.name}
    if capacity.shape.ocpus is not None:
        instance["modelDeploymentInstanceShapeConfigDetails"] = {
            "ocpus": capacity.shape.ocpus,
            "memoryInGBs": capacity.shape.memory_gbs,
        }
    tail = md_id.rsplit(".", 1)[-1]
    return {
        "id": md_id,
        "displayName": tail,
        "compartmentId": COMPARTMENT,
        "projectId": "ocid1.datascienceproject.oc1.iad.servingbench",
        "createdBy": "ocid1.user.oc1..servingbench",
        "timeCreated": "2026-01-01T00:00:00.000Z",
        "lifecycleState": "ACTIVE",
        "modelDeploymentConfigurationDetails": {
            "deploymentType": "SINGLE_MODEL",
            "modelConfigurationDetails": {
                "modelId": f"ocid1.datasciencemodel.oc1.iad.{tail}",
                "instanceConfiguration": instance,
                "scalingPolicy": {"policyType": "FIXED_SIZE", "instanceCount": capacity.instance_count},
                "bandwidthMbps": 10,
            },
        },
        "modelDeploymentSystemData": {
            "systemInfraType": "INSTANCE_POOL",
            "currentInstanceCount": capacity.instance_count,
        },
        "freeformTags": dict(tags),
        "definedTags": {},
    }


def set_count(store: Store, md_id: str, count: int) -> bool:
    """Resize in the Store directly (native autoscaling and the oracle): the instance count group alone."""
    body, etag = store.get_model_deployment(md_id)
    if body["lifecycleState"] != "ACTIVE" or read_capacity(body).instance_count == count:
        return False
    model = body["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]
    update = {"modelId": model["modelId"], "scalingPolicy": {"policyType": "FIXED_SIZE", "instanceCount": count}}
    config = {"deploymentType": "SINGLE_MODEL", "modelConfigurationDetails": update}
    store.update_model_deployment(md_id, {"modelDeploymentConfigurationDetails": config}, etag)
    return True


# -- the simulation -----------------------------------------------------------------------------------------------


@dataclass
class Series:
    """One deployment under one policy, minute by minute."""

    md_id: str
    trace: Trace
    start: Capacity
    serving: list[int] = field(default_factory=list)  # instances serving
    serving_shape: list[str] = field(default_factory=list)
    billed: list[float] = field(default_factory=list)  # OCPUs or GPUs billed (max of old and new while UPDATING)
    latency: list[float] = field(default_factory=list)  # mean ms (what PredictLatency reads)
    p95: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    gpu: list[float] = field(default_factory=list)
    rho: list[float] = field(default_factory=list)
    actions: list[tuple[int, str, str]] = field(default_factory=list)  # (minute seen, before, after)


@dataclass
class _Live:
    series: Series
    lifecycle: str
    serving: Capacity
    configured: Capacity
    instances: list[str]
    born: int = 0


class Simulation:
    """All traces of one profile as deployments of one Store, under one policy."""

    def __init__(self, profile: str, traces: list[Trace], policy, config: Config):
        self.profile_name, self.config, self.policy = profile, config, policy
        self.cal = calibration(profile, config)
        self.model = model_profile(profile, config)
        self.clock = VirtualClock()
        self.monitoring = Monitoring(wall_clock=self.clock, slack_seconds=config.slack_seconds)
        self.store = ServingStore(config, self.clock, self.monitoring)
        self.live: dict[str, _Live] = {}
        bodies = []
        for trace in traces:
            md_id = deployment_id(profile, trace)
            start = start_capacity(trace, self.cal, config)
            bodies.append(deployment_body(md_id, start, policy.tags(self.cal)))
            self.live[md_id] = _Live(Series(md_id, trace, start), "ACTIVE", start, start, [])
        self.store.load({"modelDeployments": bodies, "alarms": []})
        self.invocations: list[dict] = []
        self.wall_seconds = 0.0
        self.function_seconds = 0.0

    def run(self) -> Simulation:
        started = time.perf_counter()
        self.policy.start(self)
        for md_id, live in self.live.items():
            live.instances = [self._new_instance(md_id, live) for _ in range(live.serving.instance_count)]
        minutes = min(len(live.series.trace.rate) for live in self.live.values())
        queue, order = [], 0
        for minute in range(minutes):
            now = START + 60 * minute
            self.clock.now = now
            for md_id, live in self.live.items():
                self._refresh(md_id, live, minute)
                self._publish(md_id, live, minute, now)
            for message in self.store.evaluate_alarms(now):
                # Messages of one evaluation reach the function in no documented order: a pseudo-random one (the
                # same for every run), so no alarm (say latency before requests) is always first.
                at = message["timestampEpochMillis"] / 1000 + self.config.delivery_delay_seconds
                meta = message["alarmMetaData"][0]  # (alarm OCIDs are random: keyed on what the alarm watches)
                key = f"{message['title']}|{meta['query']}|{meta['dimensions']}|{message['timestampEpochMillis']}"
                shuffle = hashlib.sha256(key.encode()).digest()
                heapq.heappush(queue, (at, shuffle, order, message))
                order += 1
            self.policy.tick(minute, now)
            while queue and queue[0][0] < now + 60:
                at, _, _, message = heapq.heappop(queue)
                self.clock.now = at
                record = self.policy.deliver(message, at)
                if record is not None:
                    self.invocations.append(record)
        self.wall_seconds = time.perf_counter() - started
        return self

    def _new_instance(self, md_id: str, live: _Live) -> str:
        live.born += 1
        return f"ocid1.datasciencemodeldeploymentinstance.oc1.iad.{md_id.rsplit('.', 1)[-1]}-{live.born}"

    def _refresh(self, md_id: str, live: _Live, minute: int) -> None:
        body, _ = self.store.get_model_deployment(md_id)
        live.lifecycle, configured = body["lifecycleState"], read_capacity(body)
        if configured != live.configured:
            live.series.actions.append((minute, str(live.configured), str(configured)))
            live.configured = configured
        if live.lifecycle == "ACTIVE" and configured != live.serving:
            if configured.shape != live.serving.shape:  # a shape change replaces every instance
                live.instances = [self._new_instance(md_id, live) for _ in range(configured.instance_count)]
            else:
                kept = live.instances[: configured.instance_count]
                fresh = configured.instance_count - len(kept)
                live.instances = kept + [self._new_instance(md_id, live) for _ in range(fresh)]
            live.serving = configured

    def _publish(self, md_id: str, live: _Live, minute: int, now: float) -> None:
        series, capacity = live.series, live.serving
        rate = int(series.trace.rate[minute])
        r = reading(self.model, rate, capacity.instance_count, scale_of(capacity.shape))
        post = self.monitoring.post
        gpu_shape = capacity.shape.gpus is not None
        for instance_id in live.instances:  # pooled M/M/c: every instance equally busy
            dims = {"resourceId": md_id, "instanceId": instance_id}
            post(COMPARTMENT, NAMESPACE, "CpuUtilization", dims, [(now, r.cpu)])
            post(COMPARTMENT, NAMESPACE, "MemoryUtilization", dims, [(now, r.mem)])
            if gpu_shape:
                post(COMPARTMENT, NAMESPACE, "GPUCoreUtilization", dims, [(now, r.gpu)])
        # PredictRequestCount: requests received in the minute (resourceId only); PredictLatency: their mean in ms
        # (resourceId, result). An overloaded deployment reads the profile's timeout.
        post(COMPARTMENT, NAMESPACE, "PredictRequestCount", {"resourceId": md_id}, [(now, rate)])
        if rate > 0:
            post(
                COMPARTMENT,
                NAMESPACE,
                "PredictLatency",
                {"resourceId": md_id, "result": "Success"},
                [(now, r.latency_ms)],
            )
        series.serving.append(capacity.instance_count)
        series.serving_shape.append(capacity.shape.name)
        series.billed.append(max(units(capacity), units(live.configured)))
        series.latency.append(r.latency_ms)
        series.p95.append(r.latency_p95_ms)
        series.cpu.append(r.cpu)
        series.gpu.append(r.gpu)
        series.rho.append(r.utilization)


# -- the policies -------------------------------------------------------------------------------------------------


class Policy:
    name = "policy"

    def tags(self, cal: Calibration) -> dict[str, str]:
        return {}

    def start(self, sim: Simulation) -> None:
        self.sim = sim

    def tick(self, minute: int, now: float) -> None:
        pass

    def deliver(self, message: dict, now: float) -> dict | None:
        return None


def terraform_defaults(path: Path = ROOT / "infra" / "terraform" / "variables.tf") -> dict[str, str]:
    """The high-alarm defaults of the Terraform module, read from its variables (what `terraform apply` creates)."""
    text = path.read_text()
    values = {}
    for name in (
        "cpu_high_threshold",
        "mem_high_threshold",
        "gpu_high_threshold",
        "high_alarm_pending_duration",
        "high_alarm_repeat_duration",
    ):
        match = re.search(rf'variable "{name}" \{{.*?default\s*=\s*"?([^"\n]+)"?\n', text, re.S)
        if match is None:
            raise RuntimeError(f"no default for {name} in {path}")
        values[name] = match.group(1).strip()
    return values


def terraform_high_alarm(md_id: str, key: str, metric: str, threshold: float, defaults: dict) -> dict:
    """CreateAlarmDetails of one high alarm as infra/terraform/alarms.tf writes it (oci_monitoring_alarm.high)."""
    query = f'{METRIC_NAMES[metric]}[1m]{{resourceId = "{md_id}"}}.groupBy(resourceId).mean() > {mql_number(threshold)}'
    return {
        "compartment_id": COMPARTMENT,
        "metric_compartment_id": COMPARTMENT,
        "display_name": f"md-autoscale-{key}-high-{metric}",
        "notification_title": HIGH_TITLE[metric],
        "namespace": NAMESPACE,
        "query": query,
        "severity": "CRITICAL",
        "is_enabled": True,
        "destinations": [TOPIC],
        "pending_duration": defaults["high_alarm_pending_duration"],
        "repeat_notification_duration": defaults["high_alarm_repeat_duration"],
        "message_format": "RAW",
        "notification_version": "1.X",
        "body": f"Autoscaler routing alarm for model deployment {md_id}. Do not change the notification title: "
        "it routes the alarm.",
        "freeform_tags": {OWNER_TAG: OWNER_VALUE, "autoscale_deployment": md_id},
        "is_notifications_per_metric_dimension_enabled": True,
    }


class Function(Policy):
    """The real function. At start, the deployment carries the override tags Terraform outputs (signals,
    requests_target, latency_slo_ms), Terraform's high alarms exist for its enabled signals among cpu, mem, gpu and
    latency, and the alarms the function owns (low alarms, both request alarms) are converged through the product's
    own `wanted_alarms` + `converge`, as its reconcile tick would before any alarm fires."""

    def __init__(self, name: str):
        self.name, self.signals = name, FUNCTION_SIGNALS[name]
        self.tuned = name == "cpu-tuned"

    def tags(self, cal: Calibration) -> dict[str, str]:
        tags = {
            "autoscale_signals": self.signals,
            "autoscale_requests_target": mql_number(cal.requests_target),
            "autoscale_latency_slo_ms": mql_number(cal.slo_ms),
        }
        if self.name == "gpu-ladder":
            tags["autoscale_gpu_mode"] = tags["autoscale_latency_mode"] = "vertical"
        if self.tuned:
            tuned = tuned_cpu(cal.profile)
            tags["autoscale_cpu_target"] = mql_number(tuned["target"])
            tags["autoscale_cpu_low_threshold"] = mql_number(tuned["low"])
        return tags

    def start(self, sim: Simulation) -> None:
        super().start(sim)
        from emulator.sdk_fakes import FakeDataScienceClient, FakeMonitoringClient

        config = sim.config
        env = {
            "AUTOSCALE_COMPARTMENT_ALLOWLIST": COMPARTMENT,
            "AUTOSCALE_MIN_INSTANCES": str(config.min_instances),
            "AUTOSCALE_MAX_INSTANCES": str(config.max_instances),
        }
        if config.days * 24 < MIN_HISTORY_HOURS:
            # The forecast stays out on less than MIN_HISTORY_HOURS of history whatever it reads, so off changes no
            # decision here; on, each scale-in reads 15 days of hourly CPU history (most of the run time).
            env["AUTOSCALE_PREDICT"] = "false"
        self.settings = load_settings(env)
        self.gateway = OciGateway(FakeDataScienceClient(sim.store), FakeMonitoringClient(sim.store))
        defaults = terraform_defaults()
        thresholds = {
            "cpu": float(defaults["cpu_high_threshold"]),
            "mem": float(defaults["mem_high_threshold"]),
            "gpu": float(defaults["gpu_high_threshold"]),
        }
        template = AlarmTemplate(COMPARTMENT, COMPARTMENT, (TOPIC,))
        self.initial_alarms: dict[str, dict[str, str]] = {}
        for md_id in sim.live:
            deployment = self.gateway.get_deployment(md_id)
            policy = self.settings.policy.with_overrides(deployment.tags)
            key = md_id.rsplit(".", 1)[-1]
            high = dict(thresholds)
            if self.tuned:  # Terraform's per-deployment cpu_high_threshold
                high["cpu"] = tuned_cpu(sim.profile_name)["high"]
            for metric in ("cpu", "mem", "gpu", "latency"):
                if metric in policy.signals:
                    threshold = policy.latency_slo_ms if metric == "latency" else high[metric]
                    details = terraform_high_alarm(md_id, key, metric, threshold, defaults)
                    self.gateway.create_alarm(details, f"tf-{key}-{metric}")
            capacity = deployment.state.capacity
            wanted = wanted_alarms(capacity, policy)
            self.initial_alarms[md_id] = converge(
                self.gateway, template, md_id, wanted, f"{capacity}|None", self.settings
            )

    def deliver(self, message: dict, now: float) -> dict:
        store = self.sim.store
        before = len(store.calls)
        started = time.perf_counter()
        outcomes = handle_message(parse_message(json.dumps(message).encode()), self.settings, self.gateway, now)
        seconds = time.perf_counter() - started
        self.sim.function_seconds += seconds
        return {
            "minute": (now - START) / 60,
            "type": message["type"],
            "title": message["title"],
            "seconds": seconds,
            "calls": [operation for operation, _ in store.calls[before:]],
            "outcomes": [
                {k: o.as_dict()[k] for k in ("deployment_id", "status", "action", "reason", "before", "after")}
                for o in outcomes
            ],
        }


def tuned_cpu(profile: str) -> dict[str, float]:
    """CPU target, high and low thresholds moved onto this profile's CPU curve: the utilization (rho) at which the
    defaults (the function's cpu_target and cpu_low_threshold, Terraform's high threshold) sit on the CPU-bound
    profile, read back as this profile's CPU %.
    What a user who knows the deployment's CPU range would set; in the M/M/c model CPU is exactly linear in rho,
    which real I/O- or GPU-bound serving need not be (a best case for CPU scaling)."""
    reference, own = PROFILES["cpu_bound"], PROFILES[profile]

    def moved(percent: float) -> float:
        rho = (percent - reference.cpu_idle) / (reference.cpu_busy - reference.cpu_idle)
        return round(own.cpu_idle + (own.cpu_busy - own.cpu_idle) * rho, 1)

    defaults = FunctionPolicy()
    high = float(terraform_defaults()["cpu_high_threshold"])
    return {"target": moved(defaults.cpu_target), "high": moved(high), "low": moved(defaults.cpu_low_threshold)}


class Native(Policy):
    """OCI native threshold autoscaling: a predefined CPU_UTILIZATION rule, horizontal, a fixed step. Its scale-out
    and scale-in conditions are alarms on the deployment's mean CPU evaluated by the same Monitoring; each minute,
    once the cooldown has passed since the deployment was ACTIVE again, a FIRING scale-out condition adds `step`
    instances, else a FIRING scale-in condition removes them. Documented defaults (SDK 2.189.0): cool_down_in_seconds
    300, counted from ACTIVE; pending_duration PT3M; instance_count_adjustment 1. The 70/30 thresholds are not
    documented defaults (there are none)."""

    name = "native"

    def __init__(self, out_threshold=70.0, in_threshold=30.0, pending="PT3M", step=1, cooldown=300):
        self.out_threshold, self.in_threshold = out_threshold, in_threshold
        self.pending, self.step, self.cooldown = pending, step, cooldown
        self._active_since: dict[str, float] = {}
        self.ids: dict[str, tuple[str, str]] = {}

    def start(self, sim: Simulation) -> None:
        super().start(sim)
        for md_id in sim.live:
            query = f'CpuUtilization[1m]{{resourceId = "{md_id}"}}.grouping().mean()'
            made = []
            for op, threshold, name in ((">", self.out_threshold, "out"), ("<", self.in_threshold, "in")):
                details = {
                    "displayName": f"native-{name}-{md_id.rsplit('.', 1)[-1]}",
                    "compartmentId": COMPARTMENT,
                    "metricCompartmentId": COMPARTMENT,
                    "namespace": NAMESPACE,
                    "query": f"{query} {op} {threshold:g}",
                    "severity": "CRITICAL",
                    "destinations": [TOPIC],
                    "isEnabled": True,
                    "pendingDuration": self.pending,
                }
                made.append(sim.store.create_alarm(details)[0]["id"])
            self.ids[md_id] = (made[0], made[1])

    def tick(self, minute: int, now: float) -> None:
        config, status = self.sim.config, self.sim.monitoring.status_of
        for md_id, (out_id, in_id) in self.ids.items():
            body, _ = self.sim.store.get_model_deployment(md_id)
            if body["lifecycleState"] != "ACTIVE":
                self._active_since[md_id] = now + 60  # ACTIVE again during this minute at the latest
                continue
            if now - self._active_since.get(md_id, -1e12) < self.cooldown:
                continue
            count = read_capacity(body).instance_count
            if status(out_id) == "FIRING":
                count = min(config.max_instances, count + self.step)
            elif status(in_id) == "FIRING":
                count = max(config.min_instances, count - self.step)
            set_count(self.sim.store, md_id, count)


class Oracle(Policy):
    """A HEURISTIC bound, not an optimum: it knows the future rate and the true serving model. From every ACTIVE
    minute: if the instances needed to keep the scored latency within the SLO exceed the current count at any minute
    before the longest update could complete, it scales out to the most needed until the latest a second change
    could complete; else, if fewer than the current count suffice over that whole window, it scales in to that.
    Horizontal only (one GPU per instance on the GPU profile). Greedy, so a policy may beat it on a trace."""

    name = "oracle"

    def __init__(self, score: str | None = None):
        self.score = score

    def start(self, sim: Simulation) -> None:
        super().start(sim)
        config, cal, model = sim.config, sim.cal, sim.model
        score = self.score or config.score
        self.longest = int(math.ceil(config.count_update_minutes[0] + config.count_update_minutes[1]))
        self.needed = {}
        limits = []  # the highest rate each count serves within the SLO
        for count in range(1, config.max_instances + 1):
            capacity = Capacity(count, cal.shape)
            low, high = 0, int(cal.saturation_rate * count * 2) + 1
            if latency_of(model, 0, capacity, score) > cal.slo_ms:
                limits.append(-1)
                continue
            while high - low > 1:
                middle = (low + high) // 2
                ok = latency_of(model, middle, capacity, score) <= cal.slo_ms
                low, high = (middle, high) if ok else (low, middle)
            limits.append(low)
        # a larger count serves at least what a smaller one does: the first count whose limit covers the rate
        limits = np.maximum.accumulate(np.array(limits))
        for md_id, live in sim.live.items():
            need = np.searchsorted(limits, live.series.trace.rate, side="left") + 1
            self.needed[md_id] = np.clip(need, config.min_instances, config.max_instances)

    def tick(self, minute: int, now: float) -> None:
        for md_id, need in self.needed.items():
            body, _ = self.sim.store.get_model_deployment(md_id)
            if body["lifecycleState"] != "ACTIVE":
                continue
            count = read_capacity(body).instance_count
            soon = need[minute + 1 : minute + self.longest + 1]
            window = need[minute : minute + 2 * self.longest + 1]
            if len(soon) and soon.max() > count:
                set_count(self.sim.store, md_id, int(window.max()))
            elif window.max() < count:
                set_count(self.sim.store, md_id, int(window.max()))


def make_policy(name: str, config: Config) -> Policy:
    if name in FUNCTION_SIGNALS:
        return Function(name)
    if name == "native":
        return Native()
    if name == "oracle":
        return Oracle()
    raise ValueError(f"unknown policy {name!r}")


# -- scores -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    profile: str
    policy: str
    family: str
    seed: int
    latency_minutes: int  # minutes whose scored latency (mean or p95) is over the SLO
    util_minutes: int  # minutes whose CPU or GPU utilization is over 90 %
    hours: float  # OCPU-hours (CPU shapes) or GPU-hours (GPU shapes), billed
    actions: int  # capacity changes
    overload_minutes: int  # minutes at utilization 1 (the queue grows without bound)


UTIL_SLO = 90.0


def score(sim: Simulation, series: Series, statistic: str) -> Score:
    slo = sim.cal.slo_ms
    values = series.p95 if statistic == "p95" else series.latency
    over = sum(v > slo for v in values)
    util = sum(max(c, g) > UTIL_SLO for c, g in zip(series.cpu, series.gpu, strict=True))
    return Score(
        sim.profile_name,
        sim.policy.name,
        series.trace.family,
        series.trace.seed,
        int(over),
        int(util),
        round(sum(series.billed) / 60, 2),
        len(series.actions),
        int(sum(r >= 1.0 for r in series.rho)),
    )


# -- experiments --------------------------------------------------------------------------------------------------


def traces_for(profile: str, config: Config) -> list[Trace]:
    minutes = int(round(config.days * DAY))
    cal = calibration(profile, config)
    return [make_trace(f, s, cal, minutes) for f in config.families for s in range(config.seeds)]


def run_one(job: tuple[str, str, Config]) -> dict:
    """One profile under one policy over all its traces: scores (mean and p95) and a summary of the run."""
    profile, policy_name, config = job
    sim = Simulation(profile, traces_for(profile, config), make_policy(policy_name, config), config).run()
    return summarize(sim)


def summarize(sim: Simulation) -> dict:
    statuses = Counter(o["status"] for i in sim.invocations for o in i["outcomes"])
    applied = Counter(
        (i["title"], o["action"]) for i in sim.invocations for o in i["outcomes"] if o["status"] == "applied"
    )
    return {
        "profile": sim.profile_name,
        "policy": sim.policy.name,
        "scores": {stat: [score(sim, live.series, stat) for live in sim.live.values()] for stat in ("mean", "p95")},
        "invocations": len(sim.invocations),
        "calls": dict(Counter(op for i in sim.invocations for op in i["calls"])),  # OCI operations the function made
        "statuses": dict(statuses),
        "applied": {f"{title} {action}": n for (title, action), n in applied.items()},
        "wall_seconds": sim.wall_seconds,
        "function_seconds": sim.function_seconds,
        "series": {md: live.series for md, live in sim.live.items()},
        # every outcome of the real function: (minute delivered, title, type, deployment, status, action)
        "log": [
            (round(i["minute"], 2), i["title"], i["type"], o["deployment_id"], o["status"], o["action"])
            for i in sim.invocations
            for o in i["outcomes"]
        ],
        # the alarms the product's converge created at start, per deployment ({title: state})
        "initial_alarms": dict(getattr(sim.policy, "initial_alarms", {})),
        "metrics": posted_metrics(sim),
    }


def lean(result: dict) -> dict:
    """A run's summary without its minute-by-minute series and log (what the sensitivity tables need)."""
    return {k: v for k, v in result.items() if k not in ("series", "log")}


def posted_metrics(sim: Simulation) -> dict[str, dict[str, float]]:
    """What the emulator's Monitoring holds at the end, read back through SummarizeMetricsData: per metric, the
    datapoints per deployment (hourly counts summed) and the number of deployments with data."""
    end = START + 60 * len(next(iter(sim.live.values())).series.serving)
    out = {}
    for name in METRIC_NAMES.values():
        details = {
            "namespace": NAMESPACE,
            "query": f"{name}[1h].groupBy(resourceId).count()",
            "startTime": START - 3600,
            "endTime": end + 3600,
            "resolution": "1h",
        }
        streams = sim.monitoring.summarize(COMPARTMENT, details)
        points = sum(p["value"] for stream in streams for p in stream["aggregatedDatapoints"])
        out[name] = {"deployments": len(streams), "datapoints": points}
    return out


def run_grid(config: Config, profiles, policies_for, jobs: int = 1) -> list[dict]:
    work = [(profile, policy, config) for profile in profiles for policy in policies_for(profile)]
    if jobs > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            return pool.map(run_one, work, chunksize=1)
    return [run_one(job) for job in work]


SENSITIVITY = {
    "base": {},
    "service x0.5": {"service_scale": 0.5},
    "service x1.5": {"service_scale": 1.5},
    "workers x0.5": {"workers_scale": 0.5},
    "workers x1.5": {"workers_scale": 1.5},
}
KEY_POLICIES = {
    "cpu_bound": ("cpu", "requests"),
    "io_bound": ("cpu", "cpu-tuned", "requests"),
    "gpu_bound": ("cpu", "cpu-tuned", "requests", "gpu"),
}


# -- report -------------------------------------------------------------------------------------------------------


def _median(values) -> float:
    return statistics.median(values) if values else float("nan")


def _fmt(value: float) -> str:
    value = round(float(value), 1) + 0.0  # (+ 0.0: no "-0")
    if not value.is_integer():
        return f"{value:.1f}"
    return f"{value:.0f}"


def profile_table(results: list[dict], profile: str, statistic: str) -> list[str]:
    unit = "GPU-h" if profile == "gpu_bound" else "OCPU-h"
    lines = [
        f"| policy | latency-SLO min (median / worst) | util-SLO min (median / worst) | {unit} (median / worst) "
        "| actions (median / worst) | overload min (median) |",
        "|---|---|---|---|---|---|",
    ]
    for result in results:
        if result["profile"] != profile:
            continue
        s = result["scores"][statistic]
        cols = []
        for attr in ("latency_minutes", "util_minutes", "hours", "actions"):
            values = [getattr(x, attr) for x in s]
            cols.append(f"{_fmt(_median(values))} / {_fmt(max(values))}")
        overload = _fmt(_median([x.overload_minutes for x in s]))
        lines.append(f"| {result['policy']} | " + " | ".join(cols) + f" | {overload} |")
    return lines


def family_table(results: list[dict], profile: str, statistic: str) -> list[str]:
    rows = [r for r in results if r["profile"] == profile]
    families = sorted({x.family for r in rows for x in r["scores"][statistic]}, key=FAMILIES.index)
    lines = [
        "| policy | " + " | ".join(families) + " |",
        "|---|" + "---|" * len(families),
    ]
    for r in rows:
        cells = []
        for family in families:
            xs = [x for x in r["scores"][statistic] if x.family == family]
            cells.append(
                f"{_fmt(_median([x.latency_minutes for x in xs]))} min, {_fmt(_median([x.hours for x in xs]))} h"
            )
        lines.append(f"| {r['policy']} | " + " | ".join(cells) + " |")
    return lines


def paired(results: list[dict], profile: str, a: str, b: str, statistic: str) -> list[tuple[Score, Score]]:
    """(score of a, score of b) per trace of the profile."""
    by = {
        r["policy"]: {(x.family, x.seed): x for x in r["scores"][statistic]} for r in results if r["profile"] == profile
    }
    if a not in by or b not in by:
        return []
    return [(by[a][k], by[b][k]) for k in by[a]]


HOURS_TOLERANCE = 0.01  # rounding of the billed hours


def goal_row(pairs: list[tuple[Score, Score]]) -> dict:
    """Paired comparison over traces: how many meet the goal, and the spread of the differences (a - b)."""
    d_lat = [a.latency_minutes - b.latency_minutes for a, b in pairs]
    d_h = [a.hours - b.hours for a, b in pairs]
    fewer = [a.latency_minutes < b.latency_minutes or a.latency_minutes == b.latency_minutes == 0 for a, b in pairs]
    no_worse = [d <= 0 for d in d_lat]
    cheaper = [d <= HOURS_TOLERANCE for d in d_h]
    return {
        "n": len(pairs),
        "fewer": sum(fewer),  # strictly fewer minutes, or none for either
        "no_worse": sum(no_worse),
        "hours_ok": sum(cheaper),
        "goal1": sum(f and c for f, c in zip(fewer, cheaper, strict=True)),
        "goal2": sum(f and c for f, c in zip(no_worse, cheaper, strict=True)),
        "d_lat": (min(d_lat), _median(d_lat), max(d_lat)) if d_lat else None,
        "d_h": (min(d_h), _median(d_h), max(d_h)) if d_h else None,
    }


def _spread(triple) -> str:
    low, mid, high = triple
    return f"{_fmt(low)} / {_fmt(mid)} / {_fmt(high)}"


GOALS = (
    # (goal, profile, candidate, baseline): goal 1 = fewer latency-SLO minutes at no more hours; goal 2 = no more of
    # either. "1 (+cpu)": adding cpu to an I/O-bound deployment's signals, judged like goal 1.
    ("1", "io_bound", "requests", "cpu"),
    ("1", "io_bound", "requests", "cpu-tuned"),
    ("1", "gpu_bound", "requests", "cpu"),
    ("1", "gpu_bound", "gpu", "cpu"),
    ("1", "gpu_bound", "requests", "cpu-tuned"),
    ("1", "gpu_bound", "gpu", "cpu-tuned"),
    ("2", "cpu_bound", "requests", "cpu"),
    ("2", "cpu_bound", "requests+cpu", "cpu"),
    ("1 (+cpu)", "io_bound", "requests+cpu", "cpu"),
)


def verdicts(results: list[dict], statistic: str) -> list[str]:
    lines = [
        "| goal | profile | candidate | vs | traces | fewer latency-SLO min | no more latency-SLO min "
        "| no more hours | goal met | Δ latency min (min / median / max) | Δ hours (min / median / max) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for goal, profile, candidate, baseline in GOALS:
        pairs = paired(results, profile, candidate, baseline, statistic)
        if not pairs:
            continue
        row, n = goal_row(pairs), len(pairs)
        met = row["goal2"] if goal == "2" else row["goal1"]
        lines.append(
            f"| {goal} | {profile} | {candidate} | {baseline} | {n} | {row['fewer']}/{n} | {row['no_worse']}/{n} | "
            f"{row['hours_ok']}/{n} | **{met}/{n}** | {_spread(row['d_lat'])} | {_spread(row['d_h'])} |"
        )
    return lines


def sensitivity_tables(sens: dict[str, list[dict]], statistic_for) -> list[str]:
    """Whether each goal's verdict holds per model variant, then the policies' medians per variant."""
    variants = list(sens)
    lines = [
        "Goal met (traces), with the median Δ latency-SLO minutes and Δ hours (candidate minus baseline):",
        "",
        "| goal | profile | candidate | vs | " + " | ".join(variants) + " |",
        "|---|---|---|---|" + "---|" * len(variants),
    ]
    for goal, profile, candidate, baseline in GOALS:
        cells = []
        for variant in variants:
            pairs = paired(sens[variant], profile, candidate, baseline, statistic_for(variant))
            if not pairs:
                cells.append("—")
                continue
            row, n = goal_row(pairs), len(pairs)
            met = row["goal2"] if goal == "2" else row["goal1"]
            cells.append(f"{met}/{n} ({_fmt(row['d_lat'][1])} min, {_fmt(row['d_h'][1])} h)")
        if any(cell != "—" for cell in cells):
            lines.append(f"| {goal} | {profile} | {candidate} | {baseline} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Latency-SLO minutes (median / worst) and hours (median) per policy:",
        "",
        "| profile | policy | " + " | ".join(variants) + " |",
        "|---|---|" + "---|" * len(variants),
    ]
    for profile in ("cpu_bound", "io_bound", "gpu_bound"):
        policies = []
        for variant in variants:
            policies += [r["policy"] for r in sens[variant] if r["profile"] == profile and r["policy"] not in policies]
        for policy in policies:
            cells = []
            for variant in variants:
                found = [r for r in sens[variant] if r["profile"] == profile and r["policy"] == policy]
                if not found:
                    cells.append("—")
                    continue
                s = found[0]["scores"][statistic_for(variant)]
                lat, hours = [x.latency_minutes for x in s], [x.hours for x in s]
                cells.append(f"{_fmt(_median(lat))} / {max(lat)}, {_fmt(_median(hours))} h")
            lines.append(f"| {profile} | {policy} | " + " | ".join(cells) + " |")
    return lines


DIAGNOSTICS = tuple(
    # what the latency alarm's one step (+1) does next to request sizing: requests,latency vs requests alone
    ("latency step", profile, "requests", "requests-only")
    for profile in ("cpu_bound", "io_bound", "gpu_bound")
) + (("best-case CPU", "io_bound", "cpu-tuned", "cpu"), ("best-case CPU", "gpu_bound", "cpu-tuned", "cpu"))


def diagnostics(results: list[dict], statistic: str) -> list[str]:
    lines = [
        "| what | profile | policy | vs | traces | fewer latency-SLO min | more latency-SLO min | no more hours | "
        "Δ latency min (min / median / max) | Δ hours (min / median / max) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for what, profile, candidate, baseline in DIAGNOSTICS:
        pairs = paired(results, profile, candidate, baseline, statistic)
        if not pairs:
            continue
        row, n = goal_row(pairs), len(pairs)
        worse = n - row["no_worse"]
        strictly = sum(a.latency_minutes < b.latency_minutes for a, b in pairs)
        lines.append(
            f"| {what} | {profile} | {candidate} | {baseline} | {n} | {strictly}/{n} | {worse}/{n} | "
            f"{row['hours_ok']}/{n} | {_spread(row['d_lat'])} | {_spread(row['d_h'])} |"
        )
    return lines


def verdict_lines(results: list[dict], statistic: str) -> list[str]:
    """One sentence per goal row, mechanically from the counts."""
    out = []
    for goal, profile, candidate, baseline in GOALS:
        pairs = paired(results, profile, candidate, baseline, statistic)
        if not pairs:
            continue
        row, n = goal_row(pairs), len(pairs)
        met = row["goal2"] if goal == "2" else row["goal1"]
        word = "MET" if met == n else "NOT MET" if met == 0 else f"MET ON {met}/{n} TRACES"
        latency = row["no_worse"] if goal == "2" else row["fewer"]
        clause = "no more" if goal == "2" else "fewer"
        out.append(
            f"- Goal {goal}, {profile}, `{candidate}` vs `{baseline}`: **{word}** — {clause} latency-SLO minutes on "
            f"{latency}/{n} traces (Δ median {_fmt(row['d_lat'][1])}, range {_fmt(row['d_lat'][0])} to "
            f"{_fmt(row['d_lat'][2])}); no more hours on {row['hours_ok']}/{n} (Δ median {_fmt(row['d_h'][1])} h, "
            f"range {_fmt(row['d_h'][0])} to {_fmt(row['d_h'][2])})."
        )
    return out


def calibration_table(config: Config) -> list[str]:
    lines = [
        "| profile | shape | service ms | workers/instance | cpu % busy | gpu % busy | saturation rate /min/instance "
        "| latency_slo_ms | requests_target /min/instance |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for profile in ("cpu_bound", "io_bound", "gpu_bound"):
        p, cal = PROFILES[profile], calibration(profile, config)
        lines.append(
            f"| {profile} | {cal.shape} | {p.service_ms:g} | {p.workers} | {p.cpu_busy:g} | {p.gpu_busy:g} | "
            f"{cal.saturation_rate:g} | {cal.slo_ms:g} | {cal.requests_target:g} |"
        )
    return lines


def plot(results: list[dict], out_dir: Path, config: Config) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for profile in ("cpu_bound", "io_bound", "gpu_bound"):
        rows = [r for r in results if r["profile"] == profile and r["policy"] in (*KEY_POLICIES[profile], "oracle")]
        if not rows:
            continue
        md = next(md for md, s in rows[0]["series"].items() if s.trace.family == "steps" and s.trace.seed == 0)
        cal = calibration(profile, config)
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
        trace = rows[0]["series"][md].trace
        hours = np.arange(len(trace.rate)) / 60
        top.plot(hours, trace.rate / cal.requests_target, color="0.7", lw=0.8, label="rate / requests_target")
        for r in rows:
            s = r["series"][md]
            top.step(hours, s.serving, where="post", lw=1.2, label=f"{r['policy']} instances")
            bottom.plot(hours, np.minimum(s.latency, 60_000), lw=0.9, label=r["policy"])
        bottom.axhline(cal.slo_ms, color="k", ls="--", lw=0.8, label="SLO")
        bottom.set_yscale("log")
        bottom.set_ylabel("mean latency ms")
        top.set_ylabel("instances")
        bottom.set_xlabel("hour")
        top.set_title(f"{profile}: steps#0 (rate in units of requests_target)")
        top.legend(fontsize=7, ncol=3)
        bottom.legend(fontsize=7, ncol=3)
        fig.tight_layout()
        path = out_dir / f"{profile}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path.name)
    return written


def write_report(path: Path | None, config: Config, results, sens, runtime, plots: list[str], quick: bool) -> str:
    lines = [
        "# Serving signals in closed loop (issue 15)",
        "",
        "Generated by `python -m bench.serving_bench"
        + (" --quick" if quick else "")
        + "`; method and assumptions in [SERVING.md](SERVING.md).",
        "",
        f"{config.days:g} day(s) per trace, families {', '.join(config.families)}, {config.seeds} seed(s) each "
        f"(parameters drawn per seed); instances {config.min_instances}-{config.max_instances}; evaluation slack "
        f"{'PT3M (OCI default)' if config.slack_seconds is None else f'{config.slack_seconds:g} s'}; delivery "
        f"{config.delivery_delay_seconds:g} s; updates {config.count_update_minutes[0]:g} ± "
        f"{config.count_update_minutes[1]:g} min (count), {config.shape_update_minutes[0]:g} ± "
        f"{config.shape_update_minutes[1]:g} min (shape) — guesses. Latency-SLO minutes score the **{config.score}** "
        "latency of the minute (M/M/c) against the profile's `latency_slo_ms`; utilization-SLO minutes: CPU or GPU "
        f"over {UTIL_SLO:g} %. Worst = max over the traces of the profile.",
        "",
        "## Calibration (the user's configuration, from the base model)",
        "",
        *calibration_table(config),
        "",
    ]
    for profile in ("cpu_bound", "io_bound", "gpu_bound"):
        if not any(r["profile"] == profile for r in results):
            continue
        n = len(next(r for r in results if r["profile"] == profile)["scores"]["mean"])
        lines += [f"## {profile} ({n} traces)", "", *profile_table(results, profile, config.score), ""]
        lines += ["Per family (median latency-SLO minutes, median hours):", ""]
        lines += [*family_table(results, profile, config.score), ""]
    lines += [
        "## Goals (paired per trace, candidate minus baseline)",
        "",
        "Goal 1: on I/O- and GPU-bound traces, scaling on requests or GPU has fewer latency-SLO minutes than "
        "CPU-based scaling at no more OCPU/GPU-hours. Goal 2: on CPU-bound traces, no worse than CPU-based scaling. "
        "'fewer' counts traces with strictly fewer minutes ('≤' counts ties at zero too); 'no more hours' allows "
        "0.01 h of rounding.",
        "",
        *verdicts(results, config.score),
        "",
        *verdict_lines(results, config.score),
        "",
        "## Diagnostics",
        "",
        "`requests` against `requests-only`: what the high latency alarm's one step adds next to request sizing. "
        "`cpu-tuned` against `cpu`: the same CPU rules with the target and thresholds moved onto the profile's CPU "
        "range.",
        "",
        *diagnostics(results, config.score),
        "",
    ]
    if sens:
        lines += [
            "## Sensitivity to the queueing model",
            "",
            "The serving model underneath changes; the user's configuration (`latency_slo_ms`, `requests_target`, "
            "thresholds) and the traces stay those of the base model. 'p95 scoring' rescores the base runs on the "
            "p95 response time against the same SLO (the oracle then sizes for p95).",
            "",
            *sensitivity_tables(sens, lambda v: "p95" if v == "p95 scoring" else "mean"),
            "",
        ]
    lines += ["## Function activity", "", "| profile | policy | invocations | statuses | applied (title action) |"]
    lines += ["|---|---|---|---|---|"]
    for r in results:
        if r["invocations"]:
            statuses = ", ".join(f"{k} {v}" for k, v in sorted(r["statuses"].items()))
            applied = ", ".join(f"{k.removeprefix('model_deployment_')} {v}" for k, v in sorted(r["applied"].items()))
            lines.append(f"| {r['profile']} | {r['policy']} | {r['invocations']} | {statuses} | {applied} |")
    lines += ["", "## Runtime", ""]
    lines += [f"- {k}: {v}" for k, v in runtime.items()]
    if plots:
        lines += ["", "## Plots (steps#0)", ""]
        lines += [f"![{p}](serving_plots/{p})" for p in plots]
    text = "\n".join(lines) + "\n"
    if path is not None:
        path.write_text(text)
    return text


# -- main ---------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.serving_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 day, 1 seed, no sensitivity, no plots")
    parser.add_argument("--days", type=float, default=None)
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--slack", type=float, default=None, help="evaluation slack seconds (default: PT3M)")
    parser.add_argument("--score", choices=("mean", "p95"), default="mean")
    parser.add_argument("--update-minutes", type=float, default=10.0, help="mean minutes of a count update")
    parser.add_argument("--sensitivity-seeds", type=int, default=None, help="seeds per family in sensitivity runs")
    parser.add_argument("--no-sensitivity", action="store_true")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (2 shared cores here: 1 or 2)")
    parser.add_argument(
        "--out", type=Path, default=None, help="report path (default bench/serving_results.md; --quick: print only)"
    )
    parser.add_argument("--plots", type=Path, default=None, help="plot folder (default: next to --out)")
    parser.add_argument("--json", type=Path, default=None, help="also write every score (mean and p95) as JSON")
    args = parser.parse_args(argv)
    if args.out is None and not args.quick:
        args.out = ROOT / "bench" / "serving_results.md"
    days = args.days if args.days is not None else (1.0 if args.quick else 2.0)
    seeds = args.seeds if args.seeds is not None else (1 if args.quick else 5)
    config = Config(
        days=days,
        seeds=seeds,
        slack_seconds=args.slack,
        score=args.score,
        count_update_minutes=(args.update_minutes, 0.2 * args.update_minutes),
    )
    started = time.perf_counter()
    profiles = ("cpu_bound", "io_bound", "gpu_bound")
    results = run_grid(config, profiles, lambda p: POLICIES[p], args.jobs)
    main_seconds = time.perf_counter() - started
    sens: dict[str, list[dict]] = {}
    sens_seconds = 0.0
    if not (args.quick or args.no_sensitivity):
        sens_started = time.perf_counter()
        sens_config = replace(config, seeds=args.sensitivity_seeds or config.seeds)
        key = lambda p: (*KEY_POLICIES[p], "oracle")  # noqa: E731 (the oracle shows what no policy could avoid)
        for variant, changes in SENSITIVITY.items():
            if variant == "base" and sens_config == config:
                sens[variant] = [lean(r) for r in results if r["policy"] in key(r["profile"])]
                continue
            sens[variant] = [lean(r) for r in run_grid(replace(sens_config, **changes), profiles, key, args.jobs)]
        # p95 scoring: the base runs rescored, and the oracle sized for p95
        p95 = [lean(r) for r in results if r["policy"] in KEY_POLICIES[r["profile"]]]
        oracle = run_grid(replace(sens_config, score="p95"), profiles, lambda p: ("oracle",), args.jobs)
        sens["p95 scoring"] = p95 + [lean(r) for r in oracle]
        sens_seconds = time.perf_counter() - sens_started
    deployment_days = sum(len(r["scores"]["mean"]) for r in results) * config.days
    runtime = {
        "main grid": f"{main_seconds:.1f} s wall for {deployment_days:g} deployment-days "
        f"({len(results)} runs, --jobs {args.jobs})",
        "function": f"{sum(r['invocations'] for r in results)} invocations of the real function, "
        f"{sum(r['function_seconds'] for r in results):.1f} s inside handle_message",
    }
    if sens:
        runtime["sensitivity"] = f"{sens_seconds:.1f} s wall"
    plots = []
    if not args.quick:
        plots = plot(results, args.plots or args.out.parent / "serving_plots", config)
    text = write_report(args.out, config, results, sens, runtime, plots, args.quick)
    if args.json:
        dump = {"main": [lean(r) for r in results], **{f"sensitivity: {k}": v for k, v in sens.items()}}
        scores = {
            name: [dict(asdict(x), statistic=stat) for r in runs for stat in ("mean", "p95") for x in r["scores"][stat]]
            for name, runs in dump.items()
        }
        args.json.write_text(json.dumps(scores, indent=1))
    print(text)
    return {"config": config, "results": results, "sensitivity": sens, "runtime": runtime}


if __name__ == "__main__":
    main(sys.argv[1:])
