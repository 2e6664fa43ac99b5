"""The cost-aware CPU mode: decide() with prices, table-driven. Pure values in, Decision out."""

import pytest

from autoscaler.domain import Action, Capacity, DeploymentState, LowAlarm, Shape, Signal
from autoscaler.policy import decide, low_threshold
from autoscaler.pricing import Price, hourly_price, parse_prices
from autoscaler.settings import ConfigError, Policy, load_settings

NOW = 1_700_000_000.0
E4 = "VM.Standard.E4.Flex"
LADDER = f"{E4}:1:16,{E4}:2:32,{E4}:4:64"
COST = Policy(cpu_mode="cost", min_instances=1, max_instances=4, shape_ladder=LADDER, cpu_target=60)
MIXED = COST.model_copy(update={"shape_ladder": (Shape(name="VM.Standard2.1"), Shape(name=E4, ocpus=2, memory_gbs=32))})


def flex(ocpus):
    return Shape(name=E4, ocpus=ocpus, memory_gbs=16 * ocpus)


def state(count, shape) -> DeploymentState:
    return DeploymentState("ocid1.datasciencemodeldeployment.oc1.iad.x", "ocid1.compartment.oc1..c", "ACTIVE",
                           "SINGLE_MODEL", "FIXED_SIZE", Capacity(count, shape))  # fmt: skip


def cpu(direction="up", observed=None) -> Signal:
    return Signal("cpu", direction, observed, "e1", NOW - 10)


@pytest.mark.parametrize(
    ("policy", "count", "shape", "sig", "action", "after", "low_alarm", "reason"),
    [
        # up: the HPA count at the same shape is cheaper than the next rung at the same count
        (COST, 2, flex(1), cpu(observed=90), Action.SCALE_OUT, (3, flex(1)), LowAlarm.ENSURE, "cheapest that has"),
        (COST, 1, flex(1), cpu(observed=80), Action.SCALE_OUT, (2, flex(1)), LowAlarm.ENSURE, "needs 1.33 OCPUs"),
        # saturated: the demand may be anywhere above 1 OCPU, so x4 (saturated_scale_factor)
        (COST, 1, flex(1), cpu(observed=100), Action.SCALE_OUT, (4, flex(1)), LowAlarm.ENSURE, "saturated"),
        (COST, 1, flex(1), cpu(), Action.SCALE_OUT, (2, flex(1)), LowAlarm.ENSURE, "no metric value"),
        # at max_instances only the rung can grow
        (COST, 4, flex(1), cpu(observed=90), Action.SHAPE_UP, (4, flex(2)), LowAlarm.ENSURE, "4 x"),
        (COST, 4, flex(4), cpu(observed=90), Action.NONE, None, LowAlarm.ENSURE, "max_instances (4) on the top"),
        # 3 x 1 OCPU at 95% needs 4.75 OCPUs: 4 instances have 4, the next rung 6
        (COST, 3, flex(1), cpu(observed=95), Action.SHAPE_UP, (3, flex(2)), LowAlarm.ENSURE, "cheapest that has"),
        # no option has the 20 OCPUs asked for: the one gaining most OCPUs per unit of price
        (COST, 3, flex(4), cpu(observed=100), Action.SCALE_OUT, (4, flex(4)), LowAlarm.ENSURE, "none has them"),
        # a cheaper family on the next rung wins over another instance of the dear fixed shape
        (MIXED, 1, Shape(name="VM.Standard2.1"), cpu(observed=90), Action.SHAPE_UP, (1, flex(2)), LowAlarm.REMOVE,
         "0.098 $/h"),
        # down: one instance fewer; the rung stays (memory owns it while mem_mode is vertical)
        (COST, 3, flex(2), cpu("down", 10), Action.SCALE_IN, (2, flex(2)), LowAlarm.ENSURE, "saves the most"),
        (COST, 1, flex(2), cpu("down", 10), Action.NONE, None, LowAlarm.REMOVE, "already at the floor"),
        (COST, 2, flex(1), cpu("down", 40), Action.NONE, None, LowAlarm.ENSURE, "not below 27%"),  # stale alarm
        (COST, 1, flex(1), cpu("down", 5), Action.NONE, None, LowAlarm.REMOVE, "floor"),
    ],
)  # fmt: skip
def test_cost_mode(policy, count, shape, sig, action, after, low_alarm, reason):
    decision = decide(state(count, shape), sig, policy, NOW)
    assert decision.action == action
    assert decision.target == (Capacity(*after) if after else None)
    assert decision.low_alarm == low_alarm
    assert reason in decision.reason


