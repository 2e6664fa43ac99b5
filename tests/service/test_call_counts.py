"""What one alarm invocation costs in OCI calls, counted in the emulator's call log (issue 20, "Cheaper
invocations"). Every call counts twice over: against the function's deadline, and, for the alarm operations, against
the tenancy's shared 10 a second. The figures and why they are not lower: docs/reconcile.md ("What an invocation
costs").
"""

from __future__ import annotations

from tests.conftest import alarm_message
from tests.service.test_service import low_message

T0 = 1_763_900_030.0


def calls_of(store, action) -> list[str]:
    before = len(store.calls)
    action()
    return [operation for operation, _ in list(store.calls)[before:]]


def test_a_no_op_in_cooldown_costs_three_calls(run, store):
    run(alarm_message("high_cpu.json"), now=T0)
    calls = calls_of(store, lambda: run(alarm_message("high_cpu_repeat.json"), now=T0 + 60))
    assert calls == ["GetAlarm", "RetrieveDimensionStates", "GetModelDeployment"]


def test_a_scale_in_costs_at_most_six_calls_with_its_history_read(run, store):
    run(alarm_message("high_cpu.json"), now=T0)  # 1 -> 2 instances, with its low alarm
    message = low_message(store, "cpu")
    calls = calls_of(store, lambda: run(message, now=T0 + 3600))
    assert calls == [
        "GetAlarm",  # the low alarm that fired: its etag serves the alarm write, read before the update
        "RetrieveDimensionStates",
        "GetModelDeployment",
        "SummarizeMetricsData",  # the forecast's floor, only before a scale-in
        "UpdateModelDeployment",
        "DeleteAlarm",  # back at the floor: its low alarm goes, if-match on that first read
    ]


def test_a_scale_out_from_the_floor_costs_seven_calls(run, store):
    calls = calls_of(store, lambda: run(alarm_message("high_cpu.json"), now=T0))
    assert calls == [
        "GetAlarm",
        "RetrieveDimensionStates",
        "GetModelDeployment",
        "ListAlarms",  # the low alarm, read before the update
        "UpdateModelDeployment",
        "CreateAlarm",
        "GetModelDeployment",  # is our update still the latest? else the create is taken back
    ]


def test_a_scale_out_that_moves_a_threshold_costs_seven_calls(run, store):
    run(alarm_message("high_cpu.json"), now=T0)
    another = alarm_message("high_cpu.json", dedupeKey="a-later-episode")
    calls = calls_of(store, lambda: run(another, now=T0 + 3600))
    assert calls == [
        "GetAlarm",
        "RetrieveDimensionStates",
        "GetModelDeployment",
        "ListAlarms",
        "GetAlarm",  # its etag, read before the update: a later change's write makes ours fail
        "UpdateModelDeployment",
        "UpdateAlarm",
    ]
