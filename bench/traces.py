"""Load traces: demand per minute for one deployment, generated from fixed seeds.

A trace gives, for every minute, the CPU work (in OCPUs busy) and the memory each instance holds
whatever its load (`base_gb`: the model and its caches). Each instance also holds
`WORK_GB_PER_OCPU` for every OCPU of work it serves. The parameters are documented beside each
generator and in README.md (section Benchmark); the same name, days and seed always give the same trace.
The rough families (ROUGH_FAMILIES, at the end) build demand from requests; one is fitted to a real public trace,
NASA-HTTP 1995 (bench/data/README.md: its source, licence and fit).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MINUTES_PER_DAY = 24 * 60
WORK_GB_PER_OCPU = 2.0  # memory per OCPU of work in flight, spread over the instances


@dataclass(frozen=True)
class Trace:
    name: str
    description: str
    cpu: np.ndarray  # OCPUs of work demanded in each minute
    base_gb: np.ndarray  # memory every instance holds in each minute, load or not
    steps: tuple[int, ...] = field(default=())  # minutes where load steps up (for time-to-capacity)
    family: str = ""  # the family it was drawn from ("" for the named examples)
    params: dict = field(default_factory=dict, compare=False)  # the parameters drawn for it

    @property
    def minutes(self) -> int:
        return len(self.cpu)


def _day_phase(minutes: int) -> np.ndarray:
    return (np.arange(minutes) % MINUTES_PER_DAY) / MINUTES_PER_DAY


def _noise(rng: np.random.Generator, minutes: int, sigma: float, rho: float = 0.0) -> np.ndarray:
    """Multiplicative noise: lognormal, optionally AR(1)-correlated from minute to minute."""
    shocks = rng.normal(0.0, sigma, minutes)
    if rho:
        shocks = _ar1(shocks, rho)
    return np.exp(shocks - shocks.var() / 2)


def _ar1(shocks: np.ndarray, rho: float) -> np.ndarray:
    out = np.empty_like(shocks)
    scale = np.sqrt(1 - rho * rho)
    level = 0.0
    for index, shock in enumerate(shocks):
        level = rho * level + scale * shock
        out[index] = level
    return out


def _base(minutes: int, gb: float = 4.0) -> np.ndarray:
    return np.full(minutes, gb)


def steady(minutes: int, rng: np.random.Generator) -> Trace:
    cpu = 1.2 * _noise(rng, minutes, 0.03)
    return Trace("steady", "1.2 OCPU of work, 3% noise", cpu, _base(minutes))


def diurnal(minutes: int, rng: np.random.Generator) -> Trace:
    days = np.arange(minutes) // MINUTES_PER_DAY
    weekday = np.where(days % 7 < 5, 1.0, 0.6)  # the trace starts on a Monday
    wave = (0.5 - 0.5 * np.cos(2 * np.pi * (_day_phase(minutes) - 4 / 24))) ** 1.5  # trough 04:00, peak 16:00
    cpu = (0.3 + 2.4 * weekday * wave) * _noise(rng, minutes, 0.05)
    return Trace("diurnal", "0.3 to 2.7 OCPU, trough 04:00, peak 16:00, weekends at 60%, 5% noise", cpu, _base(minutes))


def ramp(minutes: int, rng: np.random.Generator) -> Trace:
    fraction = np.arange(minutes) / max(minutes - 1, 1)
    up = np.clip((fraction - 1 / 7) / (3 / 7), 0, 1)  # up over days 1-4, down over days 5-7
    down = np.clip((fraction - 5 / 7) / (2 / 7), 0, 1)
    cpu = (0.4 + 2.8 * (up - down)) * _noise(rng, minutes, 0.03)
    text = "0.4 OCPU, up to 3.2 over days 1-4, held, back to 0.4 over days 5-7, 3% noise"
    return Trace("ramp", text, cpu, _base(minutes))


def spike(minutes: int, rng: np.random.Generator) -> Trace:
    cpu = np.full(minutes, 0.6)
    steps = []
    for day in range(max(1, minutes // MINUTES_PER_DAY)):
        start = day * MINUTES_PER_DAY + int(rng.integers(8 * 60, 18 * 60))
        if start + 120 <= minutes:
            cpu[start : start + 120] = 2.6  # a batch client switches on for two hours
            steps.append(start)
    cpu = cpu * _noise(rng, minutes, 0.03)
    return Trace(
        "spike",
        "0.6 OCPU; once a day a 2 h step to 2.6 OCPU at a random hour 08-18, 3% noise",
        cpu,
        _base(minutes),
        tuple(steps),
    )


def flash_crowd(minutes: int, rng: np.random.Generator) -> Trace:
    t = np.arange(minutes)
    cpu = np.full(minutes, 0.5)
    steps = []
    for day in range(0, max(1, minutes // MINUTES_PER_DAY), 2):
        start = day * MINUTES_PER_DAY + int(rng.integers(9 * 60, 20 * 60))
        if start < minutes:
            after = t >= start
            cpu = cpu + after * 2.9 * np.exp(-(t - start).clip(0) / 90.0)  # x7 at once, decays with tau 90 min
            steps.append(start)
    cpu = cpu * _noise(rng, minutes, 0.03)
    return Trace(
        "flash",
        "0.5 OCPU; every other day a jump to 3.4 OCPU decaying with tau 90 min, 3% noise",
        cpu,
        _base(minutes),
        tuple(steps),
    )


def noisy(minutes: int, rng: np.random.Generator) -> Trace:
    cpu = 1.2 * _noise(rng, minutes, 0.35, rho=0.8)
    return Trace("noisy", "1.2 OCPU mean, lognormal noise sigma 0.35, AR(1) rho 0.8 per minute", cpu, _base(minutes))


def memory_growth(minutes: int, rng: np.random.Generator) -> Trace:
    fraction = np.arange(minutes) / max(minutes - 1, 1)
    cpu = (0.6 + 0.3 * np.sin(2 * np.pi * _day_phase(minutes))) * _noise(rng, minutes, 0.03)
    base = 4.0 + 40.0 * fraction  # a cache that grows all week
    return Trace("memory", "0.3-0.9 OCPU daily wave; per-instance memory grows 4 to 44 GB over the trace", cpu, base)


GENERATORS = {
    "steady": steady,
    "diurnal": diurnal,
    "ramp": ramp,
    "spike": spike,
    "flash": flash_crowd,
    "noisy": noisy,
    "memory": memory_growth,
}
SEEDS = {name: 1000 + index for index, name in enumerate(GENERATORS)}


def make(name: str, days: float = 7.0, seed: int | None = None) -> Trace:
    """The named trace over `days` (ramp and memory stretch over the whole length)."""
    minutes = int(days * MINUTES_PER_DAY)
    rng = np.random.default_rng(SEEDS[name] if seed is None else seed)
    return GENERATORS[name](minutes, rng)


# -- Families: each draws its parameters from the seed, so a policy tuned to one draw meets others. --
# Demand stays within what every policy can serve at the SLO with the 1-4 instance limit on the bottom
# rung (PEAK_OCPUS: 4 x 1 OCPU at 90 % with the default instance skew); memory families grow on top.

PEAK_OCPUS = 3.0


def _cap(cpu: np.ndarray, floor: float = 0.05) -> np.ndarray:
    return np.clip(cpu, floor, PEAK_OCPUS)


def _wave(minutes: int, period: float, phase: float = 0.0) -> np.ndarray:
    """0..1 raised cosine with its peak at `phase` (minutes), period in minutes."""
    t = np.arange(minutes)
    return 0.5 + 0.5 * np.cos(2 * np.pi * (t - phase) / period)


def _round(params: dict) -> dict:
    return {k: (round(float(v), 3) if isinstance(v, float | np.floating) else v) for k, v in params.items()}


def fam_diurnal(minutes, rng):
    p = dict(
        low=rng.uniform(0.2, 0.6),
        high=rng.uniform(1.8, PEAK_OCPUS),
        peak_hour=rng.uniform(11, 19),
        sharpness=rng.uniform(1.0, 2.5),
        weekend=rng.uniform(0.4, 1.0),
        noise=rng.uniform(0.03, 0.08),
        start_day=int(rng.integers(0, 7)),
        lunch_dip=rng.uniform(0.0, 0.35),  # share of the wave lost around lunch (12:00-13:30), 0 = none
        lunch_hour=rng.uniform(12.0, 13.5),
    )
    days = (np.arange(minutes) // MINUTES_PER_DAY + p["start_day"]) % 7
    weekday = np.where(days < 5, 1.0, p["weekend"])
    wave = _wave(minutes, MINUTES_PER_DAY, 60 * p["peak_hour"]) ** p["sharpness"]
    hour = (np.arange(minutes) % MINUTES_PER_DAY) / 60
    wave = wave * (1 - p["lunch_dip"] * np.exp(-0.5 * ((hour - p["lunch_hour"]) / 0.5) ** 2))  # ~1 h wide
    cpu = (p["low"] + (p["high"] - p["low"]) * weekday * wave) * _noise(rng, minutes, p["noise"])
    return cpu, _base(minutes), p


def fam_weekly(minutes, rng):
    """A week with a shape: each weekday its own level, weekends low, a mild daily wave."""
    levels = rng.uniform(1.0, PEAK_OCPUS, 5)
    p = dict(
        weekday_levels=[round(float(x), 2) for x in levels],
        weekend=rng.uniform(0.2, 0.6),
        daily_depth=rng.uniform(0.2, 0.6),
        noise=rng.uniform(0.03, 0.08),
        start_day=int(rng.integers(0, 7)),
    )
    day = (np.arange(minutes) // MINUTES_PER_DAY + p["start_day"]) % 7
    level = np.where(day < 5, levels[np.minimum(day, 4)], p["weekend"])
    wave = 1 - p["daily_depth"] * _wave(minutes, MINUTES_PER_DAY, 60 * 3.0)  # trough at 03:00
    cpu = level * wave * _noise(rng, minutes, p["noise"])
    return cpu, _base(minutes), p


def fam_business(minutes, rng):
    """Office hours: low outside, a plateau inside with ramps at the edges, weekdays only."""
    p = dict(
        low=rng.uniform(0.15, 0.5),
        high=rng.uniform(1.5, PEAK_OCPUS),
        open_hour=rng.uniform(7, 10),
        close_hour=rng.uniform(16, 19),
        edge_minutes=rng.uniform(10, 60),
        saturday=bool(rng.random() < 0.3),
        noise=rng.uniform(0.03, 0.1),
        start_day=int(rng.integers(0, 7)),
    )
    t = np.arange(minutes)
    hour = (t % MINUTES_PER_DAY) / 60
    day = (t // MINUTES_PER_DAY + p["start_day"]) % 7
    edge = p["edge_minutes"] / 60
    up = np.clip((hour - p["open_hour"]) / edge, 0, 1)
    down = np.clip((p["close_hour"] - hour) / edge, 0, 1)
    working = (day < 5) | ((day == 5) & p["saturday"])
    cpu = (p["low"] + (p["high"] - p["low"]) * np.minimum(up, down) * working) * _noise(rng, minutes, p["noise"])
    return cpu, _base(minutes), p


def fam_sawtooth(minutes, rng):
    """A regular cycle of a few hours: a slow rise, then a fast fall (batch queues, cron fan-out)."""
    p = dict(
        period_hours=rng.uniform(2, 8),
        rise_share=rng.uniform(0.5, 0.95),
        low=rng.uniform(0.3, 0.8),
        high=rng.uniform(1.8, PEAK_OCPUS),
        noise=rng.uniform(0.02, 0.06),
    )
    period = 60 * p["period_hours"]
    phase = (np.arange(minutes) + rng.uniform(0, period)) % period / period
    rise = p["rise_share"]
    shape = np.where(phase < rise, phase / rise, (1 - phase) / (1 - rise))
    cpu = (p["low"] + (p["high"] - p["low"]) * shape) * _noise(rng, minutes, p["noise"])
    return cpu, _base(minutes), p


def fam_bursts(minutes, rng):
    """Poisson bursts on a base: arrivals at a drawn rate, exponential lengths, drawn heights."""
    p = dict(
        base=rng.uniform(0.3, 0.8),
        per_day=rng.uniform(2, 10),
        mean_minutes=rng.uniform(15, 90),
        height=rng.uniform(1.0, 2.4),
        noise=rng.uniform(0.03, 0.08),
    )
    cpu = np.full(minutes, p["base"])
    t, starts = 0.0, []
    while True:
        t += rng.exponential(MINUTES_PER_DAY / p["per_day"])
        if t >= minutes:
            break
        start, length = int(t), max(5, int(rng.exponential(p["mean_minutes"])))
        cpu[start : start + length] += p["height"] * rng.uniform(0.6, 1.0)
        starts.append(start)
    p["bursts"] = len(starts)
    return cpu * _noise(rng, minutes, p["noise"]), _base(minutes), p, tuple(starts)


def fam_steps(minutes, rng):
    """Piecewise-constant load: levels change up or down after exponential holds of hours."""
    p = dict(mean_hold_hours=rng.uniform(2, 10), low=0.3, high=PEAK_OCPUS, noise=rng.uniform(0.02, 0.06))
    cpu, t, steps = np.empty(minutes), 0, []
    level = rng.uniform(p["low"], p["high"])
    while t < minutes:
        hold = max(20, int(rng.exponential(60 * p["mean_hold_hours"])))
        cpu[t : t + hold] = level
        new = rng.uniform(p["low"], p["high"])
        if t + hold < minutes and new > 1.5 * level:
            steps.append(t + hold)
        t, level = t + hold, new
    p["changes"] = int(minutes / (60 * p["mean_hold_hours"]))
    return cpu * _noise(rng, minutes, p["noise"]), _base(minutes), p, tuple(steps)


def fam_ramps(minutes, rng):
    """Piecewise-linear load between random levels, each ramp 4 to 36 hours long."""
    p = dict(min_hours=4, max_hours=36, noise=rng.uniform(0.02, 0.06))
    knots_t, knots_v, t = [0], [rng.uniform(0.3, PEAK_OCPUS)], 0
    while t < minutes:
        t += int(60 * rng.uniform(p["min_hours"], p["max_hours"]))
        knots_t.append(t)
        knots_v.append(rng.uniform(0.3, PEAK_OCPUS))
    p["ramps"] = len(knots_t) - 1
    cpu = np.interp(np.arange(minutes), knots_t, knots_v)
    return cpu * _noise(rng, minutes, p["noise"]), _base(minutes), p


def _ar_family(minutes, rng, rhos):
    p = dict(mean=rng.uniform(0.8, 1.6), rho=float(rng.choice(rhos)), sigma=rng.uniform(0.2, 0.45))
    return p["mean"] * _noise(rng, minutes, p["sigma"], rho=p["rho"]), _base(minutes), p


def fam_noise_fast(minutes, rng):
    """Lognormal AR(1) noise that decorrelates within minutes (rho 0.5-0.9 per minute)."""
    return _ar_family(minutes, rng, (0.5, 0.8, 0.9))


def fam_noise_slow(minutes, rng):
    """Lognormal AR(1) noise that wanders for hours (rho 0.98-0.999 per minute)."""
    return _ar_family(minutes, rng, (0.98, 0.995, 0.999))


def fam_flash(minutes, rng):
    """Flash crowds: a jump to several times the base, decaying exponentially; 1-4 in the run."""
    p = dict(base=rng.uniform(0.3, 0.6), count=int(rng.integers(1, 5)), tau=rng.uniform(20, 180))
    t = np.arange(minutes)
    cpu, starts = np.full(minutes, p["base"]), []
    for start in sorted(rng.integers(60, minutes - 60, p["count"])):
        jump = rng.uniform(1.5, PEAK_OCPUS - p["base"])
        cpu = cpu + (t >= start) * jump * np.exp(-(t - start).clip(0) / p["tau"])
        starts.append(int(start))
    return cpu * _noise(rng, minutes, 0.03), _base(minutes), p, tuple(starts)


def fam_memory_growth(minutes, rng):
    """A cache that grows: per-instance memory from 4 GB up by a drawn amount, linearly or in steps."""
    p = dict(grow_gb=rng.uniform(15, 55), stepped=bool(rng.random() < 0.5), cpu=rng.uniform(0.3, 0.9))
    fraction = np.arange(minutes) / max(minutes - 1, 1)
    if p["stepped"]:
        fraction = np.floor(fraction * 6) / 6
    cpu = p["cpu"] * (0.7 + 0.3 * _wave(minutes, MINUTES_PER_DAY, 60 * 15)) * _noise(rng, minutes, 0.03)
    return cpu, 4.0 + p["grow_gb"] * fraction, p


def fam_memory_leak(minutes, rng):
    """A leak: per-instance memory grows with the process's age and drops back at each restart."""
    p = dict(
        leak_gb_per_hour=rng.uniform(0.5, 3.0),
        restart_hours=rng.uniform(8, 48),
        cpu=rng.uniform(0.3, 0.9),
    )
    p["restart_hours"] = min(p["restart_hours"], 45 / p["leak_gb_per_hour"])  # peaks stay below 50 GB
    age = (np.arange(minutes) + rng.uniform(0, 60 * p["restart_hours"])) % (60 * p["restart_hours"])
    cpu = p["cpu"] * _noise(rng, minutes, 0.04)
    return cpu, 4.0 + p["leak_gb_per_hour"] * age / 60, p


