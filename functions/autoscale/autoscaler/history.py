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


def history_query(deployment_id: str | None = None) -> str:
    """Hourly sum of every instance's CPU utilization datapoints, one stream per deployment."""
    where = f'{{resourceId = "{deployment_id}"}}' if deployment_id else ""
    return f"CpuUtilization[1h]{where}.groupBy(resourceId).sum()"


def read_history(
    gateway, compartment_id: str, now: float, days: int, streams: int, deployment_id: str | None = None
) -> dict[str, dict[float, float]]:
    """{deployment OCID: {hour end, epoch seconds: demand in instance-%}} over the last `days` days.

    `streams`: how many deployments the answer may hold (the compartment's count): the range is split into
    as few calls as keep each answer under the datapoint limit."""
    if streams > MAX_STREAMS:
        raise ValueError(f"{streams} deployments in a compartment: SummarizeMetricsData answers {MAX_STREAMS} at most")
    end = math.floor(now / HOUR) * HOUR
    start = end - days * 86400
    hours = days * 24
    calls = max(1, math.ceil(max(streams, 1) * hours / MAX_POINTS))
    step = math.ceil(hours / calls) * HOUR
    found: dict[str, dict[float, float]] = {}
    for begin in range(start, end, step):
        query = history_query(deployment_id)
        answer = gateway.metric_series(compartment_id, query, begin, min(begin + step, end), "1h")
        for resource, points in answer.items():
            found.setdefault(resource, {}).update({stamp: demand(value) for stamp, value in points.items()})
    return found


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
            series = read_history(gateway, state.compartment_id, now, settings.history_days, 1, state.id)
            prediction = predict(policy, series.get(state.id), now, horizon)
        except Exception as error:  # a forecast is an optimisation: never a reason to fail the alarm
            prediction = Forecast(None, f"stays out: CPU history not readable ({type(error).__name__})")
    return plan.floor(policy, now, horizon, prediction)
