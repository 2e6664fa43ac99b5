"""Tenancy-wide API rate limits, per-call latency and the call log of the HTTP layer (rules.py names the sources).

Only the HTTP app (create_app) applies them, on its own clock: wall-clock time.monotonic by default, or a virtual
clock a benchmark passes in. The in-process Store never throttles (a simulator drives it on a virtual clock).

Every API call that reaches the app is logged as a `Call(time, operation, status, throttled)`: `time` on the limits'
clock when the call was admitted or refused (after the latency), `status` the HTTP status answered (None: the
connection was dropped by a fault), `throttled` True for a 429 of these limits (an injected 429 fault is False).
`peak_rate` and `too_many_requests` summarize a log, in-process (`Limits.log`) or as fetched from
GET /_emulator/limits?detail=1 (dicts with the same keys).
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import NamedTuple

from emulator import rules


class Call(NamedTuple):
    time: float
    operation: str
    status: int | None
    throttled: bool = False
    client: str = ""  # who called: the role in a User-Agent token "oci-md-autoscaler/<role>", else ""


def latency_ok(value) -> bool:
    """Seconds >= 0, or [low, high] with 0 <= low <= high (a uniform draw per call)."""

    def seconds(x) -> bool:
        return isinstance(x, int | float) and not isinstance(x, bool) and x >= 0

    if isinstance(value, list | tuple):
        return len(value) == 2 and all(seconds(x) for x in value) and value[0] <= value[1]
    return seconds(value)


def draw_latency(spec) -> float:
    return random.uniform(*spec) if isinstance(spec, list | tuple) else float(spec)


def _rate_ok(value) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1)


class Limits:
    """The HTTP layer's tenancy-wide rate limits (on or off), per-call latency, and its log of calls.

    enabled: throttle (429 TooManyRequests) above rules.RATE_LIMITS; off still logs every call.
    clock: seconds, default time.monotonic (wall clock); pass a virtual clock to throttle on simulated time.
    latency: seconds every API call waits before it is handled (asyncio.sleep: concurrent calls overlap), or
        [low, high] drawn uniformly per call; 0 = none. This is real time even with a virtual clock.
    rates: per group (rules.RATE_LIMIT_GROUPS) calls per window, merged over rules.RATE_LIMITS; None = unlimited.
    """

    def __init__(
        self,
        enabled: bool = True,
        *,
        clock: Callable[[], float] = time.monotonic,
        latency: float | list[float] = 0.0,
        rates: dict[str, int | None] | None = None,
        window: float = rules.RATE_LIMIT_WINDOW_SECONDS,
    ):
        if not latency_ok(latency):
            raise ValueError(f"latency is seconds >= 0 or [low, high], got {latency!r}")
        self.enabled, self.clock, self.window = bool(enabled), clock, window
        self.latency = list(latency) if isinstance(latency, list | tuple) else latency
        self.rates: dict[str, int | None] = dict(rules.RATE_LIMITS)
        self.set_rates(rates or {})
        self.log: list[Call] = []
        self._accepted: dict[str, deque[float]] = {}  # group -> clock() of the calls accepted in the last window
        self._lock = threading.Lock()

    def set_rates(self, rates: dict) -> None:
        unknown = set(rates) - set(rules.RATE_LIMIT_GROUPS)
        if unknown or not all(_rate_ok(v) for v in rates.values()):
            raise ValueError(f"rates maps {sorted(rules.RATE_LIMIT_GROUPS)} to an integer >= 1 or None, got {rates!r}")
        self.rates.update(rates)

    def delay(self) -> float:
        """Seconds the next call waits before it is handled."""
        return draw_latency(self.latency)

    def admit(self, operation: str) -> tuple[float, str | None]:
        """(now, None) if the call may proceed (and it then counts), or (now, group) if its group's budget is spent."""
        with self._lock:
            now = self.clock()
            group = rules.rate_limit_group(operation)
            rate = self.rates.get(group) if group else None
            if not self.enabled or rate is None:
                return now, None
            accepted = self._accepted.setdefault(group, deque())
            while accepted and accepted[0] <= now - self.window:
                accepted.popleft()
            if len(accepted) >= rate:
                return now, group
            accepted.append(now)
            return now, None

    def refusal(self, group: str) -> str:
        what = "alarm operations" if group == "alarms" else f"{group} calls"
        return (
            f"Too many requests: this tenancy's {what} are limited to {self.rates[group]} per "
            f"{self.window:g} second(s) (emulator, see emulator/rules.py)"
        )

    def record(self, at: float, operation: str, status: int | None, throttled: bool = False, client: str = "") -> None:
        with self._lock:
            self.log.append(Call(at, operation, status, throttled, client))

    def reset(self) -> None:
        """Forget the log and the budgets spent (the settings stay)."""
        with self._lock:
            self.log.clear()  # in place: a benchmark may hold a reference
            self._accepted.clear()

    def config(self) -> dict:
        return {"limits": self.enabled, "latency": self.latency, "rates": dict(self.rates)}

    def configure(self, change: dict) -> None:
        """Apply {"limits": bool, "latency": spec, "rates": {group: int | None}} (validated before any change)."""
        enabled, latency = change.get("limits", self.enabled), change.get("latency", self.latency)
        rates = change.get("rates", {})
        if not isinstance(enabled, bool):
            raise ValueError("limits is true or false")
        if not latency_ok(latency):
            raise ValueError("latency is seconds >= 0, or [low, high]: uniform per call")
        if not isinstance(rates, dict):
            raise ValueError("rates is a JSON object")
        self.set_rates(rates)
        self.enabled = enabled
        self.latency = list(latency) if isinstance(latency, list | tuple) else latency

    def calls(self, since: int = 0) -> list[dict]:
        with self._lock:
            return [call._asdict() for call in self.log[since:]]

    def summary(self) -> dict:
        return summarize(list(self.log), self.window)


