"""The closed-loop simulator: a virtual clock, the load model, OCI state in the emulator's Store, alarms.

Each virtual minute, for every deployment: the capacity that serves is the deployment's configuration
once it is ACTIVE again (an update keeps the old capacity serving while UPDATING, and bills the larger
of the two); utilization follows from the trace's demand and is published as the minute's
CpuUtilization / MemoryUtilization datapoint; the Store's alarms are evaluated; the policy's
controller acts (on delivered alarm messages, or on the metrics directly). The Store's clock is the
virtual clock, so UPDATING lasts `update_delay_seconds` of virtual time.
"""

from __future__ import annotations

import copy
import heapq
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from autoscaler.domain import Capacity, Shape
from bench.alarms import Evaluator, Notification
from bench.traces import WORK_GB_PER_OCPU, Trace
from emulator.store import Store

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = json.loads((ROOT / "emulator" / "seed.json").read_text())["modelDeployments"][0]
COMPARTMENT = TEMPLATE["compartmentId"]
START = 1_767_571_200.0  # Monday 2026-01-05 00:00 UTC: virtual time of minute 0
E4 = "VM.Standard.E4.Flex"
LADDER = tuple(Shape(name=E4, ocpus=n, memory_gbs=16 * n) for n in (1, 2, 4, 8))


@dataclass(frozen=True)
class SimConfig:
    slo: float = 90.0  # utilization (%) above which a minute counts as an SLO violation
    update_delay_seconds: float = 600.0  # ACTIVE -> UPDATING -> ACTIVE, on average
    update_jitter_seconds: float = 120.0  # each update takes the average ± up to this (uniform, seeded)
    delivery_delay_seconds: float = 30.0  # alarm evaluation -> the function receives the message
    min_instances: int = 1
    max_instances: int = 4
    ladder: tuple[Shape, ...] = LADDER


class VirtualClock:
    def __init__(self, now: float = START):
        self.now = now

    def __call__(self) -> float:
        return self.now


def ocpus(capacity: Capacity) -> float:
    return capacity.instance_count * capacity.shape.size[0]


def utilization(cpu: float, base_gb: float, capacity: Capacity) -> tuple[float, float]:
    """(CPU %, memory %) of one deployment, uncapped: above 100 means demand exceeds capacity."""
    per_ocpus, per_gb = capacity.shape.size
    count = capacity.instance_count
    return 100 * cpu / (count * per_ocpus), 100 * (base_gb + WORK_GB_PER_OCPU * cpu / count) / per_gb


def initial_capacity(trace: Trace, config: SimConfig) -> Capacity:
    """What an operator would deploy with: the smallest capacity within the SLO for the first hour."""
    options = capacities(config)
    for option in options:
        cpu, mem = utilization(trace.cpu[:60], trace.base_gb[:60], option)
        if max(cpu.max(), mem.max()) <= config.slo:
            return option
    return options[-1]


def capacities(config: SimConfig) -> list[Capacity]:
    """Every count x rung the limits allow, smallest OCPUs first (fewer, larger instances first on a tie)."""
    counts = range(config.min_instances, config.max_instances + 1)
    options = [Capacity(n, shape) for n in counts for shape in config.ladder]
    return sorted(options, key=lambda c: (ocpus(c), c.instance_count))


