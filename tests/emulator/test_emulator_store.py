"""Direct unit tests of emulator.store.Store (no HTTP)."""

import copy
import threading

import pytest
from emu_helpers import DEMO, DEMO1, DEMO1_CPU, DEMO_ALARMS, SEED, FakeClock
from hypothesis import given
from hypothesis import strategies as st

from emulator.store import OciError, Store


def scale_body(count, model_id="ocid1.datasciencemodel.oc1.iad.demo1"):
    return {
        "modelDeploymentConfigurationDetails": {
            "deploymentType": "SINGLE_MODEL",
            "modelConfigurationDetails": {
                "modelId": model_id,
                "scalingPolicy": {"policyType": "FIXED_SIZE", "instanceCount": count},
            },
        }
    }


def model_config(store, md_id=DEMO1):
    body, _ = store.get_model_deployment(md_id)
    return body["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]


def test_seed_dump_round_trip_keeps_state_and_etags():
    store = Store.from_seed(SEED)
    dumped = store.dump()
    assert [md["id"] for md in dumped["modelDeployments"]] == [md["id"] for md in SEED["modelDeployments"]]
    assert all(len(item["etag"]) == 32 for item in dumped["modelDeployments"] + dumped["alarms"])
    assert Store.from_seed(dumped).dump() == dumped
    assert store.get_alarm(DEMO1_CPU)[1] == dumped["alarms"][0]["etag"]


def test_seed_is_not_aliased():
    seed = copy.deepcopy(SEED)
    store = Store.from_seed(seed)
    seed["modelDeployments"][0]["displayName"] = "changed"
    assert store.get_model_deployment(DEMO1)[0]["displayName"] == "md-demo1"


def test_unknown_ids_are_404_with_code_and_message():
    store = Store.from_seed(SEED)
    for call in (
        lambda: store.get_model_deployment("ocid1.datasciencemodeldeployment.oc1.iad.nope"),
        lambda: store.update_model_deployment("ocid1.datasciencemodeldeployment.oc1.iad.nope", {}, None),
        lambda: store.get_work_request("ocid1.datascienceworkrequest.oc1..nope"),
        lambda: store.get_alarm("ocid1.alarm.oc1..nope"),
        lambda: store.delete_alarm("ocid1.alarm.oc1..nope", None),
    ):
        with pytest.raises(OciError) as err:
            call()
        assert (err.value.status, err.value.code) == (404, "NotAuthorizedOrNotFound")
        assert "nope" in err.value.message


def test_update_with_zero_delay_is_active_on_next_read_and_changes_etag():
    store = Store.from_seed(SEED)
    _, etag = store.get_model_deployment(DEMO1)
    store.update_model_deployment(DEMO1, scale_body(2), if_match=etag)
    body, new_etag = store.get_model_deployment(DEMO1)
    assert body["lifecycleState"] == "ACTIVE"
    assert body["modelDeploymentSystemData"]["currentInstanceCount"] == 2
    assert new_etag != etag
    with pytest.raises(OciError) as err:
        store.update_model_deployment(DEMO1, scale_body(3), if_match=etag)
    assert (err.value.status, err.value.code) == (412, "NoEtagMatch")


def test_update_lifecycle_and_work_request_follow_the_clock():
    clock = FakeClock()
    store = Store.from_seed(SEED, update_delay_seconds=10, clock=clock)
    wr_id = store.update_model_deployment(DEMO1, scale_body(3), None)
    assert store.get_model_deployment(DEMO1)[0]["lifecycleState"] == "UPDATING"
    assert store.get_work_request(wr_id)["status"] == "ACCEPTED"
    clock.advance(5)
    wr = store.get_work_request(wr_id)
    assert (wr["status"], wr["percentComplete"]) == ("IN_PROGRESS", 50.0)
    with pytest.raises(OciError) as err:
        store.update_model_deployment(DEMO1, scale_body(4), None)
    assert (err.value.status, err.value.code) == (409, "IncorrectState")
    assert "UPDATING" in err.value.message
    clock.advance(5)
    wr = store.get_work_request(wr_id)
    assert wr["status"] == "SUCCEEDED" and "timeFinished" in wr
    assert wr["resources"] == [
        {
            "actionType": "UPDATED",
            "entityType": "modelDeployment",
            "identifier": DEMO1,
            "entityUri": f"/modelDeployments/{DEMO1}",
        }
    ]
    assert store.get_model_deployment(DEMO1)[0]["lifecycleState"] == "ACTIVE"
    assert model_config(store)["scalingPolicy"]["instanceCount"] == 3


def test_updating_deployment_in_seed_settles_after_the_delay():
    seed = copy.deepcopy(SEED)
    seed["modelDeployments"][0]["lifecycleState"] = "UPDATING"
    clock = FakeClock()
    store = Store.from_seed(seed, update_delay_seconds=2, clock=clock)
    assert store.get_model_deployment(DEMO1)[0]["lifecycleState"] == "UPDATING"
    clock.advance(2)
    assert store.get_model_deployment(DEMO1)[0]["lifecycleState"] == "ACTIVE"


def test_inactive_deployment_cannot_be_updated():
    seed = copy.deepcopy(SEED)
    seed["modelDeployments"][0]["lifecycleState"] = "INACTIVE"
    store = Store.from_seed(seed)
    with pytest.raises(OciError) as err:
        store.update_model_deployment(DEMO1, scale_body(2), None)
    assert (err.value.status, err.value.code) == (409, "IncorrectState")
    assert "INACTIVE" in err.value.message


def test_merge_keeps_omitted_fields_and_a_new_shape_drops_the_old_shape_config():
    store = Store.from_seed(SEED)
    store.update_model_deployment(DEMO1, scale_body(2), None)
    config = model_config(store)
    assert config["bandwidthMbps"] == 10
    assert config["instanceConfiguration"]["modelDeploymentInstanceShapeConfigDetails"] == {
        "ocpus": 1,
        "memoryInGBs": 16,
    }
    body = scale_body(2)
    body["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]["instanceConfiguration"] = {
        "instanceShapeName": "VM.Standard2.4"
    }
    store.update_model_deployment(DEMO1, body, None)
    assert model_config(store)["instanceConfiguration"] == {"instanceShapeName": "VM.Standard2.4"}


@given(count=st.one_of(st.integers(-5, 50), st.floats(allow_nan=False), st.text(max_size=3), st.booleans()))
def test_instance_count_accepted_iff_positive_int(count):
    store = Store.from_seed(SEED, max_instances=None)  # the type rule only; the limit: test_emulator_strict.py
    valid = isinstance(count, int) and not isinstance(count, bool) and count >= 1
    try:
        store.update_model_deployment(DEMO1, scale_body(count), None)
    except OciError as err:
        assert not valid and (err.status, err.code) == (400, "InvalidParameter")
        assert "instanceCount" in err.message
        assert model_config(store)["scalingPolicy"]["instanceCount"] == 1
    else:
        assert valid and model_config(store)["scalingPolicy"]["instanceCount"] == count


def test_calls_are_recorded_in_order_including_failures():
    store = Store.from_seed(SEED)
    store.get_model_deployment(DEMO1)
    with pytest.raises(OciError):
        store.get_alarm("ocid1.alarm.oc1..missing")
    store.list_alarms(DEMO)
    assert store.calls == [
        ("GetModelDeployment", DEMO1),
        ("GetAlarm", "ocid1.alarm.oc1..missing"),
        ("ListAlarms", ""),
    ]


def alarm_details(name="a"):
    return {
        "displayName": name,
        "compartmentId": DEMO,
        "metricCompartmentId": DEMO,
        "namespace": "oci_datascience_modeldeploy",
        "query": "CpuUtilization[1m].mean() < 20",
        "severity": "WARNING",
        "destinations": ["ocid1.onstopic.oc1.iad.demo"],
        "isEnabled": True,
    }


def test_create_alarm_retry_token_is_idempotent_under_concurrency():
    store = Store.from_seed(SEED)
    results = []
    threads = [
        threading.Thread(
            target=lambda i=i: results.append(store.create_alarm(alarm_details(f"t{i % 4}"), f"tok{i % 4}"))
        )
        for i in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = {alarm["id"] for alarm, _ in results}
    assert len(ids) == 4
    assert len(store.list_alarms(DEMO)) == DEMO_ALARMS + 4
    assert sorted(rid for op, rid in store.calls if op == "CreateAlarm") == sorted(a["id"] for a, _ in results)


def test_alarm_delete_keeps_it_readable_as_deleted():
    store = Store.from_seed(SEED)
    store.delete_alarm(DEMO1_CPU, None)
    assert store.get_alarm(DEMO1_CPU)[0]["lifecycleState"] == "DELETED"
    assert DEMO1_CPU not in [a["id"] for a in store.list_alarms(DEMO)]
    assert [a["id"] for a in store.list_alarms(DEMO, lifecycle_state="DELETED")] == [DEMO1_CPU]
    with pytest.raises(OciError) as err:
        store.update_alarm(DEMO1_CPU, {"isEnabled": False}, None)
    assert err.value.status == 409


def test_oci_error_attributes():
    err = OciError(412, "NoEtagMatch", "stale")
    assert (err.status, err.code, err.message) == (412, "NoEtagMatch", "stale")
    assert "412" in str(err)
