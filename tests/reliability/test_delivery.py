"""At-least-once delivery and races, with the real SDK over HTTP to the emulator."""

import copy
import json
import random
import threading

import pytest

from autoscaler.messages import parse_message
from autoscaler.oci_gateway import OciGateway
from autoscaler.service import handle_message
from autoscaler.settings import load_settings
from emulator import Store, serve_in_thread
from tests.conftest import DEMO1, DEMO2, SEED, alarm_message, capacity, emulator_env

NOW = 1_763_900_030.0


@pytest.fixture(scope="module")
def emulator():
    store = Store()
    url, stop = serve_in_thread(store)
    yield url, store
    stop()


def settings_for(url, **extra):
    return load_settings(emulator_env(url, **extra))


FIRING_SINCE = 1_763_800_000_000  # the seed's high alarms are FIRING since 2025: events after it are genuine


def event(name, millis, value=None):
    millis += FIRING_SINCE
    body = alarm_message(name, timestampEpochMillis=millis, dedupeKey=f"{name}-{millis}")
    if value is not None:
        meta = body["alarmMetaData"][0]
        meta["metricValues"] = [{next(iter(meta["metricValues"][0])): value}]
    return json.dumps(body)


def test_each_event_is_acted_on_once_however_often_it_arrives(emulator):
    url, store = emulator
    store.load(copy.deepcopy(SEED))
    store.update_delay_seconds = 0
    settings = settings_for(
        url, AUTOSCALE_MAX_INSTANCES="10", AUTOSCALE_SCALE_UP_COOLDOWN_SECONDS="0", AUTOSCALE_CPU_TARGET="80"
    )
    gateway = OciGateway.from_settings(settings)
    events = [event("high_cpu_repeat.json", 1_000 + i, "81") for i in range(3)]  # each +1 at target 80: 1 -> 4
    events += [event("high_mem.json", 2_000 + i) for i in range(2)]  # two rungs: 1 -> 4 OCPUs
    demo2 = alarm_message("high_cpu.json", timestampEpochMillis=FIRING_SINCE + 3_000)
    demo2["alarmMetaData"][0].update(id="ocid1.alarm.oc1.iad.demo2highcpu", query=f'"{DEMO2}"')
    demo2["alarmMetaData"][0]["dimensions"][0]["resourceId"] = DEMO2
    demo2["alarmMetaData"][0]["metricValues"] = [{"CpuUtilization[1m].mean()": "81"}]  # +1: 2 -> 3
    events.append(json.dumps(demo2))
    deliveries = [body for body in events for _ in range(5)]
    random.Random(7).shuffle(deliveries)

    applied = 0
    for body in deliveries:
        outcomes = handle_message(parse_message(body), settings, gateway, NOW)
        assert all(o.status in ("applied", "noop") for o in outcomes), [o.reason for o in outcomes]
        applied += sum(o.status == "applied" for o in outcomes)
    assert len(deliveries) == 30
    assert applied == len(events) == 6
    assert capacity(store, DEMO1)[::2] == (4, 4) and capacity(store, DEMO2)[::2] == (3, 2)  # (count, OCPUs)


def test_twenty_concurrent_invocations_make_exactly_one_change(emulator):
    url, store = emulator
    store.load(copy.deepcopy(SEED))
    store.update_delay_seconds = 2.0  # the winner's update keeps the deployment UPDATING meanwhile
    settings = settings_for(url)
    bodies = [event("high_cpu_repeat.json", 5_000 + i, "95") for i in range(10)]
    bodies += [event("high_mem.json", 6_000 + i) for i in range(10)]
    gateways = [OciGateway.from_settings(settings) for _ in bodies]  # one per concurrent function instance
    start = threading.Barrier(len(bodies))
    outcomes = [None] * len(bodies)

    def invoke(index):
        start.wait()
        [outcomes[index]] = handle_message(parse_message(bodies[index]), settings, gateways[index], NOW)

    threads = [threading.Thread(target=invoke, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = [o.status for o in outcomes]
    assert statuses.count("applied") == 1, [(o.status, o.reason) for o in outcomes]
    for loser in (o for o in outcomes if o.status != "applied"):
        assert loser.status in ("conflict", "noop")
        assert any(word in loser.reason for word in ("concurrently", "UPDATING", "cooldown")), loser.reason
    store.update_delay_seconds = 0
    body, _ = store.get_model_deployment(DEMO1)
    assert len(body["freeformTags"]["autoscale_state_events"].split()) == 1
    assert capacity(store, DEMO1)[::2] in ((2, 1), (1, 2))  # one step: an instance or a rung, not both
    print(f"20 concurrent invocations: {dict((s, statuses.count(s)) for s in set(statuses))}")
