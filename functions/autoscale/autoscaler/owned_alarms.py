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
    states = converge(gateway, template, deployment_id, wanted, generation(capacity, last_change), settings)
    # -> {"model_deployment_low_cpu": CREATED | "exists" | "exists, threshold now 27%" | "deleted" | "absent", ...}

`generation(capacity, last_change)` names the capacity and the last change: concurrent invocations that saw the
same deployment derive the same retry token and OCI answers their creates with one alarm. Converge only a
deployment that `policy.steady(state)` says is ACTIVE on a fixed size (its capacity is then the one to follow).
converge_one says how writers that race each other stay correct (etags, reading before one's own update).
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
from .oci_gateway import Conflict
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


def generation(capacity, last_change: float | None) -> str:
    """What a create's retry token names besides the alarm: the capacity and the change that set it, the time at
    the state tags' precision, so that the invocation that made the change and a redelivery reading its tags agree."""
    return f"{capacity}|{'none' if last_change is None else f'{last_change:.3f}'}"


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


def converge_one(
    gateway,
    template: AlarmTemplate,
    deployment_id: str,
    want: Wanted,
    generation: str,
    settings: Settings,
    listed: list[tuple[str, str]] | None = None,
    still=None,
    known=(),
    held: bool = False,
) -> str:
    """Converge to: exactly one owned alarm of this name at the wanted threshold, or none.

    `listed`: the (id, query) of the owned alarms of this name from a listing the caller holds (the tick's index);
    None lists them (ListAlarms by name). `known`: alarms the caller already read (GetAlarm, with their etags).

    Writes cannot go stale. An update or delete carries the etag of a GetAlarm read (ListAlarms summaries carry
    none): a 412 (Conflict) means the alarm changed since, and the caller reads and decides again. Two ways to use it:

    - `still`, a callable that re-reads the deployment and says whether it is still as the caller decided on it. It
      is called after the alarms are read and before anything is written: a change that landed after the caller's
      read is never overwritten with a threshold computed before it. The tick's repairs, a no-op's alarm step.
    - `held`: the caller changed the deployment itself and read these alarms (`listed`, `known`) BEFORE its update.
      Every write is then conditional on an etag older than that update, so a later change's alarm write makes it
      fail, and an alarm already at the wanted threshold is confirmed by a conditional write too (a later change
      may have written it between the caller's read and its update). `still` then says whether the caller's update
      is still the latest; it is asked after a create (see below). converge_held reads again after a 412.

    A create has no etag to guard it: its retry token is derived from what the alarm is for (deployment, title,
    query, generation), so concurrent invocations that saw the same deployment get one alarm; and the caller checks
    `still` after the create and takes its alarm back (if-match on the create's etag) when the deployment changed
    meanwhile, leaving the alarm to the writer of that change.

    The state names only writes that landed for this call. A create answered from its retry token cannot tell
    whether this call or a concurrent one made the alarm, so it says CREATED ("exists (...)"), never "created"."""
    name = owned_alarm_name(want.title, deployment_id)
    if listed is None:
        listed = gateway.owned_alarms(template.compartment_id, name)
    cache = {alarm.id: alarm for alarm in known}
    check = None if held else still  # checked before writing; held callers read before their own update instead
    if want.threshold is None:
        if not listed:
            return "absent"
        alarms = _read(gateway, listed, cache)
        if alarms:
            _check(check)
        deleted = sum(gateway.delete_alarm(alarm.id, alarm.etag) for alarm in alarms)
        return "deleted" if deleted else ALREADY_GONE if alarms else "absent"
    details = alarm_details(template, want, deployment_id, settings)
    if not listed:
        _check(check)
        return _create(gateway, details, deployment_id, want, generation, still)
    keep, *duplicates = sorted(listed)
    notes = []
    if duplicates:
        extra = _read(gateway, duplicates, cache)
        if extra:
            _check(check)
            check = None  # checked: the deployment is as decided, after every alarm here was read
            removed = sum(gateway.delete_alarm(alarm.id, alarm.etag) for alarm in extra)
            if removed:
                notes.append(f" (removed {removed} duplicate{'s' if removed > 1 else ''})")
    alarm_id, query = keep
    if query == details["query"] and not held:
        return "exists" + "".join(notes)
    [current] = _read(gateway, [keep], cache) or [None]
    if current is None:  # deleted since it was listed: create it anew
        _check(check)
        return _create(gateway, details, deployment_id, want, generation, still)
    if current.query != details["query"] or held:
        _check(check)
        gateway.update_alarm_query(alarm_id, details["query"], details["body"], current.etag)
        verb = "now" if current.query != details["query"] else "confirmed at"
        notes.append(f", threshold {verb} {show(want.metric, want.threshold)}")
    return "exists" + "".join(notes)


def converge(
    gateway, template: AlarmTemplate, deployment_id: str, wanted: Iterable[Wanted], generation: str, settings: Settings
) -> dict[str, str]:
    """Converge each wanted alarm, each from a listing of its own; returns {title: state} in the order given."""
    return {w.title: converge_one(gateway, template, deployment_id, w, generation, settings) for w in wanted}


def converge_held(
    gateway,
    template: AlarmTemplate,
    deployment_id: str,
    want: Wanted,
    generation: str,
    settings: Settings,
    listed,
    known,
    latest,
) -> str:
    """converge_one after the caller's own update, from alarms read before it (held). A 412 means another writer
    wrote since: read again, check that the caller's update is still the latest (`latest`), then write; a later
    change is left to its own writer (Conflict)."""
    try:
        return converge_one(gateway, template, deployment_id, want, generation, settings, listed, latest, known, True)
    except Conflict:
        pass
    try:
        return converge_one(gateway, template, deployment_id, want, generation, settings, None, latest)
    except Conflict:
        return LATER  # not this call's to write: the later change's writer converges it


def _read(gateway, listed: list[tuple[str, str]], cache: dict) -> list:
    """GetAlarm each listed alarm for its etag (one the caller read already is not read again); the ones still
    live (ACTIVE) and ours."""
    alarms = [cache[alarm_id] if alarm_id in cache else gateway.get_alarm(alarm_id) for alarm_id, _ in listed]
    return [a for a in alarms if a is not None and a.lifecycle_state == "ACTIVE" and _ours(a)]


def _ours(alarm) -> bool:
    return dict(alarm.freeform_tags).get(OWNER_TAG, OWNER_VALUE) == OWNER_VALUE


def _check(still) -> None:
    if still is not None and not still():
        raise Conflict("the deployment changed since it was read: its alarms are left to the writer of that change")


def _create(gateway, details: dict, deployment_id: str, want: Wanted, generation: str, still) -> str:
    token = hashlib.sha256(f"{deployment_id}|{_token_key(want)}|{details['query']}|{generation}".encode())
    token = token.hexdigest()
    # A retry token outlives its alarm ("Retry tokens expire after 24 hours": opc_retry_token, SDK
    # MonitoringClient.create_alarm). What a token answers once its alarm is deleted is not documented: the
    # emulator replays the deleted alarm (not ACTIVE), a new alarm would be the easy case. The second derived token
    # covers one such cycle (a floor that came and went at one capacity), a fresh one any further.
    for retry_token in (token[:32], token[32:], uuid.uuid4().hex):
        alarm = gateway.create_alarm(details, retry_token)
        if alarm.lifecycle_state not in ("DELETING", "DELETED"):
            break
    else:
        return "absent (its retry tokens answered deleted alarms; the next invocation creates it)"
    if still is not None and not still():
        try:
            gateway.delete_alarm(alarm.id, alarm.etag)
        except Conflict:
            pass  # a writer of the new capacity adopted it (updated it since): it is theirs now
        raise Conflict("the deployment changed during the create: its alarms are left to the writer of that change")
    return CREATED


CREATED = "exists (created here or by a concurrent call)"  # a create with a shared retry token cannot tell which
ALREADY_GONE = "absent (deleted meanwhile, here or by a concurrent call)"  # a delete answered 404: OCI cannot tell
LATER = "left to a later change of the deployment (it writes its own thresholds)"
UNCHANGED = ("exists", "absent", LATER)  # states that wrote nothing
UNSURE = (CREATED, ALREADY_GONE)  # states whose write may or may not have been this call's


def wrote(state: str) -> bool:
    """Whether a converge_one state names a write that landed for this call (an update, a delete, a duplicate
    removed); a create or delete that OCI cannot attribute to this call is not counted."""
    return state not in UNCHANGED and state not in UNSURE and not state.startswith("absent (")


def _token_key(want: Wanted) -> str:
    # The low alarms keep the token of their first version (deployment|metric|query|generation), so an upgrade
    # replays nothing; a high alarm's key names its direction.
    return want.metric if want.direction == "down" else f"{want.metric}:high"
