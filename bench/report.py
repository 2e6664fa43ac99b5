"""Scores of one run, verdicts per case and per family, markdown tables, Pareto and time-series plots."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from bench.sim import Series, ocpus

# The noise band: two runs of the same policy on the same case that differ only in the update-duration draws
# (SimConfig.seed) differ by this much or less in most cases (measured: `python -m bench --noise`, README).
# A difference inside the band is a tie.
BAND_MINUTES = 5  # violation minutes: absolute ...
BAND_SHARE = 0.10  # ... or relative to the larger of the two, whichever is larger
BAND_COST = 0.02  # OCPU-hours: relative
COLORS = {
    "2022": "tab:orange",
    "native": "tab:blue",
    "native-80-20": "tab:cyan",
    "native-60-25": "tab:gray",
    "ours": "tab:green",
    "oracle": "tab:pink",
    "exact": "tab:purple",
    "hpa": "tab:red",
    "sagemaker": "tab:brown",
}


def color(policy: str) -> str | None:
    """A policy's colour in the plots: its own, else its family's (`hpa:target=60` is an hpa)."""
    return COLORS.get(policy) or COLORS.get(policy.partition(":")[0])


@dataclass(frozen=True)
class Score:
    policy: str
    case: str
    family: str
    seed: int
    start: str
    violation_minutes: int  # minutes with the hottest instance's CPU or memory above the SLO
    unserved: float  # OCPU-minutes of work above what the instances serve at the SLO
    peak: float  # the hottest instance's highest utilization (%, uncapped: CPU or memory)
    ocpu_hours: float  # billed
    actions: int
    reversals: int
    time_to_capacity: float | None  # mean minutes from a load step until within the SLO again
    wall_seconds: float = 0.0
    # Violation minutes after the first day with load (the business family: its first working day): what a
    # forecast from the deployment's own history could have prevented.
    late_violation_minutes: int | None = None
    # Oversized starts: minutes until the billed OCPUs first fall to what the user's start would have had.
    time_to_size: float | None = None
    severity: float = 0.0  # Σ over violation minutes of the hottest instance's utilization ÷ the SLO
    minutes: int = 0  # the trace's length
    # The exact optimum's figures for the case (only on the `exact` policy's score): optimum.Bounds as a dict.
    bounds: dict | None = None


def score(
    policy: str,
    case,
    series: Series,
    slo: float,
    wall_seconds: float = 0.0,
    sized_ocpus: float | None = None,
    bounds=None,
) -> Score:
    """`sized_ocpus`: for an oversized start, the OCPUs of the capacity a user would have created. `bounds`: the
    case's optimum.Bounds, kept on the score of the exact policy."""
    over = [c > slo or m > slo for c, m in zip(series.cpu, series.mem, strict=True)]
    hot = [max(c, m) for c, m in zip(series.cpu, series.mem, strict=True)]
    first = 1440 * (first_busy_day(series.trace.params) + 1)
    return Score(
        policy=policy,
        case=case.name,
        family=case.family,
        seed=case.seed,
        start=case.start,
        violation_minutes=sum(over),
        unserved=round(sum(series.unserved), 2),
        peak=round(max(max(series.cpu), max(series.mem)), 1),
        ocpu_hours=sum(series.billed_ocpus) / 60,
        actions=len(series.actions),
        reversals=reversals(series.actions),
        time_to_capacity=time_to_capacity(over, series.trace.steps),
        wall_seconds=wall_seconds,
        late_violation_minutes=sum(over[first:]),
        time_to_size=None if sized_ocpus is None else time_to_size(series.billed_ocpus, sized_ocpus),
        severity=sum(h / slo for h, o in zip(hot, over, strict=True) if o),
        minutes=len(over),
        bounds=None if bounds is None else bounds_dict(bounds),
    )


