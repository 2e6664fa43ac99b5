"""Flap damping tells a slow rise (a daily peak, a sawtooth of hours) from a flap (issue 13).

A high alarm within the flap window after our scale-in is a flap only when it came quickly (less than two
scale-up cooldowns after the scale-in) or sharply (a reading nearer saturation than the target). A slow rise
keeps the wait; a rise after the window halves it; a flap doubles it up to the cap.
"""

from dataclasses import replace

import pytest

from autoscaler.domain import Action, Capacity, DeploymentState, Shape, Signal
from autoscaler.policy import decide
from autoscaler.settings import Policy

NOW = 1_700_000_000.0
E4 = "VM.Standard.E4.Flex"
POLICY = Policy(
    max_instances=4,
    shape_ladder=f"{E4}:1:16,{E4}:2:32",
    cpu_target=60,  # sharp: a reading >= (60 + 100) / 2 = 80
    scale_up_cooldown_seconds=720,  # quick: a reversal less than 1440 s after the scale-in
    scale_down_cooldown_seconds=600,
    flap_window_seconds=7200,
    max_scale_in_hold_seconds=86400,
)


def after_scale_in(seconds: float, hold: float | None = 1200, count: int = 2) -> DeploymentState:
    """A deployment we scaled in `seconds` before the alarm, after a scale-up an hour before that."""
    return DeploymentState(
        id="ocid1.datasciencemodeldeployment.oc1.iad.x",
        compartment_id="ocid1.compartment.oc1..c",
        lifecycle_state="ACTIVE",
        deployment_type="SINGLE_MODEL",
        scaling_policy="FIXED_SIZE",
        capacity=Capacity(count, Shape(name=E4, ocpus=1, memory_gbs=16)),
        last_up=NOW - seconds - 3600,
        last_down=NOW - seconds,
        scale_in_hold=hold,
    )


def high(observed: float | None, per_instance: bool = False, at: float = NOW) -> Signal:
    return Signal("cpu", "up", observed, f"e{at:.0f}", at, per_instance)


@pytest.mark.parametrize(
    ("since", "observed", "hold", "flap"),
    [
        (3000, 76, 1200, False),  # a slow rise 50 min after the scale-in: the load moving, the wait stays
        (7000, 79.9, 1200, False),  # still slow at the window's edge
        (3000, 80, 2400, True),  # sharp: nearer saturation than the target
        (3000, 100, 2400, True),  # saturated
        (1000, 76, 2400, True),  # quick: less than two scale-up cooldowns after the scale-in
        (1439, 76, 2400, True),
        (1441, 76, 1200, False),
        (3000, None, 2400, True),  # no deployment-level reading: slow and sharp look alike, any rise counts
        (8000, 100, 600, False),  # after the window: halves, whatever the reading
    ],
)
def test_a_flap_is_a_quick_or_sharp_reversal(since, observed, hold, flap):
    decision = decide(after_scale_in(since), high(observed), POLICY, NOW + 10)
    assert decision.action is Action.SCALE_OUT
    assert decision.scale_in_hold == hold
    assert ("flap:" in decision.reason) is flap
    if not flap and since <= POLICY.flap_window_seconds:
        assert "a slow rise" in decision.reason and "not a flap" in decision.reason


def test_a_per_instance_reading_is_not_read_as_slow():
    """decide() drops one instance's value (it says little about the deployment): the reversal then counts."""
    decision = decide(after_scale_in(3000), high(76, per_instance=True), POLICY, NOW + 10)
    assert decision.scale_in_hold == 2400 and "flap:" in decision.reason


def test_the_sharp_level_follows_the_target():
    policy = POLICY.model_copy(update={"cpu_target": 70})  # sharp from 85
    assert decide(after_scale_in(3000), high(84), policy, NOW + 10).scale_in_hold == 1200
    assert decide(after_scale_in(3000), high(85), policy, NOW + 10).scale_in_hold == 2400


def cycle(state: DeploymentState, lasted: float, observed: float, period: float) -> DeploymentState:
    """One period: a scale-in that lasts `lasted`, a high alarm that undoes it, the next scale-in at the trough."""
    at = state.last_down + lasted
    scale_out = decide(state, high(observed, at=at), POLICY, at + 10)
    assert scale_out.action is Action.SCALE_OUT
    state = replace(state, last_up=state.last_down + lasted + 10, scale_in_hold=scale_out.scale_in_hold)
    return replace(state, last_down=state.last_down + period)


def test_a_sawtooth_of_hours_never_builds_a_hold():
    """A 6-hour sawtooth: scale in at the trough, a slow rise crosses the threshold 1 h 40 min later. Read as
    flapping before (the wait doubled every period, to 2 h 40 min by the fourth, longer than the trough)."""
    state = after_scale_in(0, hold=None)
    for _ in range(10):
        state = cycle(state, lasted=6000, observed=77, period=6 * 3600)
    assert state.scale_in_hold == 600


def test_noise_builds_the_hold_to_the_cap_and_a_calm_spell_brings_it_down():
    state = after_scale_in(0, hold=None)
    for _ in range(12):  # reversed within minutes, at a sharp reading
        state = cycle(state, lasted=600, observed=95, period=4 * 3600)
    assert state.scale_in_hold == 86400
    for expected in (43200, 21600, 10800):  # each scale-in that outlasts the window halves the wait
        state = cycle(state, lasted=3 * 3600, observed=95, period=30 * 3600)
        assert state.scale_in_hold == expected
