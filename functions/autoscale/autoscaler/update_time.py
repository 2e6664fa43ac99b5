"""How long a deployment update takes: measured by OCI, kept in the deployment's state tags, else the setting. Pure.

No page says how long an UpdateModelDeployment takes (../shared/NOTES.md, "Update while ACTIVE"), so the function
does not guess it: OCI records it. Every update is a work request, and the work requests of one deployment can be
listed (DataScienceClient.list_work_requests, oci 2.189.0: compartment_id required, resource_id "the resource
associated with the work request"; the console's "Work Requests" of a deployment "provides the status of each
operation applied to the model deployment", docs "Listing Model Deployments"). An update is operation type
MODEL_DEPLOYMENT_UPDATE, and its WorkRequestSummary carries time_accepted, time_started and time_finished
(oci/data_science/models/work_request_summary.py). How long our change took to land is time_finished minus
time_accepted: our call is answered when OCI accepts it, and any wait before it starts is part of the wait for the
new capacity.

The periodic tick (reconcile.py) reads them, at most once per deployment per tick and only while one of our changes
has finished since the last measurement (`due`), and records the measurement in the deployment's state tags per
direction of that change (a scale-out starts instances, a scale-in only stops some: they need not take as long) when
it differs meaningfully from the one recorded (`worth_recording`): each write is an update of the deployment. The
alarm path reads no work request: it reads the tags it reads anyway.

Where the time is used: the second scale-in waits for the first one's update to end, then a cooldown of fresh
readings (policy._cooldown_left); the scale-up cooldown counts from the end of our last scale-up's update once OCI
has measured one; a change planned ahead looks one update further than the next tick (plan.horizon_seconds). Until
a deployment has a measurement, `AUTOSCALE_UPDATE_SECONDS` (tag `autoscale_update_seconds`) stands in for it.
"""

from __future__ import annotations

from .domain import DeploymentState
from .settings import Policy

# A measurement is recorded when it differs from the recorded one by at least this much. Each record is an update of
# the deployment (a work request of its own), so the jitter of similar updates must not write: the benchmark's
# update times vary by up to a fifth around their mean (bench/sim.py UPDATE_MINUTES), and alarms see the metrics a
# minute at a time (resolution 1m, CreateAlarmDetails), so a minute less or more changes no decision's timing.
MIN_CHANGE_SECONDS = 60
MIN_CHANGE_SHARE = 0.25
# The longest update time the function uses, measured or set: the setting's own bound (settings.Policy).
MAX_SECONDS = next(rule.le for rule in Policy.model_fields["update_seconds"].metadata if hasattr(rule, "le"))
# How much longer than recorded an update may have taken and still be measured: the first tick to see it finished
# comes at most one interval after its end; the recorded time may be short by as much again.
LATE_FACTOR = 2


def last_change(state: DeploymentState) -> float | None:
    changes = [t for t in (state.last_up, state.last_down) if t is not None]
    return max(changes) if changes else None


def direction_of_last(state: DeploymentState) -> str | None:
    """ "down" when our last change was a scale-in, "up" for a scale-up (the tick's raise included), else None."""
    if state.last_down is not None and (state.last_up is None or state.last_down > state.last_up):
        return "down"
    return "up" if state.last_up is not None else None


def measured(state: DeploymentState, direction: str) -> float | None:
    """How long our last change in this direction took to land, as OCI measured it, or None."""
    return state.up_update_seconds if direction == "up" else state.down_update_seconds


def seconds(state: DeploymentState, policy: Policy, direction: str) -> float:
    """The update time to reckon with for a change in this direction: OCI's measurement of one, else of a change in
    the other direction (a measurement of this deployment beats a setting), else the setting."""
    for which in (direction, "down" if direction == "up" else "up"):
        value = measured(state, which)
        if value is not None:
            return value
    return policy.update_seconds


def with_measured(policy: Policy, state: DeploymentState) -> Policy:
    """The policy whose update_seconds is the deployment's measured update time (of a scale-up: what a floor raise
    is), so that the horizon of its floor (plan.horizon_seconds) is the deployment's own."""
    value = seconds(state, policy, "up")
    if value == policy.update_seconds:
        return policy
    return policy.model_copy(update={"update_seconds": round(value)})


def due(state: DeploymentState, policy: Policy, now: float, interval: float) -> str | None:
    """The direction of our last change when the tick should read the deployment's work requests now, else None.

    Due when the deployment is ACTIVE on the capacity our last change asked for (the update ended, and it did not
    fail), that change was not measured yet, and its update may have ended since the previous tick (an interval
    ago), allowing it LATE_FACTOR times the update time reckoned with. A change measured within the hysteresis of
    `worth_recording` is not recorded, so it is read again at the next tick, until the window closes: a few reads
    per change at most, never one per tick for ever."""
    last, direction = last_change(state), direction_of_last(state)
    if last is None or direction is None or state.update_measured_for == last:
        return None
    if state.lifecycle_state != "ACTIVE" or (state.last_target and state.last_target != str(state.capacity)):
        return None
    if now - last > interval + LATE_FACTOR * seconds(state, policy, direction):
        return None
    return direction


def worth_recording(state: DeploymentState, direction: str, value: float) -> bool:
    """Whether a measurement should be written to the tags: the first of its direction always, later ones when they
    differ meaningfully from the recorded one."""
    recorded = measured(state, direction)
    if recorded is None:
        return True
    return abs(value - recorded) >= max(MIN_CHANGE_SECONDS, MIN_CHANGE_SHARE * recorded)


def bounded(value: float) -> float:
    """A measurement (or a tag read back) within 0..MAX_SECONDS, in whole seconds."""
    return float(min(max(round(value), 0), MAX_SECONDS))