def test_with_memory_scaled_horizontally_a_low_cpu_alarm_takes_the_bigger_saving():
    policy = COST.model_copy(update={"mem_mode": "horizontal"})
    decision = decide(state(2, flex(2)), cpu("down", 10), policy, NOW)  # 2 x 2 OCPU: -1 instance or -1 rung
    assert decision.action in (Action.SCALE_IN, Action.SHAPE_DOWN)
    assert decision.low_alarm == LowAlarm.ENSURE
    one_rung = decide(state(1, flex(2)), cpu("down", 10), policy, NOW)
    assert one_rung.action == Action.SHAPE_DOWN and one_rung.low_alarm == LowAlarm.REMOVE  # now at the floor


def test_a_shape_without_a_price_is_compared_by_ocpus():
    policy = COST.model_copy(update={"prices": parse_prices("VM.Standard2.1=0.0638")})
    decision = decide(state(2, flex(1)), cpu(observed=90), policy, NOW)
    assert decision.action == Action.SCALE_OUT and "OCPU" in decision.reason and "$/h" not in decision.reason


def test_the_other_modes_ignore_prices():
    horizontal = COST.model_copy(update={"cpu_mode": "horizontal"})
    decision = decide(state(4, flex(1)), cpu(observed=90), horizontal, NOW)
    assert decision.action == Action.NONE and "max_instances" in decision.reason


def test_price_table():
    table = parse_prices("VM.Standard.E4.Flex=0.025:0.0015, VM.Standard2.2=0.0638")
    assert table == (Price(shape=E4, ocpu_hour=0.025, gb_hour=0.0015), Price(shape="VM.Standard2.2", ocpu_hour=0.0638))
    assert hourly_price(flex(2), table) == pytest.approx(2 * 0.025 + 32 * 0.0015)
    assert hourly_price(Shape(name="VM.Standard2.2"), table) == pytest.approx(2 * 0.0638)
    assert hourly_price(Shape(name="VM.Standard2.4"), table) is None  # no price
    assert Shape(name="VM.Standard2.4").size == (4, 60) and Shape(name="VM.Unknown").size is None
    assert hourly_price(Shape(name="VM.Standard2.1"), Policy().prices) == pytest.approx(0.0638)  # the default table


@pytest.mark.parametrize("text", ["E4", "E4=", "E4=x", "E4=0", "E4=1:2:3", "E4=-1", "A=1,A=2"])
def test_bad_prices_name_the_key(text):
    with pytest.raises(ConfigError, match="AUTOSCALE_PRICES"):
        load_settings({"AUTOSCALE_COMPARTMENT_ALLOWLIST": "ocid1.compartment.oc1..aaaa", "AUTOSCALE_PRICES": text})


def test_cost_mode_from_config():
    settings = load_settings(
        {"AUTOSCALE_COMPARTMENT_ALLOWLIST": "ocid1.compartment.oc1..aaaa", "AUTOSCALE_CPU_MODE": "cost",
         "AUTOSCALE_PRICES": "VM.Standard.E4.Flex=0.03:0.002"}
    )  # fmt: skip
    assert settings.policy.cpu_mode == "cost" and settings.policy.prices[0].ocpu_hour == 0.03
    with pytest.raises(ConfigError, match="AUTOSCALE_MEM_MODE"):
        load_settings({"AUTOSCALE_COMPARTMENT_ALLOWLIST": "ocid1.compartment.oc1..aaaa", "AUTOSCALE_MEM_MODE": "cost"})
    assert settings.policy.with_overrides({"autoscale_cpu_mode": "horizontal"}).cpu_mode == "horizontal"


@pytest.mark.parametrize(
    ("policy", "count", "shape", "expected"),
    [
        (COST, 4, flex(1), 40),  # one instance fewer keeps 3/4: floor(60 x 3/4 x 0.9)
        (COST, 2, flex(2), 27),  # the rung is memory's: only an instance can go, 1/2
        (COST.model_copy(update={"mem_mode": "horizontal"}), 3, flex(2), 36),  # 3 -> 2 instances beats 3 -> 1.5
        (COST.model_copy(update={"mem_mode": "horizontal"}), 1, flex(4), 27),  # only the rung below: 2 of 4
        (COST, 1, flex(2), 20),  # at the floor for CPU: the configured threshold
    ],
)
def test_cost_mode_low_threshold_follows_the_smallest_step_down(policy, count, shape, expected):
    assert low_threshold(Capacity(count, shape), "cpu", policy) == expected


def test_cost_mode_ignores_steps_of_unknown_size_for_the_low_threshold():
    gpus = COST.model_copy(update={"mem_mode": "horizontal", "shape_ladder": "VM.GPU3.1,VM.GPU3.2"})
    assert low_threshold(Capacity(1, Shape(name="VM.GPU3.2")), "cpu", gpus) == 20  # the configured one
    assert low_threshold(Capacity(0, flex(1)), "cpu", COST) == 20  # no OCPUs: no ratio, no division
