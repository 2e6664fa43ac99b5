"""The serving signals (GPU, requests, latency) over stateful fakes: assertions are on the resulting OCI state.

Seed: gpu1 is one VM.GPU.A10.1 scaling on gpu and latency (tag autoscale_signals); req1 is two E4.Flex 1:16
scaling on requests and latency at 600 requests per instance per minute, with the function's own request
alarms at 2 instances (high > 1200/min FIRING, low < 540/min OK).
"""

import pytest

from autoscaler.constants import OWNER_TAG
from autoscaler.oci_gateway import OciGateway
from tests.conftest import DEMO, DEMO1, alarm_message, capacity, deployment, owned_low_alarms
from tests.service.test_service import T0, writes

GPU1 = "ocid1.datasciencemodeldeployment.oc1.iad.gpu1"
REQ1 = "ocid1.datasciencemodeldeployment.oc1.iad.req1"
HIGH_REQ1 = "ocid1.alarm.oc1.iad.req1highrequests"
LOW_REQ1 = "ocid1.alarm.oc1.iad.req1lowrequests"


def owned(store, title, deployment_id):
    alarms = store.list_alarms(DEMO, display_name=f"{title}-{deployment_id}")
    return [a for a in alarms if a["lifecycleState"] == "ACTIVE" and (a.get("freeformTags") or {}).get(OWNER_TAG)]


def query_of(store, title, deployment_id):
    [alarm] = owned(store, title, deployment_id)
    return alarm["query"]


def tag(store, deployment_id, **tags):
    """Set override tags on the deployment, keeping its other tags (the function's state among them)."""
    merged = {**deployment(store, deployment_id)["freeformTags"], **{f"autoscale_{k}": v for k, v in tags.items()}}
    store.update_model_deployment(deployment_id, {"freeformTags": merged}, None)


