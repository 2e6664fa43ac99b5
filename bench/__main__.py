"""`make bench`: every policy on held-out cases (trace family x seed x start) in closed loop, over both cores,
priced against the exact optimum; the tables, the plots; the function's micro-benchmarks and run-time scaling.

    python -m bench [--quick] [--seeds 2] [--first-seed 1000] [--days 5] [--families a,b] [--policies p,q]
                    [--update-scale 2] [--update-minutes out=10:2,in=5:1,shape=15:3] [--bill-both-sets]
                    [--min-instances 2] [--slack SECONDS] [--delivery-delay SECONDS] [--imbalance 0.1]
                    [--warmup-minutes 1] [--warmup-share 0.25] [--seed 7] [--slo 90] [--transport fakes|http]
                    [--out bench] [--reuse FILE] [--noise]

The policies: `ours` (the function's defaults), `exact` (the clairvoyant optimum's schedule, bench/optimum.py)
and every rival at the settings bench/tune.py froze per k (bench/frozen.json). Seeds start at 1000: never used in
tuning. Writes <out>/results.md and <out>/plots/; a full run into bench/ also the generated sections of
bench/README.md. --quick: one day, one seed, no plots, micro-benchmarks or scaling runs (what the tests use).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import re
import statistics
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

from bench import micro, optimum, priced, report, suite, traces
from bench.policies import Ours, terraform_defaults
from bench.sim import SimConfig, Simulation

HERE = Path(__file__).resolve().parent


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one day, one seed, no plots/micro/scaling")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per family (default 2; --quick 1)")
    parser.add_argument("--first-seed", type=int, default=1000, help="the first seed (0-4: the tuning seeds)")
    parser.add_argument(
        "--days", type=float, default=None, help="every trace's length (default 5, weekly and examples 7; --quick 1)"
    )
    parser.add_argument("--families", default=None, help="comma-separated families (default: all)")
    parser.add_argument("--policies", default=None, help="comma-separated; ours:KEY=V (default: ours, exact, frozen)")
    parser.add_argument("--update-scale", type=float, default=1.0, help="multiply every update time (0.5, 2)")
    parser.add_argument("--bill-both-sets", action="store_true", help="a shape change bills old and new sets")
    parser.add_argument("--min-instances", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=None, help="processes (default: the CPUs available)")
    parser.add_argument("--transport", choices=("http", "fakes"), default="fakes")
    parser.add_argument("--slo", type=float, default=90.0)
    parser.add_argument("--update-minutes", default="", help="kind=mean:jitter,... for out, in, shape")
    parser.add_argument("--slack", type=float, default=None, help="evaluation slack, seconds (default: PT3M)")
    parser.add_argument("--delivery-delay", type=float, default=30.0, help="seconds from evaluation to delivery")
    parser.add_argument("--imbalance", type=float, default=0.1)
    parser.add_argument("--warmup-minutes", type=int, default=1)
    parser.add_argument("--warmup-share", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=7, help="update-duration draws")
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--noise", action="store_true", help="measure the noise band (runs everything twice)")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--no-extras", action="store_true", help="no plots, micro-benchmarks or scaling runs")
    parser.add_argument("--reuse", type=Path, default=None, help="a scores cache (JSON): reuse runs found there")
    return parser.parse_args(argv)


def sim_config(args) -> SimConfig:
    config = SimConfig(
        slo=args.slo,
        delivery_delay_seconds=args.delivery_delay,
        evaluation_slack_seconds=args.slack,
        imbalance=args.imbalance,
        warmup_minutes=args.warmup_minutes,
        warmup_share=args.warmup_share,
        seed=args.seed,
        bill_both_sets=args.bill_both_sets,
        min_instances=args.min_instances,
    )
    if args.update_scale != 1:
        config = config.with_update_minutes(
            **{k: (m * args.update_scale, j * args.update_scale) for k, (m, j) in config.update_minutes}
        )
    kinds = {}
    for item in filter(None, args.update_minutes.split(",")):
        kind, _, value = item.partition("=")
        mean, _, jitter = value.partition(":")
        kinds[kind.strip()] = (float(mean), float(jitter or 0))
    return config.with_update_minutes(**kinds) if kinds else config


def main(argv: list[str] | None = None) -> str:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    seeds = args.seeds or (1 if args.quick else 2)
    days = args.days or (1.0 if args.quick else None)
    config = sim_config(args)
    families = args.families.split(",") if args.families else None
    frozen = priced.load_frozen()
    policies = args.policies.split(",") if args.policies else default_policies(frozen)
    key = cache_key(config, days)
    cases = suite.cases(seeds, days, families, config=config, first=args.first_seed)
    say = (lambda *a, **k: None) if args.quiet else print

    def progress(done, total, seconds):
        if done % 25 == 0 or done == total:
            say(f"  {done}/{total} runs, {seconds:.0f} s", file=sys.stderr)
        if args.reuse and done % 50 == 0 and not args.noise:  # keep what is done if the run is stopped
            save_cache(args.reuse, key, {(r.policy, r.case): r for _, r, _, _ in results})

    if args.noise:
        text = noise(cases, policies, config, args, progress)
        if args.out == HERE:
            update_readme(HERE / "README.md", "", {"noise": text})
        return text
    plotted = not (args.quick or args.no_extras)
    tasks = [
        suite.Task(case, policy, config, args.transport, plotted and _timeline(case, args.first_seed))
        for case in cases
        for policy in policies
    ]
    for policy in set(policies) - {optimum.NAME}:
        suite.controller(policy, args.transport)  # an unknown policy fails here, not after the runs
    cache = load_cache(args.reuse, key)
    results = []
    try:
        suite.run_all([t for t in tasks if (t.policy, t.case.name) not in cache], args.jobs, progress, results)
    finally:  # an interrupted run still keeps what it finished
        save_cache(args.reuse, key, {**cache, **{(r.policy, r.case): r for _, r, _, _ in results}})
    simulated = time.perf_counter() - started
    scores = {**cache, **{(r.policy, r.case): r for _, r, _, _ in results}}
    scores = {(t.policy, t.case.name): scores[(t.policy, t.case.name)] for t in tasks}
    series = {(t.policy, t.case.name): s for t, _, s, _ in results if s is not None}
    params = {t.case.name: _params(t.case) for t in tasks}
    sections = build_report(scores, policies, params, config, args, days, seeds, cases, frozen)
    sections.append(invocation_summary(results))
    if plotted:
        priced.pareto(scores, policies, args.out / "plots" / "pareto.png")
        drawn = [c.name for c in cases if _timeline(c, args.first_seed)]
        for name in drawn:
            shown = ["ours", optimum.NAME, *sorted(set(frozen.get(100, {}).values()))]
            runs = {p: series[(p, name)] for p in shown if (p, name) in series}
            if runs:
                report.timeline(name, runs, config.slo, args.out / "plots" / f"{name.replace('#', '-')}.png")
        sections += [
            "## Plots",
            "![Pareto per family: OCPU-hours ÷ the exact optimum's against violation minutes above its own]"
            "(plots/pareto.png)",
        ]
        figures = micro.measure()
        sections += ["## The function itself", micro.markdown(figures)]
        rows = scaling(config)
        lines = ["| trace length | deployments | alarm messages | wall time (s) |", "|---|---:|---:|---:|"]
        lines += [f"| {length} | {count} | {messages} | {wall:.1f} |" for length, count, messages, wall in rows]
        sections += ["## Run time of the closed loop (our function over HTTP, one process)", "\n".join(lines)]
    total = time.perf_counter() - started
    sections.append(
        f"Simulating {len(results)} policy × case runs took {simulated:.0f} s on {suite_jobs(args)} processes; the "
        f"whole benchmark {total:.0f} s on {platform.machine()} with {_cpus()} CPUs."
    )
    text = "\n\n".join(s for s in sections if s) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text(text)
    if not args.quick and families is None and args.out == HERE:
        update_readme(HERE / "README.md", text)
    say(text if args.quick else sections[3], file=sys.stderr if args.quiet else sys.stdout)
    say(f"\nwrote {args.out / 'results.md'} in {total:.0f} s")
    return text


ROOT = HERE.parent


def _inputs() -> list[Path]:
    """Every file whose content can change a score: the bench's, the emulator's and the function's code and data,
    and the Terraform variables ours' alarms are read from. Not the generated results."""
    files = [p for p in HERE.rglob("*.py")] + [p for p in (HERE / "data").rglob("*") if p.is_file()]
    files += [p for p in (ROOT / "emulator").rglob("*") if p.is_file() and p.suffix in (".py", ".json")]
    files += [p for p in (ROOT / "functions" / "autoscale").rglob("*") if p.is_file() and p.suffix in (".py", ".txt")]
    files.append(ROOT / "infra" / "terraform" / "variables.tf")
    return sorted(p for p in files if "__pycache__" not in p.parts)


