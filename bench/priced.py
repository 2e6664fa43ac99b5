"""The priced yardstick: J_k = H + λ_k·V against the exact optimum, with paired bootstrap intervals.

H is OCPU-hours billed, V violation minutes (or, in the severity-weighted form, violation minutes weighted by
the hottest instance's utilization ÷ the SLO). λ_k = k·H0*/T: a violation minute costs k minutes of the run rate
of the cheapest schedule with the fewest attainable violation minutes. R_k = J_k / J_k*, where J_k* is the exact
minimum of J_k (bench/optimum.py). Each rival runs the setting frozen for that k by bench/tune.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bench.optimum import KS, NAME, violation_price

HERE = Path(__file__).resolve().parent
FROZEN = HERE / "frozen.json"
TIE = 1.02  # "within 2 % of the best rival" counts as a win
RIVALS = ("2022", "native", "hpa", "sagemaker")
BOOTSTRAP = 2000


def bounds_by_case(scores: dict) -> dict[str, dict]:
    return {case: s.bounds for (policy, case), s in scores.items() if policy == NAME and s.bounds}


def cost(score, bounds: dict, k: int, severity: bool = False) -> float:
    price = violation_price(k, bounds["ocpu_hours"], bounds["minutes"])
    return score.ocpu_hours + price * (score.severity if severity else score.violation_minutes)


def ratio(score, bounds: dict, k: int, severity: bool = False) -> float:
    exact = bounds["exact_severity" if severity else "exact"][str(k)]
    return cost(score, bounds, k, severity) / exact


def load_frozen(path: Path = FROZEN) -> dict[int, dict[str, str]]:
    """k -> {rival: policy name}: the setting bench/tune.py froze for each rival at each k."""
    if not path.exists():
        return {k: {r: r for r in RIVALS} for k in KS}
    data = json.loads(path.read_text())
    return {int(k): v for k, v in data["frozen"].items()}


def frozen_policies(frozen: dict[int, dict[str, str]]) -> list[str]:
    return sorted({name for per_k in frozen.values() for name in per_k.values()})


def interval(values: np.ndarray, statistic, rng: np.random.Generator, draws: np.ndarray | None = None):
    """(point, low, high): the statistic and its 95 % bootstrap interval over resampled cases. Pass the same
    `draws` (case indices) to every statistic that is compared, so the resampling is paired."""
    if draws is None:
        draws = rng.integers(0, len(values), (BOOTSTRAP, len(values)))
    samples = statistic(values[draws], axis=1)
    return float(statistic(values[None, :], axis=1)[0]), *map(float, np.percentile(samples, [2.5, 97.5]))


def _p90(values, axis):
    return np.quantile(values, 0.9, axis=axis)


def figures(scores: dict, frozen: dict, ours: str = "ours", severity: bool = False, cases=None) -> dict:
    """Per k: ours' win share against the best frozen rival and its R_k median and p90, each with an interval;
    every rival's R_k median; on the cases (names) given, default all with both an exact bound and ours."""
    bounds = bounds_by_case(scores)
    names = sorted(c for c in (cases or bounds) if c in bounds and (ours, c) in scores)
    rng = np.random.default_rng(2026)
    draws = rng.integers(0, len(names), (BOOTSTRAP, len(names))) if names else None
    out = {"cases": len(names)}
    for k in KS:
        picks = frozen.get(k, {})
        present = {r: p for r, p in picks.items() if all((p, c) in scores for c in names)}
        exact = np.array([bounds[c]["exact_severity" if severity else "exact"][str(k)] for c in names])
        ours_j = np.array([cost(scores[(ours, c)], bounds[c], k, severity) for c in names])
        rival_j = {
            r: np.array([cost(scores[(p, c)], bounds[c], k, severity) for c in names]) for r, p in present.items()
        }
        best = np.min(list(rival_j.values()), axis=0) if rival_j else np.full(len(names), np.inf)
        wins = (ours_j <= TIE * best).astype(float)
        ours_r = ours_j / exact
        row = {"rivals": present}
        if names:
            row["win"] = interval(wins, np.mean, rng, draws)
            row["median"] = interval(ours_r, np.median, rng, draws)
            row["p90"] = interval(ours_r, _p90, rng, draws)
            row["rival_median"] = {r: float(np.median(j / exact)) for r, j in rival_j.items()}
            row["rival_p90"] = {r: float(np.quantile(j / exact, 0.9)) for r, j in rival_j.items()}
        out[k] = row
    return out


