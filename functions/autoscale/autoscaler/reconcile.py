"""The periodic reconcile: like a Kubernetes controller, bring every managed deployment to what the policy wants.

OCI Resource Scheduler invokes the function on a CRON recurrence with a fixed body (tick.py). Each tick,
for every deployment the autoscaler MANAGES in the allowlisted compartments:

- raises it to its floor (plan.py): the largest of min_instances, its schedule's count and its forecast's
  need over the horizon (the reconcile interval plus the update time), never above max_instances;
- converges the alarms the function owns to its capacity (owned_alarms.py): the low alarms present above
  the floor with the right threshold, absent at it (so scale-in stops at the floor); duplicates removed;
- finishes or undoes half-done changes: a change that landed while its alarm step failed gets its alarms;
  a change whose work request failed is reported and its alarms follow the capacity OCI kept;
- deletes the alarms the function owns for deployments that are gone, opted out or no longer managed;
- measures how long the update of our last change took, from the deployment's work requests, and records it in its
  state tags when it changed (update_time.py): the cooldowns and the horizon use it instead of a setting.

A deployment is MANAGED when it is not opted out (freeform tag autoscale_managed=false) and either opted in
(autoscale_managed=true) or watched by a high alarm that routes to the autoscaler and that the function did
not create itself (Terraform's, or a user's: routing title, ACTIVE, its query naming the deployment or its
compartment).

Reads are per compartment, never per deployment: ListModelDeployments, ListAlarms (indexed once by deployment:
planning is O(N) and reads nothing more) and SummarizeMetricsData (split by OCID suffix above 2000 streams).
Only a deployment that needs a change, or whose update of a change of ours has ended since the previous tick
(one ListWorkRequests, Data Science: not an alarm operation), costs more calls. Every alarm operation goes through a
governor (governor.py) at AUTOSCALE_ALARM_OPS_PER_SECOND, a slice of the tenancy's shared 10 TPS; a 429 is retried
within the budget. Changes are guarded like the alarm path's: if-match on the deployment's etag, state tags with
a writer id, the tick's event key; alarm updates and deletes carry the alarm's etag, and a threshold is written
only while the deployment is still as read (owned_alarms.converge_one). So a tick is idempotent and safe against
alarm invocations and other ticks, and reports only the writes that landed for it. One deployment's failure is
its own outcome; the others go on. Work stops when the tick's budget is spent (checked while planning too);
what is left is reported "deferred". Work is ordered changes first, then repairs and orphaned alarms, each
rotated by the tick's slot, so that with no memory between ticks every deployment gets its turn.

`reconcile(request, settings, gateway, now)` is the entry point (handler.py; the benchmark can drive it in
its closed loop: one call per tick, the same settings and gateway as the alarm path).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace

from . import plan, update_time
from .constants import (
    DEPLOYMENT_TAG,
    HIGH_TITLE,
    MANAGED_TAG,
    OWNER_TAG,
    OWNER_VALUE,
    STATE_LAST_DOWN_TAG,
    STATE_LAST_UP_TAG,
    STATE_UPDATE_DOWN_TAG,
    STATE_UPDATE_FOR_TAG,
    STATE_UPDATE_UP_TAG,
)
from .domain import Action, Decision, LowAlarm, Signal
from .forecast import Forecast
from .governor import BudgetSpent, Governor
from .history import predict, read_history
from .oci_gateway import Conflict, Deployment, ListedAlarm, OciRefused
from .owned_alarms import (
    ALREADY_GONE,
    UNSURE,
    AlarmTemplate,
    Wanted,
    alarm_details,
    converge_held,
    converge_one,
    generation,
    owned_alarm_name,
    owned_titles,
    wanted_alarms,
    wrote,
)
from .policy import steady
from .service import RESOURCE_FILTER, _last_change, _latest, _short, apply_change
from .settings import ConfigError, Settings, log_unknown_tags
from .tick import ReconcileRequest

TITLE, TYPE = "reconcile", "TICK"
WORKERS = 8  # deployments worked on at once: the governor, not this, bounds the alarm-operation rate
ROUTING_HIGH_TITLES = frozenset(HIGH_TITLE.values())
QUOTED = re.compile(r'"([^"]*)"')
GOLDEN = 0.6180339887498949  # successive slots start the rotation far apart (Weyl sequence)
DEFERRED = "tick budget spent: a later tick does it"


@dataclass
class ReconcileOutcome:
    """What one tick did to one deployment: the body of its log line."""

    deployment_id: str | None
    status: str  # applied | repaired | ensured | noop | refused | conflict | error | dry_run | deferred
    action: str = Action.NONE.value
    reason: str = ""
    before: str | None = None
    after: str | None = None
    floor: int | None = None
    schedule: str = ""
    forecast: str = ""
    alarms: dict[str, str] | None = None
    work_request_id: str | None = None
    update_time: str = ""  # what the tick measured of the deployment's update time (update_time.py), if it looked
    dry_run: bool = False
    duration_ms: float = 0.0
    title: str = TITLE
    type: str = TYPE
    alarm_id: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


class AlarmIndex:
    """The compartments' alarms, listed once and indexed by deployment: every question planning asks is a lookup."""

    def __init__(self, alarms: list[ListedAlarm]):
        self.named: dict[str, list[ListedAlarm]] = defaultdict(list)  # routing alarms naming a deployment
        self.wide: dict[str, list[ListedAlarm]] = defaultdict(list)  # compartment-wide routing alarms
        self.mine: dict[str, list[ListedAlarm]] = defaultdict(list)  # alarms tagged as ours for a deployment
        self.made: dict[str, dict[str, list[ListedAlarm]]] = defaultdict(lambda: defaultdict(list))  # function's
        terraform = []
        for alarm in sorted(alarms, key=lambda a: a.id):
            deployment_id = alarm.tags.get(DEPLOYMENT_TAG) if alarm.tags.get(OWNER_TAG) == OWNER_VALUE else None
            made = bool(deployment_id) and _function_made(alarm)
            if deployment_id:
                self.mine[deployment_id].append(alarm)
            if made:
                self.made[deployment_id][alarm.display_name].append(alarm)
                continue
            if (alarm.notification_title or alarm.display_name) not in ROUTING_HIGH_TITLES:
                continue
            if deployment_id is not None:
                terraform.append(alarm)
            if RESOURCE_FILTER.search(alarm.query):
                for quoted in set(QUOTED.findall(alarm.query)):
                    self.named[quoted].append(alarm)
            else:
                self.wide[alarm.metric_compartment_id].append(alarm)
        self.any_autoscaler_alarm = terraform[0] if terraform else None

    def routing(self, deployment: Deployment) -> list[ListedAlarm]:
        """The high alarms that route this deployment to the autoscaler (not the function's own)."""
        state = deployment.state
        return self.named.get(state.id, []) + self.wide.get(state.compartment_id, [])

    def source(self, deployment: Deployment, routing: list[ListedAlarm]) -> ListedAlarm | None:
        """The alarm whose compartment and topic the owned alarms copy: a routing alarm naming the deployment (CPU
        first), else one of its own alarms, else a compartment-wide routing alarm, else (a deployment opted in by
        tag) any autoscaler high alarm: they all notify the autoscaler's topic."""
        named = sorted(self.named.get(deployment.state.id, []), key=lambda a: not a.query.startswith("CpuUtilization"))
        for candidates in (named, self.mine.get(deployment.state.id, []), routing):
            if candidates:
                return candidates[0]
        return self.any_autoscaler_alarm

    def owned(self, deployment_id: str, name: str) -> list[tuple[str, str]]:
        return [(a.id, a.query) for a in self.made.get(deployment_id, {}).get(name, [])]


