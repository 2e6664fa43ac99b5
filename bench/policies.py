"""The policies compared: ours (the real function), the 2022 sample, OCI native autoscaling rules, the oracle."""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from autoscaler.constants import HIGH_CPU, HIGH_MEM, LOW_CPU, LOW_MEM, OWNER_TAG, OWNER_VALUE, ROUTES, alarm_query
from autoscaler.messages import parse_message
from autoscaler.oci_gateway import OciGateway
from autoscaler.service import handle_message
from autoscaler.settings import load_settings
from bench.sim import (
    COMPARTMENT,
    NAMESPACE,
    Controller,
    apply,
    capacities,
    hottest_share,
    ocpus,
    slot_weights,
    update_kind,
    utilization,
)

ROOT = Path(__file__).resolve().parents[1]
TOPIC = "ocid1.onstopic.oc1.iad.bench"
METRICS = {"cpu": "CpuUtilization", "mem": "MemoryUtilization"}


def alarm(md_id: str, name: str, title: str, query: str, pending: str, repeat: str | None, owned: bool = True) -> dict:
    """An alarm as the Store holds it (what Terraform or the 2022 sample's setup would create). No
    evaluationSlackDuration: OCI's default PT3M applies (SimConfig.evaluation_slack_seconds overrides it)."""
    tags = {OWNER_TAG: OWNER_VALUE, "autoscale_deployment": md_id} if owned else {}
    body = {
        "id": f"ocid1.alarm.oc1.iad.{name}-{md_id.rsplit('.', 1)[-1]}",
        "displayName": f"{name}-{md_id.rsplit('.', 1)[-1]}",
        "compartmentId": COMPARTMENT,
        "metricCompartmentId": COMPARTMENT,
        "namespace": NAMESPACE,
        "query": query,
        "severity": "CRITICAL",
        "destinations": [TOPIC],
        "isEnabled": True,
        "pendingDuration": pending,
        "notificationTitle": title,
        "messageFormat": "RAW",
        "isNotificationsPerMetricDimensionEnabled": False,
        "freeformTags": tags,
        "definedTags": {},
        "lifecycleState": "ACTIVE",
    }
    if repeat:
        body["repeatNotificationDuration"] = repeat
    return body


def terraform_defaults(path: Path = ROOT / "infra" / "terraform" / "variables.tf") -> dict[str, str]:
    """The high-alarm and reconcile defaults of the Terraform module, read from its variables (what `apply`
    creates): reconcile_enabled / reconcile_minutes are None when the module has no periodic reconcile."""
    text = path.read_text()
    values = {}
    names = (
        "cpu_high_threshold",
        "mem_high_threshold",
        "gpu_high_threshold",
        "high_alarm_pending_duration",
        "high_alarm_repeat_duration",
    )
    for name in names:
        match = re.search(rf'variable "{name}" \{{.*?default\s*=\s*"?([^"\n]+)"?\n', text, re.S)
        values[name] = match.group(1).strip() if match else None
    block = re.search(r'variable "reconcile" \{.*?\n\}', text, re.S)
    enabled = re.search(r"enabled\s*=\s*optional\(bool,\s*(true|false)\)", block.group(0)) if block else None
    minutes = re.search(r"interval_minutes\s*=\s*optional\(number,\s*(\d+)\)", block.group(0)) if block else None
    values["reconcile_enabled"] = enabled.group(1) if enabled else None
    values["reconcile_minutes"] = minutes.group(1) if minutes else None
    return values


