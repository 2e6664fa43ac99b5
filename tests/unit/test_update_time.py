"""The measured update time (update_time.py) and what it moves: the cooldowns (policy.decide) and the horizon
(plan.horizon_seconds). Pure values in, values out."""

from dataclasses import replace

import pytest

from autoscaler import plan, update_time
from autoscaler.domain import Action, Capacity, DeploymentState, Shape, Signal
from autoscaler.policy import decide
from autoscaler.settings import Policy

NOW = 1_700_000_000.0
INTERVAL = 3600
POLICY = Policy(scale_up_cooldown_seconds=300, scale_down_cooldown_seconds=600, max_instances=4)  # update 900 s


def state(count=2, **changes) -> DeploymentState:
    base = DeploymentState(
        id="ocid1.datasciencemodeldeployment.oc1.iad.x",
        compartment_id="ocid1.compartment.oc1..c",
        lifecycle_state="ACTIVE",
        deployment_type="SINGLE_MODEL",
        scaling_policy="FIXED_SIZE",
        capacity=Capacity(count, Shape(name="VM.Standard.E4.Flex", ocpus=2, memory_gbs=32)),
    )
    return replace(base, **changes)


def signal(direction="up") -> Signal:
    return Signal("cpu", direction, None, "e1", NOW - 10)


@pytest.mark.parametrize(
    ("up", "down", "direction", "expected"),
    [
        (None, None, "up", 900),  # nothing measured: the setting
        (None, None, "down", 900),
        (120, None, "up", 120),
        (120, None, "down", 120),  # a measurement of this deployment beats the setting
        (120, 60, "down", 60),
        (None, 60, "up", 60),
    ],
)
def test_the_update_time_is_the_measured_one_else_the_setting(up, down, direction, expected):
    deployment = state(up_update_seconds=up, down_update_seconds=down)
    assert update_time.seconds(deployment, POLICY, direction) == expected


def test_the_up_cooldown_ends_a_fresh_reading_after_the_measured_update():
    # The later of the cooldown (300 s) from the change and FRESH_READING_SECONDS (300 s) after the update's end.
    measured = state(count=2, last_up=NOW - 300, up_update_seconds=120)
    held = decide(measured, signal(), POLICY, NOW)
    assert held.action is Action.NONE and "up cooldown: 120 s left (our scale-up's update took 120 s" in held.reason
    assert decide(measured, signal(), POLICY, NOW + 120).action is Action.SCALE_OUT
    quick = state(count=2, last_up=NOW - 300, up_update_seconds=0)  # no fresh-reading wait beyond the cooldown
    assert decide(quick, signal(), POLICY, NOW).action is Action.SCALE_OUT
    # Unmeasured, it counts from the change as before: a guessed update time never holds a scale-up back.
    assert decide(state(count=2, last_up=NOW - 300), signal(), POLICY, NOW).action is Action.SCALE_OUT
    # A scale-in's measurement says nothing of how long our scale-up took.
    only_down = state(count=2, last_up=NOW - 300, down_update_seconds=600)
    assert decide(only_down, signal(), POLICY, NOW).action is Action.SCALE_OUT


def test_the_second_scale_in_waits_for_the_measured_update_of_the_first():
    stepped = state(count=3, last_up=NOW - 9000, last_down=NOW - 700, down_update_seconds=120)
    held = decide(stepped, signal(direction="down"), POLICY, NOW)  # 120 s update + 600 s cooldown from the change
    assert held.action is Action.NONE and "down cooldown: 20 s left (our scale-in's update took 120 s" in held.reason
    assert decide(stepped, signal(direction="down"), POLICY, NOW + 20).action is Action.SCALE_IN
    # The setting (900 s) where nothing was measured: 900 + 600 - 700 = 800 s left.
    unmeasured = state(count=3, last_up=NOW - 9000, last_down=NOW - 700)
    assert "down cooldown: 800 s left" in decide(unmeasured, signal(direction="down"), POLICY, NOW).reason


def test_the_horizon_is_the_deployment_s_own():
    measured = update_time.with_measured(POLICY, state(up_update_seconds=120))
    assert plan.horizon_seconds(measured, INTERVAL) == INTERVAL + 120
    assert update_time.with_measured(POLICY, state()) is POLICY  # nothing measured: the setting's 900 s


@pytest.mark.parametrize(
    ("changes", "now", "expected"),
    [
        ({}, NOW, None),  # never changed by us
        ({"last_up": NOW - 100}, NOW, "up"),
        ({"last_up": NOW - 5000, "last_down": NOW - 100}, NOW, "down"),
        ({"last_up": NOW - 100, "update_measured_for": NOW - 100}, NOW, None),  # measured already
        ({"last_up": NOW - 100, "update_measured_for": NOW - 5000}, NOW, "up"),  # an older change was measured
        ({"last_up": NOW - 100, "lifecycle_state": "UPDATING"}, NOW, None),  # its update has not ended
        ({"last_up": NOW - 100, "last_target": "3 x VM.Standard.E4.Flex:2:32"}, NOW, None),  # it failed
        ({"last_up": NOW - 100, "last_target": "2 x VM.Standard.E4.Flex:2:32"}, NOW, "up"),  # it landed
        ({"last_up": NOW}, NOW + INTERVAL + 1800, "up"),  # within the window: an interval + 2 x 900 s
        ({"last_up": NOW}, NOW + INTERVAL + 1801, None),  # past it: a previous tick had its turn
        ({"last_up": NOW, "up_update_seconds": 120}, NOW + INTERVAL + 241, None),  # the window of a measured 120 s
    ],
)
def test_a_tick_reads_work_requests_only_when_a_change_of_ours_may_have_ended_since_the_last_one(
    changes, now, expected
):
    assert update_time.due(state(count=2, **changes), POLICY, now, INTERVAL) == expected


@pytest.mark.parametrize(
    ("recorded", "value", "write"),
    [
        (None, 900, True),  # the first measurement of a direction is always recorded
        (120, 170, False),  # under a minute off
        (120, 180, True),
        (900, 1100, False),  # under a quarter off
        (900, 1125, True),
        (900, 600, True),
    ],
)
def test_a_measurement_is_recorded_only_when_it_differs_meaningfully(recorded, value, write):
    assert update_time.worth_recording(state(up_update_seconds=recorded), "up", value) is write


def test_measurements_are_whole_seconds_within_the_setting_s_bounds():
    assert update_time.bounded(119.6) == 120 and update_time.bounded(-3) == 0
    assert update_time.bounded(10**9) == update_time.MAX_SECONDS == 7200
