"""The policies compared: ours (the real function), the 2022 sample, OCI native autoscaling rules, the oracle."""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from autoscaler.constants import HIGH_CPU, HIGH_MEM, LOW_CPU, LOW_MEM, OWNER_TAG, OWNER_VALUE, ROUTES
from autoscaler.messages import parse_message
from autoscaler.oci_gateway import OciGateway
from autoscaler.service import handle_message
from autoscaler.settings import load_settings
from bench.alarms import Notification
from bench.sim import COMPARTMENT, Controller, apply, capacities, ocpus, read_capacity, utilization

ROOT = Path(__file__).resolve().parents[1]
TOPIC = "ocid1.onstopic.oc1.iad.bench"
METRICS = {"cpu": "CpuUtilization", "mem": "MemoryUtilization"}


def alarm(md_id: str, name: str, title: str, query: str, pending: str, repeat: str, owned: bool = True) -> dict:
    """An alarm as the Store holds it (what Terraform or the 2022 sample's setup would create)."""
    tags = {OWNER_TAG: OWNER_VALUE, "autoscale_deployment": md_id} if owned else {}
    return {
        "id": f"ocid1.alarm.oc1.iad.{name}-{md_id.rsplit('.', 1)[-1]}",
        "displayName": f"{name}-{md_id.rsplit('.', 1)[-1]}",
        "compartmentId": COMPARTMENT,
        "metricCompartmentId": COMPARTMENT,
        "namespace": "oci_datascience_modeldeploy",
        "query": query,
        "severity": "CRITICAL",
        "destinations": [TOPIC],
        "isEnabled": True,
        "pendingDuration": pending,
        "repeatNotificationDuration": repeat,
        "notificationTitle": title,
        "messageFormat": "RAW",
        "freeformTags": tags,
        "definedTags": {},
        "lifecycleState": "ACTIVE",
    }


def terraform_defaults(path: Path = ROOT / "infra" / "terraform" / "variables.tf") -> dict[str, str]:
    """The high-alarm defaults of the Terraform module, read from its variables (what `apply` creates)."""
    text = path.read_text()
    values = {}
    names = ("cpu_high_threshold", "mem_high_threshold", "high_alarm_pending_duration", "high_alarm_repeat_duration")
    for name in names:
        match = re.search(rf'variable "{name}" \{{.*?default\s*=\s*"?([^"\n]+)"?\n', text, re.S)
        values[name] = match.group(1).strip() if match else None
    return values


class Ours(Controller):
    """The real function code: each alarm message as JSON bytes through parse_message and handle_message,
    with a real OciGateway whose SDK clients talk HTTP to the emulator serving the simulation's Store."""

    def __init__(self, name: str = "ours", high: dict | None = None, transport: str = "http", **config: str):
        self.name, self.transport = name, transport
        defaults = terraform_defaults()  # the high alarms as the Terraform module creates them by default
        self.high = {
            "cpu": defaults["cpu_high_threshold"],
            "mem": defaults["mem_high_threshold"],
            "pending": defaults["high_alarm_pending_duration"],
            "repeat": defaults["high_alarm_repeat_duration"],
            **(high or {}),
        }
        self.config = config
        self._stop = None

    def alarms(self, md_id: str) -> list[dict]:
        h = self.high
        return [
            alarm(
                md_id,
                f"md-autoscale-high-{m}",
                title,
                f'{METRICS[m]}[1m]{{resourceId = "{md_id}"}}.mean() > {h[m]}',
                h["pending"],
                h["repeat"],
            )
            for m, title in (("cpu", HIGH_CPU), ("mem", HIGH_MEM))
        ]

    def start(self, sim) -> None:
        super().start(sim)
        env = {
            "AUTOSCALE_COMPARTMENT_ALLOWLIST": COMPARTMENT,
            "AUTOSCALE_MIN_INSTANCES": str(sim.config.min_instances),
            "AUTOSCALE_MAX_INSTANCES": str(sim.config.max_instances),
            "AUTOSCALE_SHAPE_LADDER": ",".join(map(str, sim.config.ladder)),
            **self.config,
        }
        if self.transport == "http":
            from emulator import serve_in_thread

            url, self._stop = serve_in_thread(sim.store)
            endpoints = {"AUTOSCALE_DATA_SCIENCE_ENDPOINT": url, "AUTOSCALE_MONITORING_ENDPOINT": url}
            env.update(AUTOSCALE_AUTH="emulator", **endpoints)
            self.settings = load_settings(env)
            self.gateway = OciGateway.from_settings(self.settings)
        else:  # the in-process fakes: same Store, the real SDK (de)serializes every request and response
            from emulator.sdk_fakes import FakeDataScienceClient, FakeMonitoringClient

            self.settings = load_settings(env)
            self.gateway = OciGateway(FakeDataScienceClient(sim.store), FakeMonitoringClient(sim.store))

    def deliver(self, notification: Notification, now: float) -> dict:
        calls_before = len(self.sim.store.calls)
        started = time.perf_counter()
        message = parse_message(json.dumps(notification.body).encode())
        outcomes = handle_message(message, self.settings, self.gateway, now)
        seconds = time.perf_counter() - started
        return {
            "type": notification.type,
            "title": notification.body["title"],
            "seconds": seconds,
            "calls": [op for op, _ in self.sim.store.calls[calls_before:]],
            "outcomes": [o.as_dict() for o in outcomes],
        }

    def close(self) -> None:
        if self._stop:
            self._stop()


