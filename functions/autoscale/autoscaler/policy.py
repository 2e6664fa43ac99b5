"""The pure scaling decision: decide(state, signal, policy, now) -> Decision. No I/O here.

The values it works on are in domain.py, prices in pricing.py."""

from __future__ import annotations

import math
from dataclasses import replace

from . import update_time
from .constants import LOW_TITLE, show
from .domain import Action, Capacity, Decision, DeploymentState, LowAlarm, Shape, Signal
from .pricing import hourly_price
from .settings import Policy

SATURATED_PERCENT = 99.0  # a reading this high means the demand may be anywhere above the capacity
MIN_FLAP_HOLD_SECONDS = 600  # the least a flap makes a scale-in wait, even with a shorter scale-down cooldown
# After an update ends, how long until a high alarm reads only the new capacity: its one-minute window, OCI's
# default evaluation slack (PT3M, CreateAlarmDetails.evaluation_slack_duration) and the Terraform module's default
# pending duration (PT1M, high_alarm_pending_duration).
FRESH_READING_SECONDS = 60 + 180 + 60


def decide(state: DeploymentState, signal: Signal, policy: Policy, now: float) -> Decision:
    """Decide one alarm's effect on one deployment. Total: every input yields a Decision."""
    notes = []
    if signal.per_instance and signal.observed is not None:
        # One hot (or idle, or freshly started) instance says little about the deployment: step, don't size.
        notes.append(
            f"{signal.metric} {show(signal.metric, signal.observed)} is one instance's reading (per-instance alarm), "
            "not the deployment's: one step, no proportional sizing"
        )
        signal = replace(signal, observed=None)
    if _last_change_failed(state):
        # Our last change never took effect (its work request failed and OCI rolled it back): it holds no
        # cooldown, and the event that asked for it is not handled yet.
        notes.append(f"our last change to {state.last_target} never took effect, so it holds no cooldown")
        state = replace(state, last_up=None, last_down=None, recent_events=state.recent_events[:-1])
    decision = _decide(state, signal, policy, now)
    return replace(decision, reason="; ".join([decision.reason, *notes])) if notes else decision


def _last_change_failed(state: DeploymentState) -> bool:
    return (
        state.last_target is not None
        and state.lifecycle_state == "ACTIVE"
        and state.capacity.instance_count > 0
        and state.last_target != str(state.capacity)
    )


def steady(state: DeploymentState) -> bool:
    """Whether the deployment is one we size (ACTIVE, SINGLE_MODEL, FIXED_SIZE, instances known): only then do the
    alarms the function owns follow its capacity."""
    return (
        state.deployment_type == "SINGLE_MODEL"
        and state.lifecycle_state == "ACTIVE"
        and state.scaling_policy == "FIXED_SIZE"
        and state.capacity.instance_count >= 1
    )


