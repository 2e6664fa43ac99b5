"""A reconcile tick through the real fdk entry point: the body the Resource Scheduler sends, the function under fdk
on a unix socket, the emulator over HTTP (demo/stack.py)."""

import time

import pytest

from demo.stack import Stack
from demo.story import DEMO2, RECONCILE, drift, tick_with_history
from tests.conftest import SEED
from tests.e2e.conftest import E2E_EMULATOR


@pytest.fixture(scope="module")
def stack():
    with Stack(update_delay=0.2, emulator_args=E2E_EMULATOR) as running:
        yield running


def settle(stack):
    deadline = time.monotonic() + 10
    while any(d["lifecycleState"] == "UPDATING" for d in stack.state()["modelDeployments"]):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def count(stack, deployment_id=DEMO2) -> int:
    [md] = [d for d in stack.state()["modelDeployments"] if d["id"] == deployment_id]
    return md["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]["scalingPolicy"]["instanceCount"]


def test_a_tick_raises_ahead_of_a_foreseen_rise_and_repairs_drift(stack):
    stack.admin("POST", "/_emulator/reset", SEED)
    status, body = stack.invoke(tick_with_history(stack))
    assert status == 200 and body["status"] == "summary" and body["counts"]["applied"] == 1
    [raised] = [o for o in body["outcomes"] if o["deployment_id"] == DEMO2]
    assert raised["status"] == "applied" and raised["title"] == "reconcile" and raised["type"] == "TICK"
    assert raised["after"].startswith("3 x") and "daily pattern" in raised["forecast"]
    settle(stack)
    assert count(stack) == 3

    status, body = stack.invoke(drift(stack))  # demo2's low-memory alarm deleted by hand, then the next tick
    [repaired] = [o for o in body["outcomes"] if o["deployment_id"] == DEMO2]
    assert repaired["status"] == "ensured" and repaired["alarms"] == {
        "model_deployment_low_mem": "exists (created here or by a concurrent call)"
    }

    logged = [line for line in stack.function_log() if line.get("title") == "reconcile"]
    assert {line["status"] for line in logged} >= {"applied", "ensured", "summary"}
    assert all(line.get("call_id") for line in logged)


def test_a_malformed_tick_is_rejected_without_an_oci_call(stack):
    stack.admin("POST", "/_emulator/reset", SEED)
    calls = len(stack.admin("GET", "/_emulator/calls"))
    status, body = stack.invoke({**RECONCILE, "deployment": "ocid1.datasciencemodeldeployment.oc1.iad.demo1"})
    assert status == 200 and body["status"] == "rejected"  # fdk answers 200 unless Fn-Intent: httprequest
    assert "deployment: Extra inputs are not permitted" in body["reason"]
    assert len(stack.admin("GET", "/_emulator/calls")) == calls
