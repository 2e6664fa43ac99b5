"""The serving signals in the pure parts: decide() for gpu, requests and latency; the owned alarms wanted at a
capacity; the request alarm's MQL; signal settings. No fakes needed."""

from dataclasses import replace

import pytest

from autoscaler.constants import HIGH_TITLE, LOW_TITLE, ROUTES, SIGNALS, VALUE_RANGES, alarm_query, mql_number
from autoscaler.domain import Action, Capacity, DeploymentState, LowAlarm, Shape, Signal
from autoscaler.owned_alarms import AlarmTemplate, Wanted, alarm_details, owned_titles, wanted_alarms
from autoscaler.policy import decide, high_request_threshold, low_alarm_for, low_threshold, steady
from autoscaler.queries import condition
from autoscaler.settings import ConfigError, Policy, load_settings

NOW = 1_700_000_000.0
MD = "ocid1.datasciencemodeldeployment.oc1.iad.x"
E4 = Shape(name="VM.Standard.E4.Flex", ocpus=1, memory_gbs=16)
A10_1, A10_2 = Shape(name="VM.GPU.A10.1"), Shape(name="VM.GPU.A10.2")
ALL = Policy(signals="cpu,mem,gpu,requests,latency", requests_target=600, latency_slo_ms=500, max_instances=8)


def state(count=2, shape=E4, **changes) -> DeploymentState:
    compartment = "ocid1.compartment.oc1..c"
    base = DeploymentState(MD, compartment, "ACTIVE", "SINGLE_MODEL", "FIXED_SIZE", Capacity(count, shape))
    return replace(base, **changes)


def signal(metric, direction="up", observed=None, event="e1") -> Signal:
    return Signal(metric, direction, observed, event, NOW - 10)


@pytest.mark.parametrize(
    ("deployment", "sig", "policy", "action", "after", "low", "reason"),
    [
        # requests: ceil(rate / target), exactly; a rate is not capped at the capacity, so no saturation factor
        (state(2), signal("requests", observed=2100), ALL, Action.SCALE_OUT, 4, LowAlarm.ENSURE, "need 4"),
        (state(2), signal("requests", observed=1201), ALL, Action.SCALE_OUT, 3, LowAlarm.ENSURE, "2 -> 3"),
        (state(2), signal("requests", observed=9e9), ALL, Action.SCALE_OUT, 8, LowAlarm.ENSURE, "2 -> 8"),
        (state(3), signal("requests", observed=1700), ALL, Action.NONE, 3, LowAlarm.ENSURE, "3 already serve"),
        (state(2), signal("requests"), ALL, Action.SCALE_OUT, 3, LowAlarm.ENSURE, "+1 (no deployment-level"),
        (state(3), signal("requests", "down", 900), ALL, Action.SCALE_IN, 2, LowAlarm.ENSURE, "low requests"),
        (state(3), signal("requests", "down", 1080), ALL, Action.NONE, 3, LowAlarm.ENSURE, "not below 1080/min"),
        (state(2), signal("requests", "down", 100), ALL, Action.SCALE_IN, 1, LowAlarm.REMOVE, "scale in 2 -> 1"),
        # latency: one step, never a size; the reason says how slow
        (state(2), signal("latency", observed=812), ALL, Action.SCALE_OUT, 3, LowAlarm.LEAVE, "latency 812 ms over"),
        (state(1), signal("latency", observed=9999), ALL, Action.SCALE_OUT, 2, LowAlarm.LEAVE, "step out 1 -> 2"),
        (state(2), signal("latency"), ALL, Action.SCALE_OUT, 3, LowAlarm.LEAVE, "latency over the 500 ms SLO"),
        (state(2), signal("latency", observed=500), ALL, Action.NONE, 2, LowAlarm.LEAVE, "within the 500 ms SLO"),
        (state(8), signal("latency", observed=900), ALL, Action.NONE, 8, LowAlarm.LEAVE, "max_instances (8)"),
        # gpu: like cpu, proportional with the saturation factor, on its own target
        (state(1, A10_1), signal("gpu", observed=93.5), ALL, Action.SCALE_OUT, 2, LowAlarm.ENSURE, "gpu 93.5%"),
        (state(1, A10_1), signal("gpu", observed=100), ALL, Action.SCALE_OUT, 4, LowAlarm.ENSURE, "saturated"),
        (state(2, A10_1), signal("gpu", "down", 10), ALL, Action.SCALE_IN, 1, LowAlarm.REMOVE, "low gpu"),
        # a signal the deployment does not use: nothing, and its low alarm goes
        (state(2), signal("gpu", observed=95), Policy(), Action.NONE, 2, LowAlarm.REMOVE, "gpu signal is not enabled"),
        (state(2), signal("latency", observed=900), Policy(), Action.NONE, 2, LowAlarm.LEAVE, "(signals: cpu, mem)"),
    ],
)
def test_decide_serving_signals(deployment, sig, policy, action, after, low, reason):
    decision = decide(deployment, sig, policy, NOW)
    assert decision.action is action and decision.low_alarm is low, decision
    assert (decision.target or deployment.capacity).instance_count == after
    assert reason in decision.reason, decision.reason