def _decide(state: DeploymentState, signal: Signal, policy: Policy, now: float) -> Decision:
    if state.deployment_type != "SINGLE_MODEL":
        return Decision(Action.NONE, f"deployment type {state.deployment_type} is not supported (SINGLE_MODEL only)")
    if state.lifecycle_state != "ACTIVE":
        return Decision(Action.NONE, f"deployment is {state.lifecycle_state}, not ACTIVE")
    if state.scaling_policy != "FIXED_SIZE":
        return Decision(Action.NONE, f"{state.scaling_policy} scaling policy: OCI native autoscaling owns it")

    current = state.capacity
    if current.instance_count < 1:
        return Decision(Action.NONE, f"deployment reports {current.instance_count} instances")
    hold = Decision(Action.NONE, "", None, _low_alarm_for(current, signal.metric, policy))
    if signal.metric not in policy.signals:
        enabled = ", ".join(policy.signals)
        reason = f"the {signal.metric} signal is not enabled for this deployment (signals: {enabled})"
        return replace(hold, reason=reason)
    if signal.event_key in state.recent_events:
        return replace(hold, reason=f"alarm event {signal.event_key} already handled (redelivery)")
    age = now - signal.alarm_time
    if policy.max_alarm_age_seconds and age > policy.max_alarm_age_seconds:
        return replace(
            hold, reason=f"stale alarm: {age:.0f} s old > max_alarm_age_seconds {policy.max_alarm_age_seconds}"
        )
    waiting = _cooldown_left(state, signal.direction, policy, now)
    if waiting > 0 and not _rate_needs_more(current, signal, policy):
        # The change that started the cooldown converged the alarms (or its redelivery does): a cheap no-op.
        return Decision(Action.NONE, f"{signal.direction} cooldown: {waiting:.0f} s left{_counted(state, signal)}")

    if signal.direction == "down" and signal.observed is not None:
        # The low alarm may have been set for another capacity (the other metric changed it since).
        threshold = low_threshold(current, signal.metric, policy)
        if signal.observed >= threshold:
            value, limit = show(signal.metric, signal.observed), show(signal.metric, threshold)
            reason = f"{signal.metric} {value} is not below {limit}, this capacity's low threshold"
            return replace(hold, reason=reason)
    if signal.metric == "latency" and signal.observed is not None and signal.observed <= policy.latency_slo_ms:
        slo = show("latency", policy.latency_slo_ms)
        return replace(hold, reason=f"latency {show('latency', signal.observed)} is within the {slo} SLO")

    mode = policy.mode(signal.metric)
    if mode == "horizontal":
        action, target, reason = _horizontal(current, signal, policy)
    elif mode == "cost":
        action, target, reason = _cost_aware(current, signal, policy)
    else:
        action, target, reason = _vertical(current, signal, policy)
    if target is None:
        return replace(hold, reason=reason)
    decision = Decision(action, reason, target, _low_alarm_for(target, signal.metric, policy))
    if signal.direction == "up":
        wait, why = _next_scale_in_hold(state, signal, policy)
        decision = replace(decision, scale_in_hold=wait, reason=f"{reason}{why}")
    return decision


def _rate_needs_more(current: Capacity, signal: Signal, policy: Policy) -> bool:
    """A request rate that needs more instances than there are passes the scale-up cooldown.

    The cooldown keeps a utilization reading taken before the last scale-up from sizing again (it was
    measured on fewer instances and would overshoot). A rate is the deployment's total whatever the count,
    so an old reading sizes the same: ceil(rate / target) either asks for more than there is, or nothing.
    Without this, a one-step latency scale-out would hold back the proportional request step behind it."""
    return (
        signal.direction == "up"
        and signal.metric == "requests"
        and signal.observed is not None
        and policy.mode("requests") == "horizontal"
        and requests_needed(signal.observed, policy) > current.instance_count
    )


def requests_needed(rate: float, policy: Policy) -> int:
    """Instances that serve `rate` requests a minute at requests_target each."""
    return math.ceil(rate / policy.requests_target - 1e-9)


