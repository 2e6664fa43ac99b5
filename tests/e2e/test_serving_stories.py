"""Serving signals end to end: the emulator over HTTP and the real function under fdk on a unix socket.

GPU and latency on gpu1 (VM.GPU.A10.1), requests on req1; and a request alarm the function itself created
fires from metric data through the emulator's Monitoring (MQL evaluation, not an admin shortcut).
"""

import time
from datetime import UTC, datetime

from demo.story import GPU1, REQ1, fired_by_low_alarm, fresh
from tests.conftest import DEMO, DEMO1, SEED


def send(stack, message):
    status, body = stack.invoke(message)
    deadline = time.monotonic() + 10
    while any(d["lifecycleState"] == "UPDATING" for d in stack.state()["modelDeployments"]):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert status == 200, body
    return body["outcomes"]


def capacity(stack, deployment_id):
    [md] = [d for d in stack.state()["modelDeployments"] if d["id"] == deployment_id]
    model = md["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]
    return model["scalingPolicy"]["instanceCount"], model["instanceConfiguration"]["instanceShapeName"]


def owned_queries(stack, title, deployment_id):
    name = f"{title}-{deployment_id}"
    return [a["query"] for a in stack.state()["alarms"] if a["displayName"] == name and a["lifecycleState"] == "ACTIVE"]


def test_a_gpu_bound_deployment_scales_on_gpu_and_latency_and_back(oci):
    [out] = send(oci, fresh("high_gpu.json"))
    assert out["status"] == "applied" and capacity(oci, GPU1) == (2, "VM.GPU.A10.1")
    assert owned_queries(oci, "model_deployment_low_gpu", GPU1)[0].endswith("< 27")
    [slow] = send(oci, fresh("high_latency.json"))
    assert slow["reason"].startswith("step out 2 -> 3: latency 1450 ms over the 1000 ms SLO")
    assert capacity(oci, GPU1) == (3, "VM.GPU.A10.1")
    assert owned_queries(oci, "model_deployment_low_gpu", GPU1)[0].endswith("< 36")  # rewritten for 3
    for expected in (2, 1):
        [down] = send(oci, fired_by_low_alarm(oci, "gpu", "5", GPU1))
        assert down["action"] == "scale_in" and capacity(oci, GPU1)[0] == expected
    assert owned_queries(oci, "model_deployment_low_gpu", GPU1) == []  # at the floor


def test_a_request_bound_deployment_follows_its_rate(oci):
    [out] = send(oci, fresh("high_requests.json"))
    assert out["status"] == "applied" and capacity(oci, REQ1)[0] == 4
    assert owned_queries(oci, "model_deployment_high_requests", REQ1)[0].endswith("sum() > 2400")
    [down] = send(oci, fired_by_low_alarm(oci, "requests", "900", REQ1))
    assert down["action"] == "scale_in" and capacity(oci, REQ1)[0] == 3
    assert owned_queries(oci, "model_deployment_high_requests", REQ1)[0].endswith("sum() > 1800")
    assert owned_queries(oci, "model_deployment_low_requests", REQ1)[0].endswith("sum() < 1080")


def test_the_request_alarm_the_function_created_fires_from_metric_data(oci):
    """demo1 turns the requests signal on; a CPU alarm makes the function create its request alarms; then 3000
    requests a minute are posted as Data Science would and the emulator's Monitoring evaluates the function's own
    MQL: its message goes through the function, which sizes the deployment from the rate."""
    oci.admin("POST", "/_emulator/reset", _with_tags(SEED, DEMO1, {"autoscale_signals": "cpu,requests"}))
    [cpu] = send(oci, fresh("high_cpu.json"))
    assert cpu["owned_alarms"] == {
        "model_deployment_high_requests": "exists (created here or by a concurrent call)",
        "model_deployment_low_requests": "exists (created here or by a concurrent call)",
    }
    assert capacity(oci, DEMO1)[0] == 2
    now = time.time()
    point = {"timestamp": datetime.fromtimestamp(now - 200, UTC).isoformat(), "value": 3000, "count": 1}
    metric = {
        "namespace": "oci_datascience_modeldeploy",
        "compartmentId": DEMO,
        "name": "PredictRequestCount",
        "dimensions": {"resourceId": DEMO1},
        "datapoints": [point],
    }
    oci.admin("POST", "/_emulator/metrics", {"metricData": [metric]})
    messages = oci.admin("POST", "/_emulator/evaluate", {"now": now})
    [fired] = [m for m in messages if m["title"] == "model_deployment_high_requests"]
    assert fired["type"] == "OK_TO_FIRING"
    [out] = send(oci, fired)
    assert out["status"] == "applied" and "requests 3000/min at 600/min per instance need 5" in out["reason"]
    assert capacity(oci, DEMO1)[0] == 4  # max_instances
    assert owned_queries(oci, "model_deployment_high_requests", DEMO1)[0].endswith("sum() > 2400")


def _with_tags(seed: dict, deployment_id: str, tags: dict) -> dict:
    import copy

    changed = copy.deepcopy(seed)
    for md in changed["modelDeployments"]:
        if md["id"] == deployment_id:
            md["freeformTags"] = {**md.get("freeformTags", {}), **tags}
    return changed