@dataclass
class _Work:
    """One managed deployment's plan, made from the listings alone (no calls)."""

    deployment: Deployment
    outcome: ReconcileOutcome
    policy: object = None
    floor: plan.Floor | None = None
    target: object = None  # Capacity to raise to, or None
    wanted: list[Wanted] = field(default_factory=list)
    stale: list[Wanted] = field(default_factory=list)  # wanted alarms the listing shows diverged
    source: ListedAlarm | None = None  # the routing alarm to model owned alarms on
    learn: str | None = None  # the direction of our last change when its update time is to be read (update_time.due)

    @property
    def needed(self) -> bool:
        return self.target is not None or bool(self.stale) or self.learn is not None


@dataclass
class _Orphans:
    """The alarms the function made for a deployment it does not manage (any more): to delete."""

    outcome: ReconcileOutcome
    alarms: list[tuple[str, str]]  # (display name, alarm id)
    listed: Deployment | None  # the deployment as listed, None when it was not listed
    compartments: set[str]  # the compartments this tick could list
    target = None
    needed = True


def tick_key(now: float, interval: float) -> str:
    """The event key of the tick slot: duplicate and concurrent ticks of one slot share it."""
    return hashlib.sha256(f"reconcile|{int(now // interval)}".encode()).hexdigest()[:12]


