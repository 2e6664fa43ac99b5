"""The service: verify the alarm, read the deployment, decide, apply, and report one outcome per deployment."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import asdict, dataclass

from .constants import (
    ACTIONABLE_TYPES,
    LOW_TITLE,
    MANAGED_TAG,
    METRIC_NAMES,
    NAMESPACE,
    OWNER_TAG,
    PER_INSTANCE_METRICS,
    ROUTES,
    STATE_EVENTS_TAG,
    STATE_HOLD_TAG,
    STATE_LAST_DOWN_TAG,
    STATE_LAST_UP_TAG,
    STATE_TARGET_TAG,
    STATE_WRITER_TAG,
    VALUE_RANGES,
)
from .domain import Action, Decision, LowAlarm, Signal
from .governor import Governor
from .history import alarm_floor
from .messages import AlarmMessage, Target
from .oci_gateway import Alarm, Conflict, Deployment, OciGateway, OciRefused
from .owned_alarms import (
    AlarmTemplate,
    Wanted,
    converge_held,
    converge_one,
    generation,
    owned_alarm_name,
    request_alarms,
    wanted_alarms,
)
from .plan import opted
from .policy import decide, low_alarm_for, low_threshold, steady
from .queries import Condition, condition
from .settings import ConfigError, Settings, log_unknown_tags
from .update_time import with_measured

RESOURCE_FILTER = re.compile(r'resourceId\s*=\s*"')
RECENT_EVENTS_KEPT = 8  # event keys remembered on the deployment for redelivery detection


@dataclass
class Outcome:
    """What happened to one deployment for one alarm: the body of the log line and of the response."""

    alarm_id: str
    deployment_id: str
    title: str
    type: str
    status: str  # applied | noop | refused | acknowledged | conflict | dry_run | error (retryable)
    action: str = Action.NONE.value
    reason: str = ""
    before: str | None = None
    after: str | None = None
    low_alarm: str | None = None
    owned_alarms: dict[str, str] | None = None  # other alarms the function owns, converged with it (requests)
    work_request_id: str | None = None
    dry_run: bool = False
    duration_ms: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


class Refused(Exception):
    """The alarm or deployment failed verification: nothing is written."""


def handle_message(message: AlarmMessage, settings: Settings, gateway: OciGateway, now: float) -> list[Outcome]:
    """Handle every deployment the message names, each independently.

    An OCI failure that outlived the SDK retries gives that deployment status "error"; the caller
    then fails the invocation so Notifications redelivers (the event key makes the redelivery safe).
    """
    outcomes = []
    alarms: dict[str, Alarm | None] = {}
    # Many invocations at once may pass the tenancy's 10 alarm operations a second: a 429 is retried with backoff
    # for up to the retry budget per call (governor.py), then the invocation fails and Notifications redelivers.
    patient = Governor(None, per_call_seconds=settings.retry_budget_seconds)
    gateway = gateway.governed(patient, patient)
    for target in message.targets():
        started = time.monotonic()
        outcome = Outcome(target.alarm_id, target.deployment_id, message.title, message.type, "noop")
        outcome.dry_run = settings.dry_run
        if message.type not in ACTIONABLE_TYPES:
            outcome.status, outcome.reason = "acknowledged", f"{message.type} needs no action"
        else:
            try:
                _check_value_range(target, message.title)
                if target.alarm_id not in alarms:
                    alarms[target.alarm_id] = gateway.get_alarm(target.alarm_id)
                _handle_target(message, target, alarms[target.alarm_id], settings, gateway, now, outcome)
            except Refused as refusal:
                outcome.status, outcome.reason = "refused", str(refusal)
            except Exception as error:  # one deployment's outage must not hide the others' outcomes
                outcome.status, outcome.reason = "error", f"{type(error).__name__}: {_short(error)}"
        outcome.duration_ms = round((time.monotonic() - started) * 1000, 1)
        outcomes.append(outcome)
    return outcomes


def _check_value_range(target: Target, title: str) -> None:
    """A value the metric cannot take (utilization outside 0-100) is a forged or broken message."""
    metric, _ = ROUTES[title]
    low, high = VALUE_RANGES[metric]
    if target.observed is not None and not low <= target.observed <= high:
        raise Refused(f"{METRIC_NAMES[metric]} value {target.observed:g} is outside its valid range {low:g}..{high:g}")


def _handle_target(message, target: Target, alarm, settings, gateway, now, outcome: Outcome) -> None:
    metric, direction = ROUTES[message.title]
    rule = _verify_alarm(alarm, message.title, metric, direction, target, settings)
    _confirm_fired(gateway, alarm, rule, target, message)
    deployment = gateway.get_deployment(target.deployment_id)
    if deployment is None:
        raise Refused(f"deployment {target.deployment_id} not found")
    state = deployment.state
    if state.compartment_id not in settings.compartment_allowlist:
        raise Refused(f"deployment compartment {state.compartment_id} is not in the allowlist")
    if not _filters_on_deployment(alarm.query) and state.compartment_id != alarm.metric_compartment_id:
        raise Refused("deployment is outside the compartment the alarm watches")
    try:
        if opted(deployment.tags) is False:
            raise Refused(f"deployment opted out of autoscaling (tag {MANAGED_TAG}=false)")
        log_unknown_tags(deployment.tags, state.id, ceiling=settings.instance_ceiling)
        policy = settings.policy.with_overrides(deployment.tags)
    except (ConfigError, ValueError) as error:
        raise Refused(f"deployment override tags: {error}") from None
    # The deployment's own update time where OCI measured it (the tags read above; no work request read here).
    policy = with_measured(policy, state)
    # Schedules and forecasts only raise the least instance count that scale-in may reach (history.py, plan.py).
    floor = alarm_floor(policy, deployment.state, direction, settings, gateway, now)
    policy, floor_note = floor.apply(policy), floor.note(policy)

    alarm_time = message.timestamp_epoch_millis / 1000
    observed = target.observed
    if metric == "requests" and observed is not None:  # a count over the query's interval: per minute
        observed = round(observed / rule.interval_minutes, 2)
    per_instance = not rule.per_deployment and metric in PER_INSTANCE_METRICS  # one stream per instance
    signal = Signal(metric, direction, observed, message.event_key, alarm_time, per_instance)
    # This event's change already landed (a redelivery, or a retry after the alarm step failed): finish its alarm
    # step now, whether OCI still shows the update running or not, instead of leaving it to the next tick.
    finishing = signal.event_key in state.recent_events and state.last_target == str(state.capacity)
    if finishing:
        why = f"alarm event {signal.event_key} already handled: its change to {state.capacity} landed, alarms follow it"
        decision = Decision(Action.NONE, why, None, low_alarm_for(state.capacity, metric, policy))
    else:
        decision = decide(state, signal, policy, now)
    outcome.action, outcome.reason = decision.action.value, decision.reason
    if floor_note:
        outcome.reason += f"; {floor_note}"
    outcome.before = str(state.capacity)
    outcome.after = str(decision.target or state.capacity)
    if settings.dry_run:
        outcome.status = "dry_run"
        outcome.low_alarm = f"would {decision.low_alarm.value}"
        return
    last_change = _last_change(state)
    capacity = decision.target or state.capacity
    template = AlarmTemplate.of(alarm)
    wants = []
    if decision.low_alarm is not LowAlarm.LEAVE and metric in LOW_TITLE:
        threshold = low_threshold(capacity, metric, policy) if decision.low_alarm is LowAlarm.ENSURE else None
        wants.append(Wanted(metric, "down", threshold))
    # The request alarms follow the instance count, whichever signal changed it: converged on every alarm of the
    # deployment while it scales on requests (or, once disabled, when one of them fires: then they go).
    follows = steady(state) or finishing
    if follows and ("requests" in policy.signals or metric == "requests"):
        wants += [w for w in request_alarms(capacity, policy) if w.direction == "up" or metric != "requests"]
    if follows and metric == "latency" and (decision.target is not None or finishing):
        # Latency has no low alarm of its own: the low alarms of the deployment's other signals follow its step.
        wants += wanted_alarms(capacity, policy, [m for m in policy.signals if m in ("cpu", "mem", "gpu")])
    results: dict[str, str] = {}
    if decision.target is not None:
        # The alarms are read BEFORE our update: any alarm write of a later change then fails our etag (412).
        before = {want.title: _read_before(gateway, template, target.deployment_id, want, alarm) for want in wants}
        applied = apply_change(gateway, deployment, decision, signal, now)
        outcome.work_request_id = applied.work_request_id
        if applied.status != "applied":
            outcome.status, outcome.after = applied.status, outcome.before
            outcome.reason = f"{applied.note}; {decision.reason}"
            return
        if applied.note:
            outcome.reason += f" ({applied.note})"
        outcome.status = "applied"
        created_for = generation(capacity, now)
        latest = _latest(gateway, target.deployment_id, applied.writer)
        for want in wants:
            listed, known = before[want.title]
            results[want.title] = converge_held(
                gateway, template, target.deployment_id, want, created_for, settings, listed, known, latest
            )
    else:
        created_for = generation(capacity, last_change)
        still = _unchanged(gateway, deployment)  # the alarms are written only if the deployment is still as read
        try:
            for want in wants:
                listed, known = _fired_as_listed(alarm, want, target.deployment_id)
                results[want.title] = converge_one(
                    gateway, template, target.deployment_id, want, created_for, settings, listed, still, known
                )
        except Conflict as conflict:
            outcome.status = "conflict"
            results = {title: results.get(title, f"not written: {conflict}") for title in (w.title for w in wants)}
    own_low = decision.low_alarm is not LowAlarm.LEAVE and metric in LOW_TITLE  # then wants[0] is its low alarm
    outcome.low_alarm = results.pop(wants[0].title, "unchanged") if own_low else "unchanged"
    outcome.owned_alarms = results or None


def _fired_as_listed(fired: Alarm, want: Wanted, deployment_id: str):
    """When the alarm that fired IS this owned alarm (a scale-in), its GetAlarm (id, query, etag, read before the
    deployment) stands in for a listing: (listed, known) for converge_one, else (None, ())."""
    if fired.display_name == owned_alarm_name(want.title, deployment_id) and dict(fired.freeform_tags).get(OWNER_TAG):
        return [(fired.id, fired.query)], (fired,)
    return None, ()


def _read_before(gateway, template, deployment_id: str, want: Wanted, fired: Alarm):
    """(listed, alarms read with their etags) of one owned alarm, read before our update."""
    listed, known = _fired_as_listed(fired, want, deployment_id)
    if listed is None:
        listed = gateway.owned_alarms(template.compartment_id, owned_alarm_name(want.title, deployment_id))
        known = tuple(a for a in (gateway.get_alarm(alarm_id) for alarm_id, _ in listed) if a is not None)
    return listed, known


def _latest(gateway: OciGateway, deployment_id: str, writer: str):
    """A check that our update is still the deployment's latest (its state tags carry our writer id)."""

    def still() -> bool:
        current = gateway.get_deployment(deployment_id)
        return current is not None and current.tags.get(STATE_WRITER_TAG) == writer

    return still