def _next_scale_in_hold(state: DeploymentState, signal: Signal, policy: Policy) -> tuple[float, str]:
    """Flap damping, on a scale-up: how long every scale-in will wait after the last change.

    A high alarm evaluated within flap_window_seconds after our scale-in undoes it. It shows that the
    scale-in was wrong (a flap) when it came quickly, less than two scale-up cooldowns after the scale-in
    (each about one update plus a fresh reading: a scale-in undone sooner saved less than its reversal
    risked), or sharply, at a reading nearer saturation than the target (the load outran the smaller
    capacity). The wait then doubles, up to max_scale_in_hold_seconds. A slow rise that crosses the high
    threshold later (a daily peak, a sawtooth of hours) is the load moving, not a flap: it keeps the wait.
    Without a deployment-level reading (a per-instance alarm) slow and sharp cannot be told apart, and any
    rise within the window counts. A scale-up after the window halves the wait; a scale-in keeps it."""
    base = policy.scale_down_cooldown_seconds
    held = max(state.scale_in_hold or 0, base)
    if policy.flap_window_seconds == 0:
        return base, ""
    if not _scaled_in_last(state) or signal.alarm_time <= state.last_down:
        return held, ""  # (an alarm evaluated before our scale-in says nothing about it)
    since = signal.alarm_time - state.last_down
    if since > policy.flap_window_seconds:
        return max(base, held / 2), ""
    quick = since < 2 * policy.scale_up_cooldown_seconds
    sharp = signal.observed is None or signal.observed >= (policy.target(signal.metric) + 100) / 2
    if not (quick or sharp):
        return held, f"; a slow rise {since:.0f} s after our scale-in, not a flap (the wait stays {held:.0f} s)"
    hold = min(max(2 * held, MIN_FLAP_HOLD_SECONDS), max(policy.max_scale_in_hold_seconds, base))
    return hold, f"; flap: {since:.0f} s after our scale-in, so every scale-in now waits {hold:.0f} s"


def ladder_index(shape: Shape, ladder: tuple[Shape, ...]) -> int | None:
    """Position of `shape` on the ladder; a fixed rung matches by name, a Flex rung also by OCPUs and memory."""
    for index, rung in enumerate(ladder):
        if rung.name == shape.name and (
            rung.ocpus is None or (rung.ocpus == shape.ocpus and rung.memory_gbs == shape.memory_gbs)
        ):
            return index
    return None


def low_threshold(capacity: Capacity, metric: str, policy: Policy) -> float:
    """Value below which this capacity steps down: the configured low threshold, raised to where
    the next smaller capacity would still run at `scale_in_headroom` x target (so a scale-in can never
    push utilization back over the target, and idle capacity at 30 % on 4 instances is not kept).

    Requests: the deployment's rate per minute at which one instance fewer would still serve at most
    headroom x requests_target each, floor(requests_target x (count - 1) x headroom). Latency has none."""
    if metric == "latency":
        return 0.0
    configured = policy.low_threshold(metric)
    mode = policy.mode(metric)
    target = policy.target(metric)
    if metric == "requests":  # a rate of the whole deployment: the target scales with the count
        target *= capacity.instance_count
    ladder = policy.ladder(metric)
    if mode == "horizontal" and capacity.instance_count > 1:
        ratio = (capacity.instance_count - 1) / capacity.instance_count
    elif mode == "vertical" and (index := ladder_index(capacity.shape, ladder)):
        now, lower = _amount(capacity.shape, metric), _amount(ladder[index - 1], metric)
        ratio = lower / now if now and lower else 0.0
    elif mode == "cost" and (ratios := _step_down_ratios(capacity, policy)):
        ratio = max(ratios)  # the smallest step down
    else:
        return configured
    return max(configured, math.floor(target * ratio * policy.scale_in_headroom))


def high_request_threshold(capacity: Capacity, policy: Policy) -> float:
    """Requests per minute above which the deployment's instances serve more than requests_target each."""
    return policy.requests_target * capacity.instance_count


def _amount(shape: Shape, metric: str) -> float | None:
    """What one instance of `shape` has of the resource `metric` measures: OCPUs, memory GB or GPUs."""
    if metric == "gpu":
        return shape.gpus
    size = shape.size
    return None if size is None else size[1 if metric == "mem" else 0]


def low_alarm_for(capacity: Capacity, metric: str, policy: Policy) -> LowAlarm:
    """Whether the low alarm of `metric` should exist at this capacity (LEAVE: not ours to judge here)."""
    return _low_alarm_for(capacity, metric, policy)


