"""The alarms the function owns for a deployment, and their convergence. Safe with concurrent invocations.

Terraform creates only alarms whose query does not change with the deployment's capacity (the high CPU, memory,
GPU and latency alarms), so `terraform plan` stays clean. The function owns every alarm whose threshold follows
the capacity:

- the low alarm of each utilization signal (cpu, mem, gpu) above its floor: `policy.low_threshold`;
- both request alarms while the requests signal is enabled: high at `requests_target x count`
  (`policy.high_request_threshold`), low where one instance fewer would still serve at most
  `scale_in_headroom x requests_target` each (`policy.low_threshold`), none at the floor.

Each is named `<routing title>-<deployment OCID>`, keeps the routing title as its notification title and is
tagged autoscale_owner / autoscale_deployment; alarms without our owner tag are never touched.

API (also for a periodic reconcile tick, which has no alarm that fired):

    template = AlarmTemplate.of(alarm)       # or AlarmTemplate(compartment_id, metric_compartment_id, (topic,))
    wanted = wanted_alarms(capacity, policy)  # every owned alarm of every signal at this capacity
    states = converge(gateway, template, deployment_id, wanted, generation, settings)
    # -> {"model_deployment_low_cpu": "created" | "exists" | "exists, threshold now 27%" | "deleted" | "absent", ...}

`generation` names the capacity and the last change (`f"{capacity}|{last_change}"`): concurrent invocations that
saw the same deployment derive the same retry token and OCI answers their creates with one alarm. Converge only a
deployment that `policy.steady(state)` says is ACTIVE on a fixed size (its capacity is then the one to follow).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from .constants import (
    DEPLOYMENT_TAG,
    HIGH_TITLE,
    LOW_TITLE,
    METRIC_NAMES,
    NAMESPACE,
    OWNER_TAG,
    OWNER_VALUE,
    SIGNALS,
    alarm_query,
    show,
)
from .domain import Capacity, LowAlarm
from .policy import high_request_threshold, low_alarm_for, low_threshold
from .settings import Policy, Settings

# Owned high alarms: those whose threshold depends on the instance count.
OWNED_HIGH = ("requests",)


@dataclass(frozen=True)
class AlarmTemplate:
    """Where the owned alarms live and whom they notify: copied from an alarm of the deployment (the one that
    fired), or given by a caller that has none (the module's compartment, the deployment's, the alarm topic)."""

    compartment_id: str
    metric_compartment_id: str
    destinations: tuple[str, ...]
    severity: str = "CRITICAL"
    message_format: str | None = "RAW"

    @classmethod
    def of(cls, alarm) -> AlarmTemplate:
        """From an oci_gateway.Alarm (or anything with the same fields)."""
        return cls(
            alarm.compartment_id,
            alarm.metric_compartment_id,
            tuple(alarm.destinations),
            alarm.severity,
            alarm.message_format,
        )


@dataclass(frozen=True)
class Wanted:
    """One owned alarm as it should be: present at `threshold`, or absent (threshold None)."""

    metric: str
    direction: str  # "up": a high alarm, "down": a low alarm
    threshold: float | None

    @property
    def title(self) -> str:
        return (HIGH_TITLE if self.direction == "up" else LOW_TITLE)[self.metric]


def owned_alarm_name(title: str, deployment_id: str) -> str:
    return f"{title}-{deployment_id}"


def owned_titles() -> tuple[str, ...]:
    """The notification titles of every alarm the function may own (cleanup looks for these names)."""
    return (*LOW_TITLE.values(), *(HIGH_TITLE[metric] for metric in OWNED_HIGH))


def low_alarm(capacity: Capacity, metric: str, policy: Policy) -> Wanted | None:
    """The low alarm of `metric` at this capacity; None when it is not ours to judge (a shape off the ladder)."""
    state = low_alarm_for(capacity, metric, policy)
    if state is LowAlarm.LEAVE:
        return None
    return Wanted(metric, "down", low_threshold(capacity, metric, policy) if state is LowAlarm.ENSURE else None)


def request_alarms(capacity: Capacity, policy: Policy) -> list[Wanted]:
    """The request pair at this capacity: both absent when the deployment does not scale on requests."""
    enabled = "requests" in policy.signals
    high = Wanted("requests", "up", high_request_threshold(capacity, policy) if enabled else None)
    return [high, low_alarm(capacity, "requests", policy)]


def wanted_alarms(capacity: Capacity, policy: Policy, metrics: Iterable[str] = SIGNALS) -> list[Wanted]:
    """Every owned alarm of these signals at this capacity; a disabled signal's alarms are wanted absent."""
    wanted: list[Wanted | None] = []
    for metric in metrics:
        if metric == "requests":
            wanted += request_alarms(capacity, policy)
        elif metric in LOW_TITLE:
            wanted.append(low_alarm(capacity, metric, policy))
    return [want for want in wanted if want is not None]