class Ours(Controller):
    """The real function code: each alarm message as JSON bytes through parse_message and handle_message,
    with a real OciGateway whose SDK clients talk to the emulator serving the simulation's Store (over HTTP,
    or through the in-process SDK-compatible fakes). When the Terraform module creates the periodic reconcile
    (a Resource Scheduler schedule, `var.reconcile`), its fixed body goes through parse_tick and reconcile at
    the top of every interval, as the schedule's CRON would send it."""

    def __init__(
        self,
        name: str = "ours",
        high: dict | None = None,
        transport: str = "http",
        reconcile: bool = True,
        **config: str,
    ):
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
        enabled, minutes = defaults.get("reconcile_enabled"), defaults.get("reconcile_minutes")
        self.tick_minutes = int(minutes) if reconcile and enabled == "true" and minutes else 0

    def alarms(self, md_id: str) -> list[dict]:
        """The Terraform module's high alarms: one stream per deployment (`.groupBy(resourceId)`), the same form as
        constants.alarm_query (which the function uses for its own low alarms)."""
        h = self.high
        return [
            alarm(
                md_id,
                f"md-autoscale-high-{m}",
                title,
                alarm_query(m, md_id, ">", float(h[m])),
                h["pending"],
                h["repeat"],
            )
            for m, title in (("cpu", HIGH_CPU), ("mem", HIGH_MEM))
        ]

    def start(self, sim) -> None:
        super().start(sim)
        self.ticks = []
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

    def tick(self, minute: int, now: float) -> None:
        if not self.tick_minutes or minute % self.tick_minutes:
            return
        try:
            from autoscaler.reconcile import reconcile
            from autoscaler.tick import parse_tick
        except ImportError:  # a function without the periodic reconcile
            self.tick_minutes = 0
            return
        calls_before = len(self.sim.store.calls)
        started = time.perf_counter()
        outcomes = reconcile(parse_tick(b'{"type": "RECONCILE", "version": 1}'), self.settings, self.gateway, now)
        self.ticks.append(
            {
                "type": "RECONCILE",
                "title": "reconcile",
                "seconds": time.perf_counter() - started,
                "calls": [op for op, _ in self.sim.store.calls[calls_before:]],
                "outcomes": [o.as_dict() for o in outcomes],
            }
        )
        if any(o.status in ("applied", "repaired") for o in outcomes):
            self.acted = True

    def deliver(self, message: dict, now: float) -> dict:
        calls_before = len(self.sim.store.calls)
        started = time.perf_counter()
        parsed = parse_message(json.dumps(message).encode())
        outcomes = handle_message(parsed, self.settings, self.gateway, now)
        seconds = time.perf_counter() - started
        return {
            "type": message["type"],
            "title": message["title"],
            "seconds": seconds,
            "calls": [op for op, _ in self.sim.store.calls[calls_before:]],
            "outcomes": [o.as_dict() for o in outcomes],
        }

    def close(self) -> None:
        if self._stop:
            self._stop()


class Sample2022(Controller):
    """The 2022 sample as written: static alarms `Metric[5m]{resourceId = "..."}.mean() > 80` and `< 10` per
    metric, without a grouping (so one metric stream per INSTANCE: any one instance fires it), pending PT1M,
    repeat PT5M, grouped messages; each actionable message moves one instance (CPU) or one shape rung (memory);
    no cooldown. A message that arrives while the deployment is UPDATING fails (409) and is dropped."""

    def __init__(self, name: str = "2022", high: float = 80, low: float = 10):
        self.name, self.high, self.low = name, high, low

    def alarms(self, md_id: str) -> list[dict]:
        out = []
        for title in (HIGH_CPU, LOW_CPU, HIGH_MEM, LOW_MEM):  # the sample's four alarms (CPU and memory only)
            metric, direction = ROUTES[title]
            op, threshold = (">", f"{self.high:g}") if direction == "up" else ("<", f"{self.low:g}")
            query = f'{METRICS[metric]}[5m]{{resourceId = "{md_id}"}}.mean() {op} {threshold}'
            out.append(alarm(md_id, title, title, query, "PT1M", "PT5M", owned=False))
        return out

    def deliver(self, message: dict, now: float) -> None:
        if message["type"] not in ("OK_TO_FIRING", "REPEAT"):
            return None
        title = message["title"]
        md_id = message["alarmMetaData"][0]["dimensions"][0]["resourceId"]
        lifecycle, current = self.sim.store.peek(md_id)
        if lifecycle != "ACTIVE":
            return None  # the sample's update call fails with 409 and the message is lost
        config = self.sim.config
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
        if target != current and apply(self.sim.store, md_id, target):
            self.acted = True
        return None


