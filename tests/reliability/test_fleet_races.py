"""Races between the tick and alarm invocations, and between ticks, judged by the final state and the reports.

Each client has its own SDK clients (a container of its own in OCI) and talks HTTP to one emulator with the
tenancy limits on and 5-40 ms per call, so calls interleave differently in every round. The rule judged:

- the final state is consistent with one decision: each deployment at one capacity, with exactly one owned low
  CPU alarm at that capacity's threshold (never a threshold computed before the last change, never none, never two);
- the reports equal the writes that landed: every "threshold now/confirmed" claim is one UpdateAlarm answered 200, every
  "deleted" one DeleteAlarm answered 204, and no line claims a create (a create with a shared retry token cannot
  tell whose it was: "exists (created here or by a concurrent call)").

The duplicate deliveries of one alarm to several function processes are tests/reliability/test_concurrent_processes.py;
a change whose alarm step failed and its redelivery, tests/reliability/test_outages.py.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from autoscaler.domain import Capacity, Shape
from autoscaler.messages import parse_message
from autoscaler.oci_gateway import OciGateway
from autoscaler.owned_alarms import AlarmTemplate, Wanted, alarm_details
from autoscaler.policy import low_threshold
from autoscaler.reconcile import reconcile
from autoscaler.service import handle_message
from autoscaler.settings import load_settings
from bench.fleet import ALARMS, compartment, deployment_id, fleet_seed, high_message
from emulator import Limits, Store, serve_in_thread
from emulator.sdk_fakes import FakeMonitoringClient

SIZE, ROUNDS = 8, 10
SHAPE = Shape(name="VM.Standard.E4.Flex", ocpus=1, memory_gbs=16)
TOPIC = "ocid1.onstopic.oc1.iad.demo"


def low_id(store: Store, index: int) -> str | None:
    name = f"model_deployment_low_cpu-{deployment_id(index)}"
    ids = [a["id"] for a in store.list_alarms(compartment(0), name, "ACTIVE")]
    return ids[0] if ids else None


def seeded(settings, instances: int, stale_for: int | None) -> Store:
    """The fleet at `instances`, each deployment with its owned low alarm at the threshold of `stale_for` instances
    (FIRING, so that its message is genuine), or without one (None)."""
    store = Store(update_delay_seconds=0.3)
    seed = fleet_seed(SIZE, instances=instances)
    store.load(seed)
    if stale_for is not None:
        template = AlarmTemplate(compartment(0), compartment(0), (TOPIC,))
        threshold = low_threshold(Capacity(stale_for, SHAPE), "cpu", settings.policy)
        for index in range(SIZE):
            details = alarm_details(template, Wanted("cpu", "down", threshold), deployment_id(index), settings)
            created = FakeMonitoringClient(store).create_alarm(_sdk_details(details))
            state = {"alarmId": created.data.id, "dimensions": {"resourceId": deployment_id(index)}}
            seed["alarmStates"].append({**state, "status": "FIRING", "timestamp": "2025-01-01T00:00:00Z"})
        store.load({**store.dump(), "alarmStates": seed["alarmStates"]})
    return store


def _sdk_details(details: dict):
    from oci.monitoring.models import CreateAlarmDetails

    return CreateAlarmDetails(**details)


def low_message(store: Store, index: int) -> dict:
    body = json.loads((ALARMS / "low_cpu.json").read_text())
    body["dedupeKey"] = f"low-{index}-{time.time_ns()}"
    body["timestampEpochMillis"] = int(time.time() * 1000)
    meta = body["alarmMetaData"][0]
    meta["id"] = low_id(store, index)
    meta["dimensions"] = [{"resourceId": deployment_id(index)}]
    meta["metricValues"] = [{next(iter(meta["metricValues"][0])): "10"}]
    return body


def environment(url: str) -> dict[str, str]:
    return {
        "AUTOSCALE_COMPARTMENT_ALLOWLIST": compartment(0),
        "AUTOSCALE_AUTH": "emulator",
        "AUTOSCALE_DATA_SCIENCE_ENDPOINT": url,
        "AUTOSCALE_MONITORING_ENDPOINT": url,
        "AUTOSCALE_SCALE_UP_COOLDOWN_SECONDS": "0",
        "AUTOSCALE_SCALE_DOWN_COOLDOWN_SECONDS": "0",
        "AUTOSCALE_UPDATE_SECONDS": "0",
        "AUTOSCALE_PREDICT": "false",
        "AUTOSCALE_RETRY_BUDGET_SECONDS": "20",
    }


def run_together(jobs) -> list:
    """Start every job at once, each in its own thread; their results, flattened."""
    results, start = [], threading.Barrier(len(jobs))

    def run(job):
        start.wait()
        results.extend(job())

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def settle(store: Store) -> None:
    deadline = time.monotonic() + 10
    while any(md["lifecycleState"] != "ACTIVE" for md in store.list_model_deployments(compartment(0))):
        assert time.monotonic() < deadline, "deployments still UPDATING"
        time.sleep(0.05)


def judge(store: Store, settings, limits: Limits, lines: list[dict]) -> list[int]:
    """Assert the rule for every deployment; returns the final instance counts."""
    counts = []
    for index in range(SIZE):
        md = store.get_model_deployment(deployment_id(index))[0]
        count = md["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]["scalingPolicy"]
        count = count["instanceCount"]
        name = f"model_deployment_low_cpu-{deployment_id(index)}"
        low = store.list_alarms(compartment(0), name, "ACTIVE")
        wanted = low_threshold(Capacity(count, SHAPE), "cpu", settings.policy)
        assert len(low) == 1, (index, count, [a["query"] for a in low])
        assert low[0]["query"].endswith(f"< {wanted:g}"), (index, count, low[0]["query"])
        counts.append(count)
    states = [state for line in lines for state in _alarm_states(line)]
    claimed_updates = sum(", threshold " in state for state in states)
    claimed_deletes = sum(state == "deleted" for state in states)
    claimed_deletes += sum(int(s.split("removed ")[1].split()[0]) for s in states if "removed " in s)
    updated = sum(c.operation == "UpdateAlarm" and c.status == 200 for c in limits.log)
    deleted = sum(c.operation == "DeleteAlarm" and c.status == 204 for c in limits.log)
    assert (claimed_updates, claimed_deletes) == (updated, deleted), states
    assert not any(state.startswith("created") for state in states)
    return counts


def _alarm_states(line: dict) -> list[str]:
    states = [line.get("low_alarm") or ""]
    states += list((line.get("owned_alarms") or {}).values()) + list((line.get("alarms") or {}).values())
    return [state for state in states if state]


@pytest.fixture
def emulator():
    holder = {}

    def start(store: Store):
        limits = Limits(latency=[0.005, 0.04])
        url, stop = serve_in_thread(store, limits=limits)
        holder["stop"] = stop
        return url, limits

    yield start
    if "stop" in holder:
        holder["stop"]()


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_a_tick_a_high_and_a_low_alarm_together_leave_one_decision_and_its_threshold(emulator, round_):
    settings = load_settings(environment("http://127.0.0.1:9"))
    store = seeded(settings, instances=3, stale_for=2)  # the tick wants to repair every low alarm
    url, limits = emulator(store)
    settings = load_settings(environment(url))
    highs = [parse_message(json.dumps(high_message(i))) for i in range(SIZE)]
    lows = [parse_message(json.dumps(low_message(store, i))) for i in range(SIZE)]

    def tick():
        return [o.as_dict() for o in reconcile(None, settings, OciGateway.from_settings(settings, "tick"), time.time())]

    def alarm(message):
        return lambda: [o.as_dict() for o in handle_message(message, settings, _alarm_gateway(settings), time.time())]

    lines = run_together([tick, *(alarm(m) for m in highs), *(alarm(m) for m in lows)])
    settle(store)
    assert not [line for line in lines if line["status"] == "error"], lines
    counts = judge(store, settings, limits, lines)
    assert set(counts) <= {2, 3, 4}


def test_concurrent_ticks_over_a_cold_fleet_create_one_low_alarm_each_and_claim_no_write_twice(emulator):
    settings = load_settings(environment("http://127.0.0.1:9"))
    store = seeded(settings, instances=2, stale_for=None)
    url, limits = emulator(store)
    settings = load_settings(environment(url))

    def tick():
        return [o.as_dict() for o in reconcile(None, settings, OciGateway.from_settings(settings, "tick"), time.time())]

    lines = run_together([tick, tick, tick])
    assert not [line for line in lines if line["status"] == "error"], lines
    judge(store, settings, limits, lines)
    assert not [line for line in lines if line["status"] == "repaired"], "a create is not a repair OCI can attribute"


def test_concurrent_ticks_over_stale_thresholds_claim_each_update_once(emulator):
    settings = load_settings(environment("http://127.0.0.1:9"))
    store = seeded(settings, instances=3, stale_for=2)
    url, limits = emulator(store)
    settings = load_settings(environment(url))

    def tick():
        return [o.as_dict() for o in reconcile(None, settings, OciGateway.from_settings(settings, "tick"), time.time())]

    lines = run_together([tick, tick, tick])
    judge(store, settings, limits, lines)
    repaired = [line["deployment_id"] for line in lines if line["status"] == "repaired"]
    assert sorted(repaired) == sorted(deployment_id(i) for i in range(SIZE))  # each by exactly one tick


def _alarm_gateway(settings) -> OciGateway:
    return OciGateway.from_settings(settings, "alarm")