def fam_steady(minutes, rng):
    """Nothing to scale: a level anywhere in range with a few per cent of noise."""
    p = dict(level=rng.uniform(0.2, PEAK_OCPUS * 0.9), noise=rng.uniform(0.02, 0.05))
    return p["level"] * _noise(rng, minutes, p["noise"]), _base(minutes), p


def fam_growth(minutes, rng):
    """Adoption: the level grows several-fold over the run under a daily wave."""
    p = dict(start=rng.uniform(0.2, 0.5), factor=rng.uniform(2, 6), depth=rng.uniform(0.3, 0.7), noise=0.05)
    trend = p["start"] * p["factor"] ** (np.arange(minutes) / max(minutes - 1, 1))
    cpu = trend * (1 - p["depth"] * _wave(minutes, MINUTES_PER_DAY, 60 * 4.0)) * _noise(rng, minutes, p["noise"])
    return cpu, _base(minutes), p


def fam_mixed(minutes, rng):
    """A diurnal wave with slow noise and occasional bursts on top."""
    cpu, base, p = fam_diurnal(minutes, rng)
    cpu = cpu * _noise(rng, minutes, 0.15, rho=0.99)
    bursts, _, q, starts = fam_bursts(minutes, rng)
    p = {**p, "burst_per_day": q["per_day"], "burst_height": q["height"]}
    return cpu + bursts - q["base"], base, p, starts


