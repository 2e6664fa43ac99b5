"""A fleet of 200 deployments reconciles within the function timeout, with every OCI call slowed to 100-300 ms.

The real SDK over HTTP to the emulator (in a thread), latency injected on every operation. The first tick has
the most to do: every deployment starts above its floor without its low alarm (ListAlarms, GetAlarm,
CreateAlarm, ListAlarms each). Run as a script to print the figures for other sizes and latencies:

    python -m tests.reliability.test_reconcile_fleet --deployments 200 --latency 0.1 0.3
"""

from __future__ import annotations

import argparse
import copy
import time

from autoscaler.oci_gateway import OciGateway
from autoscaler.reconcile import reconcile
from autoscaler.settings import load_settings
from emulator import Faults, Store, serve_in_thread
from tests.conftest import DEMO, SEED, emulator_env

TIMEOUT_SECONDS = 90  # the module's default function_timeout_in_seconds


def fleet_seed(size: int) -> dict:
    """`size` copies of demo1 at 2 instances, each with its Terraform high-CPU alarm and no low alarm."""
    [template] = [md for md in SEED["modelDeployments"] if md["id"].endswith(".demo1")]
    [high] = [a for a in SEED["alarms"] if a["id"] == "ocid1.alarm.oc1.iad.demo1highcpu"]
    deployments, alarms = [], []
    for index in range(size):
        md_id = f"ocid1.datasciencemodeldeployment.oc1.iad.fleet{index:04d}"
        md = copy.deepcopy(template)
        md["id"], md["displayName"] = md_id, f"md-fleet{index:04d}"
        md["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]["scalingPolicy"]["instanceCount"] = 2
        deployments.append(md)
        alarm = copy.deepcopy(high)
        alarm["id"] = f"ocid1.alarm.oc1.iad.fleet{index:04d}highcpu"
        alarm["displayName"] = f"md-fleet{index:04d}-high-cpu"
        alarm["query"] = alarm["query"].replace(template["id"], md_id)
        alarm["freeformTags"] = {**alarm["freeformTags"], "autoscale_deployment": md_id}
        alarms.append(alarm)
    return {"modelDeployments": deployments, "alarms": alarms}


def measure(size: int, latency: tuple[float, float]) -> dict:
    store, faults = Store(), Faults()
    url, stop = serve_in_thread(store, faults=faults)
    try:
        store.load(fleet_seed(size))
        settings = load_settings(emulator_env(url))
        gateway = OciGateway.from_settings(settings)
        faults.add({"operation": "*", "latency": list(latency), "count": 1_000_000})
        figures = {}
        for name in ("first tick", "steady tick"):
            calls = len(store.calls)
            started = time.monotonic()
            outcomes = reconcile(None, settings, gateway, time.time())
            figures[name] = {
                "seconds": round(time.monotonic() - started, 1),
                "calls": len(store.calls) - calls,
                "statuses": {s: sum(o.status == s for o in outcomes) for s in {o.status for o in outcomes}},
            }
        low = [a for a in store.list_alarms(DEMO) if a["displayName"].startswith("model_deployment_low_cpu-")]
        figures["low alarms"] = sum(a["lifecycleState"] == "ACTIVE" for a in low)
        return figures
    finally:
        stop()


def test_200_deployments_reconcile_within_the_function_timeout():
    figures = measure(200, (0.1, 0.3))
    first, steady = figures["first tick"], figures["steady tick"]
    print(f"200 deployments, 100-300 ms a call: {figures}")
    assert first["statuses"] == {"repaired": 200}, first  # nothing deferred: the whole fleet in one tick
    assert first["seconds"] < TIMEOUT_SECONDS
    assert figures["low alarms"] == 200
    assert steady["statuses"] == {"noop": 200} and steady["calls"] <= 6  # listings and one history read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=200)
    parser.add_argument("--latency", type=float, nargs=2, default=(0.1, 0.3), metavar=("LOW", "HIGH"))
    args = parser.parse_args()
    print(measure(args.deployments, tuple(args.latency)))


if __name__ == "__main__":
    main()
