"""decide(): every rule, table-driven. Pure values in, Decision out: no fakes needed."""

from dataclasses import replace

import pytest

from autoscaler.domain import Action, Capacity, DeploymentState, LowAlarm, Shape, Signal
from autoscaler.policy import decide, ladder_index, low_threshold
from autoscaler.settings import Policy

NOW = 1_700_000_000.0
E4 = "VM.Standard.E4.Flex"
LADDER = f"{E4}:1:16,{E4}:2:32,{E4}:4:64"
POLICY = Policy(
    min_instances=1,
    max_instances=4,
    shape_ladder=LADDER,
    cpu_target=60,
    mem_target=60,
    scale_up_cooldown_seconds=300,
    scale_down_cooldown_seconds=600,
    scale_in_headroom=0.8,
)


TWO_OCPU = Shape(name=E4, ocpus=2, memory_gbs=32)


def state(count=2, shape=TWO_OCPU, **changes) -> DeploymentState:
    base = DeploymentState(
        id="ocid1.datasciencemodeldeployment.oc1.iad.x",
        compartment_id="ocid1.compartment.oc1..c",
        lifecycle_state="ACTIVE",
        deployment_type="SINGLE_MODEL",
        scaling_policy="FIXED_SIZE",
        capacity=Capacity(count, shape),
    )
    return replace(base, **changes)


def signal(metric="cpu", direction="up", observed=None, event="e1", age=10.0) -> Signal:
    return Signal(metric, direction, observed, event, NOW - age)


def flex(ocpus, memory):
    return Shape(name=E4, ocpus=ocpus, memory_gbs=memory)


@pytest.mark.parametrize(
    ("deployment", "sig", "action", "count", "low_alarm", "reason"),
    [
        # horizontal (cpu default)
        (state(count=2), signal(), Action.SCALE_OUT, 3, LowAlarm.ENSURE, "+1"),
        (state(count=1), signal(), Action.SCALE_OUT, 2, LowAlarm.ENSURE, "scale out 1 -> 2"),
        (state(count=2), signal(observed=90), Action.SCALE_OUT, 3, LowAlarm.ENSURE, "cpu 90% vs target 60%"),
        (state(count=2), signal(observed=100), Action.SCALE_OUT, 4, LowAlarm.ENSURE, "2 -> 4"),
        (state(count=3), signal(observed=100), Action.SCALE_OUT, 4, LowAlarm.ENSURE, "3 -> 4"),  # clamped at max
        (state(count=1), signal(observed=99), Action.SCALE_OUT, 4, LowAlarm.ENSURE, "saturated (demand unknown): x4"),
        (state(count=1), signal(observed=98.9), Action.SCALE_OUT, 2, LowAlarm.ENSURE, "cpu 98.9% vs target 60%"),
        (state(count=2), signal(observed=30), Action.SCALE_OUT, 3, LowAlarm.ENSURE, "2 -> 3"),  # fired: at least +1
        (state(count=4), signal(observed=99), Action.NONE, None, LowAlarm.ENSURE, "already at max_instances (4)"),
        (state(count=6), signal(), Action.NONE, None, LowAlarm.ENSURE, "already at max_instances"),
        (state(count=3), signal(direction="down"), Action.SCALE_IN, 2, LowAlarm.ENSURE, "scale in 3 -> 2"),
        (state(count=2), signal(direction="down"), Action.SCALE_IN, 1, LowAlarm.REMOVE, "2 -> 1"),
        (state(count=1), signal(direction="down"), Action.NONE, None, LowAlarm.REMOVE, "already at min_instances (1)"),
        (state(count=6), signal(direction="down"), Action.SCALE_IN, 5, LowAlarm.ENSURE, "6 -> 5"),
        # vertical (mem default)
        (state(shape=flex(2, 32)), signal("mem"), Action.SHAPE_UP, 2, LowAlarm.ENSURE, f"{E4}:2:32 -> {E4}:4:64"),
        (state(shape=flex(1, 16)), signal("mem"), Action.SHAPE_UP, 2, LowAlarm.ENSURE, "shape up"),
        (state(shape=flex(4, 64)), signal("mem"), Action.NONE, None, LowAlarm.ENSURE, "already on the top rung"),
        (state(shape=flex(2, 32)), signal("mem", "down"), Action.SHAPE_DOWN, 2, LowAlarm.REMOVE, "-> " + f"{E4}:1:16"),
        (state(shape=flex(4, 64)), signal("mem", "down"), Action.SHAPE_DOWN, 2, LowAlarm.ENSURE, "shape down"),
        (state(shape=flex(1, 16)), signal("mem", "down"), Action.NONE, None, LowAlarm.REMOVE, "bottom rung"),
        (state(shape=flex(3, 48)), signal("mem"), Action.NONE, None, LowAlarm.LEAVE, "not on the shape ladder"),
        (state(shape=Shape(name="VM.Standard2.4")), signal("mem"), Action.NONE, None, LowAlarm.LEAVE, "not on"),
        # states we never touch
        (state(lifecycle_state="UPDATING"), signal(), Action.NONE, None, LowAlarm.LEAVE, "UPDATING, not ACTIVE"),
        (state(lifecycle_state="FAILED"), signal(), Action.NONE, None, LowAlarm.LEAVE, "FAILED, not ACTIVE"),
        (state(lifecycle_state="NEEDS_ATTENTION"), signal(), Action.NONE, None, LowAlarm.LEAVE, "not ACTIVE"),
        (state(lifecycle_state="INACTIVE"), signal("mem", "down"), Action.NONE, None, LowAlarm.LEAVE, "INACTIVE"),
        (state(scaling_policy="AUTOSCALING"), signal(), Action.NONE, None, LowAlarm.LEAVE, "native autoscaling"),
        (state(deployment_type="MODEL_GROUP"), signal(), Action.NONE, None, LowAlarm.LEAVE, "not supported"),
        # idempotency
        (state(recent_events=("e0", "e1")), signal(), Action.NONE, None, LowAlarm.ENSURE, "already handled"),
        (
            state(count=1, recent_events=("e1",)),
            signal(direction="down"),
            Action.NONE,
            None,
            LowAlarm.REMOVE,
            "redeliv",
        ),
    ],
)
def test_decide_rules(deployment, sig, action, count, low_alarm, reason):
    decision = decide(deployment, sig, POLICY, NOW)
    assert decision.action is action
    assert decision.low_alarm is low_alarm
    assert reason in decision.reason
    if action is Action.NONE:
        assert decision.target is None
    elif count is not None and action in (Action.SCALE_OUT, Action.SCALE_IN):
        assert decision.target.instance_count == count
        assert decision.target.shape == deployment.capacity.shape
    else:
        assert decision.target.instance_count == deployment.capacity.instance_count


