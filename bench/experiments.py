"""TEMPORARY (retuning): candidate flap-damping rules, patched into autoscaler.policy inside a worker."""

from __future__ import annotations

from autoscaler import policy as P


def quick_or_saturated(state, signal, policy):
    base = policy.scale_down_cooldown_seconds
    held = max(state.scale_in_hold or 0, base)
    if policy.flap_window_seconds == 0:
        return base, ""
    scaled_in_last = state.last_down is not None and (state.last_up is None or state.last_down > state.last_up)
    if not scaled_in_last or signal.alarm_time <= state.last_down:
        return held, ""
    lasted = signal.alarm_time - state.last_down
    quick = 2 * policy.scale_up_cooldown_seconds
    saturated = signal.observed is not None and signal.observed >= P.SATURATED_PERCENT
    if lasted > policy.flap_window_seconds or (lasted >= quick and not saturated):
        return max(base, held / 2), ""
    hold = min(max(2 * held, P.MIN_FLAP_HOLD_SECONDS), max(policy.max_scale_in_hold_seconds, base))
    return hold, f"; flap: {lasted:.0f} s after our scale-in, so every scale-in now waits {hold:.0f} s"


def quick_only(state, signal, policy):
    base = policy.scale_down_cooldown_seconds
    held = max(state.scale_in_hold or 0, base)
    if policy.flap_window_seconds == 0:
        return base, ""
    scaled_in_last = state.last_down is not None and (state.last_up is None or state.last_down > state.last_up)
    if not scaled_in_last or signal.alarm_time <= state.last_down:
        return held, ""
    lasted = signal.alarm_time - state.last_down
    quick = 2 * policy.scale_up_cooldown_seconds
    if lasted >= quick:
        return max(base, held / 2), ""
    hold = min(max(2 * held, P.MIN_FLAP_HOLD_SECONDS), max(policy.max_scale_in_hold_seconds, base))
    return hold, f"; flap: {lasted:.0f} s after our scale-in, so every scale-in now waits {hold:.0f} s"


RULES = {"qs": quick_or_saturated, "q": quick_only}


ORIGINAL = P._next_scale_in_hold


def patch(name: str) -> None:
    P._next_scale_in_hold = RULES[name] if name else ORIGINAL


def _cooldown_consecutive(state, direction, policy, now):
    """The hold applies to the first scale-in after a scale-up; a scale-in after our own scale-in waits the plain
    scale-down cooldown (a falling load steps down without a day between steps)."""
    if direction == "up":
        last, cooldown = state.last_up, policy.scale_up_cooldown_seconds
    else:
        changes = [t for t in (state.last_up, state.last_down) if t is not None]
        last = max(changes) if changes else None
        cooldown = policy.scale_down_cooldown_seconds
        after_scale_in = state.last_down is not None and (state.last_up is None or state.last_down > state.last_up)
        if policy.flap_window_seconds and state.scale_in_hold and not after_scale_in:
            cooldown = max(cooldown, min(state.scale_in_hold, policy.max_scale_in_hold_seconds))
    return 0.0 if last is None else cooldown - (now - last)


def relative(state, signal, policy):
    base = policy.scale_down_cooldown_seconds
    held = max(state.scale_in_hold or 0, base)
    if policy.flap_window_seconds == 0:
        return base, ""
    scaled_in_last = state.last_down is not None and (state.last_up is None or state.last_down > state.last_up)
    if not scaled_in_last or signal.alarm_time <= state.last_down:
        return held, ""
    lasted = signal.alarm_time - state.last_down
    before = state.last_down - state.last_up if state.last_up is not None else float("inf")
    if lasted > policy.flap_window_seconds or lasted >= max(before, 2 * policy.scale_up_cooldown_seconds):
        return max(base, held / 2), ""
    hold = min(max(2 * held, P.MIN_FLAP_HOLD_SECONDS), max(policy.max_scale_in_hold_seconds, base))
    return hold, f"; flap: {lasted:.0f} s after our scale-in, so every scale-in now waits {hold:.0f} s"


