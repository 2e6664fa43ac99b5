"""Seeded CPU history for the forecast: days of a deployment's past load, as Data Science would have emitted it.

Each instance emits CpuUtilization once a minute (dimensions resourceId and instanceId). Weeks of that are
tens of thousands of datapoints per deployment, so history is written compactly: one datapoint per instance
and hour, with count 60 ("the number of occurrences of the associated value", Datapoint docstring). The
emulator weighs sum, mean and count by it, so `CpuUtilization[1h]...sum()` and `.mean()` give what sixty
one-minute datapoints of that value would. (Alarms evaluate the last minutes, never this history.)

    metric_data = business_hours(DEMO, DEMO2, end=time.time(), days=15, rise_in_minutes=40)
    store.post_service_metrics({"metricData": metric_data})  # or POST /_emulator/metrics, or seed "metrics"
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime

NAMESPACE = "oci_datascience_modeldeploy"
HOUR = 3600


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def hourly_history(
    compartment_id: str,
    deployment_id: str,
    demand: Callable[[float], float],
    end: float,
    days: float,
    target: float = 60.0,
    max_instances: int = 4,
) -> list[dict]:
    """MetricDataDetails of `days` of history before `end`: each hour's demand (instance-%, a function of the
    hour's start, epoch seconds) spread over the instances an autoscaler at `target` would have run."""
    last = math.floor(end / HOUR) * HOUR - HOUR  # the last complete hour before `end`
    hours = [last - HOUR * k for k in range(int(days * 24))][::-1]
    streams: dict[int, list[dict]] = {}
    for start in hours:
        load = max(0.0, demand(start))
        count = min(max_instances, max(1, math.ceil(load / target - 1e-9)))
        each = min(100.0, load / count)
        for index in range(count):
            # Stamped inside the hour (a window ends at, and includes, its label): the hour [start, start + 1h).
            point = {"timestamp": rfc3339(start + HOUR / 2), "value": round(each, 2), "count": 60}
            streams.setdefault(index, []).append(point)
    return [
        {
            "namespace": NAMESPACE,
            "compartmentId": compartment_id,
            "name": "CpuUtilization",
            "dimensions": {"resourceId": deployment_id, "instanceId": f"{deployment_id}.instance{index}"},
            "datapoints": points,
        }
        for index, points in streams.items()
    ]


def business_hours(
    compartment_id: str,
    deployment_id: str,
    end: float,
    days: float = 15,
    rise_in_minutes: float = 40,
    hours_high: float = 4,
    base: float = 20.0,
    peak: float = 200.0,
    **kwargs,
) -> list[dict]:
    """A daily rise to `peak` instance-% for `hours_high` hours, starting `rise_in_minutes` after `end`'s time
    of day on every past day; `base` otherwise, with a small deterministic ripple."""
    opens = (end + rise_in_minutes * 60) % 86400

    def demand(start: float) -> float:
        since = (start - opens) % 86400  # the hour [start, start + 1h) overlaps the high hours?
        high = since < hours_high * HOUR or since > 86400 - HOUR
        return (peak if high else base) + 3.0 * math.sin(start / 7919.0)

    return hourly_history(compartment_id, deployment_id, demand, end, days, **kwargs)
