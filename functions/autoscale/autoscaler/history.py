"""Reading CPU history for the forecast, and the instance floor of one deployment on the alarm path.

The forecast wants each hour's demand in instance-% (forecast.py): the time-average over the hour of the sum of the
deployment's instances' CPU utilization. Two facts this rests on are not documented, so the reader does not assume
them (issue 22):

- How often an instance emits a CpuUtilization datapoint. "Model Deployment Metrics" lists the dimensions (resourceId,
  instanceId) and the unit (percent), not an interval; "Monitoring Query Language (MQL) Reference" (Interval) says
  only that most metrics are emitted every minute and to check each service's metric reference. An hour's `sum()`
  over an instance is that interval's count of datapoints times their mean, so the reader never divides by an assumed
  60:
  - the tick (read_history): the hourly `sum()` per deployment, as before (ONE call per compartment, more past the
    answer limits), divided by the datapoints one instance emits in an hour, MEASURED by one more call each tick:
    `count()` per instance over the last CADENCE_HOURS for up to CADENCE_DEPLOYMENTS deployments with recent data
    (measure_cadence). Without a grouping function each metric stream answers on its own ("Using groupBy(x) in a
    Query" combines them only when asked), and CpuUtilization's streams are per instance (dimensions resourceId and
    instanceId, "Model Deployment Metrics"); a middle hour of an instance that reported in the hour before and after
    it is a whole hour of that instance. Exact in every hour, including the hours an instance came or went.
  - the alarm path (read_deployment): ONE call, no room for a second statistic: the hourly `mean()` per instance
    ("Selecting the Statistic for a Query": Mean is Sum divided by Count, so the interval cancels), summed over the
    instances that reported in the hour. Exact in the hours an instance count held; in an hour an instance came or
    went it counts that instance as present for the whole hour (the issue's "instance count = number of instanceId
    streams"), over by at most that instance's mean: more capacity, never less.
- Which end of its window an aggregated datapoint's timestamp marks: "the date and time associated with the value"
  (AggregatedDatapoint docstring, SDK 2.189.0). The reader labels an hour by its timestamp, read as the window's END
  ("Selecting a Nondefault Resolution for a Query" draws windows "from 0:n to 5:00", which suggests it). If OCI
  stamps the START, every hour reads one hour early: a rise is foreseen an hour early, never late, and the forecast's
  horizon reaches one hour back (forecast.LABEL_SLACK_HOURS) so the hour it begins in is covered either way. The
  request ends at the last whole hour (endTime excluded, SummarizeMetricsDataDetails), so no partial hour is read
  under either convention.

Monitoring allows 10 SummarizeMetricsData calls a second per tenancy (NOTES: SDK monitoring_client.py), so a call
per deployment would not scale to a fleet: the tick reads every deployment of a compartment in one answer.
"""

from __future__ import annotations

import math
import statistics

from . import plan, schedule
from .domain import DeploymentState
from .forecast import Forecast, demand, forecast
from .settings import Policy, Settings

HOUR = 3600
# MetricData / SummarizeMetricsDataDetails docstrings (oci SDK 2.189.0): at most 100,000 datapoints and 2,000
# streams in one answer; at resolution 1h the range may span 90 days. Stay a little below the datapoint limit.
MAX_POINTS = 90_000
MAX_STREAMS = 2_000
# A compartment with more deployments than this is read in groups: the margin covers deployments deleted since
# (their history still answers) and an uneven split.
SPLIT_STREAMS = 1_600
# The cadence call: the last 6 whole hours of per-instance counts of at most 20 deployments (the ones with the most
# recent data): at most a few hundred streams and a short query (20 OCIDs), whatever the fleet.
CADENCE_HOURS = 6
CADENCE_DEPLOYMENTS = 20


class CadenceUnknown(Exception):
    """No instance has reported through three whole hours lately: the datapoints per instance-hour are unknown."""


def history_query(deployment_id: str | None = None, pattern: str | None = None) -> str:
    """Hourly sum of every instance's CPU utilization datapoints, one stream per deployment."""
    return f"CpuUtilization[1h]{_where(deployment_id, pattern)}.groupBy(resourceId).sum()"