def bounds_dict(bounds) -> dict:
    """optimum.Bounds as JSON-safe data (k as a string key), as Score.bounds keeps it."""
    return {
        "ocpu_hours": bounds.ocpu_hours,
        "violation_minutes": bounds.violation_minutes,
        "minutes": bounds.minutes,
        "exact": {str(k): v for k, v in bounds.exact.items()},
        "exact_severity": {str(k): v for k, v in bounds.exact_severity.items()},
    }


def first_busy_day(params: dict | None) -> int:
    """The trace's first day with load: day 0, or for office hours the first working day (0 = its start_day)."""
    if not params or "open_hour" not in params:
        return 0
    for day in range(7):
        weekday = (params.get("start_day", 0) + day) % 7
        if weekday < 5 or (weekday == 5 and params.get("saturday")):
            return day
    return 0


def time_to_size(billed: list[float], sized: float) -> float:
    """Minutes until the billed OCPUs first fall to `sized` (the whole run if they never do)."""
    return float(next((minute for minute, value in enumerate(billed) if value <= sized + 1e-9), len(billed)))


def direction(before, after) -> int:
    delta = ocpus(after) - ocpus(before)
    if delta == 0:
        delta = after.shape.memory_gbs * after.instance_count - before.shape.memory_gbs * before.instance_count
    return (delta > 0) - (delta < 0)


def reversals(actions) -> int:
    """Direction changes between consecutive scaling actions (up then down, or down then up)."""
    directions = [d for d in (direction(before, after) for _, before, after in actions) if d]
    return sum(1 for a, b in zip(directions, directions[1:], strict=False) if a != b)


def time_to_capacity(over: list[bool], steps) -> float | None:
    if not steps:
        return None
    waits = []
    for step in steps:
        wait = next((t - step for t in range(step, len(over)) if not over[t]), len(over) - step)
        waits.append(wait)
    return sum(waits) / len(waits)


# -- verdicts --


def band(a: float, b: float) -> float:
    return max(BAND_MINUTES, BAND_SHARE * max(a, b))


def no_worse(a: Score, b: Score) -> bool:
    """a is no worse than b on both axes, within the noise band."""
    return not _worse_axes(a, b)


def better_on_both(b: Score, a: Score) -> bool:
    """b beats a on both axes beyond the noise band."""
    return b.violation_minutes < a.violation_minutes - band(
        a.violation_minutes, b.violation_minutes
    ) and b.ocpu_hours < a.ocpu_hours * (1 - BAND_COST)


@dataclass(frozen=True)
class CaseVerdict:
    """One case: ours against the baselines. Dominating both baselines is being no worse than the better of them on
    each axis (fewest violation minutes, fewest OCPU-hours); the case counts toward the goal only if the oracle
    itself manages that (`feasible`): where a baseline is cheaper than the oracle by running overloaded, nothing
    that serves the load can dominate it."""

    case: str
    family: str
    feasible: bool  # the oracle is no worse than every baseline on both axes
    dominated: tuple[str, ...]  # baselines ours is no worse than (on both axes)
    baselines: tuple[str, ...]
    beaten_by: tuple[str, ...]  # policies (baselines and native variants) better than ours on both axes
    vs_oracle: float  # ours OCPU-hours / oracle OCPU-hours
    worse_on: tuple[str, ...] = ()  # where ours falls behind a baseline, beyond the band: "2022: minutes", ...

    @property
    def counted(self) -> bool:
        return self.feasible

    @property
    def win(self) -> bool:
        return set(self.baselines) <= set(self.dominated)


def case_verdicts(scores: dict[tuple[str, str], Score], ours: str = "ours", baselines=("2022", "native")) -> list:
    out = []
    for case in sorted({c for _, c in scores}, key=_case_order(scores)):
        mine, oracle = scores.get((ours, case)), scores.get(("oracle", case))
        if mine is None or oracle is None:
            continue
        present = tuple(b for b in baselines if (b, case) in scores)
        rivals = [p for p, c in scores if c == case and p not in (ours, "oracle") and not p.startswith("ours")]
        feasible = all(no_worse(oracle, scores[(b, case)]) for b in present)
        dominated = tuple(b for b in present if no_worse(mine, scores[(b, case)]))
        beaten = tuple(p for p in sorted(rivals) if better_on_both(scores[(p, case)], mine))
        ratio = mine.ocpu_hours / oracle.ocpu_hours if oracle.ocpu_hours else float("inf")
        worse = tuple(f"{b}: {axis}" for b in present for axis in _worse_axes(mine, scores[(b, case)]))
        out.append(CaseVerdict(case, mine.family, feasible, dominated, present, beaten, ratio, worse))
    return out