def _fields(call) -> Call:
    return Call(**call) if isinstance(call, dict) else Call(*call)


def peak_rate(
    log: Iterable,
    operations: Iterable[str] | None = rules.ALARM_OPERATIONS,
    window: float = rules.RATE_LIMIT_WINDOW_SECONDS,
    accepted_only: bool = False,
) -> int:
    """The most calls of `operations` (None: all) in any window (t - window, t]: the demand, or with accepted_only
    what the service let through (throttled and unauthenticated calls left out)."""
    wanted = None if operations is None else set(operations)
    times = sorted(
        c.time
        for c in map(_fields, log)
        if (wanted is None or c.operation in wanted) and not (accepted_only and (c.throttled or c.status == 401))
    )
    peak, first = 0, 0
    for last, at in enumerate(times):
        while times[first] <= at - window:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


def too_many_requests(log: Iterable, throttled_only: bool = False) -> dict[str, int]:
    """429 answers per operation (throttled_only: those of the rate limits, not injected faults)."""
    counts: dict[str, int] = {}
    for c in map(_fields, log):
        if c.status == 429 and (c.throttled or not throttled_only):
            counts[c.operation] = counts.get(c.operation, 0) + 1
    return counts


def summarize(log: list, window: float = rules.RATE_LIMIT_WINDOW_SECONDS) -> dict:
    """{"calls", "too_many_requests" (429s per operation), "throttled" (429s of the limits per operation),
    "peak" and "peak_accepted" (per rate-limit group: the most calls in any window)}."""
    groups = rules.RATE_LIMIT_GROUPS.items()
    return {
        "calls": len(log),
        "too_many_requests": too_many_requests(log),
        "throttled": too_many_requests(log, throttled_only=True),
        "peak": {group: peak_rate(log, ops, window) for group, ops in groups},
        "peak_accepted": {group: peak_rate(log, ops, window, accepted_only=True) for group, ops in groups},
    }