FAMILIES = {
    "diurnal": fam_diurnal,
    "weekly": fam_weekly,
    "business": fam_business,
    "sawtooth": fam_sawtooth,
    "bursts": fam_bursts,
    "steps": fam_steps,
    "ramps": fam_ramps,
    "noise-fast": fam_noise_fast,
    "noise-slow": fam_noise_slow,
    "flash": fam_flash,
    "mem-growth": fam_memory_growth,
    "mem-leak": fam_memory_leak,
    "steady": fam_steady,
    "growth": fam_growth,
    "mixed": fam_mixed,
}
FAMILY_SEED_BASE = 20_000  # family k, seed s -> RNG seed FAMILY_SEED_BASE + 100 * k + s


def limits(name: str) -> tuple[float, float]:
    """The least and the most OCPUs a family's minute demands: (0.05, PEAK_OCPUS), or (0, ROUGH_PEAK_OCPUS) for the
    rough families (ROUGH_FAMILIES), whose load can stop and can peak beyond the bottom rung."""
    return (0.0, ROUGH_PEAK_OCPUS) if name in ROUGH_FAMILIES else (0.05, PEAK_OCPUS)


def family(name: str, seed: int, days: float = 7.0) -> Trace:
    """One draw of a family: the same (name, seed, days) always gives the same trace and parameters."""
    minutes = int(days * MINUTES_PER_DAY)
    index = list(FAMILIES).index(name)
    rng = np.random.default_rng(FAMILY_SEED_BASE + 100 * index + seed)
    out = FAMILIES[name](minutes, rng)
    cpu, base, params = out[:3]
    steps = out[3] if len(out) > 3 else ()
    doc = (FAMILIES[name].__doc__ or "").strip().split("\n")[0]
    cpu = np.clip(cpu, *limits(name)) if name in ROUGH_FAMILIES else _cap(cpu)
    return Trace(f"{name}#{seed}", doc, cpu, base, tuple(steps), family=name, params=_round(params))


