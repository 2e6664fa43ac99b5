"""The load forecast: a deployment's own hourly history -> its peak demand over the next horizon. Pure.

Demand is in instance-percent: the sum over the deployment's instances of their CPU utilization (150 =
one and a half instances fully busy), so it does not change when the instance count does. history.py reads it
from Monitoring without assuming how often an instance emits a datapoint, and labels each hour by the end of its
aggregation window; should OCI label the start instead, every hour reads one hour early, so the horizon here also
covers the hour before it (LABEL_SLACK_HOURS).

Method: seasonal naive. Two seasons compete:
- daily: the median of the same hour on the last (up to CYCLES) earlier days OF THE SAME KIND, weekday or
  weekend in the deployment's time zone, within a week back. A Monday is foreseen from the Friday before,
  not from the Sunday; a Tuesday from the Monday, so one working day of history is enough;
- weekly: the median of the same hour one to three weeks back (once two weeks of history exist).
Days are local days in the zone: the same hour a day back is the same wall-clock hour, across daylight-saving
changes too. The forecast is the largest expected value over the horizon plus the season's typical error. It
acts only on a RISE that stands out from that error: an expected peak, less the error, more than RISE_SHARE
above the load now (the larger of the last two hours): it brings forward the scale-out
the high alarm would make when the load arrives, and holds a scale-in that the rise would undo. Where the
load stays level the reactive rules hold it, and the forecast says "no rise ahead".

Before a season is trusted it is backtested on the last week (or what there is) on the hours of the same kinds
of day as the horizon, each hour forecast `lead` hours ahead with only the data known then. It is trusted when
it is clearly better than "the load stays where it was" (the naive forecast a purely reactive policy assumes:
error <= PATTERN_ERROR_RATIO x the naive's) and off by less than MAX_ERROR_SHARE of the mean load; or when the
days repeat closely (error <= REPEAT_ERROR_SHARE of the mean load). The second test is what lets a second
working day be foreseen from the first: their quiet nights repeat, which the naive forecast gets right too
(better, on a flat hour), so only the absolute error can tell. Its price: with one day of history, a one-off
burst of that day is expected again the next (one raise that the load does not use); from the next day on the
backtest covers the burst's hour. Noise, bursts and steps fail both. Otherwise - history too short or with
gaps, a flat series, no season that passes - the forecast stays out and says why.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

HOUR = 3600
# Which end of its window a SummarizeMetricsData timestamp marks is not documented (AggregatedDatapoint: "the date
# and time associated with the value"; "Selecting a Nondefault Resolution for a Query" draws the windows "from 0:n to
# 5:00, 5:n to 10:00", which suggests the end). history.py takes the end. Were it the start, the value labelled
# "ending at h" would be the hour ending at h + 1: the history reads one hour early, a rise is foreseen an hour early,
# and the hour the horizon begins in would be labelled one earlier. The horizon therefore reaches one label back: the
# hours it overlaps are covered under either convention. The price, under the end convention: the extra hour has just
# passed, so a floor raised for a spike of at most an hour is held one tick longer than the spike.
LABEL_SLACK_HOURS = 1
MIN_HISTORY_HOURS = 24  # one day, so the horizon's hours have a same-hour value to go by
MIN_COVERAGE = 0.75  # share of the hours in the history that must have data
BACKTEST_HOURS = 168  # a week (or what the history has)
MIN_BACKTEST_POINTS = 6  # hours the backtest must cover before it can trust a season
PATTERN_ERROR_RATIO = 0.7  # clearly better than the naive forecast
REPEAT_ERROR_SHARE = 0.15  # or: the days repeat within 15 % of the mean load
MAX_ERROR_SHARE = 0.25  # never: a season off by a quarter of the load foresees nothing (random bursts beat the
# naive forecast 2 h ahead too, when both are that wrong)
RISE_SHARE = 0.1  # a forecast acts only on a rise: a peak more than 10 % above the last hour's demand
CYCLES = 3  # same-hour values of up to three earlier days (weekly: weeks)
DAILY_LOOKBACK_DAYS = 7
MAX_DEMAND = 1e9  # instance-%: anything above is not a reading
MAX_HORIZON_SECONDS = 7 * 86400
MAX_EPOCH_SECONDS = 1e11  # the year 5138: datetime's range ends in 9999
SEASONS = (("weekly", 168), ("daily", 24))


@dataclass(frozen=True)
class Forecast:
    peak: float | None  # demand (instance-%) expected at most over the horizon; None: the forecast stays out
    reason: str
    season: str | None = None

    @property
    def stays_out(self) -> bool:
        return self.peak is None


def forecast(
    history: Mapping[float, float],
    now: float,
    horizon: float,
    ceiling: float | None = None,
    zone: tzinfo = UTC,
) -> Forecast:
    """The peak demand over (now, now + horizon] (and the hour before: LABEL_SLACK_HOURS) from `history`
    {window end epoch seconds: demand}.

    `ceiling`: the most demand the deployment could have shown (max instances x 100): a history above it
    is not on the expected scale (a reading gone wrong) and is not used.
    `zone`: where weekdays and weekends are told apart (the deployment's schedule time zone)."""
    if not (0 <= now <= MAX_EPOCH_SECONDS and 0 <= horizon <= MAX_HORIZON_SECONDS):  # (False for NaN too)
        return Forecast(None, "stays out: no time to forecast for")
    series = {
        round(stamp / HOUR): value
        for stamp, value in history.items()
        if stamp <= now and math.isfinite(value) and 0 <= value <= MAX_DEMAND
    }
    if series:
        del series[min(series)]  # the oldest hour is partial when the deployment started within it: not a level
    if not series:
        return Forecast(None, "stays out: no CPU history")
    first, last = min(series), max(series)
    if last < math.floor(now / HOUR) - 1:
        return Forecast(None, f"stays out: the history ends {math.floor(now / HOUR) - last} h ago")
    span = last - first + 1
    if span < MIN_HISTORY_HOURS:
        return Forecast(None, f"stays out: {span} h of history, a pattern needs {MIN_HISTORY_HOURS} h")
    coverage = len(series) / span
    if coverage < MIN_COVERAGE:
        return Forecast(None, f"stays out: history has data for {coverage:.0%} of its hours")
    if ceiling is not None and max(series.values()) > ceiling * 1.1:
        peak = max(series.values())
        return Forecast(None, f"stays out: history peaks at {peak:.0f} instance-%, above what the deployment can show")
    if max(series.values()) == min(series.values()):
        return Forecast(None, "stays out: flat history, nothing to foresee")
    lead = max(1, math.ceil(horizon / HOUR))
    hours = range(math.floor(now / HOUR) + 1 - LABEL_SLACK_HOURS, math.ceil((now + horizon) / HOUR) + 1)
    notes, found = [], []
    for name, period in SEASONS:
        if name == "weekly" and span < 2 * period:
            notes.append("weekly: needs 14 days")
            continue
        same = _Seasonal(series, period, zone)
        error, naive, level, points = _backtest(series, same, lead, last, same.kinds(hours))
        if points < MIN_BACKTEST_POINTS:
            notes.append(f"{name}: too few hours to test")
            continue
        ratio = error / naive if naive else (0.0 if error == 0 else math.inf)
        share = error / level if level else math.inf
        expected = [value for hour in hours if (value := same.expected(hour, last)) is not None]
        if share > MAX_ERROR_SHARE or (ratio > PATTERN_ERROR_RATIO and share > REPEAT_ERROR_SHARE):
            notes.append(f"{name} error {ratio:.2f} x naive, {share:.0%} of the load")
        elif not expected:
            notes.append(f"{name}: no same-hour history for the horizon")
        else:
            found.append((ratio, name, max(expected), error, share))
    if not found:
        return Forecast(None, "stays out: no pattern (" + "; ".join(notes) + ")")
    ratio, name, expected_peak, error, share = min(found)
    peak = expected_peak + error
    reason = (
        f"{name} pattern (backtest error {ratio:.2f} x naive, {share:.0%} of the load): up to {peak:.0f} "
        f"instance-% in the next {horizon / 60:.0f} min"
    )
    # The load now: the larger of the last two hours (the newest may still miss late datapoints).
    current = max(series[last], series.get(last - 1, 0.0))
    if expected_peak - error <= current * (1 + RISE_SHARE):
        # No rise ahead that stands out from the season's own error: the load stays about where it is, which the
        # reactive rules already hold. (Sized at the target, a floor here could keep one instance more than the
        # alarms keep for a level load, and noise around a level would switch it on and off.)
        return Forecast(None, f"{reason}, {current:.0f} in the last hours: no rise ahead", name)
    return Forecast(peak, reason, name)


class _Seasonal:
    """The expected value of an hour from the same hour of earlier periods."""

    def __init__(self, series: dict[int, float], period: int, zone: tzinfo):
        self.series, self.period, self.zone = series, period, zone
        self._kinds: dict[int, bool] = {}

    def weekend(self, hour: int) -> bool:
        """Whether the hour ending at `hour` falls on a Saturday or Sunday in the zone."""
        if hour not in self._kinds:
            self._kinds[hour] = datetime.fromtimestamp(hour * HOUR - HOUR / 2, self.zone).weekday() >= 5
        return self._kinds[hour]

    def kinds(self, hours) -> set[bool] | None:
        """The kinds of day (weekend or not) of `hours`, which the daily season is tested on; None: every hour."""
        return {self.weekend(hour) for hour in hours} if self.period == 24 else None

    def _days_back(self, hour: int, days: int) -> int:
        """The hour at the same local time `days` days earlier: across a daylight-saving change that is 23 or 25
        hours a day, not 24 (aware datetime arithmetic is wall-clock time)."""
        if self.zone is UTC:
            return hour - 24 * days
        middle = datetime.fromtimestamp(hour * HOUR - HOUR / 2, self.zone) - timedelta(days=days)
        return round((middle.timestamp() + HOUR / 2) / HOUR)

    def expected(self, hour: int, known_until: int) -> float | None:
        """The median of the same local hour up to CYCLES periods back (daily: on days of the same kind), among
        the hours known by `known_until`."""
        values = []
        if self.period == 24:
            kind = self.weekend(hour)
            backs = (self._days_back(hour, days) for days in range(1, DAILY_LOOKBACK_DAYS + 1))
            backs = (back for back in backs if self.weekend(back) == kind)
        else:
            backs = (self._days_back(hour, 7 * cycle) for cycle in range(1, CYCLES + 1))
        for back in backs:
            if back <= known_until and back in self.series:
                values.append(self.series[back])
                if len(values) == CYCLES:
                    break
        return statistics.median(values) if values else None


def _backtest(
    series: dict[int, float], same: _Seasonal, lead: int, last: int, kinds: set[bool] | None
) -> tuple[float, float, float, int]:
    """Mean absolute error of the seasonal and of the naive forecast over the last BACKTEST_HOURS, each made
    `lead` hours ahead with only the data known then; the mean load over those hours; how many hours.

    `kinds`: only hours on days of these kinds count (a weekday is trusted on how well weekdays were foreseen:
    a working Saturday followed by a quiet Sunday says nothing about Mondays)."""
    seasonal, naive, actuals = [], [], []
    for hour in range(last - BACKTEST_HOURS + 1, last + 1):
        actual, before = series.get(hour), series.get(hour - lead)
        if actual is None or before is None or (kinds is not None and same.weekend(hour) not in kinds):
            continue
        expected = same.expected(hour, hour - lead)
        if expected is None:
            continue
        seasonal.append(abs(expected - actual))
        naive.append(abs(before - actual))
        actuals.append(actual)
    if not seasonal:
        return 0.0, 0.0, 0.0, 0
    return statistics.fmean(seasonal), statistics.fmean(naive), statistics.fmean(actuals), len(seasonal)


def demand(hourly_sum: float, per_instance_hour: float) -> float:
    """Instance-% from an hour's sum of per-instance utilization datapoints, given how many datapoints one instance
    emits in an hour (measured by history.py: not documented)."""
    return hourly_sum / per_instance_hour