def cache_key(config: SimConfig, days: float | None) -> str:
    import numpy

    code = hashlib.sha256()
    for path in _inputs():
        code.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return (
        f"{config!r} days={days} python={platform.python_version()} numpy={numpy.__version__} "
        f"code={code.hexdigest()[:20]}"
    )


def load_cache(path: Path | None, key: str) -> dict:
    """Scores from an earlier run under the same key: same code, data, settings, Python and numpy. Any policy,
    ours included, is reused only under the same key."""
    if path is None or not path.exists():
        return {}
    data = json.loads(path.read_text()).get(key, [])
    scores = [report.Score(**item) for item in data]
    return {(s.policy, s.case): s for s in scores}


def save_cache(path: Path | None, key: str, scores: dict) -> None:
    if path is None:
        return
    data = json.loads(path.read_text()) if path.exists() else {}
    merged = {(s["policy"], s["case"]): s for s in data.get(key, [])}
    merged.update({k: asdict(v) for k, v in scores.items()})
    data[key] = list(merged.values())
    path.write_text(json.dumps(data))


def suite_jobs(args) -> int:
    return args.jobs or _cpus()


def _params(case: suite.Case) -> str:
    trace = case.trace() if case.family != "examples" else None
    if trace is None:
        return "named example"
    text = ", ".join(f"{k} {v}" for k, v in trace.params.items())
    return text if case.start == "user" else f"start {case.start}; {case.source}: {text}"


