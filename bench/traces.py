"""Load traces: demand per minute for one deployment, generated from fixed seeds.

A trace gives, for every minute, the CPU work (in OCPUs busy) and the memory each instance holds
whatever its load (`base_gb`: the model and its caches). Each instance also holds
`WORK_GB_PER_OCPU` for every OCPU of work it serves. The parameters are documented beside each
generator and in README.md (section Benchmark); the same name, days and seed always give the same trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


def family(name: str, seed: int, days: float = 7.0) -> Trace:
    """One draw of a family: the same (name, seed, days) always gives the same trace and parameters."""
    minutes = int(days * MINUTES_PER_DAY)
    index = list(FAMILIES).index(name)
    rng = np.random.default_rng(FAMILY_SEED_BASE + 100 * index + seed)
    out = FAMILIES[name](minutes, rng)
    cpu, base, params = out[:3]
    steps = out[3] if len(out) > 3 else ()
    doc = (FAMILIES[name].__doc__ or "").strip().split("\n")[0]
    return Trace(f"{name}#{seed}", doc, _cap(cpu), base, tuple(steps), family=name, params=_round(params))
