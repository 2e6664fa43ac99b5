"""The history reader rests on no undocumented fact (issue 22, item 3): neither on how often an instance emits a
CpuUtilization datapoint nor on which end of its window an aggregated datapoint's timestamp marks.

The emulator posts the same load at a datapoint every 30 s, 60 s and 120 s, and answers SummarizeMetricsData
stamping either the end or the start of each window (emulator/monitoring.py `window_stamp`); the reader's demand and
the forecast's decisions must not change.
"""

from __future__ import annotations

import copy
import re

import pytest

from autoscaler import history
from autoscaler.oci_gateway import OciGateway
from emulator.history import NAMESPACE, business_hours
from emulator.monitoring import parse_time, rfc3339
from tests.conftest import DEMO, DEMO1, capacity, owned_low_alarms
from tests.service.test_reconcile import reseed
from tests.service.test_service import low_message

T0 = 1_763_900_030.0
HOUR = 3600


def hourly_source(now: float = T0, days: int = 7, minutes: int = 30) -> list[dict]:
    """emulator/history.py's daily rise (to 200 instance-% `minutes` after now's time of day): one datapoint per
    instance and hour, stamped mid-hour, each the hour's utilization of that instance. A week: the emulator keeps 8
    days of a stream."""
    return business_hours(DEMO, DEMO1, now, days=days, rise_in_minutes=minutes)


