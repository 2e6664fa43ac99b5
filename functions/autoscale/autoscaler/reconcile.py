"""The periodic reconcile: like a Kubernetes controller, bring every managed deployment to what the policy wants.

OCI Resource Scheduler invokes the function on a CRON recurrence with a fixed body (tick.py). Each tick,
for every deployment the autoscaler MANAGES in the allowlisted compartments:

- raises it to its floor (plan.py): the largest of min_instances, its schedule's count and its forecast's
  need over the horizon (the reconcile interval plus the update time), never above max_instances;
- converges the alarms the function owns to its capacity (owned_alarms.py): the low alarms present above
  the floor with the right threshold, absent at it (so scale-in stops at the floor); duplicates removed;
- finishes or undoes half-done changes: a change that landed while its alarm step failed gets its alarms;
  a change whose work request failed is reported and its alarms follow the capacity OCI kept;
- deletes the alarms the function owns for deployments that are gone, opted out or no longer managed.

A deployment is MANAGED when it is not opted out (freeform tag autoscale_managed=false) and either opted in
(autoscale_managed=true) or watched by a high alarm that routes to the autoscaler and that the function did
not create itself (Terraform's, or a user's: routing title, ACTIVE, its query naming the deployment or its
compartment).

Reads are per compartment, never per deployment: ListModelDeployments, ListAlarms and one
SummarizeMetricsData per compartment. Only a deployment that needs a change costs more calls. Changes are
guarded like the alarm path's: if-match on the etag, state tags with a writer id, the tick's event key; so
a tick is idempotent and safe against alarm invocations and other ticks. One deployment's failure is its
own outcome; the others go on. Work stops when the tick's budget is spent; what is left is reported
"deferred" and done by the next tick, which starts with it (changes first, then repairs).

`reconcile(request, settings, gateway, now)` is the entry point (handler.py; the benchmark can drive it in
its closed loop: one call per tick, the same settings and gateway as the alarm path).
"""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace

from . import plan
from .constants import DEPLOYMENT_TAG, HIGH_TITLE, MANAGED_TAG, OWNER_TAG, OWNER_VALUE
from .domain import Action, Decision, LowAlarm, Signal
from .forecast import Forecast
from .history import predict, read_history
from .oci_gateway import Deployment, ListedAlarm
from .owned_alarms import AlarmTemplate, Wanted, alarm_details, converge, owned_alarm_name, owned_titles, wanted_alarms
from .policy import steady
from .service import RESOURCE_FILTER, _last_change, _short, apply_change
from .settings import ConfigError, Settings
from .tick import ReconcileRequest

TITLE, TYPE = "reconcile", "TICK"
WORKERS = 8  # deployments worked on at once (each a few OCI calls): 200 repairs at 100-300 ms a call fit a tick
ROUTING_HIGH_TITLES = frozenset(HIGH_TITLE.values())


@dataclass
class ReconcileOutcome:
    """What one tick did to one deployment: the body of its log line."""

    deployment_id: str | None
    status: str  # applied | repaired | noop | refused | conflict | error | dry_run | deferred
    action: str = Action.NONE.value
    reason: str = ""
    before: str | None = None
    after: str | None = None
    floor: int | None = None
    schedule: str = ""
    forecast: str = ""
    alarms: dict[str, str] | None = None
    work_request_id: str | None = None
    dry_run: bool = False
    duration_ms: float = 0.0
    title: str = TITLE
    type: str = TYPE
    alarm_id: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


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

    @property
    def needed(self) -> bool:
        return self.target is not None or bool(self.stale)


def tick_key(now: float, interval: float) -> str:
    """The event key of the tick slot: duplicate and concurrent ticks of one slot share it."""
    return hashlib.sha256(f"reconcile|{int(now // interval)}".encode()).hexdigest()[:12]


