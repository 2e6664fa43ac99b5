"""Full stories against real processes: the emulator over HTTP and the function under fdk on a unix socket."""

import json
import time

from demo.story import fired_by_low_alarm, fresh
from tests.conftest import DEMO1


def settle(stack):
    deadline = time.monotonic() + 10
    while any(d["lifecycleState"] == "UPDATING" for d in stack.state()["modelDeployments"]):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return stack.state()


def send(stack, message):
    status, body = stack.invoke(message)
    settle(stack)
    return status, body


def demo1(stack):
    [deployment] = [d for d in stack.state()["modelDeployments"] if d["id"] == DEMO1]
    model = deployment["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]
    ocpus = (model["instanceConfiguration"].get("modelDeploymentInstanceShapeConfigDetails") or {}).get("ocpus")
    return model["scalingPolicy"]["instanceCount"], ocpus


def low_alarms(stack, metric):
    name = f"model_deployment_low_{metric}-{DEMO1}"
    return [a for a in stack.state()["alarms"] if a["displayName"] == name and a["lifecycleState"] == "ACTIVE"]


def updates(stack):
    return [call for call in stack.admin("GET", "/_emulator/calls") if call["operation"] == "UpdateModelDeployment"]


def test_scale_out_then_in_to_the_floor(oci):
    status, body = send(oci, fresh("high_cpu.json"))
    assert status == 200 and body["outcomes"][0]["status"] == "applied"
    send(oci, fresh("high_cpu_repeat.json", "99"))
    assert demo1(oci) == (4, 1)  # 99 % is saturated: 2 x 4 = 8, capped at max 4
    assert len(low_alarms(oci, "cpu")) == 1
    for expected in (3, 2, 1):
        status, body = send(oci, fired_by_low_alarm(oci, "cpu", "5"))
        assert body["outcomes"][0]["action"] == "scale_in" and demo1(oci)[0] == expected
    assert low_alarms(oci, "cpu") == []  # removed at the floor


def test_shape_up_then_down(oci):
    send(oci, fresh("high_mem.json"))
    send(oci, fresh("high_mem.json"))
    assert demo1(oci) == (1, 4)
    send(oci, fired_by_low_alarm(oci, "mem", "10"))
    assert demo1(oci) == (1, 2) and len(low_alarms(oci, "mem")) == 1
    send(oci, fired_by_low_alarm(oci, "mem", "10"))
    assert demo1(oci) == (1, 1) and low_alarms(oci, "mem") == []


def test_redelivery_is_ignored_and_the_low_alarm_created_once(oci):
    message = fresh("high_cpu.json")
    for _ in range(5):
        status, body = send(oci, message)
        assert status == 200
    assert len(updates(oci)) == 1 and demo1(oci)[0] == 2
    assert len(low_alarms(oci, "cpu")) == 1
    log = [line for line in oci.function_log() if line.get("deployment_id") == DEMO1]
    assert [line["status"] for line in log[-5:]] == ["applied"] + ["noop"] * 4


def test_a_503_burst_is_survived_by_the_sdk_retry(oci):
    oci.admin("POST", "/_emulator/faults", {"operation": "UpdateModelDeployment", "status": 503, "count": 2})
    status, body = send(oci, fresh("high_cpu.json"))
    assert status == 200 and body["outcomes"][0]["status"] == "applied"
    assert demo1(oci)[0] == 2
    assert len(updates(oci)) == 3  # two 503s, then the retry that landed


def test_an_outage_longer_than_the_retry_budget_fails_for_redelivery(oci):
    oci.admin("POST", "/_emulator/faults", {"operation": "GetModelDeployment", "status": 503, "count": 50})
    status, body = send(oci, fresh("high_cpu.json"))
    assert status == 502
    assert demo1(oci)[0] == 1


def test_malformed_payload_is_rejected_and_nothing_changes(oci):
    before = json.dumps(oci.state(), sort_keys=True)
    calls = len(oci.admin("GET", "/_emulator/calls"))
    status, body = oci.invoke(b'{"title": "model_deployment_high_cpu"')
    assert status == 200 and body["status"] == "rejected" and "not JSON" in body["reason"]
    assert json.dumps(oci.state(), sort_keys=True) == before
    assert len(oci.admin("GET", "/_emulator/calls")) == calls