def post_at_cadence(store, source: list[dict], step: int) -> None:
    """The source's load as an instance emits it at one datapoint every `step` seconds: each hourly datapoint becomes
    3600 / step datapoints of its value inside its hour (offset by half a step, clear of the hour's edges)."""
    for metric in source:
        points = []
        for point in metric["datapoints"]:
            start = parse_time(point["timestamp"]) - HOUR / 2
            points += [(start + step * (k + 0.5), point["value"]) for k in range(HOUR // step)]
        store.monitoring.post(metric["compartmentId"], NAMESPACE, metric["name"], metric["dimensions"], points)


def true_demand(source: list[dict]) -> dict[float, float]:
    """{hour end: instance-%} of the source: the sum of its instances' values in each hour."""
    found: dict[float, float] = {}
    for metric in source:
        for point in metric["datapoints"]:
            end = parse_time(point["timestamp"]) + HOUR / 2
            found[end] = found.get(end, 0.0) + point["value"]
    return found


@pytest.fixture
def gateway(fake_oci, env):
    return OciGateway.from_settings(env())


# --- the emission rate ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("step", [30, 60, 120])
def test_the_tick_and_the_alarm_path_read_the_same_demand_at_any_cadence(store, gateway, step):
    source = hourly_source()
    post_at_cadence(store, source, step)
    want = true_demand(source)
    ticked = history.read_history(gateway, DEMO, T0, 15, [DEMO1])[DEMO1]
    alarmed = history.read_deployment(gateway, DEMO, T0, 15, DEMO1)
    assert set(ticked) == set(alarmed) == set(want) - {max(want)}  # the last whole hour's window ends at endTime
    assert ticked == pytest.approx({end: want[end] for end in ticked})
    assert alarmed == pytest.approx({end: want[end] for end in alarmed})
    assert max(ticked.values()) == pytest.approx(200, abs=4)  # the rise, not 2x or 1/2x of it


@pytest.mark.parametrize("step", [30, 60, 120])
def test_the_cadence_is_measured_per_instance_from_whole_hours(store, gateway, step):
    post_at_cadence(store, hourly_source(), step)
    sums = gateway.metric_series(DEMO, history.history_query(DEMO1), T0 - 86400, T0 - T0 % HOUR, "1h")
    assert history.measure_cadence(gateway, DEMO, T0, sums) == {DEMO1: HOUR / step, None: HOUR / step}


def test_an_instance_that_joins_mid_hour_is_exact_on_the_tick_and_at_most_its_mean_over_on_the_alarm_path(
    store, gateway
):
    """One instance at 80 % until half past an hour, then two at 40 %: 80 instance-% throughout."""
    end = T0 - T0 % HOUR  # the tick reads up to here
    join = end - 2.5 * HOUR
    first, second = {"resourceId": DEMO1, "instanceId": "i1"}, {"resourceId": DEMO1, "instanceId": "i2"}
    minutes = [end - 8 * HOUR + 60 * k + 30 for k in range(8 * 60)]
    store.monitoring.post(DEMO, NAMESPACE, "CpuUtilization", first, [(t, 80.0 if t < join else 40.0) for t in minutes])
    store.monitoring.post(DEMO, NAMESPACE, "CpuUtilization", second, [(t, 40.0) for t in minutes if t >= join])
    ticked = history.read_history(gateway, DEMO, T0, 1, [DEMO1])[DEMO1]
    alarmed = history.read_deployment(gateway, DEMO, T0, 1, DEMO1)
    joined = join + HOUR / 2  # the label of the hour the second instance joined in (window end)
    assert ticked == pytest.approx({t: 80.0 for t in ticked})
    assert alarmed[joined] == pytest.approx(60 + 40) and alarmed[joined] - 80 <= 40  # i1's mean + i2's mean
    assert {t: v for t, v in alarmed.items() if t != joined} == pytest.approx({t: 80.0 for t in alarmed if t != joined})


def test_without_three_whole_hours_of_any_instance_the_cadence_is_unknown_and_the_tick_says_so(store, gateway, tick):
    end = T0 - T0 % HOUR
    dims = {"resourceId": DEMO1, "instanceId": "i1"}
    store.monitoring.post(DEMO, NAMESPACE, "CpuUtilization", dims, [(end - 5400 + 60 * k, 50.0) for k in range(60)])
    with pytest.raises(history.CadenceUnknown):
        history.read_history(gateway, DEMO, T0, 15, [DEMO1])
    outcome = tick()[DEMO1]
    assert outcome["forecast"].startswith("stays out: CPU history not readable (CadenceUnknown")


def test_the_tick_decides_the_same_at_30_60_and_120_seconds(store, seed, tick):
    """The same load at three cadences, each from the seed: the same action, floor, and forecast to the number."""
    outcomes = []
    for step in (30, 60, 120):
        store.load(copy.deepcopy(seed))
        post_at_cadence(store, hourly_source(), step)
        outcome = tick()[DEMO1]
        outcomes.append((outcome["action"], outcome["floor"], outcome["forecast"], capacity(store)[0]))
    assert outcomes[0][:2] == ("scale_out", 3) and "daily pattern" in outcomes[0][2], outcomes[0]
    assert outcomes[0] == outcomes[1] == outcomes[2]


# --- the timestamp convention -----------------------------------------------------------------------------------


def test_the_emulator_stamps_either_end_of_a_window(store):
    dims = {"resourceId": DEMO1, "instanceId": "i1"}
    end = T0 - T0 % HOUR
    points = [(end - 3 * HOUR + 1800 * k + 900, k) for k in range(6)]  # two in each of the last three hours
    store.monitoring.post(DEMO, NAMESPACE, "CpuUtilization", dims, points)
    details = {
        "namespace": NAMESPACE,
        "query": f'CpuUtilization[1h]{{resourceId = "{DEMO1}"}}.sum()',
        "startTime": rfc3339(end - 3 * HOUR),
        "endTime": rfc3339(end),
        "resolution": "1h",
    }

    def answer():
        [stream] = store.summarize_metrics_data(DEMO, details)
        return {parse_time(p["timestamp"]): p["value"] for p in stream["aggregatedDatapoints"]}

    assert answer() == {end - 2 * HOUR: 0 + 1, end - HOUR: 2 + 3}  # (t - 1h, t]; the first window is before startTime
    store.monitoring.window_stamp = "start"
    assert answer() == {end - 3 * HOUR: 0 + 1, end - 2 * HOUR: 2 + 3, end - HOUR: 4 + 5}  # [t, t + 1h)


SOURCES = {
    "a 4-hour rise in 30 minutes": lambda: hourly_source(minutes=30),
    # An hour of 200 instance-% from 00:00 every day, now 00:00:30: read from start-stamped windows, the spike of past
    # days sits one label early, in the hour before the horizon, which the horizon reaches back to
    # (forecast.LABEL_SLACK_HOURS; without it the start-stamped tick says "no rise ahead").
    "an hour-long spike in the hour now falls in": lambda: business_hours(
        DEMO, DEMO1, T0, days=7, rise_in_minutes=0, hours_high=0.5
    ),
}


@pytest.mark.parametrize("source", SOURCES)
def test_the_tick_foresees_the_same_under_either_stamp(store, seed, tick, source):
    """The same load, answered with end- then start-stamped windows: the same action, floor and expected peak (the
    backtest's error may differ by a point: the start-stamped series holds one more whole hour)."""
    decided = []
    for stamp in ("end", "start"):
        store.load(copy.deepcopy(seed))
        store.monitoring.window_stamp = stamp
        post_at_cadence(store, SOURCES[source](), 60)
        outcome = tick()[DEMO1]
        peak = re.search(r"up to (\d+) instance-%", outcome["forecast"])
        decided.append((outcome["action"], outcome["floor"], capacity(store)[0], peak and peak[1]))
    assert decided[0][:3] == ("scale_out", 3, 3) and decided[0][3], decided
    assert decided[0] == decided[1]


@pytest.mark.parametrize("stamp", ["end", "start"])
def test_a_scale_in_just_before_a_regular_rise_waits_under_either_stamp(store, seed, tick, run, stamp):
    reseed(store, seed, count=3)
    tick()  # creates the low alarm of the oversized start
    store.monitoring.window_stamp = stamp
    post_at_cadence(store, hourly_source(T0 + 600, minutes=40), 60)
    [held] = run(low_message(store, "cpu"), now=T0 + 600)
    assert held["status"] == "noop" and capacity(store)[0] == 3, held["reason"]
    assert "floor 3 instances (daily pattern" in held["reason"]
    assert owned_low_alarms(store, "cpu") == []


def test_a_start_stamp_reads_every_hour_one_hour_early_never_late(store, gateway):
    source = hourly_source()
    post_at_cadence(store, source, 60)
    by_end = history.read_history(gateway, DEMO, T0, 15, [DEMO1])[DEMO1]
    store.monitoring.window_stamp = "start"
    by_start = history.read_history(gateway, DEMO, T0, 15, [DEMO1])[DEMO1]
    assert {t + HOUR: v for t, v in by_start.items() if t + HOUR in by_end} == pytest.approx(by_end)
    assert max(by_start) == max(by_end)  # the same last label, holding the hour after (the last whole hour)


def test_the_tick_reads_history_in_two_calls_per_compartment_and_one_without_any(store, tick):
    """The cost of measuring the cadence: one SummarizeMetricsData more per compartment and tick, and only where
    there is history to convert (the alarm path stays at one: tests/service/test_call_counts.py)."""

    def summarize_calls(action) -> int:
        before = len(store.calls)
        action()
        return [operation for operation, _ in list(store.calls)[before:]].count("SummarizeMetricsData")

    assert summarize_calls(tick) == 1  # no history: the sums answer empty, nothing to measure
    post_at_cadence(store, hourly_source(), 60)
    assert summarize_calls(lambda: tick(now=T0 + 60)) == 2