def deployment_id(index: int, trace: str) -> str:
    return f"ocid1.datasciencemodeldeployment.oc1.iad.bench{index}-{trace}"


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
    """Resize a deployment directly in the Store (the simulated non-function policies). False if busy."""
    body, etag = store.get_model_deployment(md_id)
    if body["lifecycleState"] != "ACTIVE":
        return False
    model = body["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]
    update = {"deploymentType": "SINGLE_MODEL", "modelConfigurationDetails": {"modelId": model["modelId"]}}
    update["modelConfigurationDetails"].update(configuration_details(capacity))
    store.update_model_deployment(md_id, {"modelDeploymentConfigurationDetails": update}, etag)
    return True


@dataclass
class Series:
    """What happened to one deployment, minute by minute, plus its scaling actions."""

    trace: Trace
    serving_ocpus: list[float] = field(default_factory=list)
    billed_ocpus: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # uncapped %
    mem: list[float] = field(default_factory=list)
    # (minute first seen, before, after): a change made during minute m is seen at minute m + 1
    actions: list[tuple[int, Capacity, Capacity]] = field(default_factory=list)


@dataclass
class Run:
    policy: str
    series: dict[str, Series]
    invocations: list[dict] = field(default_factory=list)  # per delivered message: calls, seconds, outcome
    wall_seconds: float = 0.0


class Controller:
    """A scaling policy under test. Alarm-driven ones get `deliver`; metric-driven ones `tick`."""

    name = "controller"

    def alarms(self, md_id: str) -> list[dict]:
        return []

    def start(self, sim: Simulation) -> None:
        self.sim = sim

    def tick(self, minute: int, now: float) -> None:
        pass

    def deliver(self, notification: Notification, now: float) -> dict | None:
        return None

    def close(self) -> None:
        pass


class Simulation:
    def __init__(self, traces: list[Trace], controller: Controller, config: SimConfig = SimConfig()):
        self.config = config
        self.controller = controller
        self.clock = VirtualClock()
        self.store = Store(update_delay_seconds=config.update_delay_seconds, clock=self.clock)
        self.ids = [deployment_id(index, trace.name) for index, trace in enumerate(traces)]
        self.traces = dict(zip(self.ids, traces, strict=True))
        alarms = [alarm for md_id in self.ids for alarm in controller.alarms(md_id)]
        self.initial = {md_id: initial_capacity(trace, config) for md_id, trace in self.traces.items()}
        bodies = [deployment_body(md_id, capacity) for md_id, capacity in self.initial.items()]
        self.store.load({"modelDeployments": bodies, "alarms": alarms})
        self.series = {md_id: Series(trace) for md_id, trace in self.traces.items()}
        self.datapoints: dict[tuple[str, str], list[float]] = {}
        self.evaluator = Evaluator(config.delivery_delay_seconds)

    def run(self) -> Run:
        started = time.perf_counter()
        result = Run(self.controller.name, self.series)
        self.controller.start(self)
        try:
            self._loop(result)
        finally:
            self.controller.close()
        result.wall_seconds = time.perf_counter() - started
        return result

    def _loop(self, result: Run) -> None:
        minutes = min(trace.minutes for trace in self.traces.values())
        jitter = random.Random(7)  # the same update durations minute by minute for every policy
        cpu = {i: self.traces[i].cpu.tolist() for i in self.ids}
        base = {i: self.traces[i].base_gb.tolist() for i in self.ids}
        state = {i: ("ACTIVE", self.initial[i], self.initial[i]) for i in self.ids}  # lifecycle, serving, configured
        dirty, alarms, queue, order = True, [], [], 0
        for minute in range(minutes):
            now = START + 60 * minute
            self.clock.now = now
            spread = self.config.update_jitter_seconds
            self.store.update_delay_seconds = self.config.update_delay_seconds + jitter.uniform(-spread, spread)
            if dirty:  # the summaries lack the pending and repeat durations: read each alarm in full
                listed = self.store.list_alarms(COMPARTMENT, lifecycle_state="ACTIVE")
                alarms = [self.store.get_alarm(summary["id"])[0] for summary in listed]
            for md_id in self.ids:
                lifecycle, serving, configured = state[md_id]
                if dirty or lifecycle != "ACTIVE":
                    body, _ = self.store.get_model_deployment(md_id)
                    lifecycle, now_configured = body["lifecycleState"], read_capacity(body)
                    if now_configured != configured:
                        self.series[md_id].actions.append((minute, configured, now_configured))
                        configured = now_configured
                    if lifecycle == "ACTIVE":
                        serving = configured
                    state[md_id] = (lifecycle, serving, configured)
                self._publish(md_id, cpu[md_id][minute], base[md_id][minute], serving, configured)
            dirty = False
            for notification in self.evaluator.evaluate(alarms, now, self._datapoints):
                heapq.heappush(queue, (notification.deliver_at, order, notification))
                order += 1
            self.controller.tick(minute, now)
            while queue and queue[0][0] < now + 60:
                deliver_at, _, notification = heapq.heappop(queue)
                self.clock.now = deliver_at
                record = self.controller.deliver(notification, deliver_at)
                if record is not None:
                    result.invocations.append(record)
                dirty = True
            dirty = dirty or self.controller_acted()

    def controller_acted(self) -> bool:
        acted = getattr(self.controller, "acted", False)
        self.controller.acted = False
        return acted

    def _publish(self, md_id: str, cpu: float, base_gb: float, serving: Capacity, configured: Capacity) -> None:
        cpu_pct, mem_pct = utilization(cpu, base_gb, serving)
        series = self.series[md_id]
        series.cpu.append(cpu_pct)
        series.mem.append(mem_pct)
        serving_ocpus = ocpus(serving)
        series.serving_ocpus.append(serving_ocpus)
        series.billed_ocpus.append(max(serving_ocpus, ocpus(configured)))
        # The metrics OCI publishes cannot exceed 100%: saturation hides how much demand is unserved.
        self.datapoints.setdefault((md_id, "CpuUtilization"), []).append(min(cpu_pct, 100.0))
        self.datapoints.setdefault((md_id, "MemoryUtilization"), []).append(min(mem_pct, 100.0))

    def _datapoints(self, resource: str, metric: str) -> list[float]:
        return self.datapoints.get((resource, metric), [])
