"""Alarm evaluation as OCI Monitoring does it, for the query forms the autoscaler and the 2022 sample use.

Every virtual minute each ACTIVE, enabled alarm evaluates `Metric[Nm]{resourceId = "..."}.mean()|max() > T`
(or `<`) over the last N one-minute datapoints. The condition must hold for the pending duration
(one evaluation per minute: PT1M fires on the first breaching minute, PT5M on the fifth in a row)
before OK_TO_FIRING; while it keeps holding, REPEAT every repeat-notification duration; the first
minute it does not, FIRING_TO_OK. Messages are shaped like alarms/*.json (RAW format, one metric
stream) with a dedupeKey that is stable per firing episode.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

QUERY = re.compile(
    r'^(?P<metric>\w+)\[(?P<minutes>\d+)m\]\{resourceId = "(?P<resource>[^"]+)"\}'
    r"\.(?P<stat>mean|max)\(\) (?P<op>[<>]) (?P<threshold>-?\d+(?:\.\d+)?)$"
)
DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")


@dataclass(frozen=True)
class Rule:
    metric: str
    minutes: int
    resource: str
    stat: str
    op: str
    threshold: float

    @classmethod
    def parse(cls, query: str) -> Rule:
        match = QUERY.match(query.strip())
        if not match:
            raise ValueError(f"unsupported alarm query {query!r}")
        g = match.groupdict()
        return cls(g["metric"], int(g["minutes"]), g["resource"], g["stat"], g["op"], float(g["threshold"]))

    def value(self, datapoints: list[float]) -> float | None:
        window = datapoints[-self.minutes :]
        if not window:
            return None
        return max(window) if self.stat == "max" else sum(window) / len(window)

    def breached(self, value: float) -> bool:
        return value > self.threshold if self.op == ">" else value < self.threshold


def duration_seconds(text: str | None) -> float:
    match = DURATION.match(text or "")
    if not match:
        return 0.0
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


@dataclass
class _State:
    status: str = "OK"
    breaching: int = 0  # consecutive breaching evaluations
    last_notified: float = 0.0
    episode: int = 0  # epoch millis of the OK_TO_FIRING that opened the episode


@dataclass(frozen=True)
class Notification:
    deliver_at: float  # epoch seconds
    alarm_id: str
    type: str
    body: dict


class Evaluator:
    """Per-alarm state across evaluations; `evaluate` is called once per virtual minute."""

    def __init__(self, delivery_delay_seconds: float = 30.0):
        self.delivery_delay_seconds = delivery_delay_seconds
        self._states: dict[str, _State] = {}
        self._rules: dict[str, Rule] = {}

    def evaluate(self, alarms: list[dict], now: float, datapoints) -> list[Notification]:
        """`datapoints(resource, metric)` gives the one-minute values so far, the newest last."""
        live = {a["id"] for a in alarms if a.get("lifecycleState") == "ACTIVE" and a.get("isEnabled", True)}
        for gone in set(self._states) - live:
            del self._states[gone]
        out = []
        for alarm in alarms:
            if alarm["id"] not in live:
                continue
            rule = self._rules.get(alarm["query"]) or self._rules.setdefault(alarm["query"], Rule.parse(alarm["query"]))
            value = rule.value(datapoints(rule.resource, rule.metric))
            if value is None:
                continue
            kind = self._step(self._states.setdefault(alarm["id"], _State()), alarm, rule.breached(value), now)
            if kind:
                out.append(self._message(alarm, rule, value, kind, now))
        return out

    def _step(self, state: _State, alarm: dict, breached: bool, now: float) -> str | None:
        if not breached:
            state.breaching = 0
            if state.status == "FIRING":
                state.status = "OK"
                return "FIRING_TO_OK"
            return None
        state.breaching += 1
        if state.status == "OK":
            if state.breaching < max(1, math.ceil(duration_seconds(alarm.get("pendingDuration")) / 60)):
                return None
            state.status, state.last_notified, state.episode = "FIRING", now, int(now * 1000)
            return "OK_TO_FIRING"
        repeat = duration_seconds(alarm.get("repeatNotificationDuration"))
        if repeat and now - state.last_notified >= repeat:
            state.last_notified = now
            return "REPEAT"
        return None

    def _message(self, alarm: dict, rule: Rule, value: float, kind: str, now: float) -> Notification:
        state = self._states[alarm["id"]]
        status = "OK" if kind == "FIRING_TO_OK" else "FIRING"
        title = alarm.get("notificationTitle") or alarm["displayName"]
        body = {
            "dedupeKey": f"{alarm['id'].rsplit('.', 1)[-1]}-{state.episode}",
            "title": title,
            "body": alarm.get("body", ""),
            "type": kind,
            "severity": alarm.get("severity", "CRITICAL"),
            "timestampEpochMillis": int(now * 1000),
            "alarmMetaData": [
                {
                    "id": alarm["id"],
                    "status": status,
                    "severity": alarm.get("severity", "CRITICAL"),
                    "namespace": alarm.get("namespace", "oci_datascience_modeldeploy"),
                    "query": alarm["query"],
                    "totalMetricsFiring": 0 if status == "OK" else 1,
                    "dimensions": [{"resourceId": rule.resource}],
                    "metricValues": [{f"{rule.metric}[{rule.minutes}m].{rule.stat}()": f"{value:.2f}"}],
                }
            ],
            "notificationType": "Grouped messages across metric streams",
            "version": 1.5,
        }
        return Notification(now + self.delivery_delay_seconds, alarm["id"], kind, body)
