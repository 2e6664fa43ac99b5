"""The load forecast: a deployment's own hourly history -> its peak demand over the next horizon. Pure.

Demand is in instance-percent: the sum over the deployment's instances of their CPU utilization (150 =
one and a half instances fully busy), so it does not change when the instance count does. The reconcile
reads it for a whole compartment in one SummarizeMetricsData call, `CpuUtilization[1h]{...}.groupBy(
resourceId).sum()` at resolution 1h, and divides by SAMPLES_PER_INSTANCE_HOUR.

Method: seasonal naive, daily (24 h) or weekly (168 h). The value expected at an hour is the median of
the same hour one, two and three periods back; the forecast is the largest such value over the horizon
plus the season's typical error. Before it is trusted, each season is backtested on the last week (or what there is):
its error must be at most PATTERN_ERROR_RATIO of the error of "the load stays where it was" (the naive
forecast, which is what a purely reactive policy assumes). Otherwise - history too short or with gaps, a
flat or noisy series, no season that beats the naive - the forecast stays out and says why.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass

HOUR = 3600
# Model deployment metrics are per instance at a one-minute interval (the [1m] of every documented alarm
# query, "Model Deployment Metrics"): an hour's sum over an instance holds 60 datapoints.
SAMPLES_PER_INSTANCE_HOUR = 60
MIN_HISTORY_HOURS = 72  # three days before a daily pattern is believed
MIN_COVERAGE = 0.75  # share of the hours in the history that must have data
BACKTEST_HOURS = 168  # a week (or what the history has): a quiet weekend alone shows no pattern
MIN_BACKTEST_POINTS = 24
PATTERN_ERROR_RATIO = 0.7
CYCLES = 3  # same-hour values one, two and three periods back
SEASONS = (("weekly", 168, 2), ("daily", 24, 3))  # (name, period in hours, full periods of history needed)


@dataclass(frozen=True)
class Forecast:
    peak: float | None  # demand (instance-%) expected at most over the horizon; None: the forecast stays out
    reason: str
    season: str | None = None

    @property
    def stays_out(self) -> bool:
        return self.peak is None


def forecast(history: Mapping[float, float], now: float, horizon: float, ceiling: float | None = None) -> Forecast:
    """The peak demand over (now, now + horizon] from `history` {window end epoch seconds: demand}.

    `ceiling`: the most demand the deployment could have shown (max instances x 100): a history above it
    is not on the expected scale (e.g. a metric cadence other than one datapoint a minute) and is not used."""
    series = {round(stamp / HOUR): value for stamp, value in history.items() if stamp <= now and math.isfinite(value)}
    if not series:
        return Forecast(None, "stays out: no CPU history")
    first, last = min(series), max(series)
    span = last - first + 1
    if span < MIN_HISTORY_HOURS:
        return Forecast(None, f"stays out: {span} h of history, a pattern needs {MIN_HISTORY_HOURS} h")
    coverage = len(series) / span
    if coverage < MIN_COVERAGE:
        return Forecast(None, f"stays out: history has data for {coverage:.0%} of its hours")
    if ceiling is not None and max(series.values()) > ceiling * 1.1:
        peak = max(series.values())
        return Forecast(None, f"stays out: history peaks at {peak:.0f} instance-%, above what the deployment can show")
    lead = max(1, math.ceil(horizon / HOUR))
    hours = range(math.floor(now / HOUR) + 1, math.ceil((now + horizon) / HOUR) + 1)
    notes, found = [], []
    for name, period, cycles in SEASONS:
        if span < period * cycles:
            notes.append(f"{name}: needs {period * cycles // 24} days")
            continue
        error, naive, points = _backtest(series, period, lead, last)
        if points < MIN_BACKTEST_POINTS:
            notes.append(f"{name}: too few hours to test")
            continue
        if naive == 0:
            return Forecast(None, "stays out: flat history, nothing to foresee")
        ratio = error / naive
        expected = [value for hour in hours if (value := _expected(series, hour, period, last)) is not None]
        if ratio > PATTERN_ERROR_RATIO:
            notes.append(f"{name} error {ratio:.2f} x naive")
        elif not expected:
            notes.append(f"{name}: no same-hour history for the horizon")
        else:
            found.append((ratio, name, max(expected) + error))
    if not found:
        return Forecast(None, "stays out: no pattern (" + "; ".join(notes) + ")")
    ratio, name, peak = min(found)
    reason = (
        f"{name} pattern (backtest error {ratio:.2f} x naive): up to {peak:.0f} instance-% "
        f"in the next {horizon / 60:.0f} min"
    )
    return Forecast(peak, reason, name)


def _expected(series: dict[int, float], hour: int, period: int, known_until: int) -> float | None:
    """The median of the same hour one to CYCLES periods back, among the hours known by `known_until`."""
    values = []
    back = hour - period
    while back >= hour - CYCLES * period:
        if back <= known_until and back in series:
            values.append(series[back])
        back -= period
    return statistics.median(values) if values else None


def _backtest(series: dict[int, float], period: int, lead: int, last: int) -> tuple[float, float, int]:
    """Mean absolute error of the seasonal and of the naive forecast over the last BACKTEST_HOURS, each made
    `lead` hours ahead with only the data known then."""
    seasonal, naive = [], []
    for hour in range(last - BACKTEST_HOURS + 1, last + 1):
        actual, before = series.get(hour), series.get(hour - lead)
        if actual is None or before is None:
            continue
        expected = _expected(series, hour, period, hour - lead)
        if expected is None:
            continue
        seasonal.append(abs(expected - actual))
        naive.append(abs(before - actual))
    if not seasonal:
        return 0.0, 0.0, 0
    return statistics.fmean(seasonal), statistics.fmean(naive), len(seasonal)


def demand(hourly_sum: float) -> float:
    """Instance-% from an hour's sum of per-instance utilization datapoints."""
    return hourly_sum / SAMPLES_PER_INSTANCE_HOUR