@pytest.mark.parametrize(
    ("last_up", "last_down", "direction", "acts"),
    [
        (NOW - 299, None, "up", False),
        (NOW - 300, None, "up", True),  # boundary: a full cooldown has elapsed
        (NOW - 301, None, "up", True),
        (None, NOW - 1, "up", True),  # scale-up right after a scale-down is allowed
        (NOW - 5000, NOW - 1499, "down", False),  # after our scale-in: its update (900 s), then a cooldown
        (NOW - 5000, NOW - 1500, "down", True),
        (NOW - 599, None, "down", False),  # a scale-down waits after a scale-up too
        (NOW - 600, NOW - 5000, "down", True),
        (NOW - 5000, NOW - 10, "down", False),
    ],
)
def test_cooldowns(last_up, last_down, direction, acts):
    deployment = state(count=2, last_up=last_up, last_down=last_down)
    decision = decide(deployment, signal(direction=direction), POLICY, NOW)
    assert (decision.action is not Action.NONE) is acts
    if not acts:
        assert f"{direction} cooldown" in decision.reason


def test_the_saturated_factor_comes_from_the_policy():
    proportional_only = POLICY.model_copy(update={"saturated_scale_factor": 1})
    assert decide(state(count=1), signal(observed=100), proportional_only, NOW).target.instance_count == 2
    doubling = POLICY.model_copy(update={"saturated_scale_factor": 2, "max_instances": 10})
    assert decide(state(count=3), signal(observed=100), doubling, NOW).target.instance_count == 6


def test_a_second_scale_in_waits_for_the_first_ones_update_and_then_fresh_readings():
    # While the first scale-in's update runs, the larger capacity's low readings can fire (or repeat) the low alarm.
    stepped = state(count=3, last_up=NOW - 9000, last_down=NOW - 600)
    held = decide(stepped, signal(direction="down"), POLICY, NOW)
    assert held.action is Action.NONE and "down cooldown: 900 s left" in held.reason
    assert decide(stepped, signal(direction="down"), POLICY, NOW + 900).action is Action.SCALE_IN
    instant = POLICY.model_copy(update={"update_seconds": 0})  # updates that take no time: the plain cooldown
    assert decide(stepped, signal(direction="down"), instant, NOW).action is Action.SCALE_IN
    after_a_scale_up = state(count=3, last_up=NOW - 600, last_down=NOW - 9000)  # its stale readings err high
    assert decide(after_a_scale_up, signal(direction="down"), POLICY, NOW).action is Action.SCALE_IN