def _unchanged(gateway: OciGateway, deployment: Deployment):
    """A check that the deployment is still as read (same etag): re-reads it each time it is called."""

    def still() -> bool:
        current = gateway.get_deployment(deployment.state.id)
        return current is not None and current.etag == deployment.etag

    return still


@dataclass(frozen=True)
class Applied:
    """What became of one update: applied | noop (a concurrent invocation applied this event) | conflict
    (the deployment changed under us) | refused (OCI answered 400: nothing changed)."""

    status: str
    work_request_id: str | None = None
    note: str = ""
    writer: str = ""  # the writer id our update wrote in the state tags


def apply_change(gateway: OciGateway, deployment: Deployment, decision: Decision, signal: Signal, now: float):
    """Write the decision's capacity and our state tags in one etag-guarded update, and say what became of it.

    OCI runs concurrent invocations in separate containers: a random writer id in the state tags tells our own
    update (whose response the SDK lost and retried into a 409/412) from another invocation's for the same event."""
    writer = secrets.token_hex(8)
    try:
        tags = _state_tags(deployment, decision, signal, now, writer)
        work_request = gateway.update_deployment(deployment, decision.target, tags)
    except OciRefused as refusal:
        return Applied("refused", note=f"OCI refused the update, nothing changed ({refusal})")
    except Conflict as conflict:
        current = gateway.get_deployment(deployment.state.id)
        if current is not None and current.tags.get(STATE_WRITER_TAG) == writer:
            note = "confirmed on re-read: the SDK retried an update whose response was lost"
            return Applied("applied", note=note, writer=writer)
        if current is not None and signal.event_key in current.state.recent_events:
            return Applied("noop", note=f"event {signal.event_key} was applied by a concurrent invocation")
        return Applied("conflict", note=f"not applied, deployment changed concurrently ({conflict})")
    return Applied("applied", work_request, writer=writer)


