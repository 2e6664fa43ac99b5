"""The benchmark suite: cases (trace family x seed x start capacity), the policies, and a parallel runner.

A case is one deployment over one trace from one start. The suite holds:
- every family of `traces.FAMILIES` on seeds 0..n-1 from the capacity a user would create (`sim.user_capacity`);
- two start families: the same kinds of traces from an oversized start (2 x 4 OCPUs, `large-start`) and from an
  undersized one (1 x 1 OCPU while the first hour needs more, `small-start`);
- today's seven named traces (`traces.GENERATORS`, fixed seeds) as the `examples` family.
Runs go to a process pool (one process per core): each run rebuilds its trace from (family, seed), so nothing
large crosses processes but the scores and, for the examples, the series to plot.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from multiprocessing import get_context

from bench import optimum, traces
from bench.policies import GRIDS, NATIVE_VARIANTS, Native, Oracle, Ours, Sample2022, rival
from bench.report import score
from bench.sim import STARTS, SimConfig, Simulation, ocpus, serves

LARGE_START_TRACES = ("noise-slow", "steady", "diurnal", "ramps", "bursts", "sawtooth", "business")
SMALL_START_TRACES = ("steady", "weekly", "steps", "noise-slow", "ramps", "diurnal", "sawtooth")
START_SEED_BASE = 100  # start families draw their traces from seeds 100+ (not the family's own 0..n-1)
BASELINES = ("2022", "native")
NO_TICK = "ours-notick:reconcile=0"  # the function without its periodic reconcile: what the tick adds
DEFAULT_POLICIES = ("2022", "native", "native-80-20", "native-60-25", "ours", NO_TICK, "oracle")


@dataclass(frozen=True)
class Case:
    family: str  # a traces.FAMILIES name, "large-start", "small-start" or "examples"
    seed: int
    source: str  # the trace family (or named example) the trace comes from
    start: str  # a sim.STARTS key
    trace_seed: int
    days: float

    @property
    def name(self) -> str:
        if self.family == "examples":
            return self.source
        if self.family in traces.FAMILIES:
            return f"{self.family}#{self.seed}"
        return f"{self.family}#{self.seed} ({self.source}#{self.trace_seed})"

    def trace(self) -> traces.Trace:
        if self.family == "examples":
            return traces.make(self.source, self.days)
        return traces.family(self.source, self.trace_seed, self.days)


FAMILY_DAYS = 5.0  # a family draw: five days (a week for `weekly` and the named examples), to keep `make bench` short
LONG_DAYS = {"weekly": 7.0, "examples": 7.0}


def cases(seeds: int = 5, days: float | None = None, families=None, examples: bool = True, config=None, first=0):
    """The suite's cases on seeds first..first+seeds-1; `days` overrides every trace's length (default FAMILY_DAYS,
    LONG_DAYS). A `first` other than 0 draws held-out seeds (the named examples have one seed: left out then)."""
    config = config or SimConfig()
    numbers = range(first, first + seeds)

    def length(family: str) -> float:
        return days or LONG_DAYS.get(family, FAMILY_DAYS)

    out = []
    for name in families or traces.FAMILIES:
        if name in traces.FAMILIES:
            out += [Case(name, s, name, "user", s, length(name)) for s in numbers]
    if families is None or "large-start" in families:
        for s in numbers:
            source = LARGE_START_TRACES[s % len(LARGE_START_TRACES)]
            out.append(Case("large-start", s, source, "large", START_SEED_BASE + s, length("large-start")))
    if families is None or "small-start" in families:
        for s in numbers:
            source = SMALL_START_TRACES[s % len(SMALL_START_TRACES)]
            trace_seed = _needs_more(source, length("small-start"), config, START_SEED_BASE + s)
            out.append(Case("small-start", s, source, "small", trace_seed, length("small-start")))
    if examples and first == 0 and (families is None or "examples" in families):
        out += [Case("examples", 0, n, "user", traces.SEEDS[n], length("examples")) for n in traces.GENERATORS]
    return out


def _needs_more(source: str, days: float, config: SimConfig, first: int) -> int:
    """The first seed from `first` on whose trace's first hour one 1-OCPU instance cannot serve."""
    for seed in range(first, first + 100):
        trace = traces.family(source, seed, days)
        if not serves(trace, STARTS["small"](trace, config), config, slice(0, 60)):
            return seed
    raise ValueError(f"no {source} trace among 100 seeds needs more than the small start")