# -- Rough families: load as rough as production (issue 21, item 6). --
# The families above are smooth shapes with a few per cent of multiplicative noise, kept under PEAK_OCPUS. These
# are built from requests: Poisson arrivals at a rate of tens to hundreds a minute, each costing a drawn amount of
# CPU, so that a minute's demand carries count noise (OCPUs = CPU-seconds of the minute's requests / 60). They may
# fall to zero (an outage) and peak above what the bottom rung's four instances serve (up to ROUGH_PEAK_OCPUS: the
# top rungs still serve them), so a policy meets what production sends: noise it must not chase, heavy-tailed
# bursts, holidays, outages and the herd that returns after one.

ROUGH_PEAK_OCPUS = 16.0  # 2 x 8 OCPUs at 100 %; 4 x 8 OCPUs serve it within the SLO
DATA = Path(__file__).resolve().parent / "data"


def _requests(rng: np.random.Generator, rate: np.ndarray, cost_median: float, cost_sigma: float) -> np.ndarray:
    """OCPUs demanded per minute by Poisson arrivals at `rate` requests a minute, each request costing a lognormal
    CPU time (seconds of one OCPU: median `cost_median`, log-sd `cost_sigma`)."""
    counts = rng.poisson(np.maximum(rate, 0.0))
    costs = rng.lognormal(np.log(cost_median), cost_sigma, int(counts.sum()))
    seconds = np.bincount(np.repeat(np.arange(len(counts)), counts), weights=costs, minlength=len(counts))
    return seconds / 60.0


