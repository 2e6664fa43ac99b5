"""The tick's governor: a sliding-window limit with margin, 429s retried within the deadline (a virtual clock)."""

from __future__ import annotations

import oci
import pytest

from autoscaler.governor import WINDOW_MARGIN_SECONDS, BudgetSpent, Governor


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def throttled(status: int = 429):
    return oci.exceptions.ServiceError(status, "TooManyRequests" if status == 429 else "Error", {}, "no")


def test_no_window_of_a_second_holds_more_calls_than_the_rate():
    clock = Clock()
    governor = Governor(3, deadline=100, clock=clock, sleep=clock.sleep)
    grants = []
    for _ in range(60):
        governor.acquire()
        grants.append(clock.now)
    assert max(sum(t <= g < t + 1 + WINDOW_MARGIN_SECONDS for g in grants) for t in grants) == 3
    assert grants[-1] == pytest.approx(19 * (1 + WINDOW_MARGIN_SECONDS))  # 3 a window, no slower


def test_a_rate_below_one_spaces_single_calls():
    clock = Clock()
    governor = Governor(0.5, deadline=100, clock=clock, sleep=clock.sleep)
    grants = []
    for _ in range(3):
        governor.acquire()
        grants.append(clock.now)
    assert grants == pytest.approx([0, 2 + WINDOW_MARGIN_SECONDS, 2 * (2 + WINDOW_MARGIN_SECONDS)])


def test_a_429_is_retried_until_it_passes_and_slows_the_others_down():
    clock = Clock()
    governor = Governor(10, deadline=100, clock=clock, sleep=clock.sleep)
    answers = iter([throttled(), throttled(), "ok"])

    def call():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert governor.make_retrying_call(call) == "ok"
    assert governor.throttled == 2 and governor.calls == 3
    paused_at = clock.now
    governor.acquire()  # right after the backoff: no further wait
    assert clock.now == paused_at


def test_the_deadline_turns_a_persistent_429_into_budget_spent_not_an_error():
    clock = Clock()
    governor = Governor(3, deadline=5, clock=clock, sleep=clock.sleep)

    def call():
        raise throttled()

    with pytest.raises(BudgetSpent):
        governor.make_retrying_call(call)
    assert clock.now <= 5


def test_no_slot_after_the_deadline():
    clock = Clock()
    governor = Governor(1, deadline=2, clock=clock, sleep=clock.sleep)
    governor.acquire()
    governor.acquire()  # at 1.25
    with pytest.raises(BudgetSpent):
        governor.acquire()  # would be at 2.5


def test_other_errors_are_raised_at_once_and_transient_ones_after_a_few_attempts():
    clock = Clock()
    governor = Governor(None, clock=clock, sleep=clock.sleep, per_call_seconds=60)
    attempts = []

    def refused():
        attempts.append(1)
        raise throttled(400)

    with pytest.raises(oci.exceptions.ServiceError):
        governor.make_retrying_call(refused)
    assert len(attempts) == 1

    def unavailable():
        attempts.append(1)
        raise throttled(503)

    with pytest.raises(oci.exceptions.ServiceError):
        governor.make_retrying_call(unavailable)
    assert len(attempts) == 1 + 4


def test_without_a_rate_each_call_has_its_own_budget():
    clock = Clock()
    governor = Governor(None, clock=clock, sleep=clock.sleep, per_call_seconds=3)
    clock.now = 1000.0  # long after the governor was made: the budget counts from the call

    def call():
        raise throttled()

    with pytest.raises(BudgetSpent):
        governor.make_retrying_call(call)
    assert 1000 < clock.now <= 1003
