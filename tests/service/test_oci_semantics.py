"""What real OCI does that the function must get right (issue "Right on real OCI"), over the stateful fakes.

The fakes keep their state in the emulator's Store, which is strict by default: it refuses an update that
changes two infrastructure option groups, unknown shapes, Flex ranges, counts over the service limit.
"""

import copy

import pytest

from tests.conftest import DEMO1, alarm_message, capacity, deployment, owned_low_alarms
from tests.service.test_service import T0, writes

HIGH_CPU = "ocid1.alarm.oc1.iad.demo1highcpu"


def with_value(name: str, value: str, **changes) -> dict:
    body = alarm_message(name, **changes)
    meta = body["alarmMetaData"][0]
    meta["metricValues"] = [{next(iter(meta["metricValues"][0])): value}]
    return body


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("-50", "outside its valid range 0..100"),
        ("-1e6", "outside its valid range 0..100"),
        ("250", "outside its valid range 0..100"),
        ("0", "does not meet the alarm's own trigger (> 80)"),
        ("12.5", "does not meet the alarm's own trigger (> 80)"),
    ],
)
def test_impossible_or_inconsistent_values_are_refused_with_no_write(run, store, value, why):
    [outcome] = run(with_value("high_cpu.json", value))
    assert outcome["status"] == "refused" and why in outcome["reason"]
    assert writes(store) == [] and capacity(store)[0] == 1


def test_a_value_out_of_range_costs_no_oci_call(run, store):
    run(with_value("high_cpu.json", "250"))
    assert store.calls == []


def test_a_per_instance_alarm_steps_by_one_and_says_whose_value_it_is(run, store):
    [outcome] = run(with_value("high_cpu_per_instance.json", "99.5"))  # one saturated instance, the 2022 form
    assert outcome["status"] == "applied" and capacity(store)[0] == 2  # a deployment-level 99.5 % would give x4
    assert "one instance's reading (per-instance alarm)" in outcome["reason"]


def test_a_deployment_level_alarm_sizes_in_proportion(run, store):
    [outcome] = run(with_value("high_cpu.json", "97.1"))
    assert outcome["status"] == "applied" and capacity(store)[0] == 2  # ceil(1 x 97.1 / 70)
    assert "per-instance" not in outcome["reason"]