def _mean_cost(p: dict) -> float:
    return p["cost_median_s"] * np.exp(p["cost_sigma"] ** 2 / 2)


def _cost_for(rng: np.random.Generator, p: dict, ocpus: float, rpm: float, sigma: tuple = (0.3, 0.8)) -> None:
    """Draw the per-request cost's spread and set its median so that `rpm` requests a minute demand `ocpus`."""
    p["cost_sigma"] = rng.uniform(*sigma)
    p["cost_median_s"] = ocpus * 60.0 / (rpm * np.exp(p["cost_sigma"] ** 2 / 2))


def count_noise_moments(params: dict, minutes: int) -> tuple[np.ndarray, np.ndarray]:
    """The `poisson` family's expected demand and its variance per minute (OCPUs, OCPUs^2): a compound Poisson sum
    has mean rate * E[cost] and variance rate * E[cost^2]."""
    rate = poisson_rate(minutes, params)
    m, s = params["cost_median_s"], params["cost_sigma"]
    return rate * m * np.exp(s * s / 2) / 60, rate * m * m * np.exp(2 * s * s) / 3600


def poisson_rate(minutes: int, p: dict) -> np.ndarray:
    """Requests a minute of the `poisson` family: a smooth daily wave from the trough to the peak rate."""
    wave = _wave(minutes, MINUTES_PER_DAY, 60 * p["peak_hour"]) ** p["sharpness"]
    return p["trough_rpm"] + (p["peak_rpm"] - p["trough_rpm"]) * wave


def fam_poisson(minutes, rng):
    """Count noise: Poisson requests (10-500 a minute on a smooth daily wave), each costing a lognormal CPU time."""
    p = dict(
        trough_rpm=rng.uniform(10, 40),
        peak_rpm=float(np.exp(rng.uniform(np.log(80), np.log(500)))),
        peak_hour=rng.uniform(10, 19),
        sharpness=rng.uniform(1.0, 2.5),
        peak_ocpus=float(np.exp(rng.uniform(np.log(1.2), np.log(8.0)))),  # expected demand at the peak rate
    )
    _cost_for(rng, p, p["peak_ocpus"], p["peak_rpm"])
    cpu = _requests(rng, poisson_rate(minutes, p), p["cost_median_s"], p["cost_sigma"])
    return cpu, _base(minutes), p


def _pareto(rng: np.random.Generator, x_min: float, alpha: float, cap: float, size=None):
    """Pareto (type I) draws: x_min * U^(-1/alpha), capped."""
    return np.minimum(x_min * (1.0 - rng.random(size)) ** (-1.0 / alpha), cap)


def fam_pareto_bursts(minutes, rng):
    """Heavy-tailed bursts: Poisson-timed bursts with Pareto sizes and durations on a noisy daily base."""
    p = dict(
        base_rpm=rng.uniform(40, 200),
        base_ocpus=rng.uniform(0.4, 1.2),
        daily_depth=rng.uniform(0.1, 0.5),
        per_day=rng.uniform(4, 16),
        size_min_ocpus=rng.uniform(0.2, 0.6),
        size_alpha=rng.uniform(1.2, 2.0),  # P(size > x) = (x_min / x)^alpha: a few bursts are many times the rest
        duration_min_minutes=rng.uniform(2, 5),
        duration_alpha=rng.uniform(1.1, 1.7),
        tail_share=rng.uniform(0.1, 0.5),  # share of a burst's length spent decaying
    )
    _cost_for(rng, p, p["base_ocpus"], p["base_rpm"])
    per_ocpu = 60.0 / _mean_cost(p)  # requests a minute per OCPU of demand
    t = np.arange(minutes)
    rate = p["base_rpm"] * (1 - p["daily_depth"] * _wave(minutes, MINUTES_PER_DAY, 60 * 3.0))  # trough at 03:00
    count = rng.poisson(p["per_day"] * minutes / MINUTES_PER_DAY)
    starts = np.sort(rng.integers(0, minutes, count))
    sizes = _pareto(rng, p["size_min_ocpus"], p["size_alpha"], ROUGH_PEAK_OCPUS - 2.0, count)
    lengths = _pareto(rng, p["duration_min_minutes"], p["duration_alpha"], 8 * 60, count)
    steps = []
    for start, size, length in zip(starts, sizes, lengths, strict=True):
        hold = max(1, int(length * (1 - p["tail_share"])))
        tau = max(1.0, length * p["tail_share"] / 2)
        end = min(minutes, int(start + hold + 6 * tau))
        span = t[start:end] - start
        rate[start:end] += size * per_ocpu * np.where(span < hold, 1.0, np.exp(-(span - hold) / tau))
        if size >= 1.0 and length >= 10:
            steps.append(int(start))
    p.update(bursts=int(count), largest_ocpus=float(sizes.max()) if count else 0.0)
    p["longest_minutes"] = float(lengths.max()) if count else 0.0
    cpu = _requests(rng, rate, p["cost_median_s"], p["cost_sigma"])
    return cpu, _base(minutes), p, tuple(steps)


