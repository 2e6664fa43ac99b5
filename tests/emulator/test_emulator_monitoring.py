"""Monitoring (alarms) API of the emulator, driven by the real oci SDK."""

import oci
import pytest
from emu_helpers import DEMO, DEMO1, DEMO1_CPU, DEMO_ALARMS, OTHER
from oci.monitoring import models as M

TOPIC = "ocid1.onstopic.oc1.iad.demo"


def low_alarm(**overrides):
    fields = {
        "display_name": "md-autoscale-low-cpu-demo1",
        "compartment_id": DEMO,
        "metric_compartment_id": DEMO,
        "namespace": "oci_datascience_modeldeploy",
        "query": f'CpuUtilization[1m]{{resourceId = "{DEMO1}"}}.mean() < 20',
        "severity": "WARNING",
        "destinations": [TOPIC],
        "is_enabled": True,
        "pending_duration": "PT5M",
        "notification_title": "model_deployment_low_cpu",
        "freeform_tags": {"autoscale_owner": "oci-md-autoscaler", "autoscale_deployment": DEMO1},
    }
    fields.update(overrides)
    return M.CreateAlarmDetails(**fields)


def service_error(call):
    with pytest.raises(oci.exceptions.ServiceError) as err:
        call()
    return err.value


def test_get_seeded_alarm(mon, emu):
    response = mon.get_alarm(DEMO1_CPU)
    alarm = response.data
    assert response.headers["etag"] == emu.store.get_alarm(DEMO1_CPU)[1]
    assert alarm.query == f'CpuUtilization[1m]{{resourceId = "{DEMO1}"}}.groupBy(resourceId).mean() > 80'
    assert (alarm.notification_title, alarm.severity, alarm.lifecycle_state) == (
        "model_deployment_high_cpu",
        "CRITICAL",
        "ACTIVE",
    )
    assert alarm.freeform_tags == {"autoscale_owner": "oci-md-autoscaler", "autoscale_deployment": DEMO1}
    assert (alarm.pending_duration, alarm.repeat_notification_duration) == ("PT1M", "PT5M")


def test_list_alarms_filters_exactly(mon):
    names = sorted(a.display_name for a in mon.list_alarms(DEMO).data)
    assert len(names) == DEMO_ALARMS and "md-autoscale-high-mem-demo2" in names
    assert all(isinstance(a, M.AlarmSummary) for a in mon.list_alarms(DEMO).data)
    assert [a.id for a in mon.list_alarms(DEMO, display_name="md-autoscale-high-cpu-demo1").data] == [DEMO1_CPU]
    assert mon.list_alarms(DEMO, display_name="md-autoscale-high-cpu").data == []  # exact, not prefix
    assert len(mon.list_alarms(DEMO, lifecycle_state="ACTIVE").data) == DEMO_ALARMS
    assert [a.id for a in mon.list_alarms(OTHER).data] == ["ocid1.alarm.oc1.iad.otherhighcpu"]


def test_create_get_list_alarm(mon):
    response = mon.create_alarm(low_alarm())
    alarm = response.data
    assert response.status == 200 and response.headers["etag"]
    assert alarm.id.startswith("ocid1.alarm.oc1..") and alarm.lifecycle_state == "ACTIVE"
    assert alarm.time_created is not None and alarm.message_format == "RAW"
    fetched = mon.get_alarm(alarm.id)
    assert fetched.data.query == alarm.query and fetched.headers["etag"] == response.headers["etag"]
    assert alarm.id in [a.id for a in mon.list_alarms(DEMO, display_name="md-autoscale-low-cpu-demo1").data]


@pytest.mark.parametrize(
    "details,snippet",
    [
        ({"destinations": []}, "destinations is required"),
        ({"severity": "LOUD"}, "severity"),
        ({"query": None}, "query is required"),
        ({"is_enabled": None}, "isEnabled is required"),
    ],
)
def test_create_alarm_validation(mon, details, snippet):
    err = service_error(lambda: mon.create_alarm(low_alarm(**details)))
    assert (err.status, err.code) == (400, "InvalidParameter") and snippet in err.message
    assert len(mon.list_alarms(DEMO).data) == DEMO_ALARMS


def test_create_alarm_rejects_unknown_fields(mon):
    body = {**mon.base_client.sanitize_for_serialization(low_alarm()), "tags": {}}
    err = service_error(lambda: mon.create_alarm(body))
    assert err.status == 400 and "tags" in err.message


def test_retry_token_makes_create_idempotent(mon, emu):
    first = mon.create_alarm(low_alarm(), opc_retry_token="token-1").data
    again = mon.create_alarm(low_alarm(), opc_retry_token="token-1").data
    other = mon.create_alarm(low_alarm(), opc_retry_token="token-2").data
    assert first.id == again.id != other.id
    assert len(mon.list_alarms(DEMO, display_name="md-autoscale-low-cpu-demo1").data) == 2


def test_update_alarm_with_etag(mon):
    etag = mon.get_alarm(DEMO1_CPU).headers["etag"]
    response = mon.update_alarm(
        DEMO1_CPU, M.UpdateAlarmDetails(is_enabled=False, freeform_tags={"only": "this"}), if_match=etag
    )
    assert response.status == 200 and response.headers["etag"] != etag
    assert (response.data.is_enabled, response.data.freeform_tags) == (False, {"only": "this"})
    assert response.data.query.endswith("> 80")  # untouched
    err = service_error(lambda: mon.update_alarm(DEMO1_CPU, M.UpdateAlarmDetails(is_enabled=True), if_match=etag))
    assert (err.status, err.code) == (412, "NoEtagMatch")
    err = service_error(lambda: mon.update_alarm(DEMO1_CPU, M.UpdateAlarmDetails(severity="LOUD")))
    assert err.status == 400


def test_delete_alarm(mon):
    alarm_id = mon.create_alarm(low_alarm()).data.id
    err = service_error(lambda: mon.delete_alarm(alarm_id, if_match="stale"))
    assert (err.status, err.code) == (412, "NoEtagMatch")
    response = mon.delete_alarm(alarm_id)
    assert response.status == 204 and response.data is None
    assert mon.get_alarm(alarm_id).data.lifecycle_state == "DELETED"
    assert alarm_id not in [a.id for a in mon.list_alarms(DEMO).data]
    assert [a.id for a in mon.list_alarms(DEMO, lifecycle_state="DELETED").data] == [alarm_id]
    assert service_error(lambda: mon.delete_alarm(alarm_id)).status == 409
    assert service_error(lambda: mon.update_alarm(alarm_id, M.UpdateAlarmDetails(is_enabled=False))).status == 409
    assert service_error(lambda: mon.get_alarm("ocid1.alarm.oc1..missing")).code == "NotAuthorizedOrNotFound"


def test_list_alarms_paging(mon, emu):
    for i in range(7):
        details = low_alarm(display_name=f"page-{i}", compartment_id=OTHER)
        emu.store.create_alarm(mon.base_client.sanitize_for_serialization(details))
    first = mon.list_alarms(OTHER, limit=3)
    assert len(first.data) == 3 and first.next_page == "3"
    emu.store.calls.clear()
    everything = oci.pagination.list_call_get_all_results(mon.list_alarms, OTHER, limit=3)
    assert len(everything.data) == 8 and len({a.id for a in everything.data}) == 8
    assert emu.store.calls == [("ListAlarms", "")] * 3
    err = service_error(lambda: mon.list_alarms(OTHER, page="not-a-token"))
    assert (err.status, err.code) == (400, "InvalidParameter")
