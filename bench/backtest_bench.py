"""How fast and how close is the backtest (bench/backtest.py)? A benchmark, not a test.

    python -m bench.backtest_bench            # both
    python -m bench.backtest_bench --timing   # 7 days of 1-minute history over HTTP from the emulator (goal <= 60 s)
    python -m bench.backtest_bench --match    # the replay of ours against the direct simulation, every family, 1 day

--timing: the simulator generates 7 days of a deployment's per-instance history (family diurnal, seed 0, scaled by
bench.policies.Native from one instance, so instances come and go; then again with 4 instances all along), the
emulator serves that Store over HTTP, and the whole backtest runs as `make backtest` would (the real SDK, paced
SummarizeMetricsData calls, the four replays, the report and its PNG). It prints the seconds of each part.

--match: per family (1-day traces, seed 0), the backtest's replay of the function against the function run directly
on the trace, from the same start and config, in three worlds:
  fixed: a history of 4 instances on the smallest uncensored rung, the replay given the trace's name (the same
         update-duration draws as the direct run): what tests/bench/test_backtest.py asserts;
  draws: the same history, the replay named after the deployment (other update-duration draws): the noise of the
         draws alone;
  native: a history made by the native policy from the user's start (instances added and removed, some minutes
         saturated): slot shares seen only for the instances it ran, censored minutes replayed as lower bounds.
"""

from __future__ import annotations

import argparse
import sys
import time

from autoscaler.domain import Capacity
from autoscaler.oci_gateway import OciGateway
from bench import backtest as bt
from bench import traces
from bench.policies import Native, Ours
from bench.seed_history import simulate_history
from bench.sim import LADDER, STARTS, SimConfig, Simulation, hottest_share, slot_weights, utilization
from emulator import serve_in_thread
from emulator.sdk_fakes import FakeDataScienceClient, FakeMonitoringClient


def timing(days: int = 7, fixed: bool = False, out=bt.ROOT / "run" / "backtest-bench") -> dict:
    """`fixed`: 4 instances all along (the most datapoints the function's default limits give) instead of native."""
    trace = traces.family("diurnal", 0, days=days)
    began = time.perf_counter()
    if fixed:
        sim = simulate_history(trace, Capacity(4, LADDER[0]))
    else:
        sim = simulate_history(trace, Capacity(1, LADDER[1]), Native())
    made = time.perf_counter() - began
    [md] = sim.ids
    url, stop = serve_in_thread(sim.store)
    try:
        now = sim.start + 60 * trace.minutes + bt.INGESTION_SLACK_SECONDS
        began = time.perf_counter()
        result = bt.backtest(bt.connect(url, {}), md, days, now=now)
        bt.write(result, out)
        seconds = {**result.seconds, "report": time.perf_counter() - began - result.seconds["total"]}
        seconds["total"] = time.perf_counter() - began
    finally:
        stop()
    changes = len(sim.series[md].actions)
    what = "4 instances all along" if fixed else f"{changes} capacity changes"
    print(f"{days} days of 1-minute history: {trace.minutes} minutes, {what} (made in {made:.0f} s)")
    print("backtest over HTTP: " + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()))
    return seconds


def _capacity(trace) -> Capacity:
    share = hottest_share(slot_weights(trace.name, SimConfig()), 4)
    for rung in LADDER:
        cpu, mem = utilization(trace.cpu, trace.base_gb, Capacity(4, rung), share)
        if max(cpu.max(), mem.max()) < bt.CENSOR_AT:
            return Capacity(4, rung)
    return Capacity(4, LADDER[-1])


def _direct(trace, start):
    [series] = Simulation([trace], Ours(transport="fakes"), SimConfig(), [start]).run().series.values()
    hours = sum(series.billed_ocpus) / 60
    return hours, sum(c > 90 or m > 90 for c, m in zip(series.cpu, series.mem, strict=True))


def _replay(sim, trace, name):
    gateway = OciGateway(FakeDataScienceClient(sim.store), FakeMonitoringClient(sim.store))
    now = sim.start + 60 * trace.minutes + bt.INGESTION_SLACK_SECONDS
    result = bt.backtest(gateway, sim.ids[0], 1, now=now, pace=0, name=name, runs=("ours",))
    return result.outcomes["ours"], int(result.recon.censored.sum()), result.recon.observed_slots


def match(families=None) -> list[dict]:
    rows = []
    print("| family | world | censored min | slots seen | direct H | replay H | ΔH % | direct V | replay V | ΔV |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for family in families or traces.FAMILIES:
        trace = traces.family(family, 0, days=1)
        fixed = _capacity(trace)
        user = STARTS["user"](trace, SimConfig())
        direct = {fixed: _direct(trace, fixed), user: _direct(trace, user)}
        history = simulate_history(trace, fixed)
        worlds = {
            "fixed": (history, trace.name, fixed),
            "draws": (history, None, fixed),
            "native": (simulate_history(trace, user, Native()), trace.name, user),
        }
        for world, (sim, name, start) in worlds.items():
            outcome, censored, slots = _replay(sim, trace, name)
            hours, violations = direct[start]
            row = {
                "family": family,
                "world": world,
                "censored": censored,
                "slots": slots,
                "direct_h": hours,
                "replay_h": outcome.ocpu_hours,
                "dh": 100 * (outcome.ocpu_hours - hours) / hours,
                "direct_v": violations,
                "replay_v": outcome.violation_minutes,
            }
            rows.append(row)
            print(
                f"| {family} | {world} | {censored} | {slots} | {hours:.2f} | {outcome.ocpu_hours:.2f} | "
                f"{row['dh']:+.2f} | {violations} | {outcome.violation_minutes} | "
                f"{outcome.violation_minutes - violations:+d} |",
                flush=True,
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backtest_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--timing", action="store_true")
    parser.add_argument("--match", action="store_true")
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args(argv)
    both = not (args.timing or args.match)
    if args.timing or both:
        timing(args.days)
        timing(args.days, fixed=True)
    if args.match or both:
        match()
    return 0


if __name__ == "__main__":
    sys.exit(main())