def _worse_axes(a: Score, b: Score) -> list[str]:
    """The axes on which a is worse than b beyond the noise band."""
    axes = []
    if a.violation_minutes > b.violation_minutes + band(a.violation_minutes, b.violation_minutes):
        axes.append("minutes")
    if a.ocpu_hours > b.ocpu_hours * (1 + BAND_COST):
        axes.append("cost")
    return axes


def settings_table(scores: dict[tuple[str, str], Score], settings: list[str]) -> str:
    """Several settings of the function side by side on the goals, and the best of them chosen case by case: an
    upper bound on what any one of these settings can reach (it picks the future's winner in every case)."""
    lines = [
        "| setting | dominates both baselines (feasible cases) | × oracle OCPU-h median / worst "
        "| violation min, all cases | OCPU-h, all cases | reversals, all cases | families beaten in median |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    won, counted = set(), []
    for name in settings:
        verdicts = case_verdicts(scores, name)
        g = goals(verdicts, family_verdicts(scores, verdicts, name), name)
        counted = [v.case for v in verdicts if v.counted]
        won |= {v.case for v in verdicts if v.counted and v.win}
        minutes = sum(scores[(name, v.case)].violation_minutes for v in verdicts)
        hours = sum(scores[(name, v.case)].ocpu_hours for v in verdicts)
        flips = sum(scores[(name, v.case)].reversals for v in verdicts)
        beaten = ", ".join(f"{f} ({r})" for f, r in g["beaten_families"]) or "none"
        lines.append(
            f"| `{name}` | {g['wins']}/{g['counted']} ({100 * g['wins'] / max(1, g['counted']):.0f} %) | "
            f"{g['vs_oracle_median']:.2f} / {g['vs_oracle_worst']:.2f} | {minutes} | {hours:.0f} | {flips} | {beaten} |"
        )
    share = 100 * len(won) / max(1, len(counted))
    lines.append(f"| the best of these, chosen per case | {len(won)}/{len(counted)} ({share:.0f} %) | | | | | |")
    return "\n".join(lines)


def _case_order(scores):
    families = list(dict.fromkeys(s.family for s in scores.values()))
    seeds = {s.case: (families.index(s.family), s.seed, s.case) for s in scores.values()}
    return lambda case: seeds[case]


def family_rows(scores: dict[tuple[str, str], Score], policies: list[str], ours: str = "ours") -> list[dict]:
    """Per family and policy: median and range over seeds; and whether a policy beats ours on both axes in median."""
    rows = []
    for family in dict.fromkeys(s.family for s in scores.values()):
        for policy in policies:
            mine = [s for (p, _), s in scores.items() if p == policy and s.family == family]
            if not mine:
                continue
            oracle = {s.case: s.ocpu_hours for (p, _), s in scores.items() if p == "oracle" and s.family == family}
            ratio = [s.ocpu_hours / oracle[s.case] for s in mine if oracle.get(s.case)]
            rows.append(
                {
                    "family": family,
                    "policy": policy,
                    "seeds": len(mine),
                    "violations": _spread([s.violation_minutes for s in mine]),
                    "unserved": _spread([s.unserved for s in mine]),
                    "peak": max(s.peak for s in mine),
                    "ocpu_hours": _spread([s.ocpu_hours for s in mine]),
                    "vs_oracle": _spread(ratio) if ratio else None,
                    "actions": _spread([s.actions for s in mine]),
                }
            )
    return rows


def reconcile_table(scores: dict[tuple[str, str], Score], with_tick: str, without: str) -> str:
    """The same function with and without its periodic reconcile, per family: median [min-max] over seeds."""
    lines = [
        "| family | violation min: tick / no tick | violation min after the first day: tick / no tick "
        "| × oracle OCPU-h: tick / no tick | time to size (min): tick / no tick |",
        "|---|---|---|---|---|",
    ]
    oracle = {case: s.ocpu_hours for (p, case), s in scores.items() if p == "oracle"}

    def cell(policy: str, family: str, measure) -> str:
        values = [measure(s) for (p, _), s in scores.items() if p == policy and s.family == family]
        values = [v for v in values if v is not None]
        if not values:
            return "–"
        mid, low, high = _spread(values)
        digits = 2 if isinstance(values[0], float) and high < 10 else 0
        return f"{mid:.{digits}f} [{low:.{digits}f}–{high:.{digits}f}]"

    measures = (
        lambda s: s.violation_minutes,
        lambda s: s.late_violation_minutes,
        lambda s: s.ocpu_hours / oracle[s.case] if oracle.get(s.case) else None,
        lambda s: s.time_to_size,
    )
    for family in dict.fromkeys(s.family for (p, _), s in scores.items() if p == with_tick):
        cells = [f"{cell(with_tick, family, m)} / {cell(without, family, m)}" for m in measures]
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _spread(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def family_verdicts(scores, verdicts: list[CaseVerdict], ours: str = "ours") -> list[dict]:
    """Per family: median and worst over seeds of ours against each rival; whether a rival beats ours on both axes
    in median (the goal: never beyond the noise band)."""
    out = []
    rivals = sorted({p for p, _ in scores if p not in (ours, "oracle") and not p.startswith("ours")})
    for family in dict.fromkeys(v.family for v in verdicts):
        mine = [v for v in verdicts if v.family == family]
        row = {"family": family, "seeds": len(mine)}
        for rival in rivals:
            pairs = [(scores[(ours, v.case)], scores[(rival, v.case)]) for v in mine if (rival, v.case) in scores]
            if not pairs:
                continue
            median_ours = _median_score(ours, [a for a, _ in pairs])
            median_rival = _median_score(rival, [b for _, b in pairs])
            worst = max(pairs, key=lambda ab: _shortfall(*ab))
            row[rival] = {
                "no_worse": sum(no_worse(a, b) for a, b in pairs),
                "beaten_median": better_on_both(median_rival, median_ours),
                "beaten_seeds": sum(better_on_both(b, a) for a, b in pairs),
                "dv_median": statistics.median(a.violation_minutes - b.violation_minutes for a, b in pairs),
                "dc_median": statistics.median(a.ocpu_hours / b.ocpu_hours - 1 for a, b in pairs if b.ocpu_hours),
                "worst": (
                    worst[0].case,
                    worst[0].violation_minutes - worst[1].violation_minutes,
                    worst[0].ocpu_hours / worst[1].ocpu_hours - 1,
                ),
            }
        ratios = [v.vs_oracle for v in mine]
        row["vs_oracle"] = (statistics.median(ratios), max(ratios))
        counted = [v for v in mine if v.counted]
        row["wins"] = (sum(v.win for v in counted), len(counted))
        out.append(row)
    return out


def _median_score(policy: str, items: list[Score]) -> Score:
    first = items[0]
    return Score(
        policy, "median", first.family, -1, first.start,
        statistics.median(s.violation_minutes for s in items), statistics.median(s.unserved for s in items),
        max(s.peak for s in items), statistics.median(s.ocpu_hours for s in items), 0, 0, None,
    )  # fmt: skip


def _shortfall(a: Score, b: Score) -> float:
    """How far ours (a) is behind b: violation minutes over b's plus 10 minutes per per cent of extra cost."""
    return max(0, a.violation_minutes - b.violation_minutes) + 10 * max(0.0, 100 * (a.ocpu_hours / b.ocpu_hours - 1))


def goals(verdicts: list[CaseVerdict], fam: list[dict], ours: str = "ours") -> dict:
    counted = [v for v in verdicts if v.counted]
    ratios = [v.vs_oracle for v in verdicts]
    beaten = [
        (row["family"], rival)
        for row in fam
        for rival, cell in row.items()
        if isinstance(cell, dict) and cell["beaten_median"]
    ]
    return {
        "cases": len(verdicts),
        "counted": len(counted),
        "wins": sum(v.win for v in counted),
        "wins_all": sum(v.win for v in verdicts),
        "misses": [v for v in counted if not v.win],
        "beaten_families": beaten,
        "beaten_cases": [v for v in verdicts if v.beaten_by],
        "vs_oracle_median": statistics.median(ratios),
        "vs_oracle_worst": max(ratios),
        "worst_case": max(verdicts, key=lambda v: v.vs_oracle).case,
    }


# -- markdown --


def _fmt_spread(spread, digits: int = 0) -> str:
    median, low, high = spread
    f = f"{{:.{digits}f}}"
    return f"{f.format(median)} [{f.format(low)}–{f.format(high)}]"


def family_table(rows: list[dict]) -> str:
    lines = [
        "| family | policy | violation min | unserved OCPU-min | peak % | OCPU-h | × oracle | actions |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ratio = _fmt_spread(r["vs_oracle"], 2) if r["vs_oracle"] else "–"
        lines.append(
            f"| {r['family']} | {r['policy']} | {_fmt_spread(r['violations'])} | {_fmt_spread(r['unserved'], 1)} | "
            f"{r['peak']:.0f} | {_fmt_spread(r['ocpu_hours'])} | {ratio} | {_fmt_spread(r['actions'])} |"
        )
    return "\n".join(lines)


def verdict_table(fam: list[dict], rivals: list[str]) -> str:
    head = " | ".join(f"vs {r}" for r in rivals)
    lines = [
        f"| family | seeds | {head} | ours × oracle OCPU-h (median / worst) "
        "| dominates both baselines (feasible cases) |",
        "|---|---:|" + "---|" * len(rivals) + "---:|---:|",
    ]
    for row in fam:
        cells = []
        for rival in rivals:
            cell = row.get(rival)
            if not cell:
                cells.append("–")
                continue
            flag = " **beaten in median**" if cell["beaten_median"] else ""
            case, dv, dc = cell["worst"]
            cells.append(
                f"no worse {cell['no_worse']}/{row['seeds']}; median Δ {cell['dv_median']:+.0f} min, "
                f"{100 * cell['dc_median']:+.0f} %; worst {case.split(' ')[0]}: {dv:+d} min, {100 * dc:+.0f} %{flag}"
            )
        wins, counted = row["wins"]
        median, worst = row["vs_oracle"]
        lines.append(
            f"| {row['family']} | {row['seeds']} | " + " | ".join(cells) + f" | {median:.2f} / {worst:.2f} | "
            f"{wins}/{counted} |"
        )
    return "\n".join(lines)


def case_table(scores: dict[tuple[str, str], Score], policies: list[str], params: dict[str, str]) -> str:
    head = " | ".join(policies)
    lines = [
        f"| case | drawn parameters | {head} |",
        "|---|---|" + "---:|" * len(policies),
    ]
    for case in sorted({c for _, c in scores}, key=_case_order(scores)):
        cells = []
        for p in policies:
            s = scores.get((p, case))
            cells.append("–" if s is None else f"{s.violation_minutes} / {s.ocpu_hours:.0f} / {s.unserved:.0f}")
        lines.append(f"| {case} | {params.get(case, '')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def full_table(scores: dict[tuple[str, str], Score], policies: list[str]) -> str:
    lines = [
        "| case | policy | violation min | unserved OCPU-min | peak % | OCPU-h | × oracle | actions | reversals "
        "| time to capacity (min) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case in sorted({c for _, c in scores}, key=_case_order(scores)):
        oracle = scores.get(("oracle", case))
        for p in policies:
            s = scores.get((p, case))
            if s is None:
                continue
            ratio = f"{s.ocpu_hours / oracle.ocpu_hours:.2f}" if oracle and oracle.ocpu_hours else "–"
            ttc = "–" if s.time_to_capacity is None else f"{s.time_to_capacity:.1f}"
            lines.append(
                f"| {case} | {p} | {s.violation_minutes} | {s.unserved:.1f} | {s.peak:.0f} | {s.ocpu_hours:.1f} | "
                f"{ratio} | {s.actions} | {s.reversals} | {ttc} |"
            )
    return "\n".join(lines)


# -- plots --


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def pareto(scores: dict[tuple[str, str], Score], policies: list[str], path: Path, families=None) -> None:
    """Violation minutes against OCPU-hours (÷ the oracle's on the same case), every policy, every seed; one panel
    per family."""
    plt = _pyplot()
    families = families or list(dict.fromkeys(s.family for s in scores.values()))
    cols = 4
    rows = -(-len(families) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    for ax, family in zip(axes.flat, families, strict=False):
        for policy in policies:
            points = []
            for (p, case), s in scores.items():
                oracle = scores.get(("oracle", case))
                if p == policy and s.family == family and oracle and oracle.ocpu_hours:
                    points.append((s.ocpu_hours / oracle.ocpu_hours, s.violation_minutes, s.seed))
            if not points:
                continue
            xs, ys, seeds = zip(*points, strict=True)
            marker = "*" if policy == "ours" else "o"
            ax.scatter(xs, ys, s=40 if policy == "ours" else 18, marker=marker, color=color(policy), label=policy,
                       alpha=0.85, zorder=3 if policy == "ours" else 2)  # fmt: skip
            for x, y, seed in points:
                if family != "examples":
                    ax.annotate(str(seed), (x, y), fontsize=5, alpha=0.6, xytext=(2, 2), textcoords="offset points")
        ax.set_yscale("symlog", linthresh=10)
        top = max((s.violation_minutes for s in scores.values() if s.family == family), default=0)
        ax.set_ylim(-1, max(20, 2 * top))
        ax.set_title(family, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(families) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower right", fontsize=8, ncol=2)
    fig.supxlabel("OCPU-hours ÷ oracle's on the same case (lower is cheaper)", fontsize=9)
    fig.supylabel("SLO-violation minutes (symlog; lower is better)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def timeline(name: str, runs: dict[str, Series], slo: float, path: Path) -> None:
    """Demand and serving capacity (OCPUs) per policy over time, scaling actions marked; memory below."""
    plt = _pyplot()
    series = next(iter(runs.values()))
    hours = [m / 60 for m in range(series.trace.minutes)]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 6.5), sharex=True, height_ratios=(3, 2))
    top.plot(hours, series.trace.cpu, color="black", linewidth=0.6, label="CPU demand (OCPUs busy)")
    top.plot(hours, series.trace.cpu / (slo / 100), color="grey", linewidth=0.4, linestyle=":",
             label=f"OCPUs needed at the {slo:g}% SLO")  # fmt: skip
    for policy, s in runs.items():
        shade = color(policy)
        top.step(hours, s.serving_ocpus, where="post", color=shade, linewidth=1.0, label=f"{policy} capacity")
        marks = [minute / 60 for minute, _, _ in s.actions]
        if policy != "oracle":
            top.plot(marks, [s.serving_ocpus[min(int(h * 60), len(hours) - 1)] for h in marks], "|", color=shade,
                     markersize=8)  # fmt: skip
        bottom.plot(hours, [min(m, 150) for m in s.mem], color=shade, linewidth=0.6, label=f"{policy} memory %")
    bottom.axhline(slo, color="red", linewidth=0.6, linestyle="--", label=f"SLO {slo:g}%")
    top.set_ylabel("OCPUs")
    bottom.set_ylabel("hottest instance memory %")
    bottom.set_xlabel("hours (| = scaling action)")
    top.set_title(f"{name}: {series.trace.description}", fontsize=9)
    top.legend(fontsize=7, ncol=4, loc="upper left")
    bottom.legend(fontsize=7, ncol=6, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