def test_gpu_vertical_climbs_the_gpu_ladder_not_the_cpu_one():
    policy = replace_policy(gpu_mode="vertical")
    up = decide(state(1, A10_1), signal("gpu", observed=90), policy, NOW)
    assert up.action is Action.SHAPE_UP and up.target.shape == A10_2 and up.low_alarm is LowAlarm.ENSURE
    top = decide(state(1, A10_2), signal("gpu", observed=90), policy, NOW)
    assert top.action is Action.NONE and "top rung (VM.GPU.A10.2)" in top.reason
    down = decide(state(1, A10_2), signal("gpu", "down", 10), policy, NOW)
    assert down.action is Action.SHAPE_DOWN and down.target.shape == A10_1 and down.low_alarm is LowAlarm.REMOVE
    off = decide(state(1, E4), signal("gpu", observed=90), policy, NOW)
    assert off.action is Action.NONE and "not on the shape ladder (VM.GPU.A10.1, VM.GPU.A10.2)" in off.reason


def test_latency_vertical_uses_the_ladder_the_shape_is_on():
    policy = replace_policy(latency_mode="vertical")
    gpu = decide(state(1, A10_1), signal("latency", observed=900), policy, NOW)
    assert gpu.target.shape == A10_2 and "latency 900 ms over the 500 ms SLO" in gpu.reason
    cpu = decide(state(1, E4), signal("latency", observed=900), policy, NOW)
    assert cpu.target.shape == Shape(name="VM.Standard.E4.Flex", ocpus=2, memory_gbs=32)


def test_the_scale_up_cooldown_holds_utilization_and_latency_but_not_a_rate_that_needs_more():
    after_up = state(3, last_up=NOW - 100)  # e.g. a latency step 2 -> 3 a moment ago
    for sig in (signal("latency", observed=900), signal("cpu", observed=95), signal("requests")):
        decision = decide(after_up, sig, ALL, NOW)
        assert decision.action is Action.NONE and "up cooldown" in decision.reason
    # A rate sizes the same whenever it was read: 3000/min needs 5 at 600 each, whatever the count was then.
    sized = decide(after_up, signal("requests", observed=3000), ALL, NOW)
    assert sized.action is Action.SCALE_OUT and sized.target.instance_count == 5
    # ... and a rate the current count already serves changes nothing (the cooldown is not what stops it).
    served = decide(after_up, signal("requests", observed=1700), ALL, NOW)
    assert served.action is Action.NONE and "up cooldown" in served.reason


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, 0), (2, 540), (3, 1080), (4, 1620)],  # floor(600 x (count - 1) x 0.9)
)
def test_the_low_request_threshold_keeps_the_smaller_count_under_the_target_with_headroom(count, expected):
    assert low_threshold(Capacity(count, E4), "requests", ALL) == expected
    assert high_request_threshold(Capacity(count, E4), ALL) == 600 * count


