"""Concurrent invocations in separate function processes (OCI runs them in separate containers).

Four real `fdk func.py handler` processes share one emulator. The emulator's "barrier" fault holds every
ListAlarms response until all four invocations have listed, so the list-then-create race that used to
leave several owned low alarms (1 run in 20 by chance) happens every time.
"""

from __future__ import annotations

import copy
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from autoscaler.messages import parse_message
from demo.stack import Stack
from demo.story import fresh
from tests.conftest import DEMO1, SEED

PROCESSES = 4


@pytest.fixture(scope="module")
def stack():
    config = {"AUTOSCALE_SCALE_UP_COOLDOWN_SECONDS": "600", "AUTOSCALE_SCALE_DOWN_COOLDOWN_SECONDS": "600"}
    with Stack(update_delay=0.5, functions=PROCESSES, **config) as running:
        yield running


@pytest.fixture
def oci(stack):
    stack.admin("POST", "/_emulator/reset", copy.deepcopy(SEED))
    stack.admin("DELETE", "/_emulator/faults")
    return stack


def invoke_all(stack, bodies: list[dict]) -> list[dict]:
    """Each body to a function process (round robin), all at once; the outcomes in body order."""
    with ThreadPoolExecutor(len(bodies)) as pool:
        results = list(pool.map(lambda item: stack.invoke(item[1], item[0] % PROCESSES), enumerate(bodies)))
    outcomes = []
    for status, body in results:
        assert status == 200, body
        [outcome] = body["outcomes"]
        outcomes.append(outcome)
    return outcomes


def owned_low_cpu(stack) -> list[dict]:
    name = f"model_deployment_low_cpu-{DEMO1}"
    return [
        a
        for a in stack.state()["alarms"]
        if a["displayName"] == name and a["lifecycleState"] == "ACTIVE" and a["freeformTags"].get("autoscale_owner")
    ]


def test_copies_of_one_event_change_once_report_applied_once_and_leave_one_low_alarm(oci):
    message = fresh("high_cpu.json", "92.3")
    # Every copy reads the deployment before any update lands: all four decide to scale, one update wins,
    # three get 412 and re-read a deployment that carries their own event key, written by another process.
    barrier = {"operation": "GetModelDeployment", "barrier": PROCESSES, "count": PROCESSES}
    oci.admin("POST", "/_emulator/faults", barrier)
    outcomes = invoke_all(oci, [message] * PROCESSES)
    statuses = sorted(o["status"] for o in outcomes)
    assert statuses.count("applied") == 1, outcomes
    for loser in (o for o in outcomes if o["status"] != "applied"):
        assert loser["status"] == "noop" and "applied by a concurrent invocation" in loser["reason"], loser
    assert len(owned_low_cpu(oci)) == 1


def half_done(deployment_id: str, events: list[str], **tags: str) -> dict:
    """The seed with DEMO1 at 2 instances after a scale-out whose low-alarm step was lost: state tags, no low alarm."""
    seed = copy.deepcopy(SEED)
    [deployment] = [d for d in seed["modelDeployments"] if d["id"] == deployment_id]
    model = deployment["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]
    model["scalingPolicy"]["instanceCount"] = 2
    target = f"2 x {model['instanceConfiguration']['instanceShapeName']}:1:16"
    deployment["freeformTags"] = {
        "autoscale_state_last_up": f"{time.time():.3f}",
        "autoscale_state_target": target,
        "autoscale_state_events": " ".join(events),
        **tags,
    }
    return seed


def test_redeliveries_of_a_half_done_event_create_one_low_alarm(oci):
    # An earlier scale-out landed but its low-alarm step was lost; Notifications redelivers that event to four
    # function processes at once, every ListAlarms held until all four listed: one low alarm, at 2 instances.
    message = fresh("high_cpu.json", "92.3")
    oci.admin("POST", "/_emulator/reset", half_done(DEMO1, [parse_message(json.dumps(message)).event_key]))
    assert owned_low_cpu(oci) == []
    oci.admin("POST", "/_emulator/faults", {"operation": "ListAlarms", "barrier": PROCESSES, "count": PROCESSES})
    outcomes = invoke_all(oci, [message] * PROCESSES)
    assert all(o["status"] == "noop" and "already handled" in o["reason"] for o in outcomes), outcomes
    [low] = owned_low_cpu(oci)
    assert ".groupBy(resourceId).mean() < 31" in low["query"]  # floor(70 x 1/2 x 0.9): the capacity of 2
    # No invocation claims the create as its own: a shared retry token cannot tell who made it.
    assert {o["low_alarm"] for o in outcomes} == {"exists (created here or by a concurrent call)"}


def test_a_repeat_in_cooldown_costs_three_calls_and_writes_nothing(oci):
    oci.admin("POST", "/_emulator/reset", half_done(DEMO1, []))
    before = len(oci.admin("GET", "/_emulator/calls"))
    [outcome] = invoke_all(oci, [fresh("high_cpu_repeat.json", "85")])
    assert outcome["status"] == "noop" and "cooldown" in outcome["reason"] and outcome["low_alarm"] == "unchanged"
    calls = [c["operation"] for c in oci.admin("GET", "/_emulator/calls")[before:]]
    assert calls == ["GetAlarm", "RetrieveDimensionStates", "GetModelDeployment"]


def test_redeliveries_converge_one_of_each_request_alarm(oci):
    """A deployment that scales on requests: four redeliveries of its half-done scale-out converge its low CPU alarm
    and both request alarms at once, every ListAlarms held until all four listed (three lists each), so every
    create races: one of each stays."""
    message = fresh("high_cpu.json", "92.3")
    seed = half_done(DEMO1, [parse_message(json.dumps(message)).event_key], autoscale_signals="cpu,requests")
    oci.admin("POST", "/_emulator/reset", seed)
    oci.admin("POST", "/_emulator/faults", {"operation": "ListAlarms", "barrier": PROCESSES, "count": 3 * PROCESSES})
    outcomes = invoke_all(oci, [message] * PROCESSES)
    assert all(o["status"] == "noop" and "already handled" in o["reason"] for o in outcomes), outcomes
    for title, tail in (
        ("model_deployment_low_cpu", "mean() < 31"),  # floor(70 x 1/2 x 0.9)
        ("model_deployment_high_requests", "sum() > 1200"),
        ("model_deployment_low_requests", "sum() < 540"),
    ):
        name = f"{title}-{DEMO1}"
        alarms = [a for a in oci.state()["alarms"] if a["displayName"] == name and a["lifecycleState"] == "ACTIVE"]
        assert len(alarms) == 1 and alarms[0]["query"].endswith(tail), (title, alarms)
    print(json.dumps([o["owned_alarms"] for o in outcomes]))
