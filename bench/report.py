"""Scores of one run per policy x trace, the markdown table, and a plot per trace."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.sim import Series, ocpus

POLICY_ORDER = (
    "2022",
    "native",
    "ours",
    "ours-cost",
    "ours-fixed-low",
    "ours-no-damping",
    "ours-proportional",
    "ours-high-80",
    "oracle",
)
PLOTTED = ("2022", "native", "ours", "ours-cost", "oracle")  # the ablations would crowd the plots
NATIVE_BLIND = {"memory"}  # traces the native rules cannot scale for (memory): compared with 2022 only


@dataclass(frozen=True)
class Score:
    policy: str
    trace: str
    violation_minutes: int
    ocpu_hours: float
    actions: int
    reversals: int
    time_to_capacity: float | None  # mean minutes from a load step until utilization is within the SLO


def score(policy: str, series: Series, slo: float) -> Score:
    over = [c > slo or m > slo for c, m in zip(series.cpu, series.mem, strict=True)]
    return Score(
        policy=policy,
        trace=series.trace.name,
        violation_minutes=sum(over),
        ocpu_hours=sum(series.billed_ocpus) / 60,
        actions=len(series.actions),
        reversals=reversals(series.actions),
        time_to_capacity=time_to_capacity(over, series.trace.steps),
    )


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


def _ratio(value: float, reference: float) -> str:
    if reference == 0:
        return "–" if value == 0 else "∞"
    return f"{value / reference:.2f}"


def verdicts(scores: dict[tuple[str, str], Score], traces: list[str]) -> list[dict]:
    """Per trace: does ours dominate the 2022 policy and the native rules (fewer violations, less cost)?"""
    out = []
    for trace in traces:
        ours, old = scores[("ours", trace)], scores[("2022", trace)]
        rivals = [old] if trace in NATIVE_BLIND else [old, scores[("native", trace)]]
        best_violations = min(r.violation_minutes for r in rivals)
        cheapest = min(r.ocpu_hours for r in rivals)
        oracle = scores[("oracle", trace)].ocpu_hours
        out.append(
            {
                "trace": trace,
                "violations_ok": ours.violation_minutes <= best_violations,
                "cost_ok": ours.ocpu_hours <= cheapest + 1e-9,
                "violation_excess": ours.violation_minutes - best_violations,
                "cost_excess": ours.ocpu_hours / cheapest - 1 if cheapest else 0.0,
                "vs_oracle": ours.ocpu_hours / oracle if oracle else float("inf"),
                "rivals": "2022" if trace in NATIVE_BLIND else "2022, native",
            }
        )
    return out


def markdown_table(scores: dict[tuple[str, str], Score], traces: list[str], policies: list[str]) -> str:
    lines = [
        "| trace | policy | SLO-violation min | OCPU-hours | × oracle | × 2022 OCPU-h | violations − 2022 "
        "| actions | reversals | time to capacity (min) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for trace in traces:
        oracle, old = scores[("oracle", trace)], scores[("2022", trace)]
        for policy in policies:
            s = scores[(policy, trace)]
            ttc = "–" if s.time_to_capacity is None else f"{s.time_to_capacity:.1f}"
            actions = "(n/m)" if policy == "oracle" else str(s.actions)
            reversal = "(n/m)" if policy == "oracle" else str(s.reversals)
            lines.append(
                f"| {trace} | {policy} | {s.violation_minutes} | {s.ocpu_hours:.1f} | "
                f"{_ratio(s.ocpu_hours, oracle.ocpu_hours)} | {_ratio(s.ocpu_hours, old.ocpu_hours)} | "
                f"{s.violation_minutes - old.violation_minutes:+d} | {actions} | {reversal} | {ttc} |"
            )
    return "\n".join(lines)


def verdict_table(rows: list[dict]) -> str:
    lines = [
        "| trace | compared with | violations ≤ best rival | OCPU-h ≤ cheapest rival | ours × oracle OCPU-h |",
        "|---|---|---|---|---:|",
    ]
    for r in rows:
        v = "yes" if r["violations_ok"] else f"**no**: +{r['violation_excess']} min"
        c = "yes" if r["cost_ok"] else f"**no**: +{100 * r['cost_excess']:.0f}%"
        lines.append(f"| {r['trace']} | {r['rivals']} | {v} | {c} | {r['vs_oracle']:.2f} |")
    return "\n".join(lines)


def plot(trace_name: str, runs: dict[str, Series], slo: float, path: Path) -> None:
    """Demand and serving capacity (OCPUs) per policy over time, scaling actions marked; memory below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = next(iter(runs.values()))
    hours = [m / 60 for m in range(series.trace.minutes)]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 6.5), sharex=True, height_ratios=(3, 2))
    top.plot(hours, series.trace.cpu, color="black", linewidth=0.6, label="CPU demand (OCPUs busy)")
    top.plot(
        hours,
        series.trace.cpu / (slo / 100),
        color="grey",
        linewidth=0.4,
        linestyle=":",
        label=f"OCPUs needed at the {slo:g}% SLO",
    )
    colors = {
        "2022": "tab:orange",
        "native": "tab:blue",
        "ours": "tab:green",
        "ours-cost": "tab:olive",
        "oracle": "tab:purple",
    }
    for policy, s in runs.items():
        color = colors.get(policy)
        top.step(hours, s.serving_ocpus, where="post", color=color, linewidth=1.0, label=f"{policy} capacity")
        marks = [minute / 60 for minute, _, _ in s.actions]
        if policy != "oracle":
            top.plot(
                marks,
                [s.serving_ocpus[min(int(h * 60), len(hours) - 1)] for h in marks],
                "|",
                color=color,
                markersize=8,
            )
        bottom.plot(hours, [min(m, 150) for m in s.mem], color=color, linewidth=0.6, label=f"{policy} memory %")
    bottom.axhline(slo, color="red", linewidth=0.6, linestyle="--", label=f"SLO {slo:g}%")
    top.set_ylabel("OCPUs")
    bottom.set_ylabel("memory utilization %")
    bottom.set_xlabel("hours (| = scaling action)")
    top.set_title(f"{trace_name}: {series.trace.description}", fontsize=9)
    top.legend(fontsize=7, ncol=4, loc="upper left")
    bottom.legend(fontsize=7, ncol=6, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