def reconcile(
    request: ReconcileRequest | None,
    settings: Settings,
    gateway,
    now: float,
    clock=None,
    sleep=None,
    workers: int = WORKERS,
) -> list[ReconcileOutcome]:
    """Reconcile every managed deployment of the requested (default: all allowlisted) compartments.

    `clock`, `sleep` and `workers` let a benchmark run a tick on a virtual clock (one worker, so that the
    governor's waits are the only passing of time); the function uses the defaults."""
    clock, sleep = clock or time.monotonic, sleep or time.sleep
    deadline = clock() + settings.reconcile_budget_seconds
    rate = settings.alarm_ops_per_second
    # SummarizeMetricsData has a 10 TPS budget of its own (NOTES: monitoring_client.py): the same slice of it.
    gateway = gateway.governed(Governor(rate, deadline, clock, sleep), Governor(rate, deadline, clock, sleep))
    outcomes: list[ReconcileOutcome] = []
    compartments = list(settings.compartment_allowlist)
    if request is not None and request.compartments:
        outcomes += [
            ReconcileOutcome(None, "refused", reason=f"compartment {c} is not in the allowlist")
            for c in request.compartments
            if c not in settings.compartment_allowlist
        ]
        compartments = [c for c in compartments if c in request.compartments]

    deployments: dict[str, Deployment] = {}
    alarms: list[ListedAlarm] = []
    listed: set[str] = set()  # compartments whose deployments and alarms could be listed
    for compartment in compartments:
        try:
            found = gateway.list_deployments(compartment)
            alarms += gateway.list_alarm_summaries(compartment)
        except BudgetSpent:
            outcomes.append(ReconcileOutcome(None, "deferred", reason=f"listing {compartment}: {DEFERRED}"))
            continue
        except Exception as error:
            outcomes.append(ReconcileOutcome(None, "error", reason=f"listing {compartment}: {_kind(error)}"))
            continue
        deployments.update({d.state.id: d for d in found})
        listed.add(compartment)
    index = AlarmIndex(alarms)

    works: list[_Work] = []
    for position, deployment in enumerate(deployments.values()):
        if clock() >= deadline:  # planning is O(N), but a budget is a budget
            outcomes += [
                ReconcileOutcome(d.state.id, "deferred", reason=f"planning: {DEFERRED}", before=str(d.state.capacity))
                for d in list(deployments.values())[position:]
            ]
            break
        work = _plan(deployment, index, settings)
        if work is not None:
            works.append(work)
    _forecast(works, deployments, settings, gateway, now)
    for work in works:
        _finish_plan(work, index, settings, now)
    orphans = _orphans(index, deployments, {w.deployment.state.id for w in works}, listed, settings)

    slot = int(now // settings.reconcile_interval_seconds)
    pending: list = [w for w in works if w.needed] + orphans
    pending.sort(key=lambda w: (w.target is None, (_stable(w.outcome.deployment_id) + slot * GOLDEN) % 1.0))
    key = tick_key(now, settings.reconcile_interval_seconds)
    templates = _Templates(gateway)

    def run(work: _Work) -> None:
        if clock() >= deadline:
            work.outcome.status, work.outcome.reason = "deferred", DEFERRED
            return
        begun = clock()
        try:
            if isinstance(work, _Orphans):
                _remove_orphans(work, settings, gateway)
            else:
                if work.target is not None or work.stale:
                    _act(work, settings, gateway, now, key, index, templates)
                if work.learn is not None:  # after the alarm writes: recording it changes the deployment's etag
                    _learn(work, gateway, clock() >= deadline)
        except BudgetSpent:
            work.outcome.status, work.outcome.reason = "deferred", f"{work.outcome.reason}; {DEFERRED}".lstrip("; ")
        except Conflict as conflict:
            work.outcome.status, work.outcome.reason = "conflict", f"{conflict}; the next tick looks again"
        except Exception as error:  # one deployment's failure must not stop the others
            work.outcome.status, work.outcome.reason = "error", _kind(error)
        work.outcome.duration_ms = round((clock() - begun) * 1000, 1)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(run, pending))
    outcomes += [w.outcome for w in works]
    outcomes += [w.outcome for w in orphans if w.outcome.status != "skip"]
    return outcomes