def _last_change(state) -> float | None:
    changes = [t for t in (state.last_up, state.last_down) if t is not None]
    return max(changes) if changes else None


def _verify_alarm(alarm: Alarm | None, title: str, metric: str, direction: str, target: Target, settings) -> Condition:
    """Trust the alarm as OCI stores it, not the payload; returns its trigger condition."""
    if alarm is None:
        raise Refused("alarm not found in OCI")
    if alarm.lifecycle_state != "ACTIVE":
        raise Refused(f"alarm is {alarm.lifecycle_state}")
    for compartment in (alarm.compartment_id, alarm.metric_compartment_id):
        if compartment not in settings.compartment_allowlist:
            raise Refused(f"alarm compartment {compartment} is not in the allowlist")
    if alarm.namespace != NAMESPACE:
        raise Refused(f"alarm namespace {alarm.namespace} is not {NAMESPACE}")
    if (alarm.notification_title or alarm.display_name) != title:
        raise Refused(f"message title {title} does not match the alarm's title")
    if not alarm.query.startswith(METRIC_NAMES[metric]):
        raise Refused(f"alarm query does not watch {METRIC_NAMES[metric]}")
    if _filters_on_deployment(alarm.query) and f'"{target.deployment_id}"' not in alarm.query:
        raise Refused("alarm query does not name this deployment")
    rule = condition(alarm.query)
    if rule is None or rule.direction != direction:
        raise Refused(f"alarm query has no {'>' if direction == 'up' else '<'} threshold for a {title} alarm")
    if metric == "requests" and rule.statistic != "sum":
        raise Refused(f"a request alarm must count the requests (.sum()), not .{rule.statistic}()")
    if target.observed is not None and not rule.holds(target.observed):
        raise Refused(
            f"value {target.observed:g} does not meet the alarm's own trigger ({rule.operator} {rule.threshold:g})"
        )
    return rule


