"""A governor for the tick's alarm operations: a client-side rate limit far below the tenancy's shared budget.

OCI Monitoring may throttle "when the total rate of alarm operations exceeds 10 requests per second (TPS) for a
given tenancy" (oci SDK 2.189.0 monitoring_client.py: the docstrings of create_alarm, list_alarms, get_alarm,
get_alarm_history, retrieve_dimension_states, update_alarm and delete_alarm). That budget is shared by every alarm
invocation of this function, by the tick and by the customer's own tools, so the tick spends only its own slice of
it (AUTOSCALE_ALARM_OPS_PER_SECOND; docs/reconcile.md justifies the default).

The governor plugs into the SDK as a per-operation retry strategy (`retry_strategy=` on each call; the SDK calls
its `make_retrying_call`): every attempt, retries included, first takes a slot of a sliding one-second window.
A 429 (another client spent the tenancy's budget) slows every caller of this governor down and is retried with
backoff until the tick's deadline, like the AWS SDKs' "adaptive" retry mode; it never becomes an error of its
own. When the deadline comes first, BudgetSpent says so: the work is deferred to the next tick, not failed.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque

import oci
from oci._vendor.requests.exceptions import ConnectionError as RequestsConnectionError
from oci._vendor.requests.exceptions import Timeout

# Slots are granted this much more than a second apart, so that jitter between the grant and the request's arrival
# at OCI (thread scheduling, connection reuse, the network) cannot put one call too many into a one-second window:
# 0.1 s was passed under CPU contention here (tests/reliability/test_reconcile_fleet.py on a loaded machine).
WINDOW_MARGIN_SECONDS = 0.25
OTHER_ERROR_ATTEMPTS = 4  # 5xx, timeouts, dropped connections: as the alarm path's retry strategy
BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS = 0.25, 4.0


class BudgetSpent(Exception):
    """The tick's deadline came before the governor could grant another call: nothing was sent."""


class Governor:
    """At most `rate` calls in any one-second window (for a rate below one: one call per 1/rate seconds), all before
    `deadline`. With rate None it does not limit, and only retries a 429 patiently, each call for up to
    `per_call_seconds` (as the SDK's own total-elapsed-time check): the alarm path's use of it (one invocation makes
    a handful of calls, so it has nothing to pace, but many invocations at once may be throttled)."""

    def __init__(
        self,
        rate: float | None,
        deadline: float = math.inf,
        clock=time.monotonic,
        sleep=time.sleep,
        per_call_seconds: float = math.inf,
    ):
        if rate is not None and not rate > 0:
            raise ValueError("the rate of a governor is > 0 calls a second, or None")
        self.per_call_seconds = per_call_seconds
        self.per_window = max(1, math.floor(rate)) if rate else 0
        self.window = self.per_window / rate + WINDOW_MARGIN_SECONDS if rate else 0.0
        self.deadline, self._clock, self._sleep = deadline, clock, sleep
        self._granted: deque[float] = deque(maxlen=self.per_window)
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.calls = self.throttled = 0

    def acquire(self) -> None:
        """Wait for a slot; BudgetSpent if the slot would come after the deadline."""
        with self._lock:
            now = self._clock()
            start = max(now, self._paused_until)
            if self.per_window and len(self._granted) == self.per_window:
                start = max(start, self._granted[0] + self.window)
            if start > self.deadline:
                raise BudgetSpent("tick budget spent waiting for the alarm-operation rate limit")
            self._granted.append(start)
            self.calls += 1
        if start > now:
            self._sleep(start - now)

    def make_retrying_call(self, func_ref, *func_args, **func_kwargs):
        """The SDK's retry-strategy interface: one governed attempt after another until one answers."""
        failures = 0
        throttles = 0
        deadline = min(self.deadline, self._clock() + self.per_call_seconds)
        while True:
            self.acquire()
            try:
                return func_ref(*func_args, **func_kwargs)
            except Exception as error:
                throttled = getattr(error, "status", None) == 429
                if throttled:
                    throttles += 1
                    with self._lock:
                        self.throttled += 1
                elif _transient(error):
                    failures += 1
                    if failures >= OTHER_ERROR_ATTEMPTS:
                        raise
                else:
                    raise
                pause = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (throttles + failures))
                pause *= random.uniform(0.5, 1.0)
                if self._clock() + pause > deadline:
                    if throttled:
                        raise BudgetSpent("budget spent while OCI throttled alarm operations (429)") from None
                    raise
                if throttled:  # everyone sharing this governor slows down, not just this caller
                    with self._lock:
                        self._paused_until = max(self._paused_until, self._clock() + pause)
                self._sleep(pause)

    def add_circuit_breaker_callback(self, callback) -> None:
        """Part of the SDK's retry-strategy interface; the function runs without a circuit breaker."""


def _transient(error: Exception) -> bool:
    status = getattr(error, "status", None)
    if isinstance(error, oci.exceptions.ServiceError):
        return status is not None and status >= 500 and status != 501
    # As the SDK's own checker (oci/retry/retry_checkers.py, TimeoutConnectionAndServiceErrorRetryChecker).
    kinds = (Timeout, RequestsConnectionError, oci.exceptions.RequestException, oci.exceptions.ConnectTimeout)
    return isinstance(error, (*kinds, ConnectionError))