def _ci(point_low_high, percent: bool = False) -> str:
    point, low, high = point_low_high
    if percent:
        return f"{100 * point:.0f} % [{100 * low:.0f}–{100 * high:.0f}]"
    return f"{point:.2f} [{low:.2f}–{high:.2f}]"


def headline_table(fig: dict, ours: str = "ours") -> str:
    rivals = sorted({r for k in KS for r in fig.get(k, {}).get("rivals", {})})
    lines = [
        f"| k | `{ours}` ≤ {TIE:g} × best rival (goal ≥ 90 %) | `{ours}` R_k median (goal ≤ 1.15) | "
        f"`{ours}` R_k p90 (goal ≤ 1.5) | " + " | ".join(f"{r} R_k median / p90" for r in rivals) + " |",
        "|---:|---:|---:|---:|" + "---:|" * len(rivals),
    ]
    for k in KS:
        row = fig.get(k, {})
        if "win" not in row:
            continue
        cells = [
            f"{row['rival_median'][r]:.2f} / {row['rival_p90'][r]:.2f}" if r in row["rival_median"] else "–"
            for r in rivals
        ]
        lines.append(
            f"| {k} | {_ci(row['win'], True)} | {_ci(row['median'])} | {_ci(row['p90'])} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


def frozen_table(frozen: dict) -> str:
    rivals = sorted({r for per_k in frozen.values() for r in per_k})
    lines = ["| k | " + " | ".join(rivals) + " |", "|---:|" + "---|" * len(rivals)]
    for k in KS:
        lines.append(f"| {k} | " + " | ".join(f"`{frozen.get(k, {}).get(r, '–')}`" for r in rivals) + " |")
    return "\n".join(lines)


def family_table(scores: dict, frozen: dict, k: int, ours: str = "ours") -> str:
    """Median R_k per family: ours and each rival at its frozen setting."""
    bounds = bounds_by_case(scores)
    picks = frozen.get(k, {})
    families: dict[str, list[str]] = {}
    for (policy, case), s in scores.items():
        if policy == NAME and case in bounds:
            families.setdefault(s.family, []).append(case)
    columns = [(ours, ours)] + sorted(picks.items())
    lines = [
        "| family | cases | " + " | ".join(f"`{name}`" for name, _ in columns) + " |",
        "|---|---:|" + "---:|" * len(columns),
    ]
    for family in sorted(families):
        cells = []
        for _, policy in columns:
            values = [ratio(scores[(policy, c)], bounds[c], k) for c in families[family] if (policy, c) in scores]
            cells.append(f"{np.median(values):.2f}" if values else "–")
        lines.append(f"| {family} | {len(families[family])} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def no_policy_below(scores: dict, tolerance: float = 1e-6) -> list[tuple[str, str, int]]:
    """(policy, case, k) where a policy's J_k is below the exact minimum: each one is a bug in the bound."""
    bounds = bounds_by_case(scores)
    below = []
    for (policy, case), s in scores.items():
        if case not in bounds:
            continue
        for k in KS:
            for severity in (False, True):
                if ratio(s, bounds[case], k, severity) < 1 - tolerance:
                    below.append((policy, case, k))
    return below


def pareto(scores: dict, policies: list[str], path: Path) -> None:
    """Per family: OCPU-hours ÷ the optimum's (H0*) against violation minutes above its (V0*), median over seeds."""
    from bench.report import _pyplot

    plt = _pyplot()
    bounds = bounds_by_case(scores)
    families = sorted({s.family for (p, c), s in scores.items() if p == NAME and c in bounds})
    if not families:
        return
    cols = min(4, len(families))
    rows = -(-len(families) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    for ax, family in zip(axes.flat, families, strict=False):
        cases = [c for (p, c), s in scores.items() if p == NAME and s.family == family and c in bounds]
        for policy in policies:
            xs = [scores[(policy, c)].ocpu_hours / bounds[c]["ocpu_hours"] for c in cases if (policy, c) in scores]
            ys = [
                scores[(policy, c)].violation_minutes - bounds[c]["violation_minutes"]
                for c in cases
                if (policy, c) in scores
            ]
            if xs:
                ax.scatter([np.median(xs)], [np.median(ys)], label=policy, s=30)
        ax.set_title(family, fontsize=9)
        ax.set_xlabel("OCPU-hours ÷ exact H0*", fontsize=8)
        ax.set_ylabel("violation min − V0*", fontsize=8)
        ax.set_yscale("symlog")
    for ax in list(axes.flat)[len(families) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