def test_without_headroom_requests_never_scale_in():
    policy = replace_policy(scale_in_headroom=0)
    assert low_alarm_for(Capacity(3, E4), "requests", policy) is LowAlarm.REMOVE


def test_the_low_gpu_threshold_follows_gpus_between_rungs():
    policy = replace_policy(gpu_mode="vertical", scale_in_headroom=0.9)
    assert low_threshold(Capacity(1, A10_2), "gpu", policy) == 27  # floor(60 x 1/2 x 0.9)
    assert low_threshold(Capacity(1, A10_1), "gpu", policy) == 20  # bottom rung: the configured floor
    assert low_threshold(Capacity(3, A10_1), "gpu", replace_policy()) == 36  # horizontal: floor(60 x 2/3 x 0.9)


def test_steady_is_what_the_owned_alarms_follow():
    assert steady(state(2))
    for changes in ({"lifecycle_state": "UPDATING"}, {"scaling_policy": "AUTOSCALING"}, {"deployment_type": "X"}):
        assert not steady(state(2, **changes))
    assert not steady(state(0))


def test_wanted_alarms_at_a_capacity():
    wanted = {(w.title, w.threshold) for w in wanted_alarms(Capacity(3, E4), ALL)}
    assert wanted == {
        ("model_deployment_low_cpu", 42),  # floor(70 x 2/3 x 0.9)
        ("model_deployment_low_mem", None),  # memory is vertical: E4 1:16 is the bottom rung
        ("model_deployment_low_gpu", 36),
        ("model_deployment_high_requests", 1800),
        ("model_deployment_low_requests", 1080),
    }
    # at the floor every low alarm goes; the high request alarm stays
    floor = {(w.title, w.threshold) for w in wanted_alarms(Capacity(1, E4), ALL)}
    assert floor == {
        ("model_deployment_low_cpu", None),
        ("model_deployment_low_mem", None),
        ("model_deployment_low_gpu", None),
        ("model_deployment_high_requests", 600),
        ("model_deployment_low_requests", None),
    }
    # a deployment that does not use a signal wants none of its alarms
    off = {(w.title, w.threshold) for w in wanted_alarms(Capacity(3, E4), Policy(), ["gpu", "requests"])}
    assert off == {
        ("model_deployment_low_gpu", None),
        ("model_deployment_high_requests", None),
        ("model_deployment_low_requests", None),
    }


def test_a_shape_off_the_ladder_leaves_its_low_alarm_alone():
    policy = replace_policy(gpu_mode="vertical")
    titles = [w.title for w in wanted_alarms(Capacity(1, Shape(name="VM.GPU3.1")), policy, ["gpu"])]
    assert titles == []


def test_alarm_details_of_an_owned_high_request_alarm():
    template = AlarmTemplate("ocid1.compartment.oc1..a", "ocid1.compartment.oc1..m", ("ocid1.onstopic.oc1..t",))
    settings = load_settings({"AUTOSCALE_COMPARTMENT_ALLOWLIST": "ocid1.compartment.oc1..a"})
    details = alarm_details(template, Wanted("requests", "up", 1800.0), MD, settings)
    assert details["display_name"] == f"model_deployment_high_requests-{MD}"
    assert details["query"] == f'PredictRequestCount[1m]{{resourceId = "{MD}"}}.groupBy(resourceId).sum() > 1800'
    assert details["notification_title"] == "model_deployment_high_requests"
    assert (details["pending_duration"], details["repeat_notification_duration"]) == ("PT1M", "PT5M")
    assert details["compartment_id"] == "ocid1.compartment.oc1..a"
    assert details["metric_compartment_id"] == "ocid1.compartment.oc1..m"
    assert details["freeform_tags"] == {"autoscale_owner": "oci-md-autoscaler", "autoscale_deployment": MD}
    low = alarm_details(template, Wanted("gpu", "down", 27.0), MD, settings)
    assert (low["pending_duration"], low["repeat_notification_duration"]) == ("PT10M", "PT10M")
    assert low["body"].startswith("GPUCoreUtilization below 27%")


