"""The exact clairvoyant optimum: dynamic programming over (minute, capacity) with the simulator's own mechanics.

A schedule knows the whole trace, the instance slot weights and every update-duration draw. The program follows
bench/sim.py to the float:

- an update is one option group (instance count, or shape) made while ACTIVE; it keeps the deployment UPDATING
  for the draw of its kind at its minute (`sim.update_minutes`); the old capacity serves meanwhile, and the
  minutes after the update is made bill `sim.billed(old, new)`;
- the new capacity serves from the first minute the Store says ACTIVE again; made at the top of the minute that
  is ⌈duration⌉ minutes later. A policy acting later in the same minute (an alarm message, 30 s after the
  evaluation) can arrive one minute later with the same draw: the program has both arrivals;
- the minute a capacity arrives its fresh instances are cold (`warmup_share` of their weight, so the others run
  hotter); a shape change replaces every instance;
- the hottest instance's CPU and memory (uncapped) decide a violation minute, as `report.score` counts them.

Its objective is additive per minute: OCPU-hours plus a price per violation minute (J = H + λ·V), or per
severity-weighted minute (the hottest instance's utilization ÷ the SLO, so 300 % weighs more than 91 %), or
lexicographic (fewest violation minutes, then least cost). `Replay` plays a plan through `Simulation`, which
scores it exactly as the program did (tests/bench/test_optimum.py).

States: (minute, serving capacity), plus the capacity's cold variant at its arrival minute. One warm-up minute at
most (SimConfig.warmup_minutes 0 or 1: a longer warm-up would need the cold state to last, which nothing here uses).

`Program.of_table` builds the same graph from a table instead of a CPU trace: per capacity option and minute, the
scored quantity (the serving bench's latency) against its SLO, and a billing function (GPU- or OCPU-hours); the
update draws, arrivals and the one-option-group rule are the same. No warm-up there (each option's row is what it
scores whenever it serves).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bench.sim import (
    Capacity,
    Controller,
    SimConfig,
    apply,
    billed,
    capacities,
    deployment_id,
    slot_weights,
    start_time,
    update_kind,
    update_minutes,
)
from bench.traces import WORK_GB_PER_OCPU, Trace

NAME = "exact"  # the policy name of the optimum's schedule in the suite
LEXICOGRAPHIC = None  # the price meaning "fewest violation minutes first, then least cost"
_BIG = 1e7  # a violation minute's cost in the lexicographic program: more than any schedule's OCPU-hours


@dataclass(frozen=True)
class Plan:
    """A schedule and its score: `actions` are (minute, seconds into the minute, target capacity)."""

    actions: tuple[tuple[int, float, Capacity], ...]
    ocpu_hours: float
    violation_minutes: int
    severity: float  # Σ over violation minutes of the hottest instance's utilization ÷ the SLO
    cost: float  # the objective it minimises

    def priced(self, price: float, severity: bool = False) -> float:
        return self.ocpu_hours + price * (self.severity if severity else self.violation_minutes)


@dataclass(frozen=True)
class Bounds:
    """Per case: the least cost among schedules with the fewest attainable violation minutes (H0, V0) and the exact
    minimum of J_k = H + λ_k·V for each k (and of its severity-weighted form), with λ_k = k·H0 / T."""

    ocpu_hours: float  # H0*
    violation_minutes: int  # V0*
    minutes: int  # T
    exact: dict[int, float]  # k -> J_k*
    exact_severity: dict[int, float]  # k -> J_k* with severity-weighted minutes

    def price(self, k: int) -> float:
        return violation_price(k, self.ocpu_hours, self.minutes)


def violation_price(k: int, ocpu_hours: float, minutes: int) -> float:
    """λ_k: a violation minute costs k minutes of the run rate of the schedule with the fewest violation minutes."""
    return k * ocpu_hours / minutes


KS = (10, 100, 1000)


class Program:
    """The (minute, capacity) graph of one deployment over one trace, built once and solved for any price."""

    def __init__(self, trace: Trace, config: SimConfig, start: Capacity, md_id: str | None = None):
        if config.warmup_minutes > 1:
            raise NotImplementedError("the exact program models a warm-up of at most one minute")
        self.trace, self.config, self.start = trace, config, start
        self.slo = config.slo
        self.billed = lambda a, b: billed(a, b, config)
        self.md_id = md_id or deployment_id(0, trace.name)
        self.options = capacities(config)
        if start not in self.options:
            self.options.append(start)
        self.T = trace.minutes
        weights = slot_weights(trace.name, config).tolist()
        n = len(self.options)
        # Columns 0..n-1: capacity i serving warm. Further columns: capacity j at its arrival minute with slots
        # from `cold_from` on fresh (a shape change: every slot, 0).
        self.columns: list[tuple[int, int | None]] = [(i, None) for i in range(n)]
        self.hot = []  # per column: the hottest instance's utilization (max of CPU and memory), uncapped
        for cap in self.options:
            self.hot.append(self._hottest(cap, weights, None))
        self.pairs = []  # (source i, target j, target column)
        cold_columns: dict[tuple[int, int], int] = {}
        for i, j, kind in _changes(self.options):
            a, b = self.options[i], self.options[j]
            cold_from = 0 if kind == "shape" else a.instance_count if kind == "out" else None
            column = j
            if cold_from is not None and config.warmup_minutes:
                if (j, cold_from) not in cold_columns:
                    cold_columns[(j, cold_from)] = len(self.columns)
                    self.columns.append((j, cold_from))
                    self.hot.append(self._hottest(b, weights, cold_from))
                column = cold_columns[(j, cold_from)]
            self.pairs.append((i, j, column, kind))
        self.hot = np.array(self.hot)  # (columns, T)
        self.bill = np.array([billed(c, c, config) for c in self.options])
        self._timing(start_time(trace))

    @classmethod
    def of_table(
        cls,
        options: list[Capacity],
        hot: np.ndarray,
        slo: float,
        bill: Callable[[Capacity, Capacity], float],
        config: SimConfig,
        start: Capacity,
        md_id: str,
        t0: float,
    ) -> Program:
        """The program of a deployment scored from a table: `hot[i, t]` is what option i scores at minute t when it
        serves (a violation minute when above `slo`, weighing hot / slo), `bill(serving, configured)` the units a
        minute bills (while UPDATING: old and new). Updates as in the simulator (`config`'s draws for `md_id`)."""
        self = cls.__new__(cls)
        self.trace, self.config, self.start, self.md_id, self.slo, self.billed = None, config, start, md_id, slo, bill
        self.options = list(options)
        if start not in self.options:
            raise ValueError(f"the start {start} is not among the options")
        self.T = hot.shape[1]
        self.columns = [(i, None) for i in range(len(self.options))]
        self.hot = np.asarray(hot, dtype=float)
        self.pairs = [(i, j, j, kind) for i, j, kind in _changes(self.options)]
        self.bill = np.array([bill(c, c) for c in self.options])
        self._timing(t0)
        return self

    def _timing(self, t0: float) -> None:
        # Arrival minutes of each pair made at each minute: at the top of the minute, and as late in it as possible.
        draws = {
            kind: np.array([60 * update_minutes(self.config, self.md_id, m, kind) for m in range(self.T)])
            for kind in ("out", "in", "shape")
        }
        self.arrive = {kind: self._arrivals(t0, draws[kind]) for kind in draws}
        self.draws = draws
        self.t0 = t0

    def _hottest(self, cap: Capacity, weights: list[float], cold_from: int | None) -> np.ndarray:
        """As Simulation._publish computes it, op for op."""
        config, count = self.config, cap.instance_count
        slot = [
            weights[s] * (config.warmup_share if cold_from is not None and s >= cold_from else 1) for s in range(count)
        ]
        total = sum(slot)
        per_ocpus, per_gb = cap.shape.size
        demand, base = self.trace.cpu, self.trace.base_gb
        hot = np.zeros(self.trace.minutes)
        for weight in slot:
            work = demand * weight / total
            hot = np.maximum(hot, np.maximum(100 * work / per_ocpus, 100 * (base + WORK_GB_PER_OCPU * work) / per_gb))
        return hot

    def _arrivals(self, t0: float, seconds: np.ndarray) -> np.ndarray:
        """(T, 2): the first minute the Store is ACTIVE again for an update made at the top of minute m, and one made
        late in it (always exactly one minute later: the gap to the top of the earliest arrival is under 60 s)."""
        if seconds.min() < 60:
            raise NotImplementedError("the exact program assumes updates of a minute or more")
        out = np.zeros((self.T, 2), dtype=np.int64)
        for m in range(self.T):
            done = (t0 + 60 * m) + seconds[m]
            a = max(m + 1, math.ceil((done - t0) / 60) - 1)
            while t0 + 60 * a < done:
                a += 1
            out[m] = (a, a + 1)
        return out

    def offset(self, minute: int, kind: str) -> float:
        """Seconds into `minute` at which an update arrives one minute later than at the top of it."""
        a = int(self.arrive[kind][minute, 0])
        done = (self.t0 + 60 * minute) + self.draws[kind][minute]
        gap = (self.t0 + 60 * a) - done  # in [0, 60): a later start than this arrives a minute later
        return (gap + 60) / 2

    def penalties(self, price: float | None, severity: bool) -> np.ndarray:
        over = self.hot > self.slo
        if price is LEXICOGRAPHIC:
            return _BIG * over
        return price * (self.hot / self.slo if severity else 1.0) * over

    def solve(self, price: float | None = LEXICOGRAPHIC, severity: bool = False) -> Plan:
        T, n, cols = self.T, len(self.options), len(self.columns)
        penalty = self.penalties(price, severity)
        minute_cost = penalty + (self.bill[[i for i, _ in self.columns]] / 60)[:, None]
        prefix = np.zeros((n, T + 1))
        prefix[:, 1:] = np.cumsum(penalty[:n], axis=1)  # the warm columns' penalties, summed
        source = np.array([i for i, _, _, _ in self.pairs])
        column = np.array([c for _, _, c, _ in self.pairs])
        during = np.array([self.billed(self.options[i], self.options[j]) for i, j, _, _ in self.pairs]) / 60
        arrive = np.stack([self.arrive[kind] for *_, kind in self.pairs], axis=1)  # (T, P, 2)
        end = np.minimum(arrive, T)
        m = np.arange(T)[:, None, None]
        src = source[None, :, None]
        # Minutes m+1 .. end-1 serve the source and bill both: known before solving.
        before = (end - 1 - m) * during[None, :, None] + prefix[src, end] - prefix[src, m + 1]
        value = np.zeros((T + 2, cols))
        choice = np.full((T, n), -1, dtype=np.int64)
        # Pairs grouped by source into a padded (n, K) table for a row-wise minimum.
        k = max(np.bincount(source, minlength=n))
        table = np.full((n, 2 * k), -1, dtype=np.int64)
        fill = np.zeros(n, dtype=np.int64)
        for p, i in enumerate(source):
            table[i, 2 * fill[i]], table[i, 2 * fill[i] + 1] = 2 * p, 2 * p + 1
            fill[i] += 1
        pad = table < 0
        table[pad] = 0
        column_source = np.array([i for i, _ in self.columns])
        for t in range(T - 1, -1, -1):
            acting = (before[t] + value[end[t], column[:, None]]).ravel()  # (2P,)
            options = np.where(pad, np.inf, acting[table])
            best = options.argmin(axis=1)
            act = options[np.arange(n), best]
            hold = value[t + 1, :n]
            take = act < hold
            after = np.where(take, act, hold)
            choice[t] = np.where(take, table[np.arange(n), best], -1)
            value[t] = minute_cost[:, t] + after[column_source]
        return self._plan(choice, value[0, self.options.index(self.start)])

    def _plan(self, choice: np.ndarray, cost: float) -> Plan:
        """Walk the choices from the start and score the schedule as report.score would."""
        T, slo = self.T, self.slo
        t, column, actions, billed_ocpus, over, weight = 0, self.options.index(self.start), [], [], 0, 0.0
        while t < T:
            i = self.columns[column][0]
            hot = self.hot[column][t]
            billed_ocpus.append(self.bill[i])
            if hot > slo:
                over, weight = over + 1, weight + hot / slo
            pick = choice[t, i]
            if pick < 0:
                t, column = t + 1, i
                continue
            p, late = divmod(int(pick), 2)
            _, j, target_column, kind = self.pairs[p]
            arrival = int(self.arrive[kind][t, late])
            actions.append((t, self.offset(t, kind) if late else 0.0, self.options[j]))
            during = self.billed(self.options[i], self.options[j])
            for u in range(t + 1, min(arrival, T)):
                billed_ocpus.append(during)
                hot = self.hot[i][u]
                if hot > slo:
                    over, weight = over + 1, weight + hot / slo
            t, column = arrival, target_column
        return Plan(tuple(actions), sum(billed_ocpus) / 60, over, weight, float(cost))


def _changes(options: list[Capacity]):
    """(i, j, kind) for every one-group update from option i to option j (count or shape, as OCI allows)."""
    for i, a in enumerate(options):
        for j, b in enumerate(options):
            if i == j or (a.shape != b.shape and a.instance_count != b.instance_count):
                continue
            yield i, j, update_kind(a, b)


def solve_case(trace: Trace, config: SimConfig, start: Capacity, md_id: str | None = None, ks=KS):
    """(Bounds, the lexicographic plan): what report.score needs to price every policy on the case."""
    return solve_program(Program(trace, config, start, md_id), ks)


def solve_program(program: Program, ks=KS):
    """(Bounds, the lexicographic plan) of a built program (`Program.of_table`'s too)."""
    least = program.solve(LEXICOGRAPHIC)
    price = {k: violation_price(k, least.ocpu_hours, program.T) for k in ks}
    bounds = Bounds(
        ocpu_hours=least.ocpu_hours,
        violation_minutes=least.violation_minutes,
        minutes=program.T,
        exact={k: program.solve(price[k]).cost for k in ks},
        exact_severity={k: program.solve(price[k], severity=True).cost for k in ks},
    )
    return bounds, least


class Replay(Controller):
    """Plays a plan through the simulator: each action at its minute, `seconds` into it."""

    name = NAME

    def __init__(self, plan: Plan):
        self.plan = {minute: (seconds, target) for minute, seconds, target in plan.actions}

    def tick(self, minute: int, now: float) -> None:
        if minute not in self.plan:
            return
        seconds, target = self.plan[minute]
        self.sim.clock.now = now + seconds
        [md_id] = self.sim.ids
        if not apply(self.sim.store, md_id, target):
            raise AssertionError(f"the plan's update at minute {minute} found the deployment busy")
        self.acted = True