def _filters_on_deployment(query: str) -> bool:
    """Whether the query watches named deployments (`{resourceId = "..."}`), not a whole compartment."""
    return RESOURCE_FILTER.search(query) is not None


def _confirm_fired(gateway: OciGateway, alarm: Alarm, rule: Condition, target: Target, message: AlarmMessage) -> None:
    """Anyone allowed to invoke the function can send a well-formed message: act only if OCI shows the alarm
    firing for this deployment at the message's time (a late redelivery of a real firing included)."""
    compact = alarm.query.replace(" ", "")
    streams = "deployment" if ".groupBy(resourceId)" in compact else "all" if ".grouping()" in compact else "instance"
    at = message.timestamp_epoch_millis / 1000
    seen = gateway.alarm_fired(alarm.id, target.deployment_id, at, streams, history=_filters_on_deployment(alarm.query))
    if seen is None:
        raise Refused("OCI Monitoring does not show this alarm firing for this deployment at the message's time")


def _state_tags(deployment: Deployment, decision: Decision, signal: Signal, now: float, writer: str) -> dict[str, str]:
    """The deployment's tags plus our scaling state, written in the same update as the change."""
    tags = dict(deployment.tags)
    tags[STATE_TARGET_TAG] = str(decision.target)
    tags[STATE_WRITER_TAG] = writer
    tags[STATE_LAST_UP_TAG if signal.direction == "up" else STATE_LAST_DOWN_TAG] = f"{now:.3f}"
    if decision.scale_in_hold is not None:
        tags[STATE_HOLD_TAG] = f"{decision.scale_in_hold:.0f}"
    events = [*deployment.state.recent_events, signal.event_key][-RECENT_EVENTS_KEPT:]
    tags[STATE_EVENTS_TAG] = " ".join(events)
    return tags


def _short(error: Exception) -> str:
    code = getattr(error, "code", None)
    status = getattr(error, "status", None)
    if status is not None:
        return f"{status} {code}: {str(getattr(error, 'message', ''))[:200]}"
    return str(error)[:200]
