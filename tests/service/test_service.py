"""The service over stateful fakes of the OCI clients: assertions are on the resulting OCI state."""

import oci
import pytest

from autoscaler.domain import Capacity, Shape
from autoscaler.oci_gateway import Conflict, OciGateway
from tests.conftest import DEMO, DEMO1, DEMO2, alarm_message, capacity, deployment, owned_low_alarms

T0 = 1_763_900_030.0  # 30 s after the sample alarms fired
WRITES = {"UpdateModelDeployment", "CreateAlarm", "DeleteAlarm", "UpdateAlarm"}


def writes(store):
    return [call for call in store.calls if call[0] in WRITES]


def low_message(store, metric, deployment_id=DEMO1, **changes):
    """The message OCI would send when the autoscaler's low alarm fires (its stream FIRING in the emulator)."""
    [alarm] = owned_low_alarms(store, metric, deployment_id)
    body = alarm_message(f"low_{metric}.json", **changes)
    body["alarmMetaData"][0]["id"] = alarm["id"]
    body["alarmMetaData"][0]["query"] = alarm["query"]
    store.fire_alarm(alarm["id"], {"resourceId": deployment_id}, timestamp_epoch_millis=body["timestampEpochMillis"])
    return body


def test_high_cpu_scales_out_in_proportion_and_creates_the_low_alarm(run, store):
    [outcome] = run(alarm_message("high_cpu.json"))
    assert outcome["status"] == "applied" and outcome["action"] == "scale_out"
    assert capacity(store) == (2, "VM.Standard.E4.Flex", 1)  # ceil(1 x 92.3 / 70) = 2
    assert outcome["before"].startswith("1 x") and outcome["after"].startswith("2 x")
    assert outcome["work_request_id"] and outcome["low_alarm"] == "exists (created here or by a concurrent call)"
    [low] = owned_low_alarms(store, "cpu")
    high, _ = store.get_alarm("ocid1.alarm.oc1.iad.demo1highcpu")
    # 2 -> 1 instance would run at <= 0.9 x the 70 % target: floor(70 x 1/2 x 0.9)
    assert low["query"] == f'CpuUtilization[1m]{{resourceId = "{DEMO1}"}}.groupBy(resourceId).mean() < 31'
    full, _ = store.get_alarm(low["id"])
    assert full["notificationTitle"] == "model_deployment_low_cpu"
    for key in ("compartmentId", "metricCompartmentId", "destinations", "severity", "namespace"):
        assert full[key] == high[key]
    assert full["pendingDuration"] == "PT10M" and full["repeatNotificationDuration"] == "PT10M"
    assert full["freeformTags"] == {"autoscale_owner": "oci-md-autoscaler", "autoscale_deployment": DEMO1}
    tags = deployment(store)["freeformTags"]
    assert tags["autoscale_state_last_up"] == f"{T0:.3f}" and tags["autoscale_state_events"]


