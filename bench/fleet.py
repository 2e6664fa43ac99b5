"""The fleet benchmark: N managed deployments in one tenancy, under OCI's documented API limits (issue 20).

    make fleet-bench                                   # the committed results: bench/FLEET.md
    python -m bench.fleet --sizes 100 --layouts 1      # a quick look

For each size N and layout (every deployment in one compartment, or spread over 10), with the emulator's
tenancy limits on (10 alarm operations a second shared, SummarizeMetricsData 10 a second) and 150 ms per call:

- cold: ticks from nothing (every low alarm missing) until one changes nothing: how many ticks that took
  against the bound ceil(writes / (rate x budget)) + 1, and the first tick's figures;
- steady: the tick after that;
- drift: 10 % of the deployments resized by hand (their low alarm's threshold is then stale), ticks until
  converged again;
- all the while a steady load of alarm messages, 1 a second across the fleet, through a second function process
  (OCI runs invocations in separate containers): a high-CPU alarm of one of 60 hot deployments, in turn.

Reported per tick: wall time, outcomes, calls by operation, the peak of the tick's alarm operations in any
1-second window (the emulator logs every call with the caller's User-Agent: oci-md-autoscaler/tick or /alarm),
429s by operation, and the tick function's peak RSS (VmHWM of its fdk process); for the alarm path: latency
percentiles and outcomes. N <= 1000 runs in real time. N = 5000's cold convergence would take about half an hour
of ticks back to back at 3 operations a second, so it runs in-process on a virtual clock shared by the emulator's
limits and the tick's governor (one worker, so the governor's waits are the only passing of time; no call latency,
no alarm load); its steady and drift ticks then run in real time like the others.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from bench.sim import VirtualClock
from demo.stack import Stack
from emulator.limits import peak_rate
from emulator.rules import ALARM_OPERATIONS

ROOT = Path(__file__).resolve().parents[1]
SEED = json.loads((ROOT / "emulator" / "seed.json").read_text())
ALARMS = ROOT / "alarms"
LATENCY = 0.15
BUDGET_SECONDS = 60
HOT = 60  # deployments the alarm load fires on
TICK = {"type": "RECONCILE", "version": 1}
MAX_TICKS = 60


def compartment(index: int) -> str:
    return f"ocid1.compartment.oc1..fleet{index:02d}"


def deployment_id(index: int) -> str:
    return f"ocid1.datasciencemodeldeployment.oc1.iad.fleet{index:05d}"


def fleet_seed(size: int, compartments: int = 1, instances: int = 2) -> dict:
    """`size` copies of the demo's demo1 at `instances` instances, each with a Terraform high-CPU alarm (FIRING)
    in its own compartment and no low alarm, spread round-robin over `compartments` compartments."""
    [template] = [md for md in SEED["modelDeployments"] if md["id"].endswith(".demo1")]
    [high] = [a for a in SEED["alarms"] if a["id"] == "ocid1.alarm.oc1.iad.demo1highcpu"]
    seed = {"modelDeployments": [], "alarms": [], "alarmStates": []}
    for index in range(size):
        md_id, home = deployment_id(index), compartment(index % compartments)
        md = copy.deepcopy(template)
        md["id"], md["displayName"], md["compartmentId"] = md_id, f"md-fleet{index:05d}", home
        md["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]["scalingPolicy"]["instanceCount"] = (
            instances
        )
        alarm = copy.deepcopy(high)
        alarm["id"] = f"ocid1.alarm.oc1.iad.fleet{index:05d}highcpu"
        alarm["displayName"] = f"md-fleet{index:05d}-high-cpu"
        alarm["compartmentId"] = alarm["metricCompartmentId"] = home
        alarm["query"] = alarm["query"].replace(template["id"], md_id)
        alarm["freeformTags"] = {**alarm["freeformTags"], "autoscale_deployment": md_id}
        seed["modelDeployments"].append(md)
        seed["alarms"].append(alarm)
        state = {"alarmId": alarm["id"], "dimensions": {"resourceId": md_id}, "status": "FIRING"}
        seed["alarmStates"].append({**state, "timestamp": "2025-01-01T00:00:00Z"})
    return seed


def high_message(index: int) -> dict:
    """A fresh high-CPU alarm message for fleet deployment `index`, as Notifications delivers it."""
    body = json.loads((ALARMS / "high_cpu.json").read_text())
    body["dedupeKey"] = f"fleet-{index}-{time.time_ns()}"
    body["timestampEpochMillis"] = int(time.time() * 1000)
    meta = body["alarmMetaData"][0]
    meta["id"] = f"ocid1.alarm.oc1.iad.fleet{index:05d}highcpu"
    meta["dimensions"] = [{"resourceId": deployment_id(index)}]
    meta["metricValues"] = [{next(iter(meta["metricValues"][0])): "92.3"}]
    return body


def drift(state: dict, share: float = 0.1) -> dict:
    """The emulator's state with every 1/share-th deployment resized by hand (2 -> 3 instances): a stale low alarm."""
    seed = {key: state[key] for key in ("modelDeployments", "alarms", "alarmStates") if key in state}
    step = round(1 / share)
    for md in seed["modelDeployments"][::step]:
        policy = md["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]["scalingPolicy"]
        policy["instanceCount"] += 1
    return seed


class AlarmLoad:
    """One alarm message a second to the alarm function process, round-robin over the hot deployments."""

    def __init__(self, stack: Stack, hot: list[int], rate: float = 1.0):
        self.stack, self.hot, self.rate = stack, hot, rate
        self.results: list[tuple[float, int, str]] = []  # (seconds, HTTP status, outcome status)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> AlarmLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        sent = 0
        started = time.monotonic()
        while not self._stop.is_set():
            index = self.hot[sent % len(self.hot)]
            begun = time.monotonic()
            status, body = self.stack.invoke(high_message(index), function=1, timeout=120)
            outcome = body["outcomes"][0]["status"] if status == 200 and isinstance(body, dict) else "failed"
            self.results.append((time.monotonic() - begun, status, outcome))
            sent += 1
            self._stop.wait(max(0.0, started + sent / self.rate - time.monotonic()))

    def summary(self) -> dict:
        if not self.results:
            return {"messages": 0}
        seconds = sorted(r[0] for r in self.results)
        return {
            "messages": len(seconds),
            "p50_ms": round(statistics.median(seconds) * 1000),
            "p95_ms": round(seconds[min(len(seconds) - 1, int(0.95 * len(seconds)))] * 1000),
            "max_ms": round(seconds[-1] * 1000),
            "outcomes": dict(Counter(r[2] for r in self.results)),
        }


def vm_hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def tick_figures(calls: list[dict], counts: dict, seconds: float, rate: float) -> dict:
    tick = [c for c in calls if c.get("client") == "tick"]
    alarm_path = [c for c in calls if c.get("client") == "alarm"]
    return {
        "seconds": round(seconds, 1),
        "outcomes": counts,
        "calls": dict(Counter(c["operation"] for c in tick)),
        "alarm_ops": sum(c["operation"] in ALARM_OPERATIONS for c in tick),
        "peak_alarm_ops_1s": peak_rate(tick),
        "peak_alarm_ops_1s_all_callers": peak_rate(calls),
        "rate": rate,
        "throttled_tick": dict(Counter(c["operation"] for c in tick if c["status"] == 429)),
        "throttled_alarm_path": dict(Counter(c["operation"] for c in alarm_path if c["status"] == 429)),
        "writes": sum(c["operation"] in ("CreateAlarm", "UpdateAlarm", "DeleteAlarm") for c in tick),
    }


def run_ticks(stack: Stack, rate: float, until_quiet: bool, limit: int = MAX_TICKS) -> list[dict]:
    """Ticks back to back until one changes nothing (or one tick when not until_quiet)."""
    ticks = []
    for _ in range(limit):
        time.sleep(1.2)  # ticks come an interval apart; back to back, one tick's last second is the next's first
        since = len(stack.admin("GET", "/_emulator/limits?detail=1", timeout=60)["calls"])
        begun = time.monotonic()
        status, body = stack.invoke(TICK, function=0, timeout=BUDGET_SECONDS * 3)
        seconds = time.monotonic() - begun
        if status != 200:
            raise RuntimeError(f"tick failed: {status} {str(body)[:500]}")
        calls = stack.admin("GET", f"/_emulator/limits?detail=1&since={since}", timeout=60)["calls"]
        figures = tick_figures(calls, body["counts"], seconds, rate)
        figures["errors"] = [o["reason"] for o in body["outcomes"] if o["status"] == "error"][:5]
        ticks.append(figures)
        print(json.dumps({k: figures[k] for k in ("seconds", "outcomes", "alarm_ops", "peak_alarm_ops_1s")}))
        if not until_quiet or set(body["counts"]) <= {"noop"}:
            break
    return ticks


def real_time(seed: dict, compartments: int, rate: float, phases: tuple[str, ...]) -> dict:
    """Run the phases against the emulator and two function processes (tick, alarms), in real time."""
    allowlist = ",".join(compartment(i) for i in range(compartments))
    results: dict = {}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(seed, handle)
    config = {
        "AUTOSCALE_COMPARTMENT_ALLOWLIST": allowlist,
        "AUTOSCALE_RECONCILE_BUDGET_SECONDS": str(BUDGET_SECONDS),
        "AUTOSCALE_ALARM_OPS_PER_SECOND": str(rate),
        "AUTOSCALE_RETRY_BUDGET_SECONDS": "20",
    }
    emulator_args = ("--limits", "--latency", str(LATENCY), "--max-instances", "0")
    try:
        with Stack(seed=Path(handle.name), update_delay=2, functions=2, emulator_args=emulator_args, **config) as stack:
            size = len(seed["modelDeployments"])
            hot = list(range(0, size, max(1, size // HOT)))[:HOT]
            with AlarmLoad(stack, hot) as load:
                for phase in phases:
                    if phase == "drift":
                        state = stack.admin("GET", "/_emulator/state", timeout=120)
                        stack.admin("POST", "/_emulator/reset", drift(state), timeout=120)
                    ticks = run_ticks(stack, rate, until_quiet=phase != "steady")
                    results[phase] = {"ticks": ticks, "ticks_to_converge": len(ticks)}
            results["alarm_path"] = load.summary()
            results["tick_process_peak_rss_mib"] = round(vm_hwm_kib(stack.processes[1].pid) / 1024, 1)
            results["alarm_process_peak_rss_mib"] = round(vm_hwm_kib(stack.processes[2].pid) / 1024, 1)
    finally:
        Path(handle.name).unlink()
    return results


def virtual_cold(seed: dict, compartments: int, rate: float) -> tuple[dict, dict]:
    """Cold convergence in-process on a virtual clock: (figures, the converged state as a seed)."""
    from autoscaler.oci_gateway import OciGateway
    from autoscaler.reconcile import reconcile
    from autoscaler.settings import load_settings
    from emulator import Limits, Store, serve_in_thread

    clock = VirtualClock(1000.0)
    store, limits = Store(), Limits(clock=clock)
    store.load(seed)
    url, stop = serve_in_thread(store, limits=limits)
    try:
        settings = load_settings(
            {
                "AUTOSCALE_COMPARTMENT_ALLOWLIST": ",".join(compartment(i) for i in range(compartments)),
                "AUTOSCALE_AUTH": "emulator",
                "AUTOSCALE_DATA_SCIENCE_ENDPOINT": url,
                "AUTOSCALE_MONITORING_ENDPOINT": url,
                "AUTOSCALE_RECONCILE_BUDGET_SECONDS": str(BUDGET_SECONDS),
                "AUTOSCALE_ALARM_OPS_PER_SECOND": str(rate),
            }
        )
        gateway = OciGateway.from_settings(settings, "tick")
        ticks = []
        for _ in range(MAX_TICKS):
            clock.sleep(1.2)  # as in run_ticks
            since, begun = len(limits.log), clock()
            outcomes = reconcile(None, settings, gateway, time.time(), clock=clock, sleep=clock.sleep, workers=1)
            counts = dict(Counter(o.status for o in outcomes))
            calls = [c._asdict() for c in limits.log[since:]]
            figures = tick_figures(calls, counts, clock() - begun, rate)
            figures["seconds"] = f"{figures['seconds']} (virtual)"
            ticks.append(figures)
            print(json.dumps({k: figures[k] for k in ("seconds", "outcomes", "alarm_ops", "peak_alarm_ops_1s")}))
            if set(counts) <= {"noop"}:
                break
        converged = store.dump()
    finally:
        stop()
    return {"ticks": ticks, "ticks_to_converge": len(ticks)}, converged


def bound(size: int, rate: float) -> int:
    """ceil(writes / (rate x budget)) + 1: the issue's bound on the ticks a cold fleet takes to converge."""
    return math.ceil(size / (rate * BUDGET_SECONDS)) + 1


def measure(size: int, compartments: int, rate: float, phases: tuple[str, ...] = ("steady", "drift")) -> dict:
    seed = fleet_seed(size, compartments)
    print(f"== N = {size}, {compartments} compartment(s), {rate} alarm ops/s")
    if size <= 1000:
        result = real_time(seed, compartments, rate, ("cold", *phases))
    else:
        cold, converged = virtual_cold(seed, compartments, rate)
        result = {"cold": cold, **real_time(drift_free(converged), compartments, rate, phases)}
    result["cold"]["bound"] = bound(size, rate)
    return {"size": size, "compartments": compartments, **result}


def drift_free(state: dict) -> dict:
    return {key: state[key] for key in ("modelDeployments", "alarms", "alarmStates") if key in state}


def working(ticks: list[dict]) -> int:
    """Ticks until the fleet converged: the last one, which found nothing to do, only confirms it."""
    quiet = bool(ticks) and set(ticks[-1]["outcomes"]) <= {"noop"}
    return len(ticks) - quiet


def report(results: list[dict]) -> str:
    """bench/fleet_results.md's table from the results."""
    rows = [
        "| N | compartments | cold: ticks to converge (bound) | first tick: s, alarm ops, peak/s "
        "| steady tick: s, calls, peak/s | drift 10 %: ticks | tick 429s "
        "| alarm path: p50 / p95 / max ms, outcomes | alarm path 429s | peak/s all callers | tick RSS MiB |",
        "|---:|---:|---|---|---|---:|---|---|---|---:|---:|",
    ]
    for r in results:
        cold, steady, drifted = r["cold"], r["steady"]["ticks"][0], r.get("drift", {"ticks": []})
        cold_ticks, drift_ticks = working(cold["ticks"]), working(drifted["ticks"]) if drifted["ticks"] else "-"
        first = cold["ticks"][0]
        ticks = [t for phase in ("cold", "steady", "drift") for t in r.get(phase, {"ticks": []})["ticks"]]
        tick_429 = sum(sum(t["throttled_tick"].values()) for t in ticks)
        alarm_429 = sum(sum(t["throttled_alarm_path"].values()) for t in ticks if t.get("throttled_alarm_path"))
        peak_all = max(t["peak_alarm_ops_1s_all_callers"] for t in ticks)
        path = r.get("alarm_path", {})
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(path.get("outcomes", {}).items()))
        latency = f"{path.get('p50_ms')} / {path.get('p95_ms')} / {path.get('max_ms')}" if path.get("messages") else "-"
        calls = sum(steady["calls"].values())
        rows.append(
            f"| {r['size']} | {r['compartments']} | {cold_ticks} ({cold['bound']}) "
            f"| {first['seconds']}, {first['alarm_ops']}, {first['peak_alarm_ops_1s']} "
            f"| {steady['seconds']}, {calls}, {steady['peak_alarm_ops_1s']} | {drift_ticks} "
            f"| {tick_429} | {latency}, {outcomes} | {alarm_429} | {peak_all} | {r.get('tick_process_peak_rss_mib')} |"
        )
    return HEADER + "\n".join(rows) + "\n" + FOOTER


HEADER = """# A fleet in one tenancy (generated by `make fleet-bench`, bench/fleet.py)

The emulator enforces OCI's tenancy limits (10 alarm operations a second for the whole tenancy, 10
SummarizeMetricsData) with 150 ms per call; one function process runs the ticks, back to back, another the alarm
messages, one a second to 60 hot deployments in turn, all the while. The tick's budget is 60 s, its rate
`AUTOSCALE_ALARM_OPS_PER_SECOND` = 3. N = 5000's cold phase runs on a virtual clock (bench/fleet.py says why and
how); its steady and drift phases and every N <= 1000 run in real time.

- cold: ticks until every deployment has its low alarm, not counting the tick that then finds nothing to do; the
  bound is ceil(N / (3 x 60)) + 1;
- peak/s: the most of the tick's alarm operations in any 1-second window (the emulator's log, by User-Agent);
  "all callers" adds the alarm path's, against the tenancy's 10;
- 429s: answers of the emulator's limits to the tick and to the alarm path, over every phase;
- tick RSS: the peak resident memory (VmHWM) of the function process that ran the ticks.

"""
FOOTER = """
Per-tick figures (calls by operation, outcomes, errors) are in bench/fleet_results.json.
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--layouts", default="1,10", help="compartments the fleet is spread over")
    parser.add_argument("--rate", type=float, default=3.0, help="AUTOSCALE_ALARM_OPS_PER_SECOND")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "fleet_results.json")
    parser.add_argument("--phases", default="steady,drift", help="after the cold one: steady, drift or both")
    parser.add_argument("--append", action="store_true", help="add to the results in --out")
    args = parser.parse_args(argv)
    results = json.loads(args.out.read_text()) if args.append and args.out.exists() else []
    for size in (int(s) for s in args.sizes.split(",")):
        for layout in (int(c) for c in args.layouts.split(",")):
            results.append(measure(size, layout, args.rate, tuple(args.phases.split(","))))
            args.out.write_text(json.dumps(results, indent=1))
            args.out.with_suffix(".md").write_text(report(results))
    print(report(results))
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