def _stable(text: str | None) -> float:
    return int(hashlib.sha256((text or "").encode()).hexdigest()[:8], 16) / 2**32


def _kind(error: Exception) -> str:
    return f"{type(error).__name__}: {_short(error)}"


def _function_made(alarm: ListedAlarm) -> bool:
    """An alarm the function created for a deployment (named `<title>-<deployment>`), not Terraform's."""
    return any(alarm.display_name == owned_alarm_name(title, alarm.tags[DEPLOYMENT_TAG]) for title in owned_titles())


def _plan(deployment: Deployment, index: AlarmIndex, settings: Settings) -> _Work | None:
    """The plan of one deployment if it is managed, else None (its owned alarms then count as orphans)."""
    state = deployment.state
    outcome = ReconcileOutcome(state.id, "noop", before=str(state.capacity), dry_run=settings.dry_run)
    try:
        opted = plan.opted(deployment.tags)
    except ValueError as error:
        outcome.status, outcome.reason = "refused", str(error)
        return _Work(deployment, outcome)
    if opted is False:
        return None
    routing = index.routing(deployment)
    if opted is None and not routing:
        return None
    work = _Work(deployment, outcome)
    work.source = index.source(deployment, routing)
    log_unknown_tags(deployment.tags, state.id, ceiling=settings.instance_ceiling)
    try:
        # The deployment's update time where OCI measured it (its state tags), else the setting: its horizon.
        work.policy = update_time.with_measured(settings.policy.with_overrides(deployment.tags), state)
    except ConfigError as error:
        outcome.status, outcome.reason = "refused", f"deployment override tags: {error}"
    return work


def _forecast(works: list[_Work], deployments: dict[str, Deployment], settings: Settings, gateway, now: float):
    """SummarizeMetricsData per compartment that has a deployment asking for a forecast (split above 2000)."""
    asking: dict[str, list[_Work]] = {}
    for work in works:
        if work.policy is not None and work.policy.predict and plan.sizes_instances(work.policy):
            asking.setdefault(work.deployment.state.compartment_id, []).append(work)
    listed: dict[str, list[str]] = {}  # every deployment of each compartment: the streams its history may hold
    for deployment_id, deployment in deployments.items():
        listed.setdefault(deployment.state.compartment_id, []).append(deployment_id)
    for compartment, members in asking.items():
        try:
            history = read_history(gateway, compartment, now, settings.history_days, listed[compartment])
            note = None
        except Exception as error:
            history, note = {}, f"stays out: CPU history not readable ({_kind(error)})"
        for work in members:
            horizon = plan.horizon_seconds(work.policy, settings.reconcile_interval_seconds)
            try:
                prediction = predict(work.policy, history.get(work.deployment.state.id), now, horizon)
            except Exception as error:  # a forecast is an optimisation: one deployment's must not stop the tick
                prediction = Forecast(None, f"stays out: forecast failed ({_kind(error)})")
            if note and prediction is not None:
                prediction = replace(prediction, peak=None, reason=note)
            work.floor = plan.floor(work.policy, now, horizon, prediction)