class Sample2022(Controller):
    """The 2022 sample: static high (5 m mean > 80) and low (5 m mean < 10) alarms per metric, PT1M
    pending, repeat PT5M; each alarm moves one instance (CPU) or one shape rung (memory); no cooldown.
    A message that arrives while the deployment is UPDATING fails (409) and is dropped."""

    name = "2022"

    def alarms(self, md_id: str) -> list[dict]:
        out = []
        for title, (metric, direction) in ROUTES.items():
            op, threshold = (">", 80) if direction == "up" else ("<", 10)
            query = f'{METRICS[metric]}[5m]{{resourceId = "{md_id}"}}.mean() {op} {threshold}'
            out.append(alarm(md_id, title, title, query, "PT1M", "PT5M", owned=False))
        return out

    def deliver(self, notification: Notification, now: float) -> None:
        if notification.type not in ("OK_TO_FIRING", "REPEAT"):
            return None
        title = notification.body["title"]
        md_id = notification.body["alarmMetaData"][0]["dimensions"][0]["resourceId"]
        body, _ = self.sim.store.get_model_deployment(md_id)
        current, config = read_capacity(body), self.sim.config
        ladder = list(config.ladder)
        target = current
        if title == HIGH_CPU and current.instance_count < config.max_instances:
            target = replace(current, instance_count=current.instance_count + 1)
        elif title == LOW_CPU and current.instance_count > config.min_instances:
            target = replace(current, instance_count=current.instance_count - 1)
        elif title in (HIGH_MEM, LOW_MEM) and current.shape in ladder:
            index = ladder.index(current.shape) + (1 if title == HIGH_MEM else -1)
            if 0 <= index < len(ladder):
                target = replace(current, shape=ladder[index])
        if target != current:
            self.acted = apply(self.sim.store, md_id, target) or getattr(self, "acted", False)
        return None


class Native(Controller):
    """OCI native threshold autoscaling: CPU only, horizontal only, a fixed instance step, 1-minute
    datapoints that must breach for the pending duration, and a cooldown counted from ACTIVE again."""

    name = "native"

    def __init__(self, out_threshold=70.0, in_threshold=30.0, out_pending=3, in_pending=3, step=1, cooldown=600):
        self.out_threshold, self.in_threshold = out_threshold, in_threshold
        self.out_pending, self.in_pending, self.step, self.cooldown = out_pending, in_pending, step, cooldown
        self._active_since: dict[str, float] = {}

    def tick(self, minute: int, now: float) -> None:
        config = self.sim.config
        for md_id in self.sim.ids:
            body, _ = self.sim.store.get_model_deployment(md_id)
            if body["lifecycleState"] != "ACTIVE":
                self._active_since[md_id] = now + 60  # becomes ACTIVE during this minute at the latest
                continue
            if now - self._active_since.get(md_id, -1e12) < self.cooldown:
                continue
            points = self.sim.datapoints[(md_id, "CpuUtilization")]
            current = read_capacity(body)
            count = current.instance_count
            if len(points) >= self.out_pending and min(points[-self.out_pending :]) > self.out_threshold:
                count = min(config.max_instances, count + self.step)
            elif len(points) >= self.in_pending and max(points[-self.in_pending :]) < self.in_threshold:
                count = max(config.min_instances, count - self.step)
            if count != current.instance_count:
                apply(self.sim.store, md_id, replace(current, instance_count=count))
                self.acted = True


class Oracle(Controller):
    """Knows the future: from every ACTIVE minute it moves to the cheapest capacity (any count, any rung)
    that keeps CPU and memory at or below the SLO from the soonest an update can complete until the latest
    the next change could complete. A lower bound on cost for violation-free operation; its actions are
    not meaningful."""

    name = "oracle"

    def start(self, sim) -> None:
        super().start(sim)
        config = sim.config
        # An update ends between the shortest and the longest update time from now.
        self.soonest = int((config.update_delay_seconds - config.update_jitter_seconds) // 60)
        self.delay = int(np.ceil((config.update_delay_seconds + config.update_jitter_seconds) / 60))
        self.options = capacities(config)
        self.ok = {}  # md_id -> bool array [option, minute]: option within the SLO at that minute
        for md_id, trace in sim.traces.items():
            rows = []
            for option in self.options:
                cpu, mem = utilization(trace.cpu, trace.base_gb, option)
                rows.append((cpu <= config.slo) & (mem <= config.slo))
            self.ok[md_id] = np.cumsum(~np.array(rows), axis=1)  # infeasible minutes so far, per option

    def _covers(self, md_id: str, index: int, start: int, end: int) -> bool:
        bad = self.ok[md_id][index]
        end = min(end, len(bad) - 1)
        if start > end:
            return True
        return bad[end] - (bad[start - 1] if start > 0 else 0) == 0

    def tick(self, minute: int, now: float) -> None:
        for md_id in self.sim.ids:
            body, _ = self.sim.store.get_model_deployment(md_id)
            if body["lifecycleState"] != "ACTIVE":
                continue
            current = read_capacity(body)
            start, end = minute + self.soonest, minute + 2 * self.delay
            best = next((i for i in range(len(self.options)) if self._covers(md_id, i, start, end)), None)
            if best is None:  # nothing covers the window: take the largest capacity
                best = len(self.options) - 1
            target = self.options[best]
            current_index = self.options.index(current) if current in self.options else None
            keep = current_index is not None and self._covers(md_id, current_index, start, end)
            if keep and ocpus(target) >= ocpus(current):
                continue
            if target != current:
                apply(self.sim.store, md_id, target)
                self.acted = True