def reconcile(request: ReconcileRequest | None, settings: Settings, gateway, now: float) -> list[ReconcileOutcome]:
    """Reconcile every managed deployment of the requested (default: all allowlisted) compartments."""
    started = time.monotonic()
    deadline = started + settings.reconcile_budget_seconds
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
    counts: dict[str, int] = {}
    listed: set[str] = set()  # compartments whose deployments could be listed
    for compartment in compartments:
        try:
            found = gateway.list_deployments(compartment)
            counts[compartment] = len(found)
            deployments.update({d.state.id: d for d in found})
            listed.add(compartment)
            alarms += gateway.list_alarm_summaries(compartment)
        except Exception as error:
            outcomes.append(ReconcileOutcome(None, "error", reason=f"listing {compartment}: {_kind(error)}"))
    owned = [a for a in alarms if a.tags.get(OWNER_TAG) == OWNER_VALUE and a.tags.get(DEPLOYMENT_TAG)]
    ours = {(a.display_name, a.tags[DEPLOYMENT_TAG]) for a in owned if _function_made(a)}
    works, orphans = [], []
    for deployment in deployments.values():
        work = _plan(deployment, alarms, owned, settings, now)
        if work is not None:
            works.append(work)
    managed = {w.deployment.state.id for w in works}
    for name, deployment_id in sorted(ours):
        if deployment_id not in managed:
            orphans.append((name, deployment_id))

    _forecast(works, counts, settings, gateway, now)
    for work in works:
        _finish_plan(work, owned, settings, now)

    slot = int(now // settings.reconcile_interval_seconds)
    pending = [w for w in works if w.needed]
    pending.sort(key=lambda w: (w.target is None, (_stable(w.deployment.state.id) + slot) % 997))
    key = tick_key(now, settings.reconcile_interval_seconds)

    def run(work: _Work) -> None:
        if time.monotonic() >= deadline:
            work.outcome.status, work.outcome.reason = "deferred", "tick budget spent: the next tick does it first"
            return
        begun = time.monotonic()
        try:
            _act(work, settings, gateway, now, key)
        except Exception as error:  # one deployment's failure must not stop the others
            work.outcome.status, work.outcome.reason = "error", _kind(error)
        work.outcome.duration_ms = round((time.monotonic() - begun) * 1000, 1)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(run, pending))
    outcomes += [w.outcome for w in works]
    outcomes += _remove_orphans(orphans, deployments, listed, owned, settings, gateway, deadline)
    return outcomes