TIMELINES = ("diurnal", "bursts", "calendar", "nasa", "pareto-bursts", "poisson")  # families drawn over time


def _timeline(case, first_seed: int) -> bool:
    return case.family in TIMELINES and case.seed == first_seed


def default_policies(frozen: dict) -> list[str]:
    return ["ours", optimum.NAME, *priced.frozen_policies(frozen)]


def build_report(scores, policies, params, config, args, days, seeds, cases, frozen) -> list[str]:
    sections = [_header(config, args, days, seeds, len(cases))]
    below = priced.no_policy_below(scores)
    for ours in [p for p in policies if p.startswith("ours")]:
        fig = priced.figures(scores, frozen, ours)
        if not fig["cases"]:
            continue
        severe = priced.figures(scores, frozen, ours, severity=True)
        sections += [
            f"## Priced against the exact optimum: `{ours}`",
            f"{fig['cases']} cases. J_k = OCPU-hours + λ_k × violation minutes, λ_k = k × H0* / T; R_k = J_k / J_k* "
            "(the exact minimum). Point estimates with paired bootstrap 95 % intervals over cases; each rival at its "
            "setting frozen for k on seeds 0–4.\n\n" + priced.headline_table(fig, ours),
            "### Severity-weighted: a violation minute weighs the hottest instance's utilization ÷ the SLO\n\n"
            + priced.headline_table(severe, ours),
            "### R_100 per family (median over seeds)\n\n" + priced.family_table(scores, frozen, 100, ours),
        ]
    sections += [
        "## The rivals' frozen settings (bench/tune.py, bench/frozen.json)",
        priced.frozen_table(frozen),
        f"Policies scoring below the exact bound (a bug if any): {len(below)}"
        + (": " + ", ".join(f"{p} on {c} at k={k}" for p, c, k in below[:10]) if below else "."),
    ]
    ours_names = [p for p in policies if p.startswith("ours")]
    if len(ours_names) > 1:
        sections += ["## The function's settings compared", report.settings_table(scores, ours_names)]
    if "ours" in policies and suite.NO_TICK in policies:
        sections += [
            "## The periodic reconcile: `ours` with and without its tick",
            report.reconcile_table(scores, "ours", suite.NO_TICK),
        ]
    sections += [
        "## Per family: median [min–max] over seeds",
        report.family_table(report.family_rows(scores, policies)),
        "## Every case: violation minutes / OCPU-hours / unserved OCPU-minutes",
        report.case_table(scores, policies, params),
        "## Every case, every measure",
        report.full_table(scores, policies),
    ]
    return sections


