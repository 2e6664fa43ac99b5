"""The instance floor of a deployment over the next horizon: its schedule and its forecast. Pure.

The floor is the least instance count the deployment should have from now until the next reconcile's
change could land (the horizon: the reconcile interval plus the update time). The reconcile raises a
deployment to it; every scale-in decision (decide(), through min_instances) respects it; the low alarm
is removed at it. It is never below min_instances nor above max_instances, and the forecast only ever
raises it: capacity never goes below what the reactive rules require.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import schedule
from .constants import MANAGED_TAG
from .forecast import Forecast
from .settings import Policy


@dataclass(frozen=True)
class Floor:
    count: int  # min_instances <= count <= max_instances
    schedule: str = ""  # the schedule entry that sets a floor above min_instances, or ""
    forecast: str = ""  # what the forecast said (including why it stayed out), or ""

    def apply(self, policy: Policy) -> Policy:
        """The policy whose scale-in stops at this floor."""
        if self.count <= policy.min_instances:
            return policy
        return policy.model_copy(update={"min_instances": self.count})

    def note(self, policy: Policy) -> str:
        """A clause for the log line when the floor is above min_instances, else ""."""
        if self.count <= policy.min_instances:
            return ""
        why = "; ".join(part for part in (self.schedule and f"schedule {self.schedule}", self.forecast) if part)
        return f"floor {self.count} instances ({why})"


def opted(tags: dict[str, str]) -> bool | None:
    """The deployment's autoscale_managed tag: True (opted in), False (opted out), None (absent).
    ValueError for any other value, so a typo is refused instead of read as either."""
    value = tags.get(MANAGED_TAG)
    if value is None:
        return None
    if value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"tag {MANAGED_TAG}={value[:40]!r} must be true or false")


def sizes_instances(policy: Policy) -> bool:
    """Schedules and forecasts are instance counts: they apply where CPU scales the count."""
    return policy.cpu_mode in ("horizontal", "cost")


def horizon_seconds(policy: Policy, interval_seconds: float) -> float:
    """How far ahead a change made now must look: the next reconcile plus the time its change takes."""
    return interval_seconds + policy.update_seconds


def floor(policy: Policy, now: float, horizon: float, prediction: Forecast | None = None) -> Floor:
    """The floor over (now, now + horizon] from the policy's schedule and the forecast (None: not asked)."""
    if not sizes_instances(policy):
        return Floor(policy.min_instances)
    count, scheduled, foreseen = policy.min_instances, "", ""
    windows = schedule.parse(policy.schedule)
    if windows:
        found = schedule.floor_between(windows, now, now + horizon, schedule.zone(policy.time_zone))
        if found.count > count:
            count = found.count
            scheduled = f"'{found.text}' from {found.opens:%a %H:%M} {policy.time_zone}"
    if prediction is not None:
        foreseen = prediction.reason
        if prediction.peak is not None:
            need = max(1, math.ceil(prediction.peak / policy.cpu_target - 1e-9))
            foreseen += f": {need} instances at the {policy.cpu_target:g}% target"
            count = max(count, need)
    if count > policy.max_instances:
        count = policy.max_instances
        foreseen += f" (capped at max_instances {policy.max_instances})"
    return Floor(count, scheduled, foreseen)
