"""The pure scaling decision: decide(state, signal, policy, now) -> Decision. No I/O here."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

from .settings import Policy, Shape


@dataclass(frozen=True)
class Capacity:
    instance_count: int
    shape: Shape

    def __str__(self) -> str:
        return f"{self.instance_count} x {self.shape}"


@dataclass(frozen=True)
class DeploymentState:
    id: str
    compartment_id: str
    lifecycle_state: str
    deployment_type: str  # SINGLE_MODEL is the only type we can resize
    scaling_policy: str  # FIXED_SIZE, or AUTOSCALING when OCI's native autoscaling owns it
    capacity: Capacity
    last_up: float | None = None  # epoch seconds of our last scale-up
    last_down: float | None = None
    recent_events: tuple[str, ...] = ()  # event keys of alarms already acted on


@dataclass(frozen=True)
class Signal:
    metric: str  # "cpu" | "mem"
    direction: str  # "up" | "down"
    observed: float | None  # the metric value that fired the alarm, when the message carries it
    event_key: str
    alarm_time: float  # epoch seconds


class Action(StrEnum):
    NONE = "none"
    SCALE_OUT = "scale_out"
    SCALE_IN = "scale_in"
    SHAPE_UP = "shape_up"
    SHAPE_DOWN = "shape_down"


class LowAlarm(StrEnum):
    """What to do with the metric's low (scale-down) alarm: it should exist exactly above the floor."""

    ENSURE = "ensure"
    REMOVE = "remove"
    LEAVE = "leave"


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    target: Capacity | None = None
    low_alarm: LowAlarm = LowAlarm.LEAVE


def decide(state: DeploymentState, signal: Signal, policy: Policy, now: float) -> Decision:
    """Decide one alarm's effect on one deployment. Total: every input yields a Decision."""
    if state.deployment_type != "SINGLE_MODEL":
        return Decision(Action.NONE, f"deployment type {state.deployment_type} is not supported (SINGLE_MODEL only)")
    if state.lifecycle_state != "ACTIVE":
        return Decision(Action.NONE, f"deployment is {state.lifecycle_state}, not ACTIVE")
    if state.scaling_policy != "FIXED_SIZE":
        return Decision(Action.NONE, f"{state.scaling_policy} scaling policy: OCI native autoscaling owns it")

    current = state.capacity
    hold = Decision(Action.NONE, "", None, _low_alarm_for(current, signal.metric, policy))
    if signal.event_key in state.recent_events:
        return replace(hold, reason=f"alarm event {signal.event_key} already handled (redelivery)")
    age = now - signal.alarm_time
    if policy.max_alarm_age_seconds and age > policy.max_alarm_age_seconds:
        return replace(
            hold, reason=f"stale alarm: {age:.0f} s old > max_alarm_age_seconds {policy.max_alarm_age_seconds}"
        )
    waiting = _cooldown_left(state, signal.direction, policy, now)
    if waiting > 0:
        return replace(hold, reason=f"{signal.direction} cooldown: {waiting:.0f} s left")

    if policy.mode(signal.metric) == "horizontal":
        action, target, reason = _horizontal(current, signal, policy)
    else:
        action, target, reason = _vertical(current, signal, policy)
    if target is None:
        return replace(hold, reason=reason)
    return Decision(action, reason, target, _low_alarm_for(target, signal.metric, policy))


def ladder_index(shape: Shape, ladder: tuple[Shape, ...]) -> int | None:
    """Position of `shape` on the ladder; a fixed rung matches by name, a Flex rung also by OCPUs and memory."""
    for index, rung in enumerate(ladder):
        if rung.name == shape.name and (
            rung.ocpus is None or (rung.ocpus == shape.ocpus and rung.memory_gbs == shape.memory_gbs)
        ):
            return index
    return None


def _low_alarm_for(capacity: Capacity, metric: str, policy: Policy) -> LowAlarm:
    if policy.mode(metric) == "horizontal":
        return LowAlarm.ENSURE if capacity.instance_count > policy.min_instances else LowAlarm.REMOVE
    index = ladder_index(capacity.shape, policy.shape_ladder)
    if index is None:
        return LowAlarm.LEAVE
    return LowAlarm.ENSURE if index > 0 else LowAlarm.REMOVE


def _cooldown_left(state: DeploymentState, direction: str, policy: Policy, now: float) -> float:
    # A scale-up may follow a scale-down at once; a scale-down waits after any change.
    if direction == "up":
        last, cooldown = state.last_up, policy.scale_up_cooldown_seconds
    else:
        changes = [t for t in (state.last_up, state.last_down) if t is not None]
        last, cooldown = (max(changes) if changes else None), policy.scale_down_cooldown_seconds
    return 0.0 if last is None else cooldown - (now - last)


def _horizontal(current: Capacity, signal: Signal, policy: Policy):
    count = current.instance_count
    if signal.direction == "up":
        if count >= policy.max_instances:
            return Action.NONE, None, f"already at max_instances ({policy.max_instances})"
        desired = count + 1
        basis = "+1 (no metric value in the alarm)"
        if signal.observed is not None:
            # Like the Kubernetes HPA: enough instances to bring utilization back to the target.
            proportional = math.ceil(count * signal.observed / policy.target(signal.metric))
            desired = max(desired, proportional)
            basis = f"{signal.metric} {signal.observed:g}% vs target {policy.target(signal.metric):g}%"
        desired = min(desired, policy.max_instances)
        return Action.SCALE_OUT, replace(current, instance_count=desired), f"scale out {count} -> {desired}: {basis}"
    if count <= policy.min_instances:
        return Action.NONE, None, f"already at min_instances ({policy.min_instances})"
    return (
        Action.SCALE_IN,
        replace(current, instance_count=count - 1),
        f"scale in {count} -> {count - 1}: low {signal.metric}",
    )


def _vertical(current: Capacity, signal: Signal, policy: Policy):
    ladder = policy.shape_ladder
    index = ladder_index(current.shape, ladder)
    if index is None:
        return Action.NONE, None, f"shape {current.shape} is not on the shape ladder ({', '.join(map(str, ladder))})"
    if signal.direction == "up":
        if index == len(ladder) - 1:
            return Action.NONE, None, f"already on the top rung ({current.shape})"
        shape, action = ladder[index + 1], Action.SHAPE_UP
    else:
        if index == 0:
            return Action.NONE, None, f"already on the bottom rung ({current.shape})"
        shape, action = ladder[index - 1], Action.SHAPE_DOWN
    level = "high" if signal.direction == "up" else "low"
    return (
        action,
        replace(current, shape=shape),
        f"{action.value.replace('_', ' ')} {current.shape} -> {shape}: {level} {signal.metric}",
    )