def _low_alarm_for(capacity: Capacity, metric: str, policy: Policy) -> LowAlarm:
    if metric not in LOW_TITLE:  # latency never scales in: it has no low alarm
        return LowAlarm.LEAVE
    if metric not in policy.signals:
        return LowAlarm.REMOVE
    mode = policy.mode(metric)
    if mode == "horizontal":
        if metric == "requests" and low_threshold(capacity, metric, policy) <= 0:
            return LowAlarm.REMOVE  # headroom 0: requests never scale in
        return LowAlarm.ENSURE if capacity.instance_count > policy.min_instances else LowAlarm.REMOVE
    if mode == "cost":  # the floor: min_instances, and the bottom rung unless memory owns the rungs
        return LowAlarm.ENSURE if _steps_down(capacity, policy) else LowAlarm.REMOVE
    index = ladder_index(capacity.shape, policy.ladder(metric))
    if index is None:
        return LowAlarm.LEAVE
    return LowAlarm.ENSURE if index > 0 else LowAlarm.REMOVE


def _cooldown_left(state: DeploymentState, direction: str, policy: Policy, now: float) -> float:
    # A scale-up may follow a scale-down at once; a scale-down waits after any change.
    if direction == "up":
        last, cooldown = state.last_up, policy.scale_up_cooldown_seconds
        measured = update_time.measured(state, "up")
        if measured is not None:
            # Once OCI has measured how long our scale-ups take (update_time.py), the cooldown ends a fresh reading
            # after the update: a reading taken before it is the smaller capacity's. The setting stays the least
            # wait from the change. Without a measurement it counts from the change, as the setting's default was
            # sized for: a guessed update time must not hold a scale-up back (an update of overload), while a
            # guess that is too long only delays a scale-in.
            cooldown = max(cooldown, measured + FRESH_READING_SECONDS)
    else:
        changes = [t for t in (state.last_up, state.last_down) if t is not None]
        last = max(changes) if changes else None
        cooldown = policy.scale_down_cooldown_seconds
        if policy.flap_window_seconds and state.scale_in_hold:  # flap damping, within the current maximum
            cooldown = max(cooldown, min(state.scale_in_hold, policy.max_scale_in_hold_seconds))
        if _scaled_in_last(state):
            # While a scale-in's update runs, the metrics still come from the larger capacity and read low, and a
            # low alarm that fired (or repeats) on them would take a second step the smaller capacity never asked
            # for. The next scale-in waits for the update, then a whole cooldown of the smaller capacity's own
            # readings. (After a scale-up the stale readings err high: they never scale in.)
            # Source: UpdateModelDeployment changes instanceCount and the shape "with zero down time" (CLI reference,
            # `oci data-science model-deployment update`), so the old instances serve, and report, until it is done.
            # How long that takes no page says: OCI measures it (the deployment's work requests, read by the tick:
            # update_time.py); until it has, update_seconds stands in, and too long a one only delays a scale-in.
            cooldown = max(cooldown, update_time.seconds(state, policy, "down") + policy.scale_down_cooldown_seconds)
    return 0.0 if last is None else cooldown - (now - last)


def _counted(state: DeploymentState, signal: Signal) -> str:
    """What the cooldown counts from when the update time OCI measured moves it, for the reason; else ""."""
    measured = update_time.measured(state, "up")
    if signal.direction == "up" and measured is not None:
        return (
            f" (our scale-up's update took {measured:.0f} s, measured by OCI: the wait ends {FRESH_READING_SECONDS} s"
            " of fresh readings after it, or at the scale-up cooldown if that is later)"
        )
    if signal.direction == "down" and _scaled_in_last(state) and update_time.measured(state, "down") is not None:
        return f" (our scale-in's update took {update_time.measured(state, 'down'):.0f} s, measured by OCI)"
    return ""


def _scaled_in_last(state: DeploymentState) -> bool:
    return state.last_down is not None and (state.last_up is None or state.last_down > state.last_up)