def _stable(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def _kind(error: Exception) -> str:
    return f"{type(error).__name__}: {_short(error)}"


def _function_made(alarm: ListedAlarm) -> bool:
    """An alarm the function created for a deployment (named `<title>-<deployment>`), not Terraform's."""
    return any(alarm.display_name == owned_alarm_name(title, alarm.tags[DEPLOYMENT_TAG]) for title in owned_titles())


def _routes(alarm: ListedAlarm, deployment: Deployment) -> bool:
    """A high alarm that routes this deployment to the autoscaler and that the function did not create."""
    title = alarm.notification_title or alarm.display_name
    if title not in ROUTING_HIGH_TITLES:
        return False
    if alarm.tags.get(OWNER_TAG) == OWNER_VALUE and alarm.tags.get(DEPLOYMENT_TAG) and _function_made(alarm):
        return False
    state = deployment.state
    if RESOURCE_FILTER.search(alarm.query):
        return f'"{state.id}"' in alarm.query
    return alarm.metric_compartment_id == state.compartment_id  # a compartment-wide alarm


def _plan(deployment: Deployment, alarms, owned, settings: Settings, now: float) -> _Work | None:
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
    routing = [a for a in alarms if _routes(a, deployment)]
    if opted is None and not routing:
        return None
    work = _Work(deployment, outcome)
    work.source = _pick_source(routing, owned, state.id, alarms)
    try:
        work.policy = settings.policy.with_overrides(deployment.tags)
    except ConfigError as error:
        outcome.status, outcome.reason = "refused", f"deployment override tags: {error}"
    return work


def _pick_source(routing, owned, deployment_id: str, alarms) -> ListedAlarm | None:
    """The alarm whose compartment and topic the owned alarms copy: a routing alarm naming the deployment (CPU
    first), else one of its owned alarms, else a compartment-wide routing alarm, else (a deployment opted in
    by tag) any autoscaler high alarm: they all notify the autoscaler's topic."""
    named = [a for a in routing if f'"{deployment_id}"' in a.query]
    named.sort(key=lambda a: (not a.query.startswith("CpuUtilization"), a.id))
    mine = sorted((a for a in owned if a.tags.get(DEPLOYMENT_TAG) == deployment_id), key=lambda a: a.id)
    terraform = sorted(
        (
            a
            for a in alarms
            if a.tags.get(OWNER_TAG) == OWNER_VALUE
            and (a.notification_title or a.display_name) in ROUTING_HIGH_TITLES
            and not (a.tags.get(DEPLOYMENT_TAG) and _function_made(a))
        ),
        key=lambda a: a.id,
    )
    for candidates in (named, mine, sorted(routing, key=lambda a: a.id), terraform):
        if candidates:
            return candidates[0]
    return None


def _forecast(works: list[_Work], counts: dict[str, int], settings: Settings, gateway, now: float) -> None:
    """One SummarizeMetricsData per compartment that has a deployment asking for a forecast."""
    asking: dict[str, list[_Work]] = {}
    for work in works:
        if work.policy is not None and work.policy.predict and plan.sizes_instances(work.policy):
            asking.setdefault(work.deployment.state.compartment_id, []).append(work)
    for compartment, members in asking.items():
        try:
            history = read_history(gateway, compartment, now, settings.history_days, counts.get(compartment, 1))
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


def _finish_plan(work: _Work, owned: list[ListedAlarm], settings: Settings, now: float) -> None:
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
    effective = floor.apply(policy)
    work.wanted = wanted_alarms(work.target or capacity, effective)
    mine: dict[str, list[ListedAlarm]] = {}
    for alarm in owned:
        if alarm.tags.get(DEPLOYMENT_TAG) == state.id:
            mine.setdefault(alarm.display_name, []).append(alarm)
    template = _template(work.source)
    for want in work.wanted:
        existing = mine.get(owned_alarm_name(want.title, state.id), [])
        if want.threshold is None:
            diverged = bool(existing)
        else:
            query = alarm_details(template, want, state.id, settings)["query"]
            diverged = len(existing) != 1 or existing[0].query != query
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
    return AlarmTemplate(source.compartment_id, source.metric_compartment_id, ())


def _act(work: _Work, settings: Settings, gateway, now: float, key: str) -> None:
    """Apply one deployment's plan: raise it (if-match, state tags), then converge its diverged alarms."""
    outcome, listed = work.outcome, work.deployment
    if settings.dry_run:
        outcome.status = "dry_run"
        outcome.alarms = {want.title: "would converge" for want in work.stale}
        return
    state, last_change = listed.state, _last_change(listed.state)
    if work.target is not None:
        current = gateway.get_deployment(state.id)
        if current is not None and key in current.state.recent_events:
            outcome.status, outcome.after = "noop", outcome.before
            outcome.reason = f"tick {key} already raised it (a concurrent or repeated tick)"
            return
        if current is None or not steady(current.state) or current.state.capacity != state.capacity:
            outcome.status, outcome.after = "conflict", outcome.before
            outcome.reason = "the deployment changed since it was listed: the next tick looks again"
            return
        decision = Decision(Action.SCALE_OUT, outcome.reason, work.target, LowAlarm.ENSURE)
        signal = Signal("cpu", "up", None, key, now)
        applied = apply_change(gateway, current, decision, signal, now)
        outcome.work_request_id = applied.work_request_id
        if applied.status != "applied":
            outcome.status, outcome.after = applied.status, outcome.before
            outcome.reason = f"{applied.note}; {outcome.reason}"
            return
        outcome.status = "applied"
        last_change = now
    if work.stale:
        alarm = gateway.get_alarm(work.source.id) if work.source is not None else None
        if alarm is None:
            outcome.reason += "; its routing alarm is gone: owned alarms left to the next tick"
        else:
            capacity = work.target or state.capacity
            generation = f"{capacity}|{last_change}"
            template = AlarmTemplate.of(alarm)
            outcome.alarms = converge(gateway, template, state.id, work.stale, generation, settings)
            if outcome.status == "noop":
                outcome.status = "repaired"


def _remove_orphans(orphans, deployments, listed: set[str], owned, settings: Settings, gateway, deadline: float):
    """Delete the owned alarms of deployments the autoscaler does not manage (any more): deleted, moved out of
    the allowlist, opted out, or without a high alarm. A deployment that was not listed is confirmed gone
    (GetModelDeployment) first; one in a compartment that could not be listed is left alone."""
    outcomes: dict[str, ReconcileOutcome] = {}
    for name, deployment_id in orphans:
        outcome = outcomes.setdefault(
            deployment_id, ReconcileOutcome(deployment_id, "repaired", dry_run=settings.dry_run, alarms={})
        )
        if outcome.status == "skip":
            continue
        if time.monotonic() >= deadline:
            outcome.status, outcome.reason = "deferred", "tick budget spent: the next tick does it first"
            continue
        try:
            if not outcome.reason:
                outcome.reason = _why_orphan(deployment_id, deployments, listed, gateway)
                if outcome.reason is None:
                    outcome.status, outcome.reason = "skip", ""
                    continue
            ids = [a.id for a in owned if a.display_name == name and a.tags.get(DEPLOYMENT_TAG) == deployment_id]
            if settings.dry_run:
                outcome.status, outcome.alarms[name] = "dry_run", f"would delete {len(ids)}"
                continue
            for alarm_id in ids:
                gateway.delete_alarm(alarm_id)
            outcome.alarms[name] = "deleted"
        except Exception as error:
            outcome.status, outcome.reason = "error", _kind(error)
    return [o for o in outcomes.values() if o.status != "skip"]


def _why_orphan(deployment_id: str, deployments, listed: set[str], gateway) -> str | None:
    deployment = deployments.get(deployment_id)
    if deployment is not None:
        try:
            opted = plan.opted(deployment.tags)
        except ValueError:
            return None
        if opted is False:
            return f"opted out (tag {MANAGED_TAG}=false): the alarms the autoscaler owns for it are removed"
        return "no autoscaler high alarm watches it any more: the alarms the autoscaler owns for it are removed"
    current = gateway.get_deployment(deployment_id)
    if current is None or current.state.lifecycle_state in ("DELETING", "DELETED"):
        return "deployment deleted: the alarms the autoscaler owned for it are removed"
    if current.state.compartment_id in listed:
        return None  # listed a moment ago yet missing: created meanwhile; the next tick sees it
    return None  # outside the compartments this tick could list: not ours to judge