def resize(store, deployment_id, count):
    """Someone else (the console, another signal's invocation) changes the instance count."""
    body, etag = store.get_model_deployment(deployment_id)
    model = body["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]
    model["scalingPolicy"]["instanceCount"] = count
    details = {"deploymentType": "SINGLE_MODEL", "modelConfigurationDetails": model}
    store.update_model_deployment(deployment_id, {"modelDeploymentConfigurationDetails": details}, etag)


def fired(store, alarm_id, deployment_id, value, seconds_after=0):
    """The message OCI sends when this alarm's stream of the deployment starts FIRING."""
    millis = int((T0 + seconds_after) * 1000)
    return store.fire_alarm(alarm_id, {"resourceId": deployment_id}, value=value, timestamp_epoch_millis=millis)


def rq(deployment_id, op, threshold):
    return f'PredictRequestCount[1m]{{resourceId = "{deployment_id}"}}.groupBy(resourceId).sum() {op} {threshold}'


# --- GPU --------------------------------------------------------------------------------------------------------


def test_high_gpu_scales_out_in_proportion_and_creates_the_low_gpu_alarm(run, store):
    [outcome] = run(alarm_message("high_gpu.json"))
    assert outcome["status"] == "applied" and outcome["action"] == "scale_out"
    assert "gpu 93.5% vs target 60%" in outcome["reason"]
    assert capacity(store, GPU1)[:2] == (2, "VM.GPU.A10.1")  # ceil(1 x 93.5 / 60)
    assert (
        outcome["low_alarm"] == "exists (created here or by a concurrent call)" and outcome["owned_alarms"] is None
    )  # no requests signal here
    [low] = owned_low_alarms(store, "gpu", GPU1)
    assert low["query"] == f'GPUCoreUtilization[1m]{{resourceId = "{GPU1}"}}.groupBy(resourceId).mean() < 27'
    full, _ = store.get_alarm(low["id"])
    assert full["notificationTitle"] == "model_deployment_low_gpu"
    assert full["freeformTags"] == {"autoscale_owner": "oci-md-autoscaler", "autoscale_deployment": GPU1}


def test_low_gpu_steps_in_and_removes_its_alarm_at_the_floor(run, store):
    run(alarm_message("high_gpu.json"))
    [low] = owned_low_alarms(store, "gpu", GPU1)
    [outcome] = run(fired(store, low["id"], GPU1, 9.5, 600), now=T0 + 610)
    assert outcome["action"] == "scale_in" and capacity(store, GPU1)[0] == 1
    assert outcome["low_alarm"] == "deleted" and owned_low_alarms(store, "gpu", GPU1) == []


def test_gpu_ladder_moves_a_rung_and_the_low_threshold_follows_the_gpu_count(run, store):
    tag(store, GPU1, signals="gpu,latency", gpu_mode="vertical")
    [up] = run(alarm_message("high_gpu.json"))
    assert up["action"] == "shape_up" and capacity(store, GPU1)[:2] == (1, "VM.GPU.A10.2")
    assert "VM.GPU.A10.1 -> VM.GPU.A10.2: high gpu" in up["reason"]
    # one A10 of two would run at <= 0.9 x 60 %: floor(60 x 1/2 x 0.9)
    [low] = owned_low_alarms(store, "gpu", GPU1)
    assert low["query"].endswith("< 27")
    [down] = run(fired(store, low["id"], GPU1, 12, 600), now=T0 + 610)
    assert down["action"] == "shape_down" and capacity(store, GPU1)[:2] == (1, "VM.GPU.A10.1")
    assert down["low_alarm"] == "deleted"  # the bottom rung
    [top] = run(alarm_message("high_gpu.json", timestampEpochMillis=1_763_900_900_000), now=T0 + 2000)
    assert top["action"] == "shape_up"
    [again] = run(alarm_message("high_gpu.json", timestampEpochMillis=1_763_901_900_000), now=T0 + 4000)
    assert again["status"] == "noop" and "already on the top rung (VM.GPU.A10.2)" in again["reason"]


def test_a_per_instance_gpu_alarm_steps_by_one(run, store):
    details = {
        "displayName": "md-gpu1-hot-gpu (user-written)",
        "compartmentId": DEMO,
        "metricCompartmentId": DEMO,
        "namespace": "oci_datascience_modeldeploy",
        "query": f'GPUCoreUtilization[1m]{{resourceId = "{GPU1}"}}.mean() > 90',
        "severity": "CRITICAL",
        "destinations": ["ocid1.onstopic.oc1.iad.demo"],
        "isEnabled": True,
        "notificationTitle": "model_deployment_high_gpu",
    }
    tag(store, GPU1, signals="gpu", max_instances="8")
    alarm, _ = store.create_alarm(details)
    dimensions = {"resourceId": GPU1, "instanceId": "ocid1.datasciencemodeldeploymentinstance.oc1.iad.g1"}
    message = store.fire_alarm(alarm["id"], dimensions, value=99.5, timestamp_epoch_millis=int(T0 * 1000))
    [outcome] = run(message)
    assert outcome["action"] == "scale_out" and capacity(store, GPU1)[0] == 2  # not x4: one instance's reading
    assert "gpu 99.5% is one instance's reading" in outcome["reason"]


# --- Latency ----------------------------------------------------------------------------------------------------


def test_latency_steps_out_by_one_and_says_how_slow(run, store):
    [outcome] = run(alarm_message("high_latency.json"))
    assert outcome["status"] == "applied" and outcome["action"] == "scale_out"
    assert outcome["reason"].startswith("step out 1 -> 2: latency 1450 ms over the 1000 ms SLO")
    assert capacity(store, GPU1)[0] == 2
    assert outcome["low_alarm"] == "unchanged"  # latency never scales in: it has no low alarm
    # ... but its step changed the count: the low alarms of the deployment's other signals follow it
    assert outcome["owned_alarms"] == {"model_deployment_low_gpu": "exists (created here or by a concurrent call)"}
    assert owned_low_alarms(store, "gpu", GPU1)[0]["query"].endswith("< 27")
    assert [a for a in store.list_alarms(DEMO) if "latency" in a["displayName"] and "low" in a["displayName"]] == []


def test_latency_shares_the_scale_up_cooldown_with_the_other_signals(run, store):
    run(alarm_message("high_gpu.json"))
    [held] = run(alarm_message("high_latency.json"), now=T0 + 60)
    assert held["status"] == "noop" and "up cooldown" in held["reason"]
    [later] = run(alarm_message("high_latency.json"), now=T0 + 720)
    assert later["action"] == "scale_out" and capacity(store, GPU1)[0] == 3


def test_latency_within_the_deployment_slo_does_not_scale(run, store):
    tag(store, GPU1, signals="gpu,latency", latency_slo_ms="2000")  # the tag moved the objective; the alarm lags
    [outcome] = run(alarm_message("high_latency.json"))
    assert outcome["status"] == "noop" and "latency 1450 ms is within the 2000 ms SLO" in outcome["reason"]
    assert capacity(store, GPU1)[0] == 1


def test_latency_in_vertical_mode_climbs_the_ladder_the_shape_is_on(run, store):
    tag(store, GPU1, signals="gpu,latency", latency_mode="vertical")
    [outcome] = run(alarm_message("high_latency.json"))
    assert outcome["action"] == "shape_up" and capacity(store, GPU1)[:2] == (1, "VM.GPU.A10.2")
    assert "latency 1450 ms over the 1000 ms SLO" in outcome["reason"]


# --- Requests ---------------------------------------------------------------------------------------------------


def test_high_requests_scales_to_the_rate_over_the_target_and_rewrites_both_request_alarms(run, store):
    [outcome] = run(alarm_message("high_requests.json"))
    assert outcome["status"] == "applied" and capacity(store, REQ1)[0] == 4  # ceil(2100 / 600)
    assert "requests 2100/min at 600/min per instance need 4" in outcome["reason"]
    assert outcome["low_alarm"] == "exists, threshold now 1620/min"  # floor(600 x 3 x 0.9)
    assert outcome["owned_alarms"] == {"model_deployment_high_requests": "exists, threshold now 2400/min"}
    assert query_of(store, "model_deployment_high_requests", REQ1) == rq(REQ1, ">", 2400)
    assert query_of(store, "model_deployment_low_requests", REQ1) == rq(REQ1, "<", 1620)
    full, _ = store.get_alarm(HIGH_REQ1)
    assert full["body"].startswith("PredictRequestCount above 2400/min")


def test_low_requests_steps_in_and_both_thresholds_follow(run, store):
    run(alarm_message("high_requests.json"))
    [outcome] = run(fired(store, LOW_REQ1, REQ1, 900, 700), now=T0 + 710)
    assert outcome["action"] == "scale_in" and capacity(store, REQ1)[0] == 3
    assert outcome["low_alarm"] == "exists, threshold now 1080/min"  # floor(600 x 2 x 0.9)
    assert query_of(store, "model_deployment_high_requests", REQ1) == rq(REQ1, ">", 1800)
    resize(store, REQ1, 2)  # someone else scaled in: the low alarm (< 1080) was set for 3 instances
    [stale] = run(fired(store, LOW_REQ1, REQ1, 1000, 1400), now=T0 + 1410)
    assert stale["status"] == "noop" and "requests 1000/min is not below 540/min" in stale["reason"]
    assert stale["low_alarm"] == "exists, threshold now 540/min" and capacity(store, REQ1)[0] == 2
    assert stale["owned_alarms"] == {"model_deployment_high_requests": "exists, threshold now 1200/min"}


def test_low_requests_at_the_floor_removes_the_low_alarm_and_keeps_the_high_one(run, store):
    [outcome] = run(fired(store, LOW_REQ1, REQ1, 200))
    assert outcome["action"] == "scale_in" and capacity(store, REQ1)[0] == 1
    assert outcome["low_alarm"] == "deleted" and owned(store, "model_deployment_low_requests", REQ1) == []
    assert query_of(store, "model_deployment_high_requests", REQ1) == rq(REQ1, ">", 600)


def test_an_alarm_set_for_fewer_instances_is_resynced_not_obeyed(run, store):
    tag(store, REQ1, signals="requests,latency", requests_target="1100")
    [outcome] = run(alarm_message("high_requests.json"))
    assert outcome["status"] == "noop" and "need 2: 2 already serve them" in outcome["reason"]
    assert capacity(store, REQ1)[0] == 2
    assert outcome["owned_alarms"] == {"model_deployment_high_requests": "exists, threshold now 2200/min"}


def test_a_request_alarm_over_five_minutes_is_read_per_minute(run, store):
    store.update_alarm(HIGH_REQ1, {"query": rq(REQ1, ">", 6000).replace("[1m]", "[5m]")}, None)
    message = alarm_message("high_requests.json")
    message["alarmMetaData"][0]["metricValues"] = [{"PredictRequestCount[5m].sum()": "10500"}]
    [outcome] = run(message)
    assert outcome["status"] == "applied" and "requests 2100/min" in outcome["reason"]
    assert capacity(store, REQ1)[0] == 4


def test_an_ungrouped_request_alarm_still_sizes_from_the_rate(run, store):
    """PredictRequestCount has only the resourceId dimension: without groupBy it is still the deployment's stream."""
    store.update_alarm(HIGH_REQ1, {"query": rq(REQ1, ">", 1200).replace(".groupBy(resourceId)", "")}, None)
    [outcome] = run(alarm_message("high_requests.json"))
    assert outcome["status"] == "applied" and capacity(store, REQ1)[0] == 4
    assert "one instance's reading" not in outcome["reason"]


def test_a_request_alarm_that_does_not_count_is_refused(run, store):
    store.update_alarm(HIGH_REQ1, {"query": rq(REQ1, ">", 1200).replace(".sum()", ".mean()")}, None)
    store.calls.clear()
    [outcome] = run(alarm_message("high_requests.json"))
    assert outcome["status"] == "refused" and "must count the requests (.sum()), not .mean()" in outcome["reason"]
    assert writes(store) == []


def test_request_alarms_come_to_exist_at_the_first_convergence_of_the_deployment(run, store):
    """A deployment that turns the requests signal on has no request alarm (Terraform cannot keep one): the
    first verified alarm of the deployment, whatever its signal, creates both at its capacity."""
    tag(store, DEMO1, signals="cpu,mem,requests")
    [outcome] = run(alarm_message("high_cpu.json"))
    assert outcome["status"] == "applied" and capacity(store, DEMO1)[0] == 2
    assert outcome["owned_alarms"] == {
        "model_deployment_high_requests": "exists (created here or by a concurrent call)",
        "model_deployment_low_requests": "exists (created here or by a concurrent call)",
    }
    assert query_of(store, "model_deployment_high_requests", DEMO1) == rq(DEMO1, ">", 1200)
    assert query_of(store, "model_deployment_low_requests", DEMO1) == rq(DEMO1, "<", 540)
    [again] = run(alarm_message("high_cpu.json"))  # a redelivery converges to the same alarms: no new ones
    assert again["owned_alarms"] == {
        "model_deployment_high_requests": "exists",
        "model_deployment_low_requests": "exists",
    }
    assert len(owned(store, "model_deployment_high_requests", DEMO1)) == 1


def test_the_cpu_path_does_not_touch_request_alarms(run, store):
    [outcome] = run(alarm_message("high_cpu.json"))
    assert outcome["owned_alarms"] is None
    # the low CPU alarm only: listed, then created (its retry token dedupes concurrent creates of one capacity)
    assert [c[0] for c in store.calls if c[0] in ("ListAlarms", "CreateAlarm", "UpdateAlarm", "DeleteAlarm")] == [
        "ListAlarms",
        "CreateAlarm",
    ]


def test_duplicate_high_request_alarms_collapse_to_the_smallest_ocid(run, tick, store):
    full, _ = store.get_alarm(HIGH_REQ1)
    copy = {k: full[k] for k in ("displayName", "compartmentId", "metricCompartmentId", "namespace", "query")}
    copy.update(severity=full["severity"], destinations=full["destinations"], isEnabled=True)
    store.create_alarm({**copy, "freeformTags": full["freeformTags"]})
    both = sorted(a["id"] for a in owned(store, "model_deployment_high_requests", REQ1))
    assert len(both) == 2
    run(alarm_message("high_latency.json"))  # another deployment's alarm leaves req1's alarms alone
    assert len(owned(store, "model_deployment_high_requests", REQ1)) == 2
    # The alarm that fired is the one the invocation writes (its GetAlarm stands in for a listing: one call less);
    # the duplicate is the tick's to remove, which keeps the smallest OCID, a rule every tick agrees on.
    [outcome] = run(alarm_message("high_requests.json"))
    assert outcome["owned_alarms"]["model_deployment_high_requests"] == "exists, threshold now 2400/min"
    lines = tick(now=T0 + 60)
    assert "removed 1 duplicate" in lines[REQ1]["alarms"]["model_deployment_high_requests"]
    [kept] = owned(store, "model_deployment_high_requests", REQ1)
    assert kept["id"] == both[0] and kept["query"].endswith("> 2400")


def test_redelivered_request_alarm_acts_once(run, store):
    run(alarm_message("high_requests.json"))
    # The first delivery moved the alarm to > 2400: its old value no longer meets the alarm's own trigger.
    [again] = run(alarm_message("high_requests.json"), now=T0 + 3600)
    assert again["status"] == "refused" and "does not meet the alarm's own trigger (> 2400)" in again["reason"]
    message = alarm_message("high_requests.json")
    message["alarmMetaData"][0]["metricValues"] = [{"PredictRequestCount[1m].sum()": "2500"}]
    [late] = run(message, now=T0 + 3600)  # the same event with a value that meets it: still handled once
    assert late["status"] == "noop" and "already handled" in late["reason"]
    assert capacity(store, REQ1)[0] == 4
    assert len([c for c in store.calls if c[0] == "UpdateModelDeployment"]) == 1


def test_dry_run_of_a_request_alarm_writes_nothing(run, store):
    [outcome] = run(alarm_message("high_requests.json"), AUTOSCALE_DRY_RUN="true")
    assert outcome["status"] == "dry_run" and outcome["after"].startswith("4 x")
    assert writes(store) == []


# --- Which signals a deployment uses ----------------------------------------------------------------------------


def test_an_alarm_of_a_signal_the_deployment_does_not_use_is_a_noop(run, store):
    tag(store, GPU1, signals="latency")
    [outcome] = run(alarm_message("high_gpu.json"))
    assert outcome["status"] == "noop" and "gpu signal is not enabled for this deployment" in outcome["reason"]
    assert capacity(store, GPU1)[0] == 1 and outcome["low_alarm"] == "absent"


def test_a_request_alarm_once_the_signal_is_off_removes_both_request_alarms(run, store):
    tag(store, REQ1, signals="latency")
    [outcome] = run(alarm_message("high_requests.json"))
    assert outcome["status"] == "noop" and "requests signal is not enabled" in outcome["reason"]
    assert outcome["low_alarm"] == "deleted"
    assert outcome["owned_alarms"] == {"model_deployment_high_requests": "deleted"}
    assert owned(store, "model_deployment_high_requests", REQ1) == owned(store, "model_deployment_low_requests", REQ1)
    assert owned(store, "model_deployment_low_requests", REQ1) == []
    assert capacity(store, REQ1)[0] == 2


# --- Values -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "value", "reason"),
    [
        ("high_gpu.json", "120", "GPUCoreUtilization value 120 is outside its valid range 0..100"),
        ("high_latency.json", "-3", "PredictLatency value -3 is outside its valid range 0..inf"),
        ("high_requests.json", "-1", "PredictRequestCount value -1 is outside its valid range 0..inf"),
        ("high_latency.json", "900", "value 900 does not meet the alarm's own trigger (> 1000)"),
        ("high_requests.json", "1100", "value 1100 does not meet the alarm's own trigger (> 1200)"),
        ("high_gpu.json", "40", "value 40 does not meet the alarm's own trigger (> 75)"),
    ],
)
def test_impossible_or_untriggered_values_are_refused_without_writes(run, store, file, value, reason):
    message = alarm_message(file)
    meta = message["alarmMetaData"][0]
    meta["metricValues"] = [{next(iter(meta["metricValues"][0])): value}]
    [outcome] = run(message)
    assert outcome["status"] == "refused" and reason in outcome["reason"]
    assert writes(store) == []