def _growth(signal: Signal, policy: Policy) -> tuple[float, str]:
    """How much capacity a high alarm's observed value asks for, as a multiple of the current capacity.

    Utilization cannot show more than 100 %: at saturation the demand is unknown and may be far above
    the capacity, and the proportional ratio (100 / target) is only its lower bound. Growing too little
    costs another full update of overload (~10 min); growing too much costs the idle capacity until the
    low alarm takes it back. So a saturated reading grows by saturated_scale_factor."""
    target = policy.target(signal.metric)
    basis = f"{signal.metric} {show(signal.metric, signal.observed)} vs target {show(signal.metric, target)}"
    factor = signal.observed / target
    if signal.observed >= SATURATED_PERCENT and policy.saturated_scale_factor > factor:
        factor = policy.saturated_scale_factor
        basis += f", saturated (demand unknown): x{factor:g}"
    return factor, basis


def _horizontal(current: Capacity, signal: Signal, policy: Policy):
    count = current.instance_count
    if signal.direction == "up":
        if count >= policy.max_instances:
            return Action.NONE, None, f"already at max_instances ({policy.max_instances})"
        desired = count + 1
        basis = "+1 (no deployment-level value in the alarm)"
        if signal.metric == "latency":
            basis = _too_slow(signal, policy)
        elif signal.metric == "requests" and signal.observed is not None:
            # A rate, not a utilization: it is not capped at the capacity, so it sizes exactly.
            needed, target = requests_needed(signal.observed, policy), policy.requests_target
            basis = f"requests {show('requests', signal.observed)} at {target:g}/min per instance need {needed}"
            if needed <= count:
                return Action.NONE, None, f"{basis}: {count} already serve them (an alarm set for a smaller capacity)"
            desired = needed
        elif signal.observed is not None:
            # Like the Kubernetes HPA: enough instances to bring utilization back to the target.
            factor, basis = _growth(signal, policy)
            desired = max(desired, math.ceil(count * factor - 1e-9))
        desired = min(desired, policy.max_instances)
        verb = "step out" if signal.metric == "latency" else "scale out"
        return Action.SCALE_OUT, replace(current, instance_count=desired), f"{verb} {count} -> {desired}: {basis}"
    if count <= policy.min_instances:
        return Action.NONE, None, f"already at min_instances ({policy.min_instances})"
    return (
        Action.SCALE_IN,
        replace(current, instance_count=count - 1),
        f"scale in {count} -> {count - 1}: low {signal.metric}",
    )


def _too_slow(signal: Signal, policy: Policy) -> str:
    """Latency says "too slow", not "how much more": one step, and the reason says how slow."""
    slo = show("latency", policy.latency_slo_ms)
    value = "" if signal.observed is None else f" {show('latency', signal.observed)}"
    return f"latency{value} over the {slo} SLO (one step: latency does not say how much more)"


def _vertical(current: Capacity, signal: Signal, policy: Policy):
    ladder = policy.ladder(signal.metric, current.shape)
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
    why = _too_slow(signal, policy) if signal.metric == "latency" else f"{level} {signal.metric}"
    return action, replace(current, shape=shape), f"{action.value.replace('_', ' ')} {current.shape} -> {shape}: {why}"


def _cost_aware(current: Capacity, signal: Signal, policy: Policy):
    """Horizontal or vertical, whichever costs less: compared by price per hour (policy.prices)."""
    count, ladder = current.instance_count, policy.shape_ladder
    index = ladder_index(current.shape, ladder)
    options = []
    if signal.direction == "up":
        if count < policy.max_instances:
            options.append((Action.SCALE_OUT, _horizontal(current, signal, policy)[1]))
        if index is not None and index < len(ladder) - 1:
            options.append((Action.SHAPE_UP, replace(current, shape=ladder[index + 1])))
    else:
        options = _steps_down(current, policy)
    if not options:
        limit = f"max_instances ({policy.max_instances}) on the top rung" if signal.direction == "up" else "the floor"
        return Action.NONE, None, f"already at {limit}"
    price, unit = _pricer([current, *(c for _, c in options)], policy)
    pick = _cheapest_that_meets if signal.direction == "up" else _biggest_saving_within_target
    action, chosen, why = pick(current, options, signal, policy, price)
    if chosen is None:
        return Action.NONE, None, why
    listed = ", ".join(f"{c} {price(c):.4g} {unit}" for _, c in options)
    return action, chosen, f"{action.value.replace('_', ' ')} {current} -> {chosen}: {why} ({listed})"