def test_titles_and_ranges_cover_every_signal():
    assert set(VALUE_RANGES) == set(SIGNALS) == set(HIGH_TITLE)
    assert {metric for metric, _ in ROUTES.values()} == set(SIGNALS)
    assert "latency" not in LOW_TITLE  # latency never scales in
    assert set(owned_titles()) == {*LOW_TITLE.values(), "model_deployment_high_requests"}


@pytest.mark.parametrize(
    ("metric", "statistic"), [("cpu", "mean"), ("gpu", "mean"), ("latency", "mean"), ("requests", "sum")]
)
def test_alarm_queries_are_per_deployment_with_the_signal_statistic(metric, statistic):
    rule = condition(alarm_query(metric, MD, ">", 1234.5))
    assert rule.per_deployment and rule.statistic == statistic and rule.threshold == 1234.5


@pytest.mark.parametrize(("value", "text"), [(27, "27"), (72.5, "72.5"), (1_000_000, "1000000"), (0.125, "0.12")])
def test_thresholds_are_written_without_exponents(value, text):
    assert mql_number(value) == text


@pytest.mark.parametrize(
    ("query", "statistic", "minutes"),
    [
        (f'PredictRequestCount[5m]{{resourceId = "{MD}"}}.groupBy(resourceId).sum() > 6000', "sum", 5),
        ("PredictLatency[1h].percentile(0.9) > 800", "percentile", 60),
        ("GPUCoreUtilization [1m].max() >= 90", "max", 1),
    ],
)
def test_condition_reads_the_statistic_and_the_interval(query, statistic, minutes):
    rule = condition(query)
    assert (rule.statistic, rule.interval_minutes) == (statistic, minutes)


ALLOW = {"AUTOSCALE_COMPARTMENT_ALLOWLIST": "ocid1.compartment.oc1..aaaa"}


def test_signals_default_to_the_2022_pair_and_take_tags():
    policy = load_settings(ALLOW).policy
    assert policy.signals == ("cpu", "mem")
    tagged = policy.with_overrides({"autoscale_signals": "gpu, latency", "autoscale_gpu_mode": "vertical"})
    assert tagged.signals == ("gpu", "latency") and tagged.gpu_mode == "vertical"
    assert tagged.gpu_shape_ladder == (A10_1, A10_2)


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"AUTOSCALE_SIGNALS": "cpu,disk"}, "AUTOSCALE_SIGNALS"),
        ({"AUTOSCALE_SIGNALS": ""}, "AUTOSCALE_SIGNALS"),
        ({"AUTOSCALE_SIGNALS": "gpu,gpu"}, "AUTOSCALE_SIGNALS"),
        ({"AUTOSCALE_GPU_MODE": "cost"}, "AUTOSCALE_GPU_MODE"),
        ({"AUTOSCALE_REQUESTS_TARGET": "0"}, "AUTOSCALE_REQUESTS_TARGET"),
        ({"AUTOSCALE_LATENCY_SLO_MS": "-1"}, "AUTOSCALE_LATENCY_SLO_MS"),
        ({"AUTOSCALE_GPU_LOW_THRESHOLD": "70"}, "gpu_low_threshold must be below gpu_target"),
        ({"AUTOSCALE_GPU_SHAPE_LADDER": "VM.GPU.A10.1:2"}, "AUTOSCALE_GPU_SHAPE_LADDER"),
        ({"AUTOSCALE_HIGH_ALARM_PENDING_DURATION": "PT2H"}, "AUTOSCALE_HIGH_ALARM_PENDING_DURATION"),
    ],
)
def test_invalid_signal_settings_name_the_key(env, key):
    with pytest.raises(ConfigError, match=key):
        load_settings({**ALLOW, **env})


def replace_policy(**changes) -> Policy:
    return Policy.model_validate({**{name: getattr(ALL, name) for name in Policy.model_fields}, **changes})