ORIGINAL_COOLDOWN = P._cooldown_left
RULES.update(rel=relative)


def patch_all(spec: str) -> None:
    """spec: RULE[+c] (c: consecutive scale-ins wait the plain cooldown); '' restores both."""
    rule, _, extra = spec.partition("+")
    P._next_scale_in_hold = RULES[rule] if rule and rule != "old" else ORIGINAL
    P._cooldown_left = _cooldown_consecutive if extra == "c" else ORIGINAL_COOLDOWN


def quick_or_sharp(state, signal, policy):
    """qs with 'sharp' = a reading nearer saturation than the target ((target + 100) / 2)."""
    base = policy.scale_down_cooldown_seconds
    held = max(state.scale_in_hold or 0, base)
    if policy.flap_window_seconds == 0:
        return base, ""
    scaled_in_last = state.last_down is not None and (state.last_up is None or state.last_down > state.last_up)
    if not scaled_in_last or signal.alarm_time <= state.last_down:
        return held, ""
    lasted = signal.alarm_time - state.last_down
    quick = 2 * policy.scale_up_cooldown_seconds
    sharp = signal.observed is not None and signal.observed >= (policy.target(signal.metric) + 100) / 2
    if lasted > policy.flap_window_seconds or (lasted >= quick and not sharp):
        return max(base, held / 2), ""
    hold = min(max(2 * held, P.MIN_FLAP_HOLD_SECONDS), max(policy.max_scale_in_hold_seconds, base))
    return hold, f"; flap: {lasted:.0f} s after our scale-in, so every scale-in now waits {hold:.0f} s"


RULES.update(qsm=quick_or_sharp)


def quick_or_sharp_keep(state, signal, policy):
    """qsm, but a slow rise within the window keeps the hold (evidence of nothing); only a rise after it halves."""
    base = policy.scale_down_cooldown_seconds
    held = max(state.scale_in_hold or 0, base)
    if policy.flap_window_seconds == 0:
        return base, ""
    scaled_in_last = state.last_down is not None and (state.last_up is None or state.last_down > state.last_up)
    if not scaled_in_last or signal.alarm_time <= state.last_down:
        return held, ""
    lasted = signal.alarm_time - state.last_down
    if lasted > policy.flap_window_seconds:
        return max(base, held / 2), ""
    quick = 2 * policy.scale_up_cooldown_seconds
    sharp = signal.observed is not None and signal.observed >= (policy.target(signal.metric) + 100) / 2
    if lasted >= quick and not sharp:
        return held, ""
    hold = min(max(2 * held, P.MIN_FLAP_HOLD_SECONDS), max(policy.max_scale_in_hold_seconds, base))
    return hold, f"; flap: {lasted:.0f} s after our scale-in, so every scale-in now waits {hold:.0f} s"


RULES.update(qsk=quick_or_sharp_keep)


def previous(state, signal, policy):
    """The rule before issue 13: any scale-up within the flap window after our scale-in is a flap."""
    base = policy.scale_down_cooldown_seconds
    held = max(state.scale_in_hold or 0, base)
    if policy.flap_window_seconds == 0:
        return base, ""
    scaled_in_last = state.last_down is not None and (state.last_up is None or state.last_down > state.last_up)
    if not scaled_in_last or signal.alarm_time <= state.last_down:
        return held, ""
    since = signal.alarm_time - state.last_down
    if since > policy.flap_window_seconds:
        return max(base, held / 2), ""
    hold = min(max(2 * held, P.MIN_FLAP_HOLD_SECONDS), max(policy.max_scale_in_hold_seconds, base))
    return hold, f"; flap: {since:.0f} s after our scale-in, so every scale-in now waits {hold:.0f} s"


RULES.update(prev=previous)
