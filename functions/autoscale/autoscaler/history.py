"""Reading CPU history for the forecast, and the instance floor of one deployment on the alarm path.

A whole compartment's history is ONE SummarizeMetricsData call (more only when the answer would pass the
datapoint limit): `CpuUtilization[1h].groupBy(resourceId).sum()` returns one stream per deployment.
Monitoring allows 10 SummarizeMetricsData calls a second per tenancy (NOTES: SDK monitoring_client.py), so
a call per deployment would not scale to a fleet.
"""

from __future__ import annotations

import math

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


def history_query(deployment_id: str | None = None, pattern: str | None = None) -> str:
    """Hourly sum of every instance's CPU utilization datapoints, one stream per deployment."""
    where = (
        f'{{resourceId = "{deployment_id}"}}' if deployment_id else f'{{resourceId =~ "{pattern}"}}' if pattern else ""
    )
    return f"CpuUtilization[1h]{where}.groupBy(resourceId).sum()"


def read_history(
    gateway, compartment_id: str, now: float, days: int, deployments: list[str]
) -> dict[str, dict[float, float]]:
    """{deployment OCID: {hour end, epoch seconds: demand in instance-%}} over the last `days` days.

    `deployments`: the compartment's deployments (every stream the answer may hold), or the one deployment
    asked about. A compartment of more than SPLIT_STREAMS deployments is read in groups by the last characters
    of their OCIDs (suffix_groups); each group's range is split into as few calls as keep its answers under the
    datapoint limit."""
    end = math.floor(now / HOUR) * HOUR
    start = end - days * 86400
    hours = days * 24
    if len(deployments) == 1:
        groups = [(history_query(deployments[0]), 1)]
    else:
        groups = [(history_query(pattern=pattern), size) for pattern, size in suffix_groups(deployments, SPLIT_STREAMS)]
    found: dict[str, dict[float, float]] = {}
    for query, streams in groups:
        calls = max(1, math.ceil(max(streams, 1) * hours / MAX_POINTS))
        step = math.ceil(hours / calls) * HOUR
        for begin in range(start, end, step):
            answer = gateway.metric_series(compartment_id, query, begin, min(begin + step, end), "1h")
            for resource, points in answer.items():
                found.setdefault(resource, {}).update({stamp: demand(value) for stamp, value in points.items()})
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
            series = read_history(gateway, state.compartment_id, now, settings.history_days, [state.id])
            prediction = predict(policy, series.get(state.id), now, horizon)
        except Exception as error:  # a forecast is an optimisation: never a reason to fail the alarm
            prediction = Forecast(None, f"stays out: CPU history not readable ({type(error).__name__})")
    return plan.floor(policy, now, horizon, prediction)