def test_cooldown_comes_from_the_policy():
    quick = POLICY.model_copy(update={"scale_up_cooldown_seconds": 0})
    assert decide(state(last_up=NOW), signal(), quick, NOW).action is Action.SCALE_OUT


@pytest.mark.parametrize(
    ("last_up", "last_down", "hold", "expected", "flap"),
    [
        (None, None, None, 600, False),  # first scale-up: the plain scale-down cooldown
        (NOW - 9000, NOW - 3000, None, 1200, True),  # evaluated 2990 s after our scale-in: the wait doubles
        (NOW - 9000, NOW - 7210, 1200, 2400, True),  # 7200 s: the edge of the 2 h window, doubling again
        (NOW - 9000, NOW - 7211, 1200, 600, False),  # just outside: halves back (never below 600)
        (NOW - 90000, NOW - 20000, 28800, 14400, False),  # a long wait does not stretch the window
        (NOW - 9000, NOW - 60, 86400, 86400, True),  # capped at max_scale_in_hold_seconds
        (NOW - 400, NOW - 9000, 4800, 4800, False),  # the last change was a scale-up: the wait stays
        (NOW - 9000, NOW - 5, 2400, 2400, False),  # the alarm was evaluated before our scale-in: no evidence
    ],
)
def test_flap_damping_sets_the_next_scale_in_wait(last_up, last_down, hold, expected, flap):
    deployment = state(count=2, last_up=last_up, last_down=last_down, scale_in_hold=hold)
    decision = decide(deployment, signal(), POLICY, NOW)  # the alarm was evaluated 10 s ago
    assert decision.action is Action.SCALE_OUT and decision.scale_in_hold == expected
    assert ("flap:" in decision.reason) is flap


def test_flap_damping_holds_every_scale_in():
    damped = state(count=3, last_up=NOW - 2000, last_down=NOW - 5000, scale_in_hold=2400)
    held = decide(damped, signal(direction="down"), POLICY, NOW)
    assert held.action is Action.NONE and "down cooldown: 400 s left" in held.reason
    first = decide(damped, signal(direction="down"), POLICY, NOW + 400)
    assert first.action is Action.SCALE_IN and first.scale_in_hold is None  # only scale-ups change it
    stepped = replace(damped, capacity=first.target, last_down=NOW + 400)
    assert "down cooldown: 1800 s left" in decide(stepped, signal(direction="down"), POLICY, NOW + 1000).reason
    assert decide(stepped, signal(direction="down"), POLICY, NOW + 2800).action is Action.SCALE_IN


def test_flap_damping_follows_the_current_policy():
    damped = state(count=3, last_up=NOW - 2000, last_down=NOW - 5000, scale_in_hold=86400)
    off = POLICY.model_copy(update={"flap_window_seconds": 0})
    assert decide(damped, signal(direction="down"), off, NOW).action is Action.SCALE_IN  # a stored hold is moot
    flapping = state(count=2, last_up=NOW - 9000, last_down=NOW - 60, scale_in_hold=2400)
    assert decide(flapping, signal(), off, NOW).scale_in_hold == 600
    lower_cap = POLICY.model_copy(update={"max_scale_in_hold_seconds": 1800})
    assert decide(damped, signal(direction="down"), lower_cap, NOW).action is Action.SCALE_IN
    no_cooldown = POLICY.model_copy(update={"scale_down_cooldown_seconds": 0})
    assert decide(flapping, signal(), no_cooldown, NOW).scale_in_hold == 4800  # doubles the stored 2400
    assert decide(replace(flapping, scale_in_hold=None), signal(), no_cooldown, NOW).scale_in_hold == 600


def test_a_low_alarm_set_for_another_capacity_does_not_scale_in():
    decision = decide(state(count=2), signal(direction="down", observed=30), POLICY, NOW)
    assert decision.action is Action.NONE and "30% is not below 24%" in decision.reason
    assert decision.low_alarm is LowAlarm.ENSURE  # the service re-syncs the threshold
    assert decide(state(count=2), signal(direction="down", observed=23), POLICY, NOW).action is Action.SCALE_IN


def test_a_deployment_without_instances_is_left_alone():
    decision = decide(state(count=0), signal(), POLICY, NOW)
    assert decision.action is Action.NONE and "0 instances" in decision.reason


@pytest.mark.parametrize(("age", "acts"), [(59, True), (60, True), (61, False)])
def test_stale_alarms(age, acts):
    strict = POLICY.model_copy(update={"max_alarm_age_seconds": 60})
    decision = decide(state(), signal(age=age), strict, NOW)
    assert (decision.action is Action.SCALE_OUT) is acts
    if not acts:
        assert "stale alarm" in decision.reason