@pytest.fixture
def burstable(store, seed):
    """demo1 on a burstable E4.Flex (cpu_baseline 1/2)."""
    seed = copy.deepcopy(seed)
    [md] = [d for d in seed["modelDeployments"] if d["id"] == DEMO1]
    shape = md["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]["instanceConfiguration"]
    shape["modelDeploymentInstanceShapeConfigDetails"]["cpuBaseline"] = "BASELINE_1_2"
    store.load(seed)
    return store


def shape_config(store) -> dict:
    model = deployment(store)["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]
    return model["instanceConfiguration"]["modelDeploymentInstanceShapeConfigDetails"]


def test_a_burstable_deployment_keeps_its_baseline_through_both_kinds_of_update(run, burstable):
    [out] = run(alarm_message("high_cpu.json"))
    assert out["status"] == "applied" and capacity(burstable)[0] == 2
    assert shape_config(burstable)["cpuBaseline"] == "BASELINE_1_2"
    [up] = run(alarm_message("high_mem.json"), now=T0 + 720)  # after the up cooldown
    assert up["status"] == "applied" and shape_config(burstable) == {
        "ocpus": 2,
        "memoryInGBs": 32,
        "cpuBaseline": "BASELINE_1_2",
    }


def test_every_update_changes_one_option_group_which_the_strict_emulator_checks(run, store):
    assert store.strict
    run(alarm_message("high_cpu.json"))  # count
    run(alarm_message("high_mem.json"), now=T0 + 720)  # shape
    assert capacity(store) == (2, "VM.Standard.E4.Flex", 2)
    assert [c[0] for c in writes(store)].count("UpdateModelDeployment") == 2


def test_an_update_oci_refuses_is_refused_with_nothing_half_written(run, store):
    store.max_instances = 1  # the tenancy's instance limit: OCI answers 400 LimitExceeded
    [outcome] = run(alarm_message("high_cpu.json"))
    assert outcome["status"] == "refused" and "OCI refused the update, nothing changed" in outcome["reason"]
    assert "LimitExceeded" in outcome["reason"]
    assert capacity(store)[0] == 1 and owned_low_alarms(store) == []
    assert "autoscale_state_events" not in deployment(store)["freeformTags"]


def test_a_forged_message_for_a_quiet_alarm_is_refused_with_no_write(run, store):
    store.clear_alarm(HIGH_CPU, {"resourceId": DEMO1}, timestamp_epoch_millis=1_763_800_000_000)  # OK since then
    [outcome] = run(alarm_message("high_cpu.json"))  # well formed, plausible value, a real alarm of ours
    assert outcome["status"] == "refused" and "does not show this alarm firing" in outcome["reason"]
    assert [c[0] for c in store.calls] == ["GetAlarm", "RetrieveDimensionStates", "GetAlarmHistory"]
    assert capacity(store)[0] == 1


def test_a_message_for_an_alarm_that_never_fired_is_refused(run, store, seed):
    seed = copy.deepcopy(seed)
    seed["alarmStates"] = [s for s in seed["alarmStates"] if s["alarmId"] != HIGH_CPU]
    store.load(seed)
    [outcome] = run(alarm_message("high_cpu.json"))
    assert outcome["status"] == "refused" and writes(store) == []


def test_a_late_redelivery_of_a_real_firing_is_accepted(run, store):
    fired = 1_763_900_000_000
    store.clear_alarm(HIGH_CPU, {"resourceId": DEMO1}, timestamp_epoch_millis=fired - 600_000)
    store.fire_alarm(HIGH_CPU, {"resourceId": DEMO1}, 92.3, timestamp_epoch_millis=fired)
    store.clear_alarm(HIGH_CPU, {"resourceId": DEMO1}, timestamp_epoch_millis=fired + 300_000)  # OK again
    store.monitoring.wall_clock = lambda: fired / 1000 + 5400  # history is kept 90 days back from now
    [outcome] = run(alarm_message("high_cpu.json"), now=fired / 1000 + 5400)  # redelivered 90 min later
    assert outcome["status"] == "applied" and capacity(store)[0] == 2


def test_a_message_from_before_the_alarm_fired_is_refused(run, store):
    fired = 1_763_900_000_000
    store.clear_alarm(HIGH_CPU, {"resourceId": DEMO1}, timestamp_epoch_millis=fired - 3_600_000)
    store.fire_alarm(HIGH_CPU, {"resourceId": DEMO1}, 92.3, timestamp_epoch_millis=fired + 1_800_000)
    [outcome] = run(alarm_message("high_cpu.json"))  # claims a firing 30 min before the real one
    assert outcome["status"] == "refused" and writes(store) == []


@pytest.mark.parametrize("revert_tags", [True, False])  # the docs do not say whether a failed update keeps tags
def test_a_change_whose_work_request_failed_holds_no_cooldown(run, store, revert_tags):
    store.fail_next_updates(deployment_id=DEMO1, outcome="revert", revert_tags=revert_tags)
    [first] = run(alarm_message("high_cpu.json"))
    assert first["status"] == "applied" and first["work_request_id"]
    assert capacity(store)[0] == 1  # the work request ended FAILED and OCI rolled the count back
    [again] = run(alarm_message("high_cpu_repeat.json"), now=T0 + 60)  # well inside the 720 s up cooldown
    assert again["status"] == "applied" and capacity(store)[0] == 2, again
    if not revert_tags:
        assert "never took effect" in again["reason"]


def test_a_change_that_landed_keeps_its_cooldown(run, store):
    run(alarm_message("high_cpu.json"))
    [again] = run(alarm_message("high_cpu_repeat.json"), now=T0 + 60)
    assert again["status"] == "noop" and "up cooldown" in again["reason"]