def calendar_shape(minutes: int, p: dict) -> np.ndarray:
    """The `calendar` family's traffic relative to a weekday's peak: a working-day profile (night floor, a morning
    and an afternoon hump, a lunch dip), weekends and holidays at the weekend level."""
    t = np.arange(minutes)
    hour = (t % MINUTES_PER_DAY) / 60
    day = t // MINUTES_PER_DAY
    humps = np.maximum(
        np.exp(-0.5 * ((hour - p["morning_hour"]) / p["hump_hours"]) ** 2),
        p["afternoon_share"] * np.exp(-0.5 * ((hour - p["afternoon_hour"]) / p["hump_hours"]) ** 2),
    )
    humps = humps * (1 - p["lunch_dip"] * np.exp(-0.5 * ((hour - 12.5) / 0.6) ** 2))
    shape = p["night"] + (1 - p["night"]) * humps
    weekend = (day + p["start_day"]) % 7 >= 5
    quiet = weekend | np.isin(day, p["holidays"])
    return shape * np.where(quiet, p["weekend"], 1.0)


def fam_calendar(minutes, rng):
    """Daily and weekly cycles with holidays (a weekday at weekend level) and outages (zero load, then a herd returns).

    A working-day profile (`calendar_shape`), weekends and 1-2 holidays at a drawn weekend level; 1-3 outages of
    10-240 minutes with no request at all, after which (3 times in 4) the clients' retries come back as an
    overshoot of 1.5-3.5x decaying with tau 3-20 minutes. Steps: the returns.
    """
    days = max(1, -(-minutes // MINUTES_PER_DAY))
    p = dict(
        start_day=int(rng.integers(0, 7)),
        peak_rpm=rng.uniform(120, 480),
        peak_ocpus=rng.uniform(1.5, 5.0),
        night=rng.uniform(0.05, 0.25),
        weekend=rng.uniform(0.2, 0.5),
        morning_hour=rng.uniform(9.0, 11.0),
        afternoon_hour=rng.uniform(14.0, 16.5),
        afternoon_share=rng.uniform(0.7, 1.0),
        hump_hours=rng.uniform(1.5, 2.5),
        lunch_dip=rng.uniform(0.0, 0.3),
    )
    _cost_for(rng, p, p["peak_ocpus"], p["peak_rpm"])
    weekdays = [d for d in range(days) if (d + p["start_day"]) % 7 < 5]
    holidays = rng.choice(weekdays, min(len(weekdays), 1 + int(rng.random() < 0.3)), replace=False) if weekdays else []
    p["holidays"] = sorted(int(d) for d in holidays)
    rate = p["peak_rpm"] * calendar_shape(minutes, p)
    outages, steps = [], []
    for _ in range(int(rng.integers(1, 4))):
        length = int(np.exp(rng.uniform(np.log(10), np.log(240))))
        start = int(rng.integers(30, max(31, minutes - length - 30)))
        end = min(minutes, start + length)
        herd = rng.random() < 0.75
        overshoot, tau = (rng.uniform(1.5, 3.5), rng.uniform(3, 20)) if herd else (1.0, 1.0)
        rate[start:end] = 0.0
        after = np.arange(end, minutes)
        rate[end:] *= 1 + (overshoot - 1) * np.exp(-(after - end) / tau)  # the backlog retries, then decays
        outages.append([start, end - start, round(float(overshoot), 2), round(float(tau), 1)])
        if end < minutes:
            steps.append(end)
    p["outages"] = sorted(outages)  # [start minute, minutes, return overshoot x, its decay tau in minutes]
    cpu = _requests(rng, rate, p["cost_median_s"], p["cost_sigma"])
    for start, length, *_ in outages:
        cpu[start : start + length] = 0.0
    return cpu, _base(minutes), p, tuple(sorted(steps))


# -- A family fitted to a real public trace: NASA-HTTP (the Internet Traffic Archive). --
# Source: every HTTP request to the NASA Kennedy Space Center WWW server, 1 July - 31 August 1995 (local time,
# UTC-4), https://ita.ee.lbl.gov/html/contrib/NASA-HTTP.html (collected by Jim Dumoulin, KSC; contributed by
# Martin Arlitt and Carey Williamson, University of Saskatchewan). Its terms: "The traces may be freely
# redistributed." The fit read per-second request counts derived from those logs
# (github.com/reconfigurable-ml-pipeline/web-service-datasets, dataset/nasa/workload.tbz2), summed per minute.
# Only the fitted parameters are kept here (bench/data/nasa_http_1995.json, written by `fit_request_counts`):
# no series of the logs. bench/data/README.md says how it was fitted.

NASA_FIT = DATA / "nasa_http_1995.json"


def _hour_curve(profile) -> np.ndarray:
    """A 24-value profile (hour means) as a per-minute curve over one day: linear between the hours' centres."""
    centres = np.arange(24) * 60 + 30.0
    xs = np.concatenate([centres - MINUTES_PER_DAY, centres, centres + MINUTES_PER_DAY])
    return np.interp(np.arange(MINUTES_PER_DAY), xs, np.tile(np.asarray(profile, dtype=float), 3))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, length) of each run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), (ends - starts).tolist(), strict=True))