def _finish_plan(work: _Work, index: AlarmIndex, settings: Settings, now: float) -> None:
    """Floor, raise target and the owned alarms that diverge from the listing: still no calls."""
    outcome, state, policy = work.outcome, work.deployment.state, work.policy
    if policy is None:
        return
    if work.floor is None:
        horizon = plan.horizon_seconds(policy, settings.reconcile_interval_seconds)
        work.floor = plan.floor(policy, now, horizon, None)
    floor = work.floor
    outcome.floor, outcome.schedule, outcome.forecast = floor.count, floor.schedule, floor.forecast
    if not steady(state):
        outcome.reason = f"deployment is {state.lifecycle_state} ({state.scaling_policy}): left to the next tick"
        return
    capacity = state.capacity
    notes = []
    if state.last_target and state.last_target != str(capacity):
        notes.append(f"our last change to {state.last_target} never took effect (its work request failed)")
    if plan.sizes_instances(policy) and capacity.instance_count < floor.count:
        work.target = replace(capacity, instance_count=floor.count)
    elif not settings.dry_run and tick_key(now, settings.reconcile_interval_seconds) not in state.recent_events:
        # (A raise is a change of its own: the next slot's tick measures it, so a repeated tick repeats nothing.)
        work.learn = update_time.due(state, policy, now, settings.reconcile_interval_seconds)
    effective = floor.apply(policy)
    work.wanted = wanted_alarms(work.target or capacity, effective)
    template = _template(work.source)
    for want in work.wanted:
        existing = index.owned(state.id, owned_alarm_name(want.title, state.id))
        if want.threshold is None:
            diverged = bool(existing)
        else:
            query = alarm_details(template, want, state.id, settings)["query"]
            diverged = len(existing) != 1 or existing[0][1] != query
        if diverged:
            work.stale.append(want)
    if work.target is not None:
        outcome.action = Action.SCALE_OUT.value
        outcome.after = str(work.target)
        outcome.reason = f"raise {capacity.instance_count} -> {floor.count}: {floor.note(policy)}"
    elif floor.count > policy.min_instances:
        outcome.reason = f"at or above its {floor.note(policy)}"
    else:
        outcome.reason = "no floor above min_instances"
    if notes:
        outcome.reason += "; " + "; ".join(notes)
    if work.stale and work.source is None:
        outcome.reason += "; no autoscaler alarm to copy a topic from: owned alarms left as they are"
        work.stale = []


def _template(source: ListedAlarm | None) -> AlarmTemplate:
    if source is None:
        return AlarmTemplate("", "", ())
    return AlarmTemplate(source.compartment_id, source.metric_compartment_id, tuple(source.destinations))


class _Templates:
    """The owned alarms' template per routing alarm. A summary has the compartments, topic and severity but not the
    message format (GetAlarm has it): one GetAlarm per distinct topic per tick, not per deployment."""

    def __init__(self, gateway):
        self.gateway = gateway
        self.formats: dict[tuple, str | None] = {}
        self._lock = threading.Lock()  # the workers start together: one of them reads, the others wait for it

    def of(self, source: ListedAlarm) -> AlarmTemplate | None:
        key = (source.compartment_id, source.destinations)
        with self._lock:
            if key not in self.formats:
                alarm = self.gateway.get_alarm(source.id)
                if alarm is None:
                    return None
                self.formats[key] = alarm.message_format
        destinations = tuple(source.destinations)
        return AlarmTemplate(
            source.compartment_id, source.metric_compartment_id, destinations, source.severity, self.formats[key]
        )


class _Unchanged:
    """The tick's check that a deployment is as listed: the first call reads it (GetModelDeployment) and compares
    capacity, state and our state tags with the listing; later calls compare its etag with that read."""

    def __init__(self, gateway, listed: Deployment):
        self.gateway, self.listed, self.etag = gateway, listed, None

    def __call__(self) -> bool:
        current = self.gateway.get_deployment(self.listed.state.id)
        if current is None:
            return False
        if self.etag is None:
            fresh, was = current.state, self.listed.state
            same = steady(fresh) and fresh.capacity == was.capacity and _last_change(fresh) == _last_change(was)
            self.etag = current.etag if same else ""
            return same
        return current.etag == self.etag