def test_update_preserves_everything_it_does_not_change(run, store):
    before = deployment(store)
    run(alarm_message("high_cpu.json"))
    after = deployment(store)
    old_model = before["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]
    new_model = after["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]
    assert new_model["modelId"] == old_model["modelId"]
    assert new_model.get("bandwidthMbps") == old_model.get("bandwidthMbps")
    for key, value in old_model["instanceConfiguration"].items():
        assert new_model["instanceConfiguration"][key] == value
    for key, value in (before.get("freeformTags") or {}).items():
        assert after["freeformTags"][key] == value
    assert after["displayName"] == before["displayName"]


def test_redelivery_is_acted_on_once(run, store):
    run(alarm_message("high_cpu.json"))
    updates = len([c for c in store.calls if c[0] == "UpdateModelDeployment"])
    for _ in range(3):
        [outcome] = run(alarm_message("high_cpu.json"), now=T0 + 3600)  # even after the cooldown
        assert outcome["status"] == "noop" and "already handled" in outcome["reason"]
    assert len([c for c in store.calls if c[0] == "UpdateModelDeployment"]) == updates
    assert capacity(store)[0] == 2
    assert len(owned_low_alarms(store, "cpu")) == 1


def test_repeat_waits_for_the_cooldown_then_scales_again(run, store):
    run(alarm_message("high_cpu.json"))
    [early] = run(alarm_message("high_cpu_repeat.json"), now=T0 + 719)
    assert early["status"] == "noop" and "up cooldown" in early["reason"]
    assert capacity(store)[0] == 2
    [late] = run(alarm_message("high_cpu_repeat.json"), now=T0 + 720)
    assert late["status"] == "applied" and capacity(store)[0] == 3  # ceil(2 x 88.1 / 70)
    assert len(owned_low_alarms(store, "cpu")) == 1  # ensured, never duplicated


def test_scale_out_stops_at_max_instances(run, store):
    for step in range(6):
        message = alarm_message("high_cpu_repeat.json", timestampEpochMillis=1_763_900_000_000 + step * 1000)
        run(message, now=T0 + step * 400)
    assert capacity(store)[0] == 4
    [outcome] = run(alarm_message("high_cpu_repeat.json", timestampEpochMillis=1_763_900_009_000), now=T0 + 9999)
    assert outcome["status"] == "noop" and "max_instances (4)" in outcome["reason"]


def test_high_mem_moves_one_rung_up_the_ladder(run, store):
    [outcome] = run(alarm_message("high_mem.json"))
    assert outcome["action"] == "shape_up" and capacity(store) == (1, "VM.Standard.E4.Flex", 2)
    model = deployment(store)["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]
    assert model["instanceConfiguration"]["modelDeploymentInstanceShapeConfigDetails"]["memoryInGBs"] == 32
    [low] = owned_low_alarms(store, "mem")
    assert low["query"].startswith("MemoryUtilization[1m]") and low["query"].endswith("< 27")  # 16 of 32 GB


def test_low_cpu_steps_in_and_removes_its_alarm_at_the_floor(run, store):
    run(alarm_message("high_cpu.json"))
    run(alarm_message("high_cpu_repeat.json"), now=T0 + 720)  # 3 instances
    assert capacity(store)[0] == 3
    [cooling] = run(low_message(store, "cpu"), now=T0 + 1000)
    assert cooling["status"] == "noop" and "down cooldown" in cooling["reason"]
    [first] = run(low_message(store, "cpu", timestampEpochMillis=1_763_900_001_000), now=T0 + 1320)
    assert first["action"] == "scale_in" and capacity(store)[0] == 2
    assert first["low_alarm"] == "exists, threshold now 31%"  # from floor(70 x 2/3 x 0.9) = 42
    # The first scale-in's update, then a cooldown of the smaller capacity's own readings (900 + 600 s):
    [early] = run(low_message(store, "cpu", timestampEpochMillis=1_763_900_002_000), now=T0 + 1920)
    assert early["status"] == "noop" and "down cooldown: 900 s left" in early["reason"] and capacity(store)[0] == 2
    [second] = run(low_message(store, "cpu", timestampEpochMillis=1_763_900_003_000), now=T0 + 2820)
    assert second["action"] == "scale_in" and capacity(store)[0] == 1 and second["low_alarm"] == "deleted"
    assert owned_low_alarms(store, "cpu") == []


def test_a_flap_doubles_the_wait_before_the_next_scale_in(run, store):
    run(alarm_message("high_cpu.json"))
    assert deployment(store)["freeformTags"]["autoscale_state_scale_in_hold"] == "600"
    [down] = run(low_message(store, "cpu"), now=T0 + 600)
    assert down["action"] == "scale_in" and capacity(store)[0] == 1
    again = alarm_message("high_cpu_repeat.json", timestampEpochMillis=int((T0 + 790) * 1000))
    [up] = run(again, now=T0 + 800)  # evaluated 190 s after the scale-in
    assert up["action"] == "scale_out" and "flap: 190 s after our scale-in" in up["reason"]
    assert deployment(store)["freeformTags"]["autoscale_state_scale_in_hold"] == "1200"
    [held] = run(low_message(store, "cpu", timestampEpochMillis=1_763_900_001_000), now=T0 + 1400)
    assert held["status"] == "noop" and "down cooldown: 600 s left" in held["reason"]
    [later] = run(low_message(store, "cpu", timestampEpochMillis=1_763_900_002_000), now=T0 + 2000)
    assert later["action"] == "scale_in" and capacity(store)[0] == 1


def test_a_low_alarm_left_at_another_capacity_is_resynced_not_obeyed(run, store):
    run(alarm_message("high_cpu.json"))
    run(alarm_message("high_cpu_repeat.json"), now=T0 + 720)  # 3 instances: the low alarm is at < 42
    body, etag = store.get_model_deployment(DEMO1)
    model = body["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]
    model["scalingPolicy"]["instanceCount"] = 2  # someone else (or the other metric) scaled it in
    details = {"deploymentType": "SINGLE_MODEL", "modelConfigurationDetails": model}
    store.update_model_deployment(DEMO1, {"modelDeploymentConfigurationDetails": details}, etag)
    message = low_message(store, "cpu")
    message["alarmMetaData"][0]["metricValues"] = [{"CpuUtilization[1m].mean()": "36"}]
    [outcome] = run(message, now=T0 + 2000)
    assert outcome["status"] == "noop" and "36% is not below 31%" in outcome["reason"]
    assert capacity(store)[0] == 2 and outcome["low_alarm"] == "exists, threshold now 31%"


def test_low_mem_steps_down_to_the_bottom_rung(run, store):
    run(alarm_message("high_mem.json"))
    run(alarm_message("high_mem.json", timestampEpochMillis=1_763_900_001_000), now=T0 + 720)
    assert capacity(store)[2] == 4
    run(low_message(store, "mem"), now=T0 + 1320)
    assert capacity(store)[2] == 2
    [early] = run(low_message(store, "mem", timestampEpochMillis=1_763_900_001_000), now=T0 + 1920)
    assert "down cooldown" in early["reason"] and capacity(store)[2] == 2  # the 4-OCPU rung's readings, maybe
    [last] = run(low_message(store, "mem", timestampEpochMillis=1_763_900_002_000), now=T0 + 2820)
    assert capacity(store)[2] == 1 and last["low_alarm"] == "deleted"
    assert owned_low_alarms(store, "mem") == []


def test_firing_to_ok_is_acknowledged_without_touching_oci(run, store):
    [outcome] = run(alarm_message("high_cpu_firing_to_ok.json"))
    assert outcome["status"] == "acknowledged"
    assert store.calls == []


def test_one_alarm_covers_every_deployment_it_names(run, store):
    outcomes = run(alarm_message("multi_deployment_high_cpu.json"))
    assert [(o["deployment_id"], o["status"]) for o in outcomes] == [(DEMO1, "applied"), (DEMO2, "applied")]
    assert capacity(store, DEMO1)[0] == 2  # ceil(1 x 85 / 70)
    assert capacity(store, DEMO2)[0] == 3  # ceil(2 x 97.5 / 70)
    assert len(owned_low_alarms(store, "cpu", DEMO1)) == len(owned_low_alarms(store, "cpu", DEMO2)) == 1
    assert len([c for c in store.calls if c[0] == "GetAlarm"]) == 1  # verified once per message


def test_native_autoscaling_is_left_alone(run, store):
    [outcome] = run(alarm_message("native_autoscaling_high_cpu.json"))
    assert outcome["status"] == "noop" and "native autoscaling" in outcome["reason"]
    assert writes(store) == []


@pytest.mark.parametrize(
    ("file", "reason"),
    [
        ("spoofed_unknown_alarm.json", "alarm not found"),
        ("spoofed_other_compartment.json", "not in the allowlist"),
        ("spoofed_wrong_deployment.json", "does not name this deployment"),
        ("spoofed_title_mismatch.json", "does not match the alarm's title"),
    ],
)
def test_spoofed_alarms_are_refused_without_writes(run, store, file, reason):
    before = {d: capacity(store, d) for d in (DEMO1, DEMO2)}
    [outcome] = run(alarm_message(file))
    assert outcome["status"] == "refused" and reason in outcome["reason"]
    assert writes(store) == []
    assert {d: capacity(store, d) for d in (DEMO1, DEMO2)} == before


def test_deployment_outside_the_allowlist_is_refused(run, store):
    [outcome] = run(alarm_message("high_cpu.json"), AUTOSCALE_COMPARTMENT_ALLOWLIST="ocid1.compartment.oc1..other")
    assert outcome["status"] == "refused" and "allowlist" in outcome["reason"]
    assert writes(store) == []


def test_dry_run_decides_but_writes_nothing(run, store):
    [outcome] = run(alarm_message("high_cpu.json"), AUTOSCALE_DRY_RUN="true")
    assert outcome["status"] == "dry_run" and outcome["dry_run"] is True
    assert outcome["after"].startswith("2 x") and outcome["low_alarm"] == "would ensure"
    assert writes(store) == [] and capacity(store)[0] == 1


def test_deployment_that_is_updating_is_not_touched(run, store):
    store.update_delay_seconds = 3600  # the update keeps it UPDATING for an hour
    run(alarm_message("high_cpu.json"))
    [outcome] = run(alarm_message("high_cpu_repeat.json"), now=T0 + 400)
    assert outcome["status"] == "noop" and "UPDATING" in outcome["reason"]
    assert capacity(store)[0] == 2


def test_deployment_tags_override_the_policy(run, store, seed):
    store.update_model_deployment(DEMO1, {"freeformTags": {"autoscale_max_instances": "1"}}, None)
    [outcome] = run(alarm_message("high_cpu.json"))
    assert outcome["status"] == "noop" and "max_instances (1)" in outcome["reason"]


@pytest.mark.parametrize("garbage", ["inf", "nan", "-inf", "soon", "1e999", ""])
def test_hand_edited_state_tags_read_as_unset(run, store, garbage):
    tags = {f"autoscale_state_{name}": garbage for name in ("last_up", "last_down", "scale_in_hold", "cpu_rungs")}
    store.update_model_deployment(DEMO1, {"freeformTags": tags}, None)
    [outcome] = run(alarm_message("high_cpu.json"))
    assert outcome["status"] == "applied" and capacity(store)[0] == 2
    assert deployment(store)["freeformTags"]["autoscale_state_scale_in_hold"] == "600"


def test_invalid_override_tag_is_refused_with_the_tag_name(run, store):
    store.update_model_deployment(DEMO1, {"freeformTags": {"autoscale_shape_ladder": "VM.Standard.E4.Flex:2"}}, None)
    [outcome] = run(alarm_message("high_mem.json"))
    assert outcome["status"] == "refused" and "autoscale_shape_ladder" in outcome["reason"]
    assert capacity(store) == (1, "VM.Standard.E4.Flex", 1)


def test_stale_etag_is_a_conflict_and_nothing_is_applied(fake_oci, env, store):
    gateway = OciGateway.from_settings(env())
    seen = gateway.get_deployment(DEMO1)
    target = Capacity(3, Shape(name="VM.Standard.E4.Flex", ocpus=1, memory_gbs=16))
    gateway.update_deployment(seen, Capacity(2, target.shape), dict(seen.tags))  # another invocation wins
    with pytest.raises(Conflict, match="412"):
        gateway.update_deployment(seen, target, dict(seen.tags))
    assert capacity(store)[0] == 2


def test_transient_failure_is_reported_and_the_redelivery_repairs(run, store, fake_oci, env):
    OciGateway.from_settings(env())  # the fake clients exist from here on
    fake_oci["monitoring"].fail_next("CreateAlarm", 503)
    [failed] = run(alarm_message("high_cpu.json"))
    assert failed["status"] == "error" and "503" in failed["reason"]
    assert capacity(store)[0] == 2 and owned_low_alarms(store, "cpu") == []  # scaled, low alarm missing
    [again] = run(alarm_message("high_cpu.json"))  # Notifications redelivers
    assert again["status"] == "noop" and again["low_alarm"] == "exists (created here or by a concurrent call)"
    assert capacity(store)[0] == 2 and len(owned_low_alarms(store, "cpu")) == 1


def test_failed_update_leaves_the_deployment_as_it_was(run, store, fake_oci, env):
    OciGateway.from_settings(env())
    fake_oci["data_science"].fail_next("UpdateModelDeployment", 500)
    [failed] = run(alarm_message("high_cpu.json"))
    assert failed["status"] == "error" and capacity(store)[0] == 1 and owned_low_alarms(store) == []
    [again] = run(alarm_message("high_cpu.json"))
    assert again["status"] == "applied" and capacity(store)[0] == 2


def test_with_headroom_the_low_alarm_follows_the_capacity(run, store):
    run(alarm_message("high_cpu.json"), AUTOSCALE_SCALE_IN_HEADROOM="0.8")
    run(alarm_message("high_cpu_repeat.json"), now=T0 + 720, AUTOSCALE_SCALE_IN_HEADROOM="0.8")  # 3 instances
    assert owned_low_alarms(store, "cpu")[0]["query"].endswith("< 37")  # 2 would run at <= 70 x 2/3 x 0.8
    [down] = run(low_message(store, "cpu"), now=T0 + 1320, AUTOSCALE_SCALE_IN_HEADROOM="0.8")
    assert down["action"] == "scale_in" and down["low_alarm"] == "exists, threshold now 28%"
    assert owned_low_alarms(store, "cpu")[0]["query"].endswith("< 28")


def test_duplicate_low_alarms_are_collapsed_to_one(run, store):
    run(alarm_message("high_cpu.json"))
    [low] = owned_low_alarms(store, "cpu")
    full, _ = store.get_alarm(low["id"])
    copy = {k: full[k] for k in ("displayName", "compartmentId", "metricCompartmentId", "namespace", "query")}
    copy.update(severity=full["severity"], destinations=full["destinations"], isEnabled=True)
    store.create_alarm({**copy, "freeformTags": full["freeformTags"]})
    both = sorted(a["id"] for a in owned_low_alarms(store, "cpu"))
    assert len(both) == 2
    # A no-op in cooldown leaves the alarms alone (it costs 3 calls); the next change converges them.
    [quiet] = run(alarm_message("high_cpu_repeat.json"), now=T0 + 10)
    assert quiet["low_alarm"] == "unchanged" and len(owned_low_alarms(store, "cpu")) == 2
    [outcome] = run(alarm_message("high_cpu_repeat.json"), now=T0 + 800)
    assert "removed 1 duplicate" in outcome["low_alarm"]
    # the smallest OCID stays: a rule every concurrent invocation agrees on
    assert [a["id"] for a in owned_low_alarms(store, "cpu")] == both[:1]


def test_alarms_the_autoscaler_does_not_own_are_never_deleted(run, store):
    run(alarm_message("high_cpu.json"))
    [low] = owned_low_alarms(store, "cpu")
    full, _ = store.get_alarm(low["id"])
    mine = {k: full[k] for k in ("displayName", "compartmentId", "metricCompartmentId", "namespace", "query")}
    mine.update(severity="INFO", destinations=full["destinations"], isEnabled=True, freeformTags={"team": "ml"})
    user_alarm, _ = store.create_alarm(mine)
    [outcome] = run(low_message(store, "cpu"), now=T0 + 900)  # back to the floor
    assert outcome["low_alarm"] == "deleted" and owned_low_alarms(store, "cpu") == []
    assert store.get_alarm(user_alarm["id"])[0]["lifecycleState"] == "ACTIVE"


def test_real_sdk_errors_other_than_404_propagate(fake_oci, env):
    gateway = OciGateway.from_settings(env())
    fake_oci["monitoring"].fail_next("GetAlarm", 429)
    with pytest.raises(oci.exceptions.ServiceError):
        gateway.get_alarm("ocid1.alarm.oc1.iad.demo1highcpu")
    assert gateway.get_alarm("ocid1.alarm.oc1.iad.nope") is None
    assert DEMO in gateway.get_alarm("ocid1.alarm.oc1.iad.demo1highcpu").compartment_id