ACF_LAGS = (1, 2, 3, 5, 7, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 360)


def fit_request_counts(counts: np.ndarray, first_weekday: int, holidays=(), stall_minutes: int = 3) -> dict:
    """Fit the request model of the `nasa` family to per-minute request counts.

    counts: whole days of minutes (NaN where nothing was recorded), first_weekday: day 0's weekday (0 = Monday),
    holidays: day indices left out of the profile and reported as a ratio to their week's other weekdays.
    The model: rate = mean x day-type profile by hour x weekday factor x a daily level (lognormal AR(1) from day to
    day) x a per-minute modulation (lognormal, a sum of AR(1) components), counts Poisson around the rate, and
    stalls (runs of >= `stall_minutes` minutes without a request where about ten or more were expected).
    """
    days = np.asarray(counts, dtype=float).reshape(-1, MINUTES_PER_DAY)
    n = len(days)
    weekday = (np.arange(n) + first_weekday) % 7
    weekend = weekday >= 5
    usable = ~np.isnan(days).any(1) & ~np.isin(np.arange(n), list(holidays))
    # a day with an outage (an hour or more without a request) is no profile
    usable &= np.array([max((length for _, length in _runs(row == 0)), default=0) < 60 for row in days])
    with np.errstate(divide="ignore", invalid="ignore"):
        hourly = days.reshape(n, 24, 60).mean(2) / days.mean(1, keepdims=True)
    profiles = {
        kind: hourly[usable & (weekend == flag)].mean(0) for kind, flag in (("weekday", False), ("weekend", True))
    }
    totals = days.sum(1)
    weekday_mean = totals[usable & ~weekend].mean()
    factors = np.array([totals[usable & (weekday == d)].mean() / weekday_mean for d in range(7)])
    expected = np.stack([_hour_curve(profiles["weekend" if w else "weekday"]) for w in weekend])
    expected = expected * days.mean(1, keepdims=True)
    # stalls: runs without a request where the day's profile expected about ten a minute or more
    stall = np.zeros_like(days, dtype=bool)
    lengths = []
    for d in np.flatnonzero(usable):
        for start, length in _runs((days[d] == 0) & (expected[d] >= 10)):
            if length >= stall_minutes:
                stall[d, start : start + length] = True
                lengths.append(length)
    # the daily level: each day's total against its weekday's, in logs; its spread and day-to-day correlation
    with np.errstate(divide="ignore"):
        level = np.log(totals / (factors[weekday] * weekday_mean))
    pairs = np.array([(level[d], level[d + 1]) for d in range(n - 1) if usable[d] and usable[d + 1]])
    # the per-minute modulation beyond count noise: E[(c - m)^2] = m + m^2 s2
    ok = usable[:, None] & ~stall & (expected >= 5)
    c, m = days[ok], expected[ok]
    s2 = float(np.mean(((c - m) ** 2 - m) / m**2))
    x = np.where(ok, (days - expected) / np.where(ok, expected, 1.0), np.nan)
    acf = []
    for lag in ACF_LAGS:
        num = den = 0.0
        for start, length in _runs(usable):  # consecutive usable days, read as one series
            series = x[start : start + length].ravel()
            prod = series[:-lag] * series[lag:]
            num, den = num + np.nansum(prod), den + np.count_nonzero(~np.isnan(prod))
        acf.append(num / den / s2)
    components = _fit_ar_components(np.array(acf))
    alpha = len(lengths) / np.sum(np.log(np.array(lengths) / stall_minutes)) if lengths else 0.0
    holiday_ratio = {}
    for d in holidays:
        week = [e for e in range(max(0, d - 3), min(n, d + 4)) if usable[e] and not weekend[e]]
        holiday_ratio[int(d)] = float(totals[d] / totals[week].mean())
    return dict(
        days_used=int(usable.sum()),
        mean_rpm=float(days[usable].mean()),
        weekday_profile=profiles["weekday"].round(4).tolist(),
        weekend_profile=profiles["weekend"].round(4).tolist(),
        weekday_factors=factors.round(4).tolist(),
        daily_log_sd=float(level[usable].std()),
        daily_rho=float(np.corrcoef(pairs[:, 0], pairs[:, 1])[0, 1]),
        modulation_var=s2,
        modulation_acf=dict(zip(ACF_LAGS, np.round(acf, 4).tolist(), strict=True)),
        modulation_components=components,
        index_of_dispersion=float(np.mean((c - m) ** 2 / m)),
        stalls_per_day=len(lengths) / int(usable.sum()),
        stall_min_minutes=stall_minutes,
        stall_alpha=float(alpha),
        stall_max_minutes=int(max(lengths, default=0)),
        holiday_ratio=holiday_ratio,
    )


