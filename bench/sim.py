"""The closed-loop simulator: a virtual clock, the load model, OCI state in the emulator's Store, OCI's alarms.

Each virtual minute, for every deployment:

- the capacity that serves is the deployment's configuration once it is ACTIVE again (an update keeps the old
  capacity serving while UPDATING and bills the larger of the two);
- the demand of the minute is spread over the serving instances: each instance slot has a fixed weight drawn
  per deployment (`SimConfig.imbalance`), and an instance that has just started takes `warmup_share` of its
  weight for its first `warmup_minutes` (it is cold: the load balancer has only begun to send it requests);
- every instance publishes one CpuUtilization and one MemoryUtilization datapoint (capped at 100 %, as OCI's
  are) with the dimensions resourceId and instanceId into the emulator's Monitoring (emulator/monitoring.py);
- the Store's alarms are evaluated by that same Monitoring: per-instance streams without a grouping,
  one stream per deployment with `.groupBy(resourceId)` or `.grouping()`, pending and repeat durations, the
  evaluation slack (the window ends `slack` before the evaluation), split or grouped messages, alarm state
  and history kept for GetAlarmHistory / RetrieveDimensionStates;
- the policy under test acts: alarm-driven ones on the messages, delivered `delivery_delay_seconds` after the
  evaluation; the others on the Store's alarm state or directly.

An update's duration depends on what it changes (`SimConfig.update_minutes`); the Store's clock is the virtual
clock, so UPDATING lasts that long in virtual time.
"""

from __future__ import annotations

import copy
import hashlib
import heapq
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from autoscaler.domain import Capacity, Shape
from bench.traces import WORK_GB_PER_OCPU, Trace
from emulator.monitoring import Monitoring, parse_time
from emulator.store import Store

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = json.loads((ROOT / "emulator" / "seed.json").read_text())["modelDeployments"][0]
COMPARTMENT = TEMPLATE["compartmentId"]
NAMESPACE = "oci_datascience_modeldeploy"
START = 1_767_571_200.0  # Monday 2026-01-05 00:00 UTC: virtual time of minute 0 of a trace starting on a Monday


def start_time(trace) -> float:
    """The virtual time of the trace's minute 0: midnight UTC on the weekday its day 0 is drawn to be (the families'
    `start_day`, 0 = Monday), so a weekend in the trace is a weekend on the clock (schedules and the forecast's
    weekday/weekend days read the clock). A trace rebuilt from a deployment's history (bench/backtest.py) carries
    the epoch of its first minute as `start_epoch`."""
    if trace.params and "start_epoch" in trace.params:
        return float(trace.params["start_epoch"])
    return START + 86400 * int(trace.params.get("start_day", 0) if trace.params else 0)


E4 = "VM.Standard.E4.Flex"
LADDER = tuple(Shape(name=E4, ocpus=n, memory_gbs=16 * n) for n in (1, 2, 4, 8))

# How long an update stays UPDATING, by what it changes: (mean, ± uniform jitter) in minutes. OCI documents no
# duration for a model deployment update ("Editing a Model Deployment", "Model Deployment Autoscaling", the SDK
# docstrings: none gives one). These are GUESSES: a new instance must boot and load the model (out), a removed
# one only drains (in), a shape change replaces every instance behind the load balancer (shape).
UPDATE_MINUTES = {"out": (10.0, 2.0), "in": (5.0, 1.0), "shape": (15.0, 3.0)}