def _cheapest_that_meets(current, options, signal, policy, price):
    """Up: the cheapest option with the OCPUs the proportional formula asks for; if none has them, the
    option that gains the most OCPUs per unit of added price."""
    if signal.observed is None:
        action, chosen = min(options, key=lambda o: (price(o[1]), _ocpus(o[1])))
        return action, chosen, "cheapest step (no metric value in the alarm)"
    factor, basis = _growth(signal, policy)
    need = _ocpus(current) * factor
    wanted = f"{basis} needs {need:.3g} OCPUs"
    meeting = [o for o in options if _ocpus(o[1]) >= need - 1e-9]
    if meeting:
        action, chosen = min(meeting, key=lambda o: (price(o[1]), _ocpus(o[1])))
        return action, chosen, f"{wanted}, cheapest that has them"

    def gain(option):
        return (_ocpus(option[1]) - _ocpus(current)) / max(price(option[1]) - price(current), 1e-9)

    action, chosen = max(options, key=gain)
    return action, chosen, f"{wanted}, none has them: most OCPUs per unit of price"


def _biggest_saving_within_target(current, options, signal, policy, price):
    """Down: the option that saves the most while the observed load stays within the target after it."""
    target = policy.target(signal.metric)

    def load_after(option):
        return None if signal.observed is None else signal.observed * _ocpus(current) / _ocpus(option[1])

    safe = [o for o in options if load_after(o) is None or load_after(o) <= target]
    if not safe:
        return None, None, f"low {signal.metric}, but every step down would take it above the {target:g}% target"
    action, chosen = max(safe, key=lambda o: price(current) - price(o[1]))
    return action, chosen, f"low {signal.metric}, saves the most within the {target:g}% target"


def _steps_down(current: Capacity, policy: Policy) -> list[tuple[Action, Capacity]]:
    """Cost mode's ways down: one instance fewer; the rung below when CPU owns the rungs."""
    index = ladder_index(current.shape, policy.shape_ladder)
    steps = []
    if current.instance_count > policy.min_instances:
        steps.append((Action.SCALE_IN, replace(current, instance_count=current.instance_count - 1)))
    if index is not None and index > 0 and _rung_is_cpus(policy):
        steps.append((Action.SHAPE_DOWN, replace(current, shape=policy.shape_ladder[index - 1])))
    return steps


def _rung_is_cpus(policy: Policy) -> bool:
    """A low CPU alarm may take a rung away only if memory is not scaled on the same ladder: a rung down
    halves memory too, and the memory alarms (which gave it) would take it straight back."""
    return policy.mem_mode != "vertical"


def _step_down_ratios(current: Capacity, policy: Policy) -> list[float]:
    """OCPUs kept by each of cost mode's steps down, as a share of now (steps of unknown size left out)."""
    if current.shape.size is None or _ocpus(current) <= 0:
        return []
    return [_ocpus(smaller) / _ocpus(current) for _, smaller in _steps_down(current, policy) if smaller.shape.size]


def _ocpus(capacity: Capacity) -> float:
    per_instance = capacity.shape.size
    return capacity.instance_count * (per_instance[0] if per_instance else 1)


def _pricer(capacities: list[Capacity], policy: Policy):
    """(price of a capacity, unit): per hour from the policy's table, or OCPUs if a shape has no price or size."""
    if not all(hourly_price(c.shape, policy.prices) is not None for c in capacities):
        return _ocpus, "OCPU"

    def price(capacity: Capacity) -> float:
        return capacity.instance_count * hourly_price(capacity.shape, policy.prices)

    return price, "$/h"