def test_a_scale_in_waits_for_the_scale_down_cooldown_after_a_request_scale_out(run, store):
    run(alarm_message("high_requests.json"))
    [cooling] = run(fired(store, LOW_REQ1, REQ1, 100, 5), now=T0 + 10)
    assert cooling["status"] == "noop" and "down cooldown" in cooling["reason"]
    assert capacity(store, REQ1)[0] == 4
    assert deployment(store, REQ1)["freeformTags"]["autoscale_state_last_up"] == f"{T0:.3f}"


def test_an_outage_while_creating_a_request_alarm_is_repaired_by_the_redelivery(run, store, fake_oci, env):
    run(alarm_message("high_cpu.json"))  # 2 instances and the low CPU alarm, before requests were turned on
    tag(store, DEMO1, signals="cpu,mem,requests")
    OciGateway.from_settings(env())  # the fake clients exist from here on
    fake_oci["monitoring"].fail_next("CreateAlarm", 503)
    repeat = alarm_message("high_cpu_repeat.json")
    [failed] = run(repeat, now=T0 + 60)
    assert failed["status"] == "error" and "503" in failed["reason"]
    assert owned(store, "model_deployment_high_requests", DEMO1) == []
    [again] = run(repeat, now=T0 + 90)  # Notifications redelivers
    assert again["status"] == "noop" and "cooldown" in again["reason"]
    assert again["owned_alarms"] == {
        "model_deployment_high_requests": "exists (created here or by a concurrent call)",
        "model_deployment_low_requests": "exists (created here or by a concurrent call)",
    }