@dataclass(frozen=True)
class SimConfig:
    slo: float = 90.0  # utilization (%) of the hottest instance above which a minute violates the SLO
    update_minutes: tuple = tuple(UPDATE_MINUTES.items())  # (kind, (mean, jitter)) pairs, see UPDATE_MINUTES
    delivery_delay_seconds: float = 30.0  # alarm evaluation -> the function receives the message (a guess)
    # None: each alarm's evaluationSlackDuration (OCI's default PT3M, CreateAlarmDetails); a number overrides all.
    evaluation_slack_seconds: float | None = None
    imbalance: float = 0.1  # instance slot weights uniform in [1 - imbalance, 1 + imbalance]
    warmup_minutes: int = 1  # a fresh instance is cold for this many minutes ...
    warmup_share: float = 0.25  # ... and takes this share of its normal load meanwhile
    min_instances: int = 1
    max_instances: int = 4
    ladder: tuple[Shape, ...] = LADDER
    seed: int = 7  # update-duration draws (the same for every policy)
    weights: tuple[float, ...] | None = None  # explicit instance slot weights (tests); None: drawn per deployment
    # A shape change replaces every instance. False: bill the larger of the old and new sets while UPDATING;
    # True: bill both (OCI documents neither; both sets may run while the new one boots).
    bill_both_sets: bool = False
    weights_seed: int = 0  # another draw of the instance slot weights (the noise band varies it)

    def update_time(self, kind: str) -> tuple[float, float]:
        return dict(self.update_minutes)[kind]

    def with_update_minutes(self, **kinds: tuple[float, float]) -> SimConfig:
        return replace(self, update_minutes=tuple({**dict(self.update_minutes), **kinds}.items()))

    @property
    def slack_minutes(self) -> float:
        return 3.0 if self.evaluation_slack_seconds is None else self.evaluation_slack_seconds / 60


class VirtualClock:
    def __init__(self, now: float = START):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        """Time passes only when someone waits (bench/fleet.py gives it to the tick's governor)."""
        self.now += max(0.0, seconds)


def ocpus(capacity: Capacity) -> float:
    return capacity.instance_count * capacity.shape.size[0]


def billed(serving: Capacity, configured: Capacity, config: SimConfig) -> float:
    """OCPUs billed in a minute: while UPDATING the old capacity serves and the new one is configured."""
    if config.bill_both_sets and serving.shape != configured.shape:
        return ocpus(serving) + ocpus(configured)
    return max(ocpus(serving), ocpus(configured))