def test_stale_check_is_off_by_default():
    assert decide(state(), signal(age=86_400), POLICY, NOW).action is Action.SCALE_OUT


def test_modes_are_per_metric():
    swapped = POLICY.model_copy(update={"cpu_mode": "vertical", "mem_mode": "horizontal"})
    assert decide(state(), signal("cpu"), swapped, NOW).action is Action.SHAPE_UP
    assert decide(state(), signal("mem"), swapped, NOW).action is Action.SCALE_OUT


def test_memory_target_drives_proportional_scale_out():
    horizontal_mem = POLICY.model_copy(update={"mem_mode": "horizontal", "mem_target": 50})
    decision = decide(state(count=2), signal("mem", observed=100), horizontal_mem, NOW)
    assert decision.target.instance_count == 4


def test_fixed_shape_ladder():
    fixed = Policy(shape_ladder="VM.Standard2.1,VM.Standard2.2,VM.Standard2.4")
    up = decide(state(shape=Shape(name="VM.Standard2.2")), signal("mem"), fixed, NOW)
    assert up.target.shape == Shape(name="VM.Standard2.4")
    assert up.target.shape.ocpus is None


def test_ladder_index_matches_flex_by_size():
    ladder = Policy(shape_ladder=LADDER).shape_ladder
    assert ladder_index(flex(2, 32), ladder) == 1
    assert ladder_index(flex(2, 16), ladder) is None
    assert ladder_index(Shape(name="VM.Standard2.1"), ladder) is None


@pytest.mark.parametrize(
    ("count", "shape", "metric", "expected"),
    [
        (2, TWO_OCPU, "cpu", 24),  # one instance left would run at <= 60 x 1/2 x 0.8
        (3, TWO_OCPU, "cpu", 32),
        (4, TWO_OCPU, "cpu", 36),
        (1, TWO_OCPU, "cpu", 20),  # nothing smaller: the configured threshold
        (1, flex(2, 32), "mem", 24),  # the rung below has half the memory
        (1, flex(4, 64), "mem", 24),
        (1, flex(1, 16), "mem", 20),  # bottom rung
        (1, flex(3, 48), "mem", 20),  # off the ladder
    ],
)
def test_low_threshold_follows_the_capacity(count, shape, metric, expected):
    assert low_threshold(Capacity(count, shape), metric, POLICY) == expected


def test_low_threshold_never_goes_below_the_configured_one():
    fixed = Policy(scale_in_headroom=0)  # headroom off: the configured threshold only
    assert low_threshold(Capacity(4, TWO_OCPU), "cpu", fixed) == 20
    assert low_threshold(Capacity(4, TWO_OCPU), "cpu", Policy()) == 47  # default 0.9: floor(70 x 3/4 x 0.9)
    careful = POLICY.model_copy(update={"cpu_low_threshold": 40})
    assert low_threshold(Capacity(4, TWO_OCPU), "cpu", careful) == 40


def test_a_per_instance_reading_steps_by_one_and_says_why():
    hot_instance = replace(signal(observed=99), per_instance=True)
    decision = decide(state(count=1), hot_instance, POLICY, NOW)
    assert decision.action is Action.SCALE_OUT and decision.target.instance_count == 2  # not x4
    assert "one instance's reading (per-instance alarm)" in decision.reason


def test_a_per_deployment_reading_sizes_in_proportion():
    decision = decide(state(count=1), signal(observed=99), POLICY, NOW)
    assert decision.target.instance_count == 4


def test_a_per_instance_low_reading_steps_in_without_the_threshold_check():
    low = replace(signal(direction="down", observed=5, age=10), per_instance=True)
    decision = decide(state(count=3, last_up=NOW - 5000), low, POLICY, NOW)
    assert decision.action is Action.SCALE_IN and decision.target.instance_count == 2


def test_a_change_that_never_took_effect_holds_no_cooldown():
    # Our last scale-out asked for 3; the deployment is ACTIVE on 2: its work request failed and was rolled back.
    failed = state(count=2, last_up=NOW - 60, last_target=str(Capacity(3, TWO_OCPU)), recent_events=("e0",))
    decision = decide(failed, signal(observed=90, event="e0"), POLICY, NOW)
    assert decision.action is Action.SCALE_OUT and decision.target.instance_count == 3
    assert "never took effect" in decision.reason


def test_a_change_that_took_effect_keeps_its_cooldown():
    landed = state(count=3, last_up=NOW - 60, last_target=str(Capacity(3, TWO_OCPU)))
    decision = decide(landed, signal(observed=90, event="e2"), POLICY, NOW)
    assert decision.action is Action.NONE and "up cooldown" in decision.reason
