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