def noise(cases, policies, config, args, progress) -> str:
    """Every policy on every case in two worlds that differ in everything the cases do not fix: the update-duration
    draws, the instance slot weights and the alarm delivery delay. How far the figures move between the two is the
    noise a single run carries (the bootstrap intervals carry the spread over cases)."""
    other = replace(
        config,
        seed=config.seed + 1,
        weights_seed=config.weights_seed + 1,
        delivery_delay_seconds=config.delivery_delay_seconds + 15,
    )
    worlds = {"A": config, "B": other}
    policies = sorted(set(policies) | {optimum.NAME})
    tasks = [
        suite.Task(case, policy, world, args.transport, False)
        for case in cases
        for policy in policies
        for world in worlds.values()
    ]
    results = suite.run_all(tasks, args.jobs, progress)
    scores = {name: {} for name in worlds}
    for task, score, _, _ in results:
        name = "A" if task.config == config else "B"
        scores[name][(task.policy, task.case.name)] = score
    frozen = priced.load_frozen()
    lines = [
        f"{len(cases)} cases, every policy in world A (update draws {config.seed}, slot weights draw "
        f"{config.weights_seed}, delivery {config.delivery_delay_seconds:g} s) and world B ({other.seed}, "
        f"{other.weights_seed}, {other.delivery_delay_seconds:g} s).",
        "",
        "| policy | k | median \\|R_k(A) − R_k(B)\\| | p90 | max |",
        "|---|---:|---:|---:|---:|",
    ]
    bounds = {name: priced.bounds_by_case(s) for name, s in scores.items()}
    for policy in policies:
        for k in optimum.KS:
            diffs = sorted(
                abs(
                    priced.ratio(scores["A"][(policy, c)], bounds["A"][c], k)
                    - priced.ratio(scores["B"][(policy, c)], bounds["B"][c], k)
                )
                for c in bounds["A"]
                if (policy, c) in scores["A"] and (policy, c) in scores["B"] and c in bounds["B"]
            )
            if diffs:
                lines.append(
                    f"| {policy} | {k} | {diffs[len(diffs) // 2]:.3f} | {diffs[int(0.9 * (len(diffs) - 1))]:.3f} | "
                    f"{diffs[-1]:.3f} |"
                )
    for name in worlds:
        lines += ["", f"World {name}:", "", priced.headline_table(priced.figures(scores[name], frozen))]
    text = "\n".join(lines)
    print(text)
    return text


def scaling(config: SimConfig) -> list[tuple[str, int, int, float]]:
    """Wall time of our function in closed loop over HTTP as traces get longer and deployments more numerous."""
    rows = []
    for days in (1, 7):
        run = Simulation([traces.make("diurnal", days)], Ours(transport="http"), config).run()
        rows.append((f"{days} d", 1, len(run.invocations), run.wall_seconds))
    mix = ["diurnal", "spike", "flash", "noisy"]
    run = Simulation([traces.make(n, 7) for n in mix], Ours(transport="http"), config).run()
    rows.append(("7 d", len(mix), len(run.invocations), run.wall_seconds))
    return rows


def invocation_summary(results) -> str:
    ours = [i for t, _, _, inv in results if t.policy == "ours" for i in inv]
    if not ours:
        return ""
    acting = [i for i in ours if i[0] in ("OK_TO_FIRING", "REPEAT")]
    applied = [i for i in acting if "applied" in i[3]]
    refused = [i for i in acting if "refused" in i[3]]
    errors = [i for i in ours if "error" in i[3]]
    ms = sorted(1000 * i[2] for i in ours)
    return (
        f"In the closed-loop runs `ours` handled {len(ours)} alarm messages ({len(applied)} changed a deployment, "
        f"{len(refused)} refused, {len(errors)} errors): {statistics.mean(i[1] for i in ours):.2f} OCI calls per "
        f"message on average ({statistics.mean(i[1] for i in applied) if applied else 0:.2f} when it scaled), "
        f"{ms[len(ms) // 2]:.1f} ms median, {ms[int(0.99 * (len(ms) - 1))]:.1f} ms p99 per message in process."
    )