class Native(Controller):
    """OCI native threshold autoscaling (AutoScalingPolicy with a THRESHOLD policy and a predefined
    CPU_UTILIZATION rule): CPU only, horizontal only, a fixed instance step. Its scale-out and scale-in conditions
    are OCI alarms on the deployment's CPU (here `CpuUtilization[1m]{resourceId = ...}.grouping().mean() > T`;
    which aggregation the predefined rule uses is not documented), evaluated by the same Monitoring, so they wait
    the pending duration and the evaluation slack. Each minute, once the cooldown has passed since the deployment
    was ACTIVE again, a FIRING scale-out alarm adds `step` instances, else a FIRING scale-in alarm removes them.

    Documented defaults (SDK 2.189.0): cool_down_in_seconds minimum and default 300, counted from ACTIVE after the
    scaling operation (auto_scaling_policy.py); pending_duration default PT3M (scaling_configuration.py);
    instance_count_adjustment default 1. The thresholds have no documented default."""

    def __init__(self, name="native", out_threshold=70.0, in_threshold=30.0, pending="PT3M", step=1, cooldown=300):
        self.name = name
        self.out_threshold, self.in_threshold = out_threshold, in_threshold
        self.pending, self.step, self.cooldown = pending, step, cooldown
        self._active_since: dict[str, float] = {}

    def _ids(self, md_id: str) -> tuple[str, str]:
        tail = md_id.rsplit(".", 1)[-1]
        return f"ocid1.alarm.oc1.iad.native-out-{tail}", f"ocid1.alarm.oc1.iad.native-in-{tail}"

    def alarms(self, md_id: str) -> list[dict]:
        query = f'CpuUtilization[1m]{{resourceId = "{md_id}"}}.grouping().mean()'
        out = alarm(md_id, "native-out", "native-out", f"{query} > {self.out_threshold:g}", self.pending, None, False)
        low = alarm(md_id, "native-in", "native-in", f"{query} < {self.in_threshold:g}", self.pending, None, False)
        return [out, low]

    def limits(self) -> tuple[int, int, int, int]:
        """(least instances, most instances, scale-out step, scale-in step)."""
        return self.sim.config.min_instances, self.sim.config.max_instances, self.step, self.step

    def tick(self, minute: int, now: float) -> None:
        status = self.sim.monitoring.status_of
        least, most, out_step, in_step = self.limits()
        for md_id in self.sim.ids:
            lifecycle, current = self.sim.store.peek(md_id)
            if lifecycle != "ACTIVE":
                self._active_since[md_id] = now + 60  # becomes ACTIVE during this minute at the latest
                continue
            if now - self._active_since.get(md_id, -1e12) < self.cooldown:
                continue
            out_id, in_id = self._ids(md_id)
            count = current.instance_count
            if status(out_id) == "FIRING":
                count = min(most, count + out_step)
            elif status(in_id) == "FIRING":
                count = max(least, count - in_step)
            if count != current.instance_count and apply(self.sim.store, md_id, replace(current, instance_count=count)):
                self.acted = True


NATIVE_VARIANTS = {
    "native": dict(out_threshold=70.0, in_threshold=30.0),  # the documented defaults + 70/30 (not documented)
    "native-80-20": dict(out_threshold=80.0, in_threshold=20.0),
    "native-60-25": dict(out_threshold=60.0, in_threshold=25.0),
}