def _act(work: _Work, settings: Settings, gateway, now: float, key: str, index: AlarmIndex, templates) -> None:
    """Apply one deployment's plan: raise it (if-match, state tags), then converge its diverged alarms."""
    outcome, listed = work.outcome, work.deployment
    if settings.dry_run:
        outcome.status = "dry_run"
        outcome.alarms = {want.title: "would converge" for want in work.stale}
        return
    state, wanted = listed.state, work.stale
    template = templates.of(work.source) if wanted else None
    if wanted and template is None:
        outcome.reason += "; its routing alarm is gone: owned alarms left to the next tick"
        wanted = []
    names = {want.title: owned_alarm_name(want.title, state.id) for want in wanted}
    outcome.alarms = {} if wanted else None
    if work.target is None:
        created_for = generation(state.capacity, _last_change(state))
        still = _Unchanged(gateway, listed)
        for want in wanted:
            existing = index.owned(state.id, names[want.title])
            outcome.alarms[want.title] = converge_one(
                gateway, template, state.id, want, created_for, settings, existing, still
            )
        if any(wrote(result) for result in outcome.alarms.values()):
            outcome.status = "repaired"
        elif any(result in UNSURE for result in outcome.alarms.values()):
            outcome.status = "ensured"  # as wanted now; whether this tick or a concurrent call wrote it, OCI cannot say
        return
    current = gateway.get_deployment(state.id)
    if current is not None and key in current.state.recent_events:
        outcome.status, outcome.after = "noop", outcome.before
        outcome.reason = f"tick {key} already raised it (a concurrent or repeated tick)"
        return
    if current is None or not steady(current.state) or current.state.capacity != state.capacity:
        outcome.status, outcome.after = "conflict", outcome.before
        outcome.reason = "the deployment changed since it was listed: the next tick looks again"
        return
    # The alarms are read BEFORE the update (owned_alarms.converge_one, held): a later change's write fails our etag.
    before = {}
    for want in wanted:
        existing = index.owned(state.id, names[want.title])
        before[want.title] = (existing, tuple(a for a in map(gateway.get_alarm, (i for i, _ in existing)) if a))
    decision = Decision(Action.SCALE_OUT, outcome.reason, work.target, LowAlarm.ENSURE)
    applied = apply_change(gateway, current, decision, Signal("cpu", "up", None, key, now), now)
    outcome.work_request_id = applied.work_request_id
    if applied.status != "applied":
        outcome.status, outcome.after = applied.status, outcome.before
        outcome.reason = f"{applied.note}; {outcome.reason}"
        return
    outcome.status = "applied"
    latest = _latest(gateway, state.id, applied.writer)
    for want in wanted:
        existing, known = before[want.title]
        outcome.alarms[want.title] = converge_held(
            gateway, template, state.id, want, generation(work.target, now), settings, existing, known, latest
        )


def _learn(work: _Work, gateway, late: bool) -> None:
    """Read how long the update of our last change took (one ListWorkRequests) and record it in the deployment's
    state tags when it differs meaningfully from the recorded one (update_time.py). What became of it is the line's
    `update_time`; the setting stands in wherever this fails, so a failure here is never the deployment's error."""
    outcome, state, direction = work.outcome, work.deployment.state, work.learn
    kind = "scale-up" if direction == "up" else "scale-in"
    recorded = update_time.measured(state, direction)
    fallback = f"{_stand_in(state, work.policy, direction)} stands in"
    if late:
        outcome.update_time = f"not read: {DEFERRED}; {fallback}"
        return
    try:
        timing = gateway.latest_update(state.compartment_id, state.id)
    except Exception as error:  # e.g. no permission to list work requests (docs/iam.md)
        outcome.update_time = f"not read ({_kind(error)}); {fallback}"
        return
    if timing is None:
        outcome.update_time = f"no finished update in its work requests; {fallback}"
        return
    took = f"our {kind}'s update took {timing.seconds:.0f} s (work request {timing.work_request_id})"
    if not update_time.worth_recording(state, direction, timing.seconds):
        outcome.update_time = f"{took}: the recorded {recorded:.0f} s stands"
        return
    current = gateway.get_deployment(state.id)
    last = update_time.last_change(state)
    if current is None or not steady(current.state) or update_time.last_change(current.state) != last:
        outcome.update_time = f"{took}: not recorded, the deployment changed since it was listed"
        return
    seconds_tag, last_tag = (
        (STATE_UPDATE_UP_TAG, STATE_LAST_UP_TAG) if direction == "up" else (STATE_UPDATE_DOWN_TAG, STATE_LAST_DOWN_TAG)
    )
    tags = {
        **current.tags,
        seconds_tag: f"{timing.seconds:.0f}",
        STATE_UPDATE_FOR_TAG: current.tags.get(last_tag, f"{last:.3f}"),
    }
    try:
        gateway.update_tags(current, tags)
    except (Conflict, OciRefused) as error:
        outcome.update_time = f"{took}: not recorded ({error}); the next tick looks again"
        return
    outcome.update_time = f"{took}: recorded (was {_stand_in(state, work.policy, direction)})"


