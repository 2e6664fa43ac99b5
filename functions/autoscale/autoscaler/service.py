"""The service: verify the alarm, read the deployment, decide, apply, and report one outcome per deployment."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from .constants import (
    ACTIONABLE_TYPES,
    DEPLOYMENT_TAG,
    LOW_TITLE,
    METRIC_NAMES,
    NAMESPACE,
    OWNER_TAG,
    OWNER_VALUE,
    ROUTES,
    STATE_EVENTS_TAG,
    STATE_HOLD_TAG,
    STATE_LAST_DOWN_TAG,
    STATE_LAST_UP_TAG,
    alarm_query,
)
from .messages import AlarmMessage, Target
from .oci_gateway import Alarm, Conflict, Deployment, OciGateway
from .policy import Action, Decision, LowAlarm, Signal, decide, low_threshold
from .settings import ConfigError, Settings

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
    for target in message.targets():
        started = time.monotonic()
        outcome = Outcome(target.alarm_id, target.deployment_id, message.title, message.type, "noop")
        outcome.dry_run = settings.dry_run
        if message.type not in ACTIONABLE_TYPES:
            outcome.status, outcome.reason = "acknowledged", f"{message.type} needs no action"
        else:
            try:
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


def _handle_target(message, target: Target, alarm, settings, gateway, now, outcome: Outcome) -> None:
    metric, direction = ROUTES[message.title]
    _verify_alarm(alarm, message.title, metric, target.deployment_id, settings)
    deployment = gateway.get_deployment(target.deployment_id)
    if deployment is None:
        raise Refused(f"deployment {target.deployment_id} not found")
    state = deployment.state
    if state.compartment_id not in settings.compartment_allowlist:
        raise Refused(f"deployment compartment {state.compartment_id} is not in the allowlist")
    if "resourceId" not in alarm.query and state.compartment_id != alarm.metric_compartment_id:
        raise Refused("deployment is outside the compartment the alarm watches")
    try:
        policy = settings.policy.with_overrides(deployment.tags)
    except ConfigError as error:
        raise Refused(f"deployment override tags: {error}") from None

    signal = Signal(metric, direction, target.observed, message.event_key, message.timestamp_epoch_millis / 1000)
    decision = decide(state, signal, policy, now)
    outcome.action, outcome.reason = decision.action.value, decision.reason
    outcome.before = str(state.capacity)
    outcome.after = str(decision.target or state.capacity)
    if settings.dry_run:
        outcome.status = "dry_run"
        outcome.low_alarm = f"would {decision.low_alarm.value}"
        return
    if decision.target is not None:
        try:
            outcome.work_request_id = gateway.update_deployment(
                deployment, decision.target, _state_tags(deployment, decision, signal, now)
            )
        except Conflict as conflict:
            if not _landed(gateway, deployment, signal):
                # Another invocation changed the deployment first: its change answers this load too.
                outcome.status, outcome.after = "conflict", outcome.before
                outcome.reason = f"not applied, deployment changed concurrently ({conflict}); {decision.reason}"
                return
            outcome.reason += " (confirmed on re-read: the SDK retried an update whose response was lost)"
        outcome.status = "applied"
    capacity = decision.target or state.capacity
    threshold = low_threshold(capacity, metric, policy)
    outcome.low_alarm = _sync_low_alarm(decision, threshold, alarm, metric, target.deployment_id, settings, gateway)


def _landed(gateway: OciGateway, deployment: Deployment, signal: Signal) -> bool:
    """Whether our own update is the one in place (its event key is on the deployment)."""
    current = gateway.get_deployment(deployment.state.id)
    return current is not None and signal.event_key in current.state.recent_events


def _verify_alarm(alarm: Alarm | None, title: str, metric: str, deployment_id: str, settings: Settings) -> None:
    """Trust the alarm as OCI stores it, not the payload."""
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
    if "resourceId" in alarm.query and f'"{deployment_id}"' not in alarm.query:
        raise Refused("alarm query does not name this deployment")


def _state_tags(deployment: Deployment, decision: Decision, signal: Signal, now: float) -> dict[str, str]:
    """The deployment's tags plus our scaling state, written in the same update as the change."""
    tags = dict(deployment.tags)
    tags[STATE_LAST_UP_TAG if signal.direction == "up" else STATE_LAST_DOWN_TAG] = f"{now:.3f}"
    if decision.scale_in_hold is not None:
        tags[STATE_HOLD_TAG] = f"{decision.scale_in_hold:.0f}"
    events = [*deployment.state.recent_events, signal.event_key][-RECENT_EVENTS_KEPT:]
    tags[STATE_EVENTS_TAG] = " ".join(events)
    return tags


def low_alarm_name(metric: str, deployment_id: str) -> str:
    return f"{LOW_TITLE[metric]}-{deployment_id}"


def low_alarm_details(source: Alarm, metric: str, deployment_id: str, threshold: float, settings: Settings) -> dict:
    """The scale-down alarm for one deployment, modelled on the high alarm that fired."""
    return {
        "display_name": low_alarm_name(metric, deployment_id),
        "compartment_id": source.compartment_id,
        "metric_compartment_id": source.metric_compartment_id,
        "namespace": NAMESPACE,
        "query": alarm_query(metric, deployment_id, "<", threshold),
        "severity": source.severity,
        "destinations": list(source.destinations),
        "is_enabled": True,
        "pending_duration": settings.low_alarm_pending_duration,
        "repeat_notification_duration": settings.low_alarm_repeat_duration,
        "notification_title": LOW_TITLE[metric],
        "message_format": source.message_format,
        "body": f"{METRIC_NAMES[metric]} below {threshold:g}% on {deployment_id}: the autoscaler scales it down.",
        "freeform_tags": {OWNER_TAG: OWNER_VALUE, DEPLOYMENT_TAG: deployment_id},
    }


def _sync_low_alarm(decision, threshold, source, metric, deployment_id, settings, gateway) -> str:
    """Converge to: exactly one owned low alarm above the floor, at this capacity's threshold; none at the floor."""
    if decision.low_alarm is LowAlarm.LEAVE:
        return "unchanged"
    name = low_alarm_name(metric, deployment_id)
    existing = gateway.owned_alarms(source.compartment_id, name)
    if decision.low_alarm is LowAlarm.REMOVE:
        for alarm_id, _ in existing:
            gateway.delete_alarm(alarm_id)
        return "deleted" if existing else "absent"
    for duplicate, _ in existing[1:]:
        gateway.delete_alarm(duplicate)
    details = low_alarm_details(source, metric, deployment_id, threshold, settings)
    if not existing:
        gateway.create_alarm(details)
        return "created"
    state = "exists" if len(existing) == 1 else f"exists (removed {len(existing) - 1} duplicate)"
    alarm_id, query = existing[0]
    if query != details["query"]:
        gateway.update_alarm_query(alarm_id, details["query"], details["body"])
        state += f", threshold now {threshold:g}%"
    return state


def _short(error: Exception) -> str:
    code = getattr(error, "code", None)
    status = getattr(error, "status", None)
    if status is not None:
        return f"{status} {code}: {str(getattr(error, 'message', ''))[:200]}"
    return str(error)[:200]
