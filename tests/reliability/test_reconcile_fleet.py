"""A fleet under OCI's tenancy limits: the tick keeps to its alarm-operation rate, converges in bounded ticks, and
alarm invocations running beside it end without an error.

The real SDK over HTTP to the emulator (in a thread) with its documented limits on (10 alarm operations a second
for the whole tenancy) and 150 ms per call. 60 deployments start without their low alarms; the tick's budget is
shortened to 12 s, so the fleet needs several ticks at 3 operations a second: ceil(60 / (3 x 12)) + 1 = 3. Alarm
messages arrive once a second meanwhile, in threads of their own (separate containers in OCI). The benchmark with
100 to 5000 deployments is bench/fleet.py (make fleet-bench).
"""

from __future__ import annotations

import json
import math
import threading
import time

from autoscaler.messages import parse_message
from autoscaler.oci_gateway import OciGateway
from autoscaler.reconcile import reconcile
from autoscaler.service import handle_message
from autoscaler.settings import load_settings
from bench.fleet import compartment, fleet_seed, high_message
from emulator import Limits, Store, serve_in_thread
from emulator.limits import peak_rate
from emulator.rules import ALARM_OPERATIONS

SIZE, BUDGET, RATE = 60, 12, 3


def test_a_fleet_converges_within_its_bound_at_its_rate_beside_alarm_invocations():
    store, limits = Store(), Limits(latency=0.15)
    store.load(fleet_seed(SIZE))
    url, stop = serve_in_thread(store, limits=limits)
    env = {
        "AUTOSCALE_COMPARTMENT_ALLOWLIST": compartment(0),
        "AUTOSCALE_AUTH": "emulator",
        "AUTOSCALE_DATA_SCIENCE_ENDPOINT": url,
        "AUTOSCALE_MONITORING_ENDPOINT": url,
        "AUTOSCALE_RECONCILE_BUDGET_SECONDS": str(BUDGET),
        "AUTOSCALE_ALARM_OPS_PER_SECOND": str(RATE),
        "AUTOSCALE_RETRY_BUDGET_SECONDS": "20",
    }
    settings = load_settings(env)
    alarm_outcomes, done = [], threading.Event()

    def alarm_load():
        gateway = OciGateway.from_settings(settings, "alarm")  # its own clients, as another container's
        sent = 0
        while not done.is_set():
            message = parse_message(json.dumps(high_message(sent % 7 * 8)))
            alarm_outcomes.extend(handle_message(message, settings, gateway, time.time()))
            sent += 1
            done.wait(1.0)

    load = threading.Thread(target=alarm_load, daemon=True)
    try:
        load.start()
        gateway = OciGateway.from_settings(settings, "tick")
        ticks = []
        for _ in range(6):
            time.sleep(1.2)  # ticks come an interval apart; back to back, one tick's last second is the next's first
            since = len(limits.log)
            outcomes = reconcile(None, settings, gateway, time.time())
            statuses = {o.status for o in outcomes}
            ticks.append((statuses, limits.log[since:]))
            if statuses <= {"noop"}:
                break
        done.set()
        load.join()
    finally:
        stop()

    bound = math.ceil(SIZE / (RATE * BUDGET)) + 1
    assert len(ticks) <= bound + 1, [t[0] for t in ticks]  # the last one only confirms: it changes nothing
    assert ticks[-1][0] == {"noop"}
    assert all("error" not in statuses for statuses, _ in ticks), [t[0] for t in ticks]
    tick_calls = [c for _, calls in ticks for c in calls if c.client == "tick"]
    assert peak_rate(tick_calls) <= RATE, "the tick passed its own alarm-operation rate"
    assert sum(c.operation in ALARM_OPERATIONS for c in tick_calls) > SIZE  # it did the work: listings and creates
    assert alarm_outcomes and all(o.status != "error" for o in alarm_outcomes), alarm_outcomes
    low = [a for a in store.list_alarms(compartment(0)) if a["displayName"].startswith("model_deployment_low_cpu-")]
    assert len({a["displayName"] for a in low if a["lifecycleState"] == "ACTIVE"}) == SIZE
    assert sum(a["lifecycleState"] == "ACTIVE" for a in low) == SIZE  # one each: no duplicates