class Oracle(Controller):
    """A HEURISTIC bound, not an optimum: it knows the future demand and the instance weights. From every ACTIVE
    minute it moves to the cheapest capacity reachable with one change (count or rung, as OCI allows while
    ACTIVE) that keeps the hottest instance's CPU and memory at or below the SLO from the soonest that update can
    complete until the latest the next change could complete (the longest update of any kind, twice). It does not
    model the minute a fresh instance is cold, and it is greedy, so a policy may beat it on a trace."""

    name = "oracle"

    def start(self, sim) -> None:
        super().start(sim)
        config = sim.config
        self.spans = {}  # kind -> (soonest minutes until the new capacity serves, latest)
        for kind in ("out", "in", "shape"):
            mean, jitter = config.update_time(kind)
            self.spans[kind] = (int(mean - jitter), int(np.ceil(mean + jitter)))
        self.longest = max(latest for _, latest in self.spans.values())
        self.options = capacities(config)
        self.bad = {}  # md_id -> cumulative count of minutes over the SLO, per option
        for md_id, trace in sim.traces.items():
            weights = slot_weights(trace.name, config)
            rows = []
            for option in self.options:
                share = hottest_share(weights, option.instance_count)
                cpu, mem = utilization(trace.cpu, trace.base_gb, option, share)
                rows.append((cpu <= config.slo) & (mem <= config.slo))
            self.bad[md_id] = np.cumsum(~np.array(rows), axis=1)

    def _covers(self, md_id: str, index: int, start: int, end: int) -> bool:
        bad = self.bad[md_id][index]
        end = min(end, len(bad) - 1)
        if start > end:
            return True
        return bad[end] - (bad[start - 1] if start > 0 else 0) == 0

    def tick(self, minute: int, now: float) -> None:
        for md_id in self.sim.ids:
            lifecycle, current = self.sim.store.peek(md_id)
            if lifecycle != "ACTIVE":
                continue
            here = self.options.index(current) if current in self.options else None
            reachable = [
                i
                for i, o in enumerate(self.options)
                if o != current and (o.shape == current.shape or o.instance_count == current.instance_count)
            ]
            best = None
            for i in reachable:  # options are sorted cheapest first
                soonest, latest = self.spans[update_kind(current, self.options[i])]
                if self._covers(md_id, i, minute + soonest, minute + latest + self.longest):
                    best = i
                    break
            keep = here is not None and self._covers(md_id, here, minute, minute + 2 * self.longest)
            if best is None:
                if keep:
                    continue
                ups = [i for i in reachable if ocpus(self.options[i]) > ocpus(current)]
                if not ups:
                    continue
                best = max(ups, key=lambda i: ocpus(self.options[i]))  # nothing covers the window: the largest
            if keep and ocpus(self.options[best]) >= ocpus(current):
                continue
            if apply(self.sim.store, md_id, self.options[best]):
                self.acted = True