def _fit_ar_components(acf: np.ndarray) -> list[list[float]]:
    """[weight, rho] of three AR(1) components whose weighted sum fits the autocorrelation at ACF_LAGS (least
    squares over a grid of rhos; the weights sum to at most 1, the rest is white noise)."""
    lags = np.array(ACF_LAGS, dtype=float)
    best = None
    for fast in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
        for mid in (0.8, 0.85, 0.9, 0.93, 0.95, 0.97):
            for slow in (0.98, 0.985, 0.99, 0.993, 0.995, 0.997, 0.999):
                basis = np.stack([fast**lags, mid**lags, slow**lags], 1)
                weights, *_ = np.linalg.lstsq(basis, acf, rcond=None)
                if (weights < 0).any() or weights.sum() > 1:
                    continue
                error = float(np.sum((basis @ weights - acf) ** 2))
                if best is None or error < best[0]:
                    best = (error, [[round(float(w), 4), r] for w, r in zip(weights, (fast, mid, slow), strict=True)])
    return best[1]


@functools.cache
def nasa_fit() -> dict:
    """The fitted parameters of NASA-HTTP (bench/data/nasa_http_1995.json)."""
    return json.loads(NASA_FIT.read_text())


def nasa_shape(minutes: int, start_day: int) -> np.ndarray:
    """The fitted weekly shape of NASA-HTTP per minute (day-type profile x weekday factor), mean 1 over a week."""
    fit = nasa_fit()
    curves = {kind: _hour_curve(fit[f"{kind}_profile"]) for kind in ("weekday", "weekend")}
    factors = np.array(fit["weekday_factors"])
    day = (np.arange(minutes) // MINUTES_PER_DAY + start_day) % 7
    minute = np.arange(minutes) % MINUTES_PER_DAY
    shape = np.where(day >= 5, curves["weekend"][minute], curves["weekday"][minute]) * factors[day]
    return shape / factors.mean()


def _stationary_ar1(shocks: np.ndarray, rho: float) -> np.ndarray:
    """AR(1) with the shocks' variance from its first value on (`_ar1` starts at 0 and takes 1/(1-rho) steps to get
    there)."""
    shocks = shocks.copy()
    shocks[:1] /= np.sqrt(1 - rho * rho)
    return _ar1(shocks, rho)


def nasa_rate(minutes: int, rng: np.random.Generator, p: dict) -> np.ndarray:
    """Requests a minute drawn from the NASA-HTTP fit at p["mean_rpm"] starting on weekday p["start_day"]: the weekly
    shape x a daily level (lognormal AR(1) from day to day, linear between the days' noons) x a per-minute
    modulation (lognormal, the fitted AR(1) components) with stalls (no request at all) at the fitted rate and
    Pareto lengths. Records the stalls and the daily levels in `p`."""
    fit = nasa_fit()
    days = minutes // MINUTES_PER_DAY + 2
    sd, rho = fit["daily_log_sd"], fit["daily_rho"]
    levels = _stationary_ar1(rng.normal(0.0, sd, days), rho) - sd * sd / 2  # each day's level (logs), at its noon
    level = np.exp(np.interp(np.arange(minutes), np.arange(days) * MINUTES_PER_DAY + 720.0, levels))
    sigma2 = np.log1p(fit["modulation_var"])
    g, weights = np.zeros(minutes), 0.0
    for weight, r in fit["modulation_components"]:
        g += np.sqrt(weight) * _stationary_ar1(rng.normal(0.0, 1.0, minutes), r)
        weights += weight
    g += np.sqrt(max(0.0, 1 - weights)) * rng.normal(0.0, 1.0, minutes)
    modulation = np.exp(np.sqrt(sigma2) * g - sigma2 / 2)
    rate = p["mean_rpm"] * nasa_shape(minutes, p["start_day"]) * level * modulation
    stalls = []
    for _ in range(rng.poisson(fit["stalls_per_day"] * minutes / MINUTES_PER_DAY)):
        length = int(_pareto(rng, fit["stall_min_minutes"], fit["stall_alpha"], fit["stall_max_minutes"]))
        start = int(rng.integers(0, max(1, minutes - length)))
        rate[start : start + length] = 0.0
        stalls.append([start, length])
    p["stalls"] = sorted(stalls)  # [start minute, minutes]
    p["day_levels"] = [round(float(x), 3) for x in np.exp(levels[: days - 1])]
    return rate


def fam_nasa(minutes, rng):
    """Fitted to a real trace: fresh draws of the NASA Kennedy Space Center web server's requests (July-August 1995).

    The fitted weekly profile, daily levels, bursty per-minute modulation and short stalls (`nasa_rate`), Poisson
    counts around that rate, each request a lognormal CPU time; the traffic scaled 0.5-3x, the cost set so that
    the mean demand is 0.4-1.6 OCPU.
    """
    p = dict(
        start_day=int(rng.integers(0, 7)),
        traffic=rng.uniform(0.5, 3.0),  # x the trace's mean rate of requests
        mean_ocpus=rng.uniform(0.4, 1.6),
    )
    p["mean_rpm"] = p["traffic"] * nasa_fit()["mean_rpm"]
    _cost_for(rng, p, p["mean_ocpus"], p["mean_rpm"], sigma=(0.4, 1.0))
    rate = nasa_rate(minutes, rng, p)
    return _requests(rng, rate, p["cost_median_s"], p["cost_sigma"]), _base(minutes), p


ROUGH_FAMILIES = {
    "poisson": fam_poisson,
    "pareto-bursts": fam_pareto_bursts,
    "calendar": fam_calendar,
    "nasa": fam_nasa,
}
FAMILIES.update(ROUGH_FAMILIES)  # after the others: their indices, so their seeds and draws, are unchanged