def instance_query(deployments: list[str], statistic: str) -> str:
    """An hourly statistic per instance (no grouping function: one stream per resourceId and instanceId) of the
    given deployments: `=` for one, fuzzy alternatives with "|" for more ("Selecting Dimensions for a Query")."""
    if len(deployments) == 1:
        return f"CpuUtilization[1h]{_where(deployments[0])}.{statistic}()"
    return f"CpuUtilization[1h]{_where(pattern='|'.join(deployments))}.{statistic}()"


def _where(deployment_id: str | None = None, pattern: str | None = None) -> str:
    return (
        f'{{resourceId = "{deployment_id}"}}' if deployment_id else f'{{resourceId =~ "{pattern}"}}' if pattern else ""
    )


def _last_whole_hour(now: float) -> int:
    return math.floor(now / HOUR) * HOUR


def read_history(
    gateway, compartment_id: str, now: float, days: int, deployments: list[str]
) -> dict[str, dict[float, float]]:
    """{deployment OCID: {hour label, epoch seconds: demand in instance-%}} over the last `days` days (the tick).

    `deployments`: the compartment's deployments (every stream the answer may hold). A compartment of more than
    SPLIT_STREAMS deployments is read in groups by the last characters of their OCIDs (suffix_groups); each group's
    range is split into as few calls as keep its answers under the datapoint limit. Then one more call measures the
    datapoints an instance emits in an hour (measure_cadence); CadenceUnknown if it cannot."""
    end = _last_whole_hour(now)
    start = end - days * 86400
    hours = days * 24
    if len(deployments) == 1:
        groups = [(history_query(deployments[0]), 1)]
    else:
        groups = [(history_query(pattern=pattern), size) for pattern, size in suffix_groups(deployments, SPLIT_STREAMS)]
    sums: dict[str, dict[float, float]] = {}
    for query, streams in groups:
        calls = max(1, math.ceil(max(streams, 1) * hours / MAX_POINTS))
        step = math.ceil(hours / calls) * HOUR
        for begin in range(start, end, step):
            answer = gateway.metric_series(compartment_id, query, begin, min(begin + step, end), "1h")
            for resource, points in answer.items():
                sums.setdefault(resource, {}).update(points)
    if not sums:
        return {}
    cadence = measure_cadence(gateway, compartment_id, now, sums)
    return {
        resource: {stamp: demand(value, cadence.get(resource, cadence[None])) for stamp, value in points.items()}
        for resource, points in sums.items()
    }


def measure_cadence(
    gateway, compartment_id: str, now: float, sums: dict[str, dict[float, float]]
) -> dict[str | None, float]:
    """{deployment: datapoints per instance-hour} for the deployments measured, and {None: their median} for the
    rest, from ONE SummarizeMetricsData of per-instance hourly counts over the last CADENCE_HOURS whole hours.

    An instance's count in an hour whose neighbours it also reported in is a whole hour of it (the timestamps'
    convention does not matter: only the neighbours do); the median over such hours ignores a missed datapoint or
    a duplicate. One cadence per deployment where measured (every deployment, in a compartment of at most
    CADENCE_DEPLOYMENTS with recent data); the median of those for a deployment not measured: one service emits them
    all, and were its interval to differ between deployments, only those beyond the sample would be off."""
    end = _last_whole_hour(now)
    start = end - CADENCE_HOURS * HOUR
    recent = {resource: sum(1 for stamp in points if stamp >= start) for resource, points in sums.items()}
    sampled = sorted((resource for resource, count in recent.items() if count), key=lambda r: (-recent[r], r))
    sampled = sampled[:CADENCE_DEPLOYMENTS]
    if not sampled:
        raise CadenceUnknown("no deployment reported CPU in the last hours")
    counts: dict[str, list[float]] = {}
    for dimensions, points in gateway.metric_streams(
        compartment_id, instance_query(sampled, "count"), start, end, "1h"
    ):
        resource = dimensions.get("resourceId")
        if resource:
            counts.setdefault(resource, []).extend(_whole_hours(points))
    medians = {resource: statistics.median(found) for resource, found in counts.items() if found}
    cadence: dict[str | None, float] = {r: value for r, value in medians.items() if math.isfinite(value) and value > 0}
    if not cadence:
        raise CadenceUnknown(f"no instance reported through three whole hours of the last {CADENCE_HOURS}")
    cadence[None] = statistics.median(cadence.values())
    return cadence