def alarm_details(template: AlarmTemplate, want: Wanted, deployment_id: str, settings: Settings) -> dict:
    """CreateAlarmDetails (as keyword arguments) of one owned alarm."""
    high = want.direction == "up"
    operator, verb = (">", "out") if high else ("<", "down")
    metric_name = METRIC_NAMES[want.metric]
    return {
        "display_name": owned_alarm_name(want.title, deployment_id),
        "compartment_id": template.compartment_id,
        "metric_compartment_id": template.metric_compartment_id,
        "namespace": NAMESPACE,
        "query": alarm_query(want.metric, deployment_id, operator, want.threshold),
        "severity": template.severity,
        "destinations": list(template.destinations),
        "is_enabled": True,
        # A low alarm fires only on sustained low load; a high one as soon as Terraform's high alarms do.
        "pending_duration": settings.high_alarm_pending_duration if high else settings.low_alarm_pending_duration,
        "repeat_notification_duration": (
            settings.high_alarm_repeat_duration if high else settings.low_alarm_repeat_duration
        ),
        "notification_title": want.title,
        "message_format": template.message_format,
        # One stream (groupBy(resourceId) of one deployment): split or grouped send the same message, but OCI
        # lists per-stream states only for split alarms ("Listing Metric Stream Status in an Alarm").
        "is_notifications_per_metric_dimension_enabled": True,
        "body": _body(metric_name, want, deployment_id, verb),
        "freeform_tags": {OWNER_TAG: OWNER_VALUE, DEPLOYMENT_TAG: deployment_id},
    }


def _body(metric_name: str, want: Wanted, deployment_id: str, verb: str) -> str:
    where = "above" if want.direction == "up" else "below"
    value = show(want.metric, want.threshold)
    return f"{metric_name} {where} {value} on {deployment_id}: the autoscaler scales it {verb}."


def converge(
    gateway, template: AlarmTemplate, deployment_id: str, wanted: Iterable[Wanted], generation: str, settings: Settings
) -> dict[str, str]:
    """Converge each wanted alarm; returns {title: state} in the order given."""
    return {want.title: converge_one(gateway, template, deployment_id, want, generation, settings) for want in wanted}


def converge_one(
    gateway, template: AlarmTemplate, deployment_id: str, want: Wanted, generation: str, settings: Settings
) -> str:
    """Converge to: exactly one owned alarm of this name at the wanted threshold, or none.

    Safe with concurrent invocations (OCI runs them in separate containers): the create carries a retry token
    derived from what the alarm is for (deployment, title, query, generation), so OCI answers concurrent creates
    of the same alarm with one alarm; and after a create the owned alarms are listed again and all but the one
    with the smallest OCID (a rule every invocation agrees on) are deleted."""
    name = owned_alarm_name(want.title, deployment_id)
    existing = gateway.owned_alarms(template.compartment_id, name)
    if want.threshold is None:
        for alarm_id, _ in existing:
            gateway.delete_alarm(alarm_id)
        return "deleted" if existing else "absent"
    details = alarm_details(template, want, deployment_id, settings)
    state = "exists"
    if not existing:
        token = hashlib.sha256(f"{deployment_id}|{_token_key(want)}|{details['query']}|{generation}".encode())
        token = token.hexdigest()
        # A retry token outlives its alarm ("Retry tokens expire after 24 hours": opc_retry_token, SDK
        # MonitoringClient.create_alarm). What a token answers once its alarm is deleted is not documented: the
        # emulator replays the deleted alarm, so nothing is listed (a new alarm instead is the easy case). The second
        # derived token covers one such cycle (a floor that came and went at one capacity), a fresh one any further;
        # concurrent creates with a fresh token are safe too: the duplicates are removed below.
        for retry_token in (token[:32], token[32:], uuid.uuid4().hex):
            gateway.create_alarm(details, retry_token)
            existing = gateway.owned_alarms(template.compartment_id, name)
            if existing:
                break
        else:
            return "created, not listed yet (the next invocation checks it)"
        state = "created"
    keep, *duplicates = sorted(existing)
    for duplicate, _ in duplicates:
        gateway.delete_alarm(duplicate)
    if duplicates:
        state += f" (removed {len(duplicates)} duplicate{'s' if len(duplicates) > 1 else ''})"
    alarm_id, query = keep
    if query != details["query"]:
        gateway.update_alarm_query(alarm_id, details["query"], details["body"])
        state += f", threshold now {show(want.metric, want.threshold)}"
    return state


def _token_key(want: Wanted) -> str:
    # The low alarms keep the token of their first version (deployment|metric|query|generation), so an upgrade
    # replays nothing; a high alarm's key names its direction.
    return want.metric if want.direction == "down" else f"{want.metric}:high"
