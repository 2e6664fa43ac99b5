"""The alarm evaluator: pending duration, repeat notifications, FIRING_TO_OK, the message it builds."""

import pytest

from autoscaler.messages import parse_message
from bench.alarms import Evaluator, Rule, duration_seconds

MD = "ocid1.datasciencemodeldeployment.oc1.iad.x"


def alarm(query_op=">", threshold=80, interval=1, stat="mean", pending="PT1M", repeat="PT5M"):
    return {
        "id": "ocid1.alarm.oc1.iad.high",
        "displayName": "high",
        "notificationTitle": "model_deployment_high_cpu",
        "query": f'CpuUtilization[{interval}m]{{resourceId = "{MD}"}}.{stat}() {query_op} {threshold}',
        "pendingDuration": pending,
        "repeatNotificationDuration": repeat,
        "lifecycleState": "ACTIVE",
        "isEnabled": True,
    }


def run(series, **kwargs):
    """Evaluate one alarm over a one-minute series; returns [(minute, type, message)]."""
    evaluator, spec, out = Evaluator(delivery_delay_seconds=30), alarm(**kwargs), []
    for minute in range(len(series)):
        for n in evaluator.evaluate([spec], 60.0 * minute, lambda r, m, upto=minute + 1: series[:upto]):
            out.append((minute, n.type, n))
    return out


def test_pending_duration_counts_consecutive_breaching_minutes():
    series = [50, 90, 90, 50, 90, 90, 90, 90, 90]
    assert [(m, t) for m, t, _ in run(series, pending="PT3M")] == [(6, "OK_TO_FIRING")]
    assert [(m, t) for m, t, _ in run(series, pending="PT1M")][:3] == [
        (1, "OK_TO_FIRING"), (3, "FIRING_TO_OK"), (4, "OK_TO_FIRING")
    ]  # fmt: skip


def test_repeat_while_firing_then_ok():
    events = run([90] * 12 + [10], repeat="PT5M")
    assert [(m, t) for m, t, _ in events] == [(0, "OK_TO_FIRING"), (5, "REPEAT"), (10, "REPEAT"), (12, "FIRING_TO_OK")]
    keys = {n.body["dedupeKey"] for _, _, n in events}
    assert len(keys) == 1  # one firing episode, one dedupe key
    assert all(n.deliver_at == 60 * m + 30 for m, _, n in events)


def test_no_repeat_without_a_repeat_duration():
    assert [t for _, t, _ in run([90] * 30, repeat=None)] == ["OK_TO_FIRING"]


def test_window_statistics_and_below_threshold():
    assert run([0, 0, 0, 0, 0, 100, 0, 0, 0, 100], interval=5) == []  # the 5 m mean never exceeds 40
    assert [t for _, t, _ in run([0, 0, 100, 0, 0], interval=5, stat="max")] == ["OK_TO_FIRING"]
    low = run([30, 5, 5, 5], query_op="<", threshold=10, pending="PT2M")
    assert [(m, t) for m, t, _ in low] == [(2, "OK_TO_FIRING")]


def test_the_message_is_what_the_function_parses():
    [(_, _, first)] = run([92.3])
    message = parse_message(str.encode(__import__("json").dumps(first.body)))
    assert message.type == "OK_TO_FIRING" and message.title == "model_deployment_high_cpu"
    [target] = message.targets()
    assert target.deployment_id == MD and target.observed == pytest.approx(92.3)
    assert message.timestamp_epoch_millis == 0


def test_deleted_alarms_are_forgotten():
    evaluator = Evaluator()
    spec = alarm()
    assert evaluator.evaluate([spec], 0, lambda r, m: [90])[0].type == "OK_TO_FIRING"
    assert evaluator.evaluate([{**spec, "lifecycleState": "DELETED"}], 60, lambda r, m: [90, 90]) == []
    assert evaluator.evaluate([spec], 120, lambda r, m: [90] * 3)[0].type == "OK_TO_FIRING"  # a new alarm state


@pytest.mark.parametrize(("text", "seconds"), [("PT1M", 60), ("PT1H30M", 5400), ("PT45S", 45), (None, 0)])
def test_durations(text, seconds):
    assert duration_seconds(text) == seconds


def test_unsupported_queries_fail_loudly():
    with pytest.raises(ValueError, match="unsupported"):
        Rule.parse("CpuUtilization[1m].grouping().mean() > 80")