def slot_weights(trace_name: str, config: SimConfig) -> np.ndarray:
    """Each instance slot's share of the load balancer's traffic (relative), fixed per deployment: drawn from the
    trace's name (so the same for every policy and every update-duration seed) unless the config gives them."""
    if config.weights is not None:
        return np.array(config.weights, dtype=float)
    salt = f"{config.weights_seed}:" if config.weights_seed else ""
    digest = hashlib.sha256(f"weights:{salt}{trace_name}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    return 1 + config.imbalance * rng.uniform(-1, 1, max(config.max_instances, 16))


def hottest_share(weights: np.ndarray, count: int) -> float:
    return float(weights[:count].max() / weights[:count].sum())


def utilization(cpu, base_gb, capacity: Capacity, share: float | None = None):
    """(CPU %, memory %) of the hottest instance, uncapped (above 100: demand exceeds what it can serve).
    `share`: that instance's share of the load (default: an even spread)."""
    per_ocpus, per_gb = capacity.shape.size
    share = 1 / capacity.instance_count if share is None else share
    return 100 * cpu * share / per_ocpus, 100 * (base_gb + WORK_GB_PER_OCPU * cpu * share) / per_gb


def capacities(config: SimConfig) -> list[Capacity]:
    """Every count x rung the limits allow, smallest OCPUs first (fewer, larger instances first on a tie)."""
    counts = range(config.min_instances, config.max_instances + 1)
    options = [Capacity(n, shape) for n in counts for shape in config.ladder]
    return sorted(options, key=lambda c: (ocpus(c), c.instance_count))


def serves(trace: Trace, capacity: Capacity, config: SimConfig, minutes: slice) -> bool:
    share = hottest_share(slot_weights(trace.name, config), capacity.instance_count)
    cpu, mem = utilization(trace.cpu[minutes], trace.base_gb[minutes], capacity, share)
    return max(cpu.max(), mem.max()) <= config.slo


def user_capacity(trace: Trace, config: SimConfig) -> Capacity:
    """What a user would create: the bottom rung that holds the model's memory, with the fewest instances that
    serve the first hour within the SLO (a bigger rung only when no count on a smaller one does)."""
    for shape in config.ladder:
        for count in range(config.min_instances, config.max_instances + 1):
            if serves(trace, Capacity(count, shape), config, slice(0, 60)):
                return Capacity(count, shape)
    return Capacity(config.max_instances, config.ladder[-1])


STARTS = {
    "user": user_capacity,
    "large": lambda trace, config: Capacity(2, config.ladder[2]),  # 2 x 4 OCPUs: oversized for every trace here
    "small": lambda trace, config: Capacity(config.min_instances, config.ladder[0]),  # 1 x 1 OCPU
}


def deployment_id(index: int, trace: str) -> str:
    return f"ocid1.datasciencemodeldeployment.oc1.iad.bench{index}-{trace.replace('#', '-')}"


def deployment_body(md_id: str, capacity: Capacity) -> dict:
    body = copy.deepcopy(TEMPLATE)
    body.update(id=md_id, displayName=md_id.rsplit(".", 1)[-1], freeformTags={})
    model = body["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]
    model.update(configuration_details(capacity))
    body["modelDeploymentSystemData"]["currentInstanceCount"] = capacity.instance_count
    return body


def configuration_details(capacity: Capacity) -> dict:
    shape = capacity.shape
    instance = {"instanceShapeName": shape.name}
    if shape.ocpus is not None:
        instance["modelDeploymentInstanceShapeConfigDetails"] = {"ocpus": shape.ocpus, "memoryInGBs": shape.memory_gbs}
    return {
        "instanceConfiguration": instance,
        "scalingPolicy": {"policyType": "FIXED_SIZE", "instanceCount": capacity.instance_count},
    }


def read_capacity(body: dict) -> Capacity:
    model = body["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]
    instance = model["instanceConfiguration"]
    shape_config = instance.get("modelDeploymentInstanceShapeConfigDetails") or {}
    shape = Shape(
        name=instance["instanceShapeName"], ocpus=shape_config.get("ocpus"), memory_gbs=shape_config.get("memoryInGBs")
    )
    return Capacity(model["scalingPolicy"]["instanceCount"], shape)


def apply(store: Store, md_id: str, capacity: Capacity) -> bool:
    """Resize a deployment directly in the Store (the simulated non-function policies): one option group (count or
    compute) per update, as OCI requires while ACTIVE. False if busy."""
    body, etag = store.get_model_deployment(md_id)
    if body["lifecycleState"] != "ACTIVE":
        return False
    current = read_capacity(body)
    model = body["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]
    details = configuration_details(capacity)
    update = {"modelId": model["modelId"]}
    if capacity.shape != current.shape:
        update["instanceConfiguration"] = details["instanceConfiguration"]
    if capacity.instance_count != current.instance_count:
        update["scalingPolicy"] = details["scalingPolicy"]
    config = {"deploymentType": "SINGLE_MODEL", "modelConfigurationDetails": update}
    store.update_model_deployment(md_id, {"modelDeploymentConfigurationDetails": config}, etag)
    return True


def update_kind(before: Capacity, after: Capacity) -> str:
    if before.shape != after.shape:
        return "shape"
    return "out" if after.instance_count > before.instance_count else "in"


class BenchMonitoring(Monitoring):
    """The emulator's Monitoring, with alarm evaluation skipping the streams of instances that are gone.

    Every instance publishes its own streams, and a deployment that scales often leaves hundreds of dead ones
    behind. An alarm reads a window of at most an hour before its evaluation (intervals up to 60m, plus the
    slack), so a stream without a datapoint for `idle_seconds` can change no alarm, but every evaluation would
    still walk it. `prune` (hourly) sets such streams aside for alarm evaluation only: SummarizeMetricsData (the
    function's CPU history) still reads every stream, as OCI keeps metric data for 90 days. The emulator has no
    public call for this: it reaches into Monitoring's private stream index under its lock, and
    tests/bench/test_monitoring.py checks that it changes no alarm message and no history."""

    idle_seconds = 3 * 3600

    def reset(self) -> None:
        super().reset()
        self._live: dict[tuple, list] = {}  # per metric: the streams alive at the last prune ...
        self._pruned: dict[tuple, int] = {}  # ... and how many streams the index held then (newer ones are alive)

    def prune(self, now: float) -> None:
        with self._lock:
            for key, streams in self._by_metric.items():
                alive = [s for s in streams if self._series[s] and self._series[s][-1][0] > now - self.idle_seconds]
                self._live[key], self._pruned[key] = alive, len(streams)

    def stream_values(self, compartment_id: str, namespace: str, query, end: float) -> dict[tuple, tuple]:
        with self._lock:
            everything = self._by_metric
            self._by_metric = {k: self._live.get(k, []) + v[self._pruned.get(k, 0) :] for k, v in everything.items()}
            try:
                return super().stream_values(compartment_id, namespace, query, end)
            finally:
                self._by_metric = everything


class BenchStore(Store):
    """The emulator's Store, with an update's UPDATING time drawn by kind (scale out / in / shape) at the virtual
    minute it is made (the draw depends only on the deployment, the minute and the kind, so every policy that
    makes the same change at the same minute waits the same time), and past SummarizeMetricsData answers kept."""

    def __init__(self, config: SimConfig, clock: VirtualClock, monitoring: Monitoring):
        self._summaries: dict[tuple, list[dict]] = {}
        self.start = clock.now  # minute 0
        super().__init__(clock=clock, monitoring=monitoring)
        self.config = config

    def update_model_deployment(self, deployment_id, details: dict, if_match: str | None) -> str:
        with self._lock:
            md = self._deployments.get(deployment_id)
            if md is not None:
                before = read_capacity(md)
                merged = copy.deepcopy(md)
                model = merged["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]
                change = (details.get("modelDeploymentConfigurationDetails") or {}).get("modelConfigurationDetails")
                for key, value in (change or {}).items():
                    if key == "instanceConfiguration":
                        model.setdefault(key, {}).update(value)
                    else:
                        model[key] = value
                try:
                    after = read_capacity(merged)
                except (KeyError, TypeError):
                    after = before
                self.update_delay_seconds = 60 * self._minutes(deployment_id, update_kind(before, after))
            return super().update_model_deployment(deployment_id, details, if_match)

    def peek(self, md_id: str) -> tuple[str, Capacity]:
        """(lifecycle state, configured capacity) as GetModelDeployment would show them, without copying the body or
        recording an OCI call: the simulator's and the simulated policies' own look (the function uses the SDK)."""
        with self._lock:
            self._settle()
            md = self._deployments[md_id]
            return md["lifecycleState"], read_capacity(md)

    def summarize_metrics_data(self, compartment_id, details: dict, compartment_id_in_subtree=False) -> list[dict]:
        """SummarizeMetricsData, remembered per request while its range lies in the past: the function reads
        the same hourly CPU history on every scale-in and reconcile tick of an hour, and the datapoints of a past
        range never change here (the simulation posts each minute's datapoints at that minute). Still recorded
        as a call. A range ending in the present or future is always computed."""
        try:
            end = parse_time(details["endTime"]) if isinstance(details, dict) and details.get("endTime") else None
        except ValueError:
            end = None
        if end is None or end > self.clock():
            return super().summarize_metrics_data(compartment_id, details, compartment_id_in_subtree)
        key = (compartment_id, json.dumps(details, sort_keys=True, default=str), compartment_id_in_subtree)
        with self._lock:
            if key in self._summaries:
                self._begin("SummarizeMetricsData")
                return copy.deepcopy(self._summaries[key])
            answer = super().summarize_metrics_data(compartment_id, details, compartment_id_in_subtree)
            self._summaries[key] = copy.deepcopy(answer)
            return answer

    def _minutes(self, md_id: str, kind: str) -> float:
        return update_minutes(self.config, md_id, int((self.clock() - self.start) // 60), kind)


def update_minutes(config: SimConfig, md_id: str, minute: int, kind: str) -> float:
    """How long an update of `kind` made during `minute` keeps the deployment UPDATING (the same for every policy)."""
    mean, jitter = config.update_time(kind)
    digest = hashlib.sha256(f"{config.seed}:{md_id}:{minute}:{kind}".encode()).digest()
    return mean + jitter * (2 * int.from_bytes(digest[:8], "little") / 2**64 - 1)


@dataclass
class Series:
    """What happened to one deployment, minute by minute, plus its scaling actions."""

    trace: Trace
    start: Capacity
    serving_ocpus: list[float] = field(default_factory=list)
    billed_ocpus: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # the hottest instance's uncapped CPU %
    mem: list[float] = field(default_factory=list)  # the hottest instance's memory %
    unserved: list[float] = field(default_factory=list)  # OCPUs of work above what the instances serve at the SLO
    # (minute first seen, before, after): a change made during minute m is seen at minute m + 1
    actions: list[tuple[int, Capacity, Capacity]] = field(default_factory=list)


@dataclass
class Run:
    policy: str
    series: dict[str, Series]
    invocations: list[dict] = field(default_factory=list)  # per delivered message: calls, seconds, outcome
    ticks: list[dict] = field(default_factory=list)  # per periodic reconcile invocation (the function's tick)
    wall_seconds: float = 0.0


class Controller:
    """A scaling policy under test. Alarm-driven ones get `deliver`; the others `tick` every minute."""

    name = "controller"
    acted = False

    def alarms(self, md_id: str) -> list[dict]:
        return []

    def start(self, sim: Simulation) -> None:
        self.sim = sim

    def tick(self, minute: int, now: float) -> None:
        pass

    def deliver(self, message: dict, now: float) -> dict | None:
        return None

    def close(self) -> None:
        pass


@dataclass
class _Deployment:
    trace: Trace
    cpu: list[float]
    base: list[float]
    weights: list[float]
    lifecycle: str
    serving: Capacity
    configured: Capacity
    instances: list[tuple[str, int]]  # (instanceId, minute it started serving)
    born: int = 0  # instance ids handed out so far


class Simulation:
    def __init__(
        self,
        traces: list[Trace],
        controller: Controller,
        config: SimConfig = SimConfig(),
        starts: list[Capacity] | None = None,
    ):
        self.config = config
        self.controller = controller
        self.start = start_time(traces[0])
        self.clock = VirtualClock(self.start)
        self.monitoring = BenchMonitoring(wall_clock=self.clock, slack_seconds=config.evaluation_slack_seconds)
        self.store = BenchStore(config, self.clock, self.monitoring)
        self.ids = [deployment_id(index, trace.name) for index, trace in enumerate(traces)]
        self.traces = dict(zip(self.ids, traces, strict=True))
        starts = starts or [user_capacity(trace, config) for trace in traces]
        self.initial = dict(zip(self.ids, starts, strict=True))
        alarms = [alarm for md_id in self.ids for alarm in controller.alarms(md_id)]
        bodies = [deployment_body(md_id, capacity) for md_id, capacity in self.initial.items()]
        self.store.load({"modelDeployments": bodies, "alarms": alarms})
        self.series = {md_id: Series(self.traces[md_id], self.initial[md_id]) for md_id in self.ids}

    def run(self) -> Run:
        started = time.perf_counter()
        result = Run(self.controller.name, self.series)
        self.controller.start(self)
        try:
            self._loop(result)
        finally:
            self.controller.close()
        result.ticks = list(getattr(self.controller, "ticks", []))
        result.wall_seconds = time.perf_counter() - started
        return result

    def _loop(self, result: Run) -> None:
        minutes = min(trace.minutes for trace in self.traces.values())
        deployments = {}
        for md_id, trace in self.traces.items():
            capacity = self.initial[md_id]
            weights = slot_weights(trace.name, self.config).tolist()
            cpu, base = trace.cpu.tolist(), trace.base_gb.tolist()
            d = _Deployment(trace, cpu, base, weights, "ACTIVE", capacity, capacity, [])
            d.instances = [self._new_instance(md_id, d, -(10**6)) for _ in range(capacity.instance_count)]
            deployments[md_id] = d
        dirty, queue, order = True, [], 0
        for minute in range(minutes):
            now = self.start + 60 * minute
            self.clock.now = now
            for md_id, d in deployments.items():
                if dirty or d.lifecycle != "ACTIVE":
                    self._refresh(md_id, d, minute)
                self._publish(md_id, d, minute, now)
            for message in self.store.evaluate_alarms(now):
                deliver_at = message["timestampEpochMillis"] / 1000 + self.config.delivery_delay_seconds
                heapq.heappush(queue, (deliver_at, order, message))
                order += 1
            dirty = False
            if minute % 60 == 59:
                self.monitoring.prune(now)
            self.controller.tick(minute, now)
            while queue and queue[0][0] < now + 60:
                deliver_at, _, message = heapq.heappop(queue)
                self.clock.now = deliver_at
                record = self.controller.deliver(message, deliver_at)
                if record is not None:
                    result.invocations.append(record)
                dirty = True
            dirty = dirty or self.controller.acted
            self.controller.acted = False

    def _new_instance(self, md_id: str, d: _Deployment, minute: int) -> tuple[str, int]:
        d.born += 1
        return f"ocid1.datasciencemodeldeploymentinstance.oc1.iad.{md_id.rsplit('.', 1)[-1]}-{d.born}", minute

    def _refresh(self, md_id: str, d: _Deployment, minute: int) -> None:
        d.lifecycle, configured = self.store.peek(md_id)
        if configured != d.configured:
            self.series[md_id].actions.append((minute, d.configured, configured))
            d.configured = configured
        if d.lifecycle == "ACTIVE" and configured != d.serving:
            if configured.shape != d.serving.shape:  # a shape change replaces every instance
                d.instances = [self._new_instance(md_id, d, minute) for _ in range(configured.instance_count)]
            else:
                kept = d.instances[: configured.instance_count]
                fresh = configured.instance_count - len(kept)
                d.instances = kept + [self._new_instance(md_id, d, minute) for _ in range(fresh)]
            d.serving = configured

    def _publish(self, md_id: str, d: _Deployment, minute: int, now: float) -> None:
        config, serving = self.config, d.serving
        per_ocpus, per_gb = serving.shape.size
        demand, base = d.cpu[minute], d.base[minute]
        weights = []
        for slot, (_, born) in enumerate(d.instances):
            weight = d.weights[slot]
            if minute - born < config.warmup_minutes:
                weight *= config.warmup_share
            weights.append(weight)
        total = sum(weights)
        hot_cpu = hot_mem = unserved = 0.0
        limit = config.slo / 100 * per_ocpus
        post = self.monitoring.post
        for (instance_id, _), weight in zip(d.instances, weights, strict=True):
            work = demand * weight / total
            cpu = 100 * work / per_ocpus
            mem = 100 * (base + WORK_GB_PER_OCPU * work) / per_gb
            hot_cpu, hot_mem = max(hot_cpu, cpu), max(hot_mem, mem)
            unserved += max(0.0, work - limit)
            dims = {"resourceId": md_id, "instanceId": instance_id}
            post(COMPARTMENT, NAMESPACE, "CpuUtilization", dims, [(now, min(cpu, 100.0))])
            post(COMPARTMENT, NAMESPACE, "MemoryUtilization", dims, [(now, min(mem, 100.0))])
        series = self.series[md_id]
        series.cpu.append(hot_cpu)
        series.mem.append(hot_mem)
        series.unserved.append(unserved)
        serving_ocpus = ocpus(serving)
        series.serving_ocpus.append(serving_ocpus)
        series.billed_ocpus.append(billed(serving, d.configured, config))