def controller(policy: str, transport: str):
    """A fresh controller for a policy name: the DEFAULT_POLICIES, or `ours:KEY=VALUE;...` (the function with
    settings overridden, e.g. `ours:cpu_target=70;scale_in_headroom=0.8`; `high_cpu=80`, `high_mem`,
    `high_pending=PT2M`, `high_repeat` change the Terraform high alarms; `reconcile=0`: no periodic reconcile),
    named as given."""
    if policy == "2022":
        return Sample2022()
    if policy.partition(":")[0] in GRIDS:
        return rival(policy)
    if policy in NATIVE_VARIANTS:
        return Native(policy, **NATIVE_VARIANTS[policy])
    if policy == "oracle":
        return Oracle()
    if policy == "ours":
        return Ours("ours", transport=transport)
    if policy.startswith("ours:") or policy.startswith("ours-"):
        name, _, spec = policy.partition(":")
        env, high, reconcile = {}, {}, True
        for item in filter(None, spec.split(";")):
            key, _, value = item.partition("=")
            if key == "reconcile":
                reconcile = value not in ("0", "false", "off")
            elif key in ("high_cpu", "high_mem", "high_pending", "high_repeat"):
                high[key.removeprefix("high_")] = value
            else:
                env[f"AUTOSCALE_{key.upper()}"] = value
        return Ours(policy, high=high, transport=transport, reconcile=reconcile, **env)
    raise ValueError(f"unknown policy {policy!r}")


@dataclass(frozen=True)
class Task:
    case: Case
    policy: str
    config: SimConfig
    transport: str
    keep_series: bool


def run_task(task: Task):
    """One policy on one case (in a worker process): (task, score, series if kept, invocation records)."""
    trace = task.case.trace()
    start = STARTS[task.case.start](trace, task.config)
    bounds = None
    if task.policy == optimum.NAME:  # the exact optimum: solved, then played through the simulator like any policy
        bounds, plan = optimum.solve_case(trace, task.config, start)
        policy = optimum.Replay(plan)
    else:
        policy = controller(task.policy, task.transport)
    run = Simulation([trace], policy, task.config, [start]).run()
    [series] = run.series.values()
    sized = ocpus(STARTS["user"](trace, task.config)) if task.case.start == "large" else None
    result = score(task.policy, task.case, series, task.config.slo, run.wall_seconds, sized, bounds)
    invocations = [
        (i["type"], len(i["calls"]), i["seconds"], [o["status"] for o in i["outcomes"]]) for i in run.invocations
    ]
    return task, result, series if task.keep_series else None, invocations


def run_all(tasks: list[Task], jobs: int | None = None, progress=None, results: list | None = None) -> list:
    """Every task, in parallel over `jobs` processes (default: the CPUs this process may use). Results are appended
    to `results` as they come (so a caller keeps them if a run fails)."""
    jobs = jobs or len(os.sched_getaffinity(0))
    # The function's runs are the slowest: start them first so the pool ends together.
    ordered = sorted(tasks, key=lambda t: (not t.policy.startswith("ours"), t.case.family == "examples"))
    results = [] if results is None else results
    started = time.perf_counter()
    if jobs <= 1:
        iterator = map(run_task, ordered)
    else:
        pool = get_context("fork").Pool(jobs)
        iterator = pool.imap_unordered(run_task, ordered, chunksize=1)
    try:
        for index, result in enumerate(iterator, 1):
            results.append(result)
            if progress:
                progress(index, len(ordered), time.perf_counter() - started)
    finally:
        if jobs > 1:
            pool.close()
            pool.join()
    return results