def update_readme(path: Path, text: str, parts: dict[str, str] | None = None) -> None:
    """Replace the generated sections of bench/README.md (between <!-- generated:NAME --> markers)."""
    if not path.exists():
        return
    readme = path.read_text()
    for name, body in (parts or _generated(text)).items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n).*?(\n<!-- /generated:{name} -->)", re.S)
        readme = pattern.sub(lambda m, body=body: m.group(1) + body + m.group(2), readme)
    path.write_text(readme)


# The sections of results.md that bench/README.md repeats: (title prefix, generated marker name).
README_SECTIONS = (
    ("## Priced against the exact optimum: `ours`", "priced"),
    ("## The rivals' frozen settings", "frozen"),
    ("## The function itself", "micro"),
    ("## Run time of the closed loop", "runtime"),
)


def _generated(text: str) -> dict[str, str]:
    parts = {}
    for block in re.split(r"\n(?=## )", text):
        title = block.split("\n", 1)[0]
        body = block.split("\n", 1)[1].strip() if "\n" in block else ""
        for prefix, name in README_SECTIONS:
            if title.startswith(prefix):
                parts[name] = f"{title.removeprefix('## ')}:\n\n{body}" if name == "runtime" else body
                break
    return parts


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


def _header(config: SimConfig, args, days: float | None, seeds: int, n_cases: int) -> str:
    tf = terraform_defaults()
    length = (
        f"{days:g} days each"
        if days
        else (f"{suite.FAMILY_DAYS:g} days each ({', '.join(f'{k} {v:g}' for k, v in suite.LONG_DAYS.items())} days)")
    )
    updates = ", ".join(f"{k} {m:g} ± {j:g} min" for k, (m, j) in config.update_minutes)
    slack = (
        "each alarm's evaluation slack (OCI default PT3M)"
        if config.evaluation_slack_seconds is None
        else (f"an evaluation slack of {config.evaluation_slack_seconds:g} s")
    )
    return (
        "# Autoscaler benchmark: results\n\n"
        f"Generated by `python -m bench{' --quick' if args.quick else ''}` (method: bench/README.md). {n_cases} cases: "
        f"{len(traces.FAMILIES)} trace families × {seeds} seeds (from {args.first_seed}) from the capacity a user "
        "would create, an oversized "
        f"and an undersized start family, and the {len(traces.GENERATORS)} named examples; {length}, one deployment. "
        f"SLO: the hottest instance's CPU and memory ≤ {config.slo:g} %. Updates: {updates} "
        f"(guesses: OCI documents none). Alarms: {slack}, messages {config.delivery_delay_seconds:g} s after "
        f"evaluation. Instance load weights ±{100 * config.imbalance:g} %; a fresh instance takes "
        f"{100 * config.warmup_share:g} % of its share for {config.warmup_minutes} min. Instances "
        f"{config.min_instances}–{config.max_instances}, ladder {', '.join(map(str, config.ladder))}.\n\n"
        f"`ours`: the Terraform module's default high alarms (CPU > {tf['cpu_high_threshold']} %, memory > "
        f"{tf['mem_high_threshold']} %, `.groupBy(resourceId)`, pending {tf['high_alarm_pending_duration']}, repeat "
        f"{tf['high_alarm_repeat_duration']}) and the function with its default settings, "
        f"{'over HTTP to the emulator' if args.transport == 'http' else 'through the in-process SDK fakes'}. "
        f"Noise band: a tie is within max({report.BAND_MINUTES} min, {100 * report.BAND_SHARE:g} %) violation "
        f"minutes and {100 * report.BAND_COST:g} % OCPU-hours."
    )


if __name__ == "__main__":
    main()