def _stand_in(state, policy, direction: str) -> str:
    """What the function reckons with for an update in this direction while it has no measurement of its own."""
    other = "up" if direction == "down" else "down"
    if update_time.measured(state, direction) is not None:
        return f"the measured {update_time.measured(state, direction):.0f} s"
    if update_time.measured(state, other) is not None:
        return f"its {'scale-up' if other == 'up' else 'scale-in'}'s {update_time.measured(state, other):.0f} s"
    return f"the setting's {policy.update_seconds:.0f} s"


def _orphans(index: AlarmIndex, deployments, managed: set[str], listed: set[str], settings: Settings) -> list[_Orphans]:
    """The alarms the function made for deployments it does not manage (any more), one work item per deployment
    (a deployment refused for its tags counts as managed: its alarms stay)."""
    return [
        _Orphans(
            ReconcileOutcome(deployment_id, "repaired", dry_run=settings.dry_run, alarms={}),
            [(name, alarm.id) for name, alarms in sorted(names.items()) for alarm in alarms],
            deployments.get(deployment_id),
            listed,
        )
        for deployment_id, names in index.made.items()
        if deployment_id not in managed
    ]


def _remove_orphans(work: _Orphans, settings: Settings, gateway) -> None:
    """Delete the owned alarms of a deployment the autoscaler does not manage (any more): deleted, moved out of
    the allowlist, opted out, or without a high alarm. A deployment that was not listed is confirmed gone
    (GetModelDeployment) first; one in a compartment that could not be listed is left alone. Each delete carries
    the etag of a GetAlarm: an alarm changed since (a 412) is left to the next tick."""
    outcome = work.outcome
    outcome.reason = _why_orphan(outcome.deployment_id, work.listed, work.compartments, gateway)
    if outcome.reason is None:
        outcome.status, outcome.reason = "skip", ""
        return
    for name, alarm_id in work.alarms:
        if settings.dry_run:
            outcome.status, outcome.alarms[name] = "dry_run", "would delete"
            continue
        alarm = gateway.get_alarm(alarm_id)
        if alarm is None or alarm.lifecycle_state != "ACTIVE":
            outcome.alarms.setdefault(name, "absent")
            continue
        outcome.alarms[name] = "deleted" if gateway.delete_alarm(alarm.id, alarm.etag) else ALREADY_GONE
    if not any(state == "deleted" for state in outcome.alarms.values()) and outcome.status == "repaired":
        outcome.status = "noop"


def _why_orphan(deployment_id: str, deployment: Deployment | None, listed: set[str], gateway) -> str | None:
    if deployment is not None:
        if plan.opted(deployment.tags) is False:
            return f"opted out (tag {MANAGED_TAG}=false): the alarms the autoscaler owns for it are removed"
        return "no autoscaler high alarm watches it any more: the alarms the autoscaler owns for it are removed"
    current = gateway.get_deployment(deployment_id)
    if current is None or current.state.lifecycle_state in ("DELETING", "DELETED"):
        return "deployment deleted: the alarms the autoscaler owned for it are removed"
    if current.state.compartment_id in listed:
        return None  # listed a moment ago yet missing: created meanwhile; the next tick sees it
    return None  # outside the compartments this tick could list: not ours to judge