class TargetTracking(Controller):
    """Target tracking on the deployment's mean CPU utilization, horizontal only, in the two forms users run.

    Both compute desired = ceil(current × metric / target) (clamped to the instance limits) from the same metric
    the alarms read: `CpuUtilization[1m]{resourceId = ...}.grouping().mean()` over the minute that ends the
    evaluation slack before now (3 min, OCI's default; SimConfig.evaluation_slack_seconds). They act at the top of
    each minute while the deployment is ACTIVE.

    - `hpa`: the Kubernetes HorizontalPodAutoscaler's algorithm ("Horizontal Pod Autoscaling", kubernetes.io):
      no change while |metric / target - 1| <= tolerance (default 0.1, `--horizontal-pod-autoscaler-tolerance`;
      configurable per HPA since 1.33, KEP-4951); scale-down takes the highest recommendation of the
      stabilization window (`behavior.scaleDown.stabilizationWindowSeconds`, default 300); scale-up is immediate
      (default scaleUp stabilization 0; its rate policies, 100 % or 4 pods per 15 s, never bind at 1-4 instances).
    - `sagemaker`: Application Auto Scaling target tracking as SageMaker endpoint variants get it ("Target tracking
      scaling policies for Application Auto Scaling": it scales out proportionally as fast as it can and scales in
      more gradually): a scale-out alarm of 3 consecutive 1-minute datapoints above the target and a scale-in alarm of
      15 consecutive ones below 90 % of it (the alarms Application Auto Scaling creates; their periods are not an API
      parameter, so these are as observed in CloudWatch, not documented values); ScaleOutCooldown and ScaleInCooldown
      default 300 s for SageMaker endpoint variants (aws_cdk.aws_applicationautoscaling.BaseTargetTrackingProps),
      counted from the activity's completion; a scale-out ends a scale-in cooldown.
    """

    def __init__(
        self,
        name: str = "hpa",
        form: str = "hpa",
        target: float = 60.0,
        tolerance: float = 0.1,
        window: float = 300.0,
        out_cooldown: float = 300.0,
        in_cooldown: float = 300.0,
    ):
        if form not in ("hpa", "sagemaker"):
            raise ValueError(f"unknown target-tracking form {form!r}")
        self.name, self.form, self.target, self.tolerance, self.window = name, form, target, tolerance, window
        self.out_cooldown, self.in_cooldown = out_cooldown, in_cooldown
        self.state: dict[str, dict] = {}
        self._queries: dict[str, object] = {}

    def _metric(self, md_id: str, now: float) -> float | None:
        from emulator.monitoring import parse_query

        query = self._queries.get(md_id)
        if query is None:
            query = parse_query(f'CpuUtilization[1m]{{resourceId = "{md_id}"}}.grouping().mean()')
            self._queries[md_id] = query
        values = self.sim.monitoring.stream_values(
            COMPARTMENT, NAMESPACE, query, now - 60 * self.sim.config.slack_minutes
        )
        return next(iter(values.values()))[1] if values else None

    def tick(self, minute: int, now: float) -> None:
        config = self.sim.config
        for md_id in self.sim.ids:
            s = self.state.setdefault(md_id, {"recent": [], "readings": [], "done": {}, "busy": False})
            lifecycle, current = self.sim.store.peek(md_id)
            active = lifecycle == "ACTIVE"
            if s["busy"] and active:  # the last activity completed during the last minute
                s["done"][s["busy"]] = now
                if s["busy"] == "out":
                    s["done"].pop("in", None)
                s["busy"] = False
            metric = self._metric(md_id, now)
            count = current.instance_count
            if metric is None:
                continue
            desired = max(config.min_instances, min(config.max_instances, int(np.ceil(count * metric / self.target))))
            if self.form == "hpa":
                if abs(metric / self.target - 1) <= self.tolerance:
                    desired = count
                s["recent"] = [(t, d) for t, d in s["recent"] if t > now - self.window] + [(now, desired)]
                if desired < count:
                    desired = min(count, max(d for _, d in s["recent"]))
            else:
                s["readings"] = (s["readings"] + [metric])[-15:]
                high = len(s["readings"]) >= 3 and all(v > self.target for v in s["readings"][-3:])
                low = len(s["readings"]) >= 15 and all(v < 0.9 * self.target for v in s["readings"])
                if desired > count and not (high and now - s["done"].get("out", -1e12) >= self.out_cooldown):
                    desired = count
                if desired < count and not (low and now - s["done"].get("in", -1e12) >= self.in_cooldown):
                    desired = count
            if not active or desired == count:
                continue
            if apply(self.sim.store, md_id, replace(current, instance_count=desired)):
                s["busy"] = "out" if desired > count else "in"
                s["readings"] = []
                self.acted = True


# The rivals' settings users would tune, one grid per rival (bench/tune.py picks one per k on seeds 0-4).
# Native's three named variants are points of its grid.
GRIDS = {
    "2022": [dict(high=h, low=lo) for h in (70, 80, 90) for lo in (10, 20)],
    "native": [dict(out=o, **{"in": i}) for o in (60, 70, 80) for i in (20, 25, 30)],
    "hpa": [dict(target=t, window=w) for t in (40, 50, 60, 70, 80) for w in (300, 900)],
    "sagemaker": [dict(target=t, in_cooldown=c) for t in (40, 50, 60, 70, 80) for c in (300, 900)],
}


def setting_name(rival: str, setting: dict) -> str:
    return f"{rival}:" + ";".join(f"{k}={v:g}" for k, v in setting.items())


def rival(policy: str) -> Controller:
    """A rival from its name: `2022`, `native`, `hpa`, `sagemaker`, optionally `:key=value;...` (GRIDS' keys)."""
    family, _, spec = policy.partition(":")
    values = {k: float(v) for k, _, v in (item.partition("=") for item in filter(None, spec.split(";")))}
    if family == "2022":
        return Sample2022(policy, **values)
    if family == "native":
        return Native(policy, out_threshold=values.get("out", 70.0), in_threshold=values.get("in", 30.0))
    if family in ("hpa", "sagemaker"):
        return TargetTracking(policy, family, **values)
    raise ValueError(f"unknown rival {policy!r}")