def _whole_hours(points: dict[float, float]) -> list[float]:
    """The values of the hours whose neighbours on both sides hold a value too."""
    by_hour = {round(stamp / HOUR): value for stamp, value in points.items()}
    return [value for hour, value in by_hour.items() if hour - 1 in by_hour and hour + 1 in by_hour]


def read_deployment(gateway, compartment_id: str, now: float, days: int, deployment_id: str) -> dict[float, float]:
    """{hour label, epoch seconds: demand in instance-%} of one deployment over the last `days` days in ONE call (the
    alarm path): the sum over its instances of their hourly mean, each instance counted in the hours it reported.

    One deployment's instances, even replaced every few hours, stay far below the answer limits (2,000 streams;
    100,000 datapoints = instance-hours)."""
    end = _last_whole_hour(now)
    found: dict[float, float] = {}
    for dimensions, points in gateway.metric_streams(
        compartment_id, instance_query([deployment_id], "mean"), end - days * 86400, end, "1h"
    ):
        if dimensions.get("resourceId") != deployment_id:
            continue
        for stamp, value in points.items():
            found[stamp] = found.get(stamp, 0.0) + value
    return found


def suffix_groups(deployments: list[str], limit: int) -> list[tuple[str | None, int]]:
    """Fuzzy patterns (`*a|*b|...`) that split the deployments into groups of at most `limit`, by the last
    characters of their OCIDs; [(None, n)] (no filter) when they fit in one answer. Fuzzy matching, "|" for OR
    and "*" as a wildcard: "Selecting Dimensions for a Query" (Monitoring docs, example 5 and Fuzzy Matching)."""
    if len(deployments) <= limit:
        return [(None, len(deployments))]
    depth = 1
    while True:
        buckets: dict[str, int] = {}
        for deployment_id in deployments:
            suffix = deployment_id[-depth:]
            buckets[suffix] = buckets.get(suffix, 0) + 1
        if max(buckets.values()) <= limit or depth >= 8:
            break
        depth += 1
    groups: list[tuple[list[str], int]] = []
    for suffix, size in sorted(buckets.items(), key=lambda item: -item[1]):
        home = next((g for g in groups if g[1] + size <= limit), None)
        if home is None:
            groups.append(([suffix], size))
        else:
            groups[groups.index(home)] = (home[0] + [suffix], home[1] + size)
    return [("|".join(f"*{suffix}" for suffix in sorted(suffixes)), size) for suffixes, size in groups]


def predict(policy: Policy, series: dict[float, float] | None, now: float, horizon: float) -> Forecast | None:
    """The forecast for one deployment, or None when it is not asked for (predict off, counts not scaled)."""
    if not policy.predict or not plan.sizes_instances(policy):
        return None
    zone = schedule.zone(policy.time_zone)
    return forecast(series or {}, now, horizon, ceiling=policy.max_instances * 100, zone=zone)


def alarm_floor(policy: Policy, state: DeploymentState, direction: str, settings: Settings, gateway, now: float):
    """The floor for one alarm's decision: the schedule always (pure); the forecast only before a scale-in
    (one SummarizeMetricsData call for this deployment), so the hot scale-up path makes no extra call.
    A history that cannot be read leaves the forecast out: the reactive rules decide alone."""
    horizon = plan.horizon_seconds(policy, settings.reconcile_interval_seconds)
    prediction = None
    wants = direction == "down" and state.capacity.instance_count > policy.min_instances
    if wants and policy.predict and plan.sizes_instances(policy):
        try:
            series = read_deployment(gateway, state.compartment_id, now, settings.history_days, state.id)
            prediction = predict(policy, series, now, horizon)
        except Exception as error:  # a forecast is an optimisation: never a reason to fail the alarm
            prediction = Forecast(None, f"stays out: CPU history not readable ({type(error).__name__})")
    return plan.floor(policy, now, horizon, prediction)
