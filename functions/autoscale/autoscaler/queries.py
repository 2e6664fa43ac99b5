"""What the function needs to know about an alarm's MQL query: its trigger condition and its granularity.

Only the verified alarm's query (read from OCI, never the payload) is parsed here. MQL grammar: docs
"Monitoring Query Language (MQL) Reference": `Metric[interval]{filters}.grouping().statistic() op value`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CONDITION = re.compile(r"(?P<op>>=|<=|==|!=|>|<)\s*(?P<value>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$")
_PER_DEPLOYMENT = re.compile(r"\.groupBy\(\s*resourceId\s*\)|\.grouping\(\s*\)")
_INTERVAL = re.compile(r"^\s*[A-Za-z][A-Za-z0-9_.$-]*\s*\[\s*(?P<n>\d+)\s*(?P<unit>[mhd])\s*\]")
_STATISTIC = re.compile(r"\.(?P<name>[A-Za-z]+)\([^()]*\)\s*(?:>=|<=|==|!=|>|<)")
_MINUTES = {"m": 1, "h": 60, "d": 1440}
_TOLERANCE = 0.01  # metric values arrive as strings rounded to two decimals


@dataclass(frozen=True)
class Condition:
    operator: str
    threshold: float
    per_deployment: bool  # one stream per deployment (groupBy(resourceId) or grouping()), else per instance
    statistic: str | None = None  # mean, sum, max, ... (None: not found)
    interval_minutes: float = 1.0  # the query's interval: a sum over [5m] is five minutes of requests

    def holds(self, value: float) -> bool:
        """Whether `value` meets the trigger (within the rounding of the message's value strings)."""
        t, e = self.threshold, _TOLERANCE
        return {
            ">": value > t - e,
            ">=": value >= t - e,
            "<": value < t + e,
            "<=": value <= t + e,
            "==": abs(value - t) <= e,
            "!=": True,
        }[self.operator]

    @property
    def direction(self) -> str | None:
        """ "up" for a high alarm (> or >=), "down" for a low one, None otherwise."""
        return {">": "up", ">=": "up", "<": "down", "<=": "down"}.get(self.operator)


def condition(query: str) -> Condition | None:
    """The trigger condition of an alarm query, or None when it has no simple `op number` at its end."""
    match = _CONDITION.search(query)
    if match is None:
        return None
    interval = _INTERVAL.search(query)
    minutes = int(interval["n"]) * _MINUTES[interval["unit"]] if interval else 1
    statistic = _STATISTIC.search(query)
    return Condition(
        match["op"],
        float(match["value"]),
        bool(_PER_DEPLOYMENT.search(query)),
        statistic["name"] if statistic else None,
        float(minutes or 1),
    )
