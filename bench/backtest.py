"""What would the autoscaler have done to this deployment over its last days? A read-only backtest.

    make backtest MD=<deployment OCID> [DAYS=7] [OCI=1] [CONFIG=function.env]
    python -m bench.backtest OCID [--days 7] [--config FILE] [--out run/backtest] [--slo 90] [--emulator URL | --oci]

It reads the deployment (GetModelDeployment), its work requests (ListWorkRequests) and its metrics
(SummarizeMetricsData: CpuUtilization and MemoryUtilization per instance; PredictRequestCount and PredictLatency when
its signals use them), rebuilds the demand of every minute as utilization x capacity, and replays that demand in the
closed-loop simulator (bench/sim.py) through the real function (bench.policies.Ours), beside OCI native autoscaling
(the deployment's own AutoScalingPolicy when it has one, else the bench's native policy), the capacity the deployment
actually had, and the exact clairvoyant bound (bench.optimum). It writes a markdown summary and a timeline PNG to
--out and writes nothing to OCI. docs/backtest.md: what it reads, what it replays, what "censored" means, its limits.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from autoscaler.constants import NAMESPACE, OVERRIDE_TAG_PREFIX, STATE_TARGET_TAG
from autoscaler.domain import Capacity, Shape
from autoscaler.pricing import hourly_price
from autoscaler.settings import ConfigError, Policy, load_settings
from bench.optimum import KS, Replay, solve_case
from bench.policies import Native, Ours, alarm
from bench.report import score
from bench.sim import Controller, SimConfig, Simulation, apply, deployment_id, start_time
from bench.traces import WORK_GB_PER_OCPU, Trace

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "run" / "backtest"
DEFAULT_EMULATOR = "http://127.0.0.1:8765"

# SummarizeMetricsData limits (oci 2.189.0, oci/monitoring/models/metric_data.py, "MetricData Reference"): an answer
# holds at most 100,000 datapoints and 2,000 metric streams; the time range returned is at most 7 days at a 1-minute
# resolution and 30 days at 5 minutes. "Selecting a Nondefault Resolution for a Query" (OCI docs, Monitoring): "The
# maximum time range is calculated using the current time, regardless of any specified end time": the 7 (30) days
# count back from now. "Monitoring Query Language (MQL) Reference" (Interval): "Supported values for interval depend on
# the specified time range in the metric query ... More interval values are supported for smaller time ranges"; the
# interval here equals the resolution, [1m] over up to 7 days and [5m] over up to 30, the pairs the resolution page's
# table gives.
# startTime is included and endTime excluded (SummarizeMetricsDataDetails docstrings).
MAX_DATAPOINTS, MAX_STREAMS = 100_000, 2_000
RANGE_DAYS = {1: 7, 5: 30}  # resolution in minutes -> the most days back from now it reaches
# "Transactions Per Second (TPS) per-tenancy limit for this operation: 10" (MonitoringClient.summarize_metrics_data
# docstring): the calls are spaced by PACE_SECONDS, half that budget, shared with the function's own reads.
PACE_SECONDS = 0.2
# Monitoring waits for late metric data (CreateAlarmDetails.evaluation_slack_duration, default PT3M, "slack period to
# wait for metric ingestion"): the last minutes before now may not be complete yet, so the range ends that long ago.
INGESTION_SLACK_SECONDS = 180
# A utilization datapoint at or above this is saturation: the instance could not show more, the demand may have been
# higher (the simulator caps its datapoints at 100 %, as OCI's percentages are; a real saturated VM may read 99.x).
CENSOR_AT = 99.5
# An instance's stream missing for at most this many minutes between two datapoints is a lost datapoint, filled by
# interpolation; a longer silence is the instance being away (or not reporting).
HOLE_MINUTES = 5
# Instance replacements this close to a finished update work request are that update.
WORK_REQUEST_MINUTES = 30
WINDOW = 10  # minutes each side of an instance replacement used to infer the shape before it
METRICS = {"cpu": "CpuUtilization", "mem": "MemoryUtilization"}
# DataScienceClient.list_work_requests (oci 2.189.0): limit "1 is the minimum, 100 is the maximum".
WORK_REQUEST_PAGE, WORK_REQUEST_PAGES = 100, 10
# Keys of the function's settings that say how it reaches OCI, not how it scales: the replay sets its own.
TRANSPORT_KEYS = {
    "AUTOSCALE_COMPARTMENT_ALLOWLIST",
    "AUTOSCALE_AUTH",
    "AUTOSCALE_DATA_SCIENCE_ENDPOINT",
    "AUTOSCALE_MONITORING_ENDPOINT",
    "AUTOSCALE_DRY_RUN",
}


class BacktestError(Exception):
    """Why there is nothing to replay (no deployment, no history, a bad setting): a message for the user."""


# -- reading OCI ----------------------------------------------------------------------------------------------------


@dataclass
class Reading:
    """What SummarizeMetricsData and ListWorkRequests answered, as read (hostile values included)."""

    deployment_id: str
    compartment_id: str
    start: float  # epoch seconds of minute 0 of the range
    minutes: int
    step: int  # minutes per datapoint: 1 or 5
    cpu: dict[str, dict[int, float]] = field(default_factory=dict)  # instanceId -> minute -> value (nan: null)
    mem: dict[str, dict[int, float]] = field(default_factory=dict)
    requests: dict[int, float] = field(default_factory=dict)  # requests per datapoint
    latency: dict[int, float] = field(default_factory=dict)  # ms
    work_requests: list[dict] | None = None  # {"id", "status", "finished": minute or None}; None: not readable
    calls: int = 0
    notes: list[str] = field(default_factory=list)


def resolution_minutes(days: float) -> int:
    """1-minute datapoints up to 7 days back, 5-minute ones up to 30 (RANGE_DAYS)."""
    for step, most in sorted(RANGE_DAYS.items()):
        if days <= most:
            return step
    raise BacktestError(f"--days {days:g}: SummarizeMetricsData reaches at most {max(RANGE_DAYS.values())} days back")


def history_range(days: float, now: float) -> tuple[float, float, int]:
    """(start, end, step minutes): the last `days` before now - the ingestion slack, on whole steps, within the range
    the resolution reaches back from now."""
    step = resolution_minutes(days)
    seconds = 60 * step
    end = math.floor((now - INGESTION_SLACK_SECONDS) / seconds) * seconds
    earliest = math.ceil((now - RANGE_DAYS[step] * 86400) / seconds) * seconds + seconds  # a step inside the limit
    start = max(end - round(days * 86400 / seconds) * seconds, earliest)
    return float(start), float(end), step


def _query(metric: str, deployment: str, step: int, tail: str) -> str:
    return f'{metric}[{step}m]{{resourceId = "{deployment}"}}.{tail}'


class _Paced:
    """Spaces the calls of one backtest by `seconds` (SummarizeMetricsData's 10 TPS per tenancy)."""

    def __init__(self, seconds: float):
        self.seconds, self.last = seconds, -math.inf

    def wait(self) -> None:
        delay = self.last + self.seconds - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self.last = time.monotonic()


def summarize(client, compartment: str, query: str, start: float, end: float, step: int, pace: _Paced, reading=None):
    """Every stream of `query` over [start, end), in as many calls as the answer limits need: {dimensions (sorted
    items): [(epoch, value)]}. A chunk whose answer could reach the datapoint limit is asked again in halves (an
    answer at the limit may be cut short); a 400 for too much data does the same."""
    from oci.exceptions import ServiceError
    from oci.monitoring.models import SummarizeMetricsDataDetails

    seconds = 60 * step
    streams: dict[tuple, list[tuple[float, float]]] = {}
    span = min(end - start, seconds * (MAX_DATAPOINTS * 8 // 10 // 8))  # room for 8 streams at first
    t = start
    while t < end:
        chunk_end = min(end, t + span)
        details = SummarizeMetricsDataDetails(
            namespace=NAMESPACE,
            query=query,
            start_time=datetime.fromtimestamp(t, UTC),
            end_time=datetime.fromtimestamp(chunk_end, UTC),
            resolution=f"{step}m",
        )
        pace.wait()
        if reading is not None:
            reading.calls += 1
        try:
            answer = client.summarize_metrics_data(compartment, details).data or []
        except ServiceError as error:
            if error.status == 400 and span > seconds and "limit" in str(error.message).lower():
                span = max(seconds, span // 2 // seconds * seconds)
                continue
            raise
        stamps = math.ceil((chunk_end - t) / seconds)
        if len(answer) >= MAX_STREAMS:
            raise BacktestError(
                f"{query}: {len(answer)} metric streams in one answer, the limit is {MAX_STREAMS}; "
                "shorten --days (the answer may be incomplete)"
            )
        if len(answer) * stamps > MAX_DATAPOINTS * 9 // 10 and span > seconds:
            span = max(seconds, span // 2 // seconds * seconds)  # may have been cut short: ask again in halves
            continue
        for metric in answer:
            key = tuple(sorted((metric.dimensions or {}).items()))
            points = streams.setdefault(key, [])
            for point in metric.aggregated_datapoints or ():
                value = point.value
                points.append((point.timestamp.timestamp(), math.nan if value is None else float(value)))
        t = chunk_end
        if answer:  # the next chunk as long as the streams seen allow, with a fifth to spare
            span = max(seconds, min(end - start, seconds * (MAX_DATAPOINTS * 8 // 10 // len(answer))))
    return streams


def _minute(epoch: float, start: float) -> int:
    return round((epoch - start) / 60)


def read_history(gateway, deployment, start: float, end: float, step: int, signals, pace: float = PACE_SECONDS):
    """The deployment's metrics over [start, end) and its update work requests: a Reading."""
    state = deployment.state
    reading = Reading(state.id, state.compartment_id, start, round((end - start) / 60), step)
    paced = _Paced(pace)
    client = gateway.monitoring
    for key, metric in METRICS.items():
        query = _query(metric, state.id, step, "groupBy(instanceId).mean()")
        streams = summarize(client, state.compartment_id, query, start, end, step, paced, reading)
        table = getattr(reading, key)
        for dims, points in streams.items():
            instance = dict(dims).get("instanceId")
            if not instance:
                reading.notes.append(f"{metric}: a stream without an instanceId dimension ignored")
                continue
            series = table.setdefault(instance, {})
            for epoch, value in points:
                series[_minute(epoch, start)] = value
    extra = {"requests": ("PredictRequestCount", "groupBy(resourceId).sum()")}
    extra["latency"] = ("PredictLatency", "groupBy(resourceId).mean()")
    for key, (metric, tail) in extra.items():
        if key not in signals:
            continue
        query = _query(metric, state.id, step, tail)
        streams = summarize(client, state.compartment_id, query, start, end, step, paced, reading)
        table = getattr(reading, key)
        for points in streams.values():
            for epoch, value in points:
                table[_minute(epoch, start)] = value
    reading.work_requests = _work_requests(gateway, state.compartment_id, state.id, start, reading)
    return reading


def _work_requests(gateway, compartment: str, deployment: str, start: float, reading: Reading) -> list[dict] | None:
    """The deployment's update work requests since `start` (DataScienceClient.list_work_requests, oci 2.189.0:
    resource_id filters "by the OCID of the resource associated with the work request"; sort_by timeAccepted is
    newest first). WorkRequest / WorkRequestSummary carry the operation, status and times, not the configuration the
    update asked for (oci/data_science/models/work_request_summary.py): they say when a change landed, not what it
    was. None when they cannot be read (the backtest then locates changes from the metrics alone)."""
    from oci.exceptions import ServiceError

    found, page = [], None
    try:
        for _ in range(WORK_REQUEST_PAGES):
            kwargs = {"page": page} if page else {}
            response = gateway.data_science.list_work_requests(
                compartment,
                resource_id=deployment,
                sort_by="timeAccepted",
                sort_order="DESC",
                limit=WORK_REQUEST_PAGE,
                **kwargs,
            )
            reading.calls += 1
            items = response.data or []
            for item in items:
                if item.operation_type != "MODEL_DEPLOYMENT_UPDATE":
                    continue
                finished = item.time_finished.timestamp() if item.time_finished else None
                found.append(
                    {
                        "id": item.id,
                        "status": item.status,
                        "finished": None if finished is None else _minute(finished, start),
                    }
                )
            accepted = [i.time_accepted.timestamp() for i in items if i.time_accepted]
            page = response.next_page
            if not page or not items or (accepted and min(accepted) < start):
                break
    except ServiceError as error:
        reading.notes.append(
            f"work requests not readable ({error.status} {error.code}): shape changes located from the metrics alone"
        )
        return None
    return found


# -- rebuilding the demand ------------------------------------------------------------------------------------------


@dataclass
class Reconstruction:
    trace: Trace
    schedule: list[Capacity]  # the capacity that served each minute
    censored: np.ndarray  # bool per minute: some instance at >= CENSOR_AT (demand or memory a lower bound)
    weights: tuple[float, ...]  # relative load share per instance slot (SimConfig.weights)
    observed_slots: int  # slots whose share the history shows
    offset: int  # minutes trimmed at the start of the range (no data yet)
    step: int
    measured: dict  # straight from the datapoints: ocpu_hours, violation_minutes
    requests: np.ndarray | None = None
    latency: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)


def _natural(text: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _clean(table: dict[str, dict[int, float]], names: list[str], reading: Reading, counts: dict):
    """(instances x minutes) of the readings: nan where missing; hostile values counted and neutralised."""
    matrix = np.full((len(names), reading.minutes), np.nan)
    for row, name in enumerate(names):
        for minute, value in table.get(name, {}).items():
            if not 0 <= minute < reading.minutes:
                continue
            if value is None or not math.isfinite(value):
                counts["not a number"] = counts.get("not a number", 0) + 1
                continue
            if value < 0:
                counts["negative"] = counts.get("negative", 0) + 1
                continue
            if value > 100:
                counts["above 100 %"] = counts.get("above 100 %", 0) + 1
                value = 100.0
            for m in range(max(0, minute - reading.step + 1), minute + 1):  # a 5-minute mean covers its 5 minutes
                matrix[row, m] = value
    return matrix


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _fill_holes(cpu: np.ndarray, mem: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Fill each instance's short silences (<= limit minutes between two datapoints) by linear interpolation.
    Returns (alive, imputed, filled minutes, long silences)."""
    alive = ~np.isnan(cpu)
    imputed = np.zeros_like(alive)
    filled = silences = 0
    for row in range(cpu.shape[0]):
        seen = np.flatnonzero(alive[row])
        if not len(seen):
            continue
        inside = np.zeros(cpu.shape[1], dtype=bool)
        inside[seen[0] : seen[-1] + 1] = True
        for a, b in _runs(inside & ~alive[row]):
            if b - a > limit:
                silences += 1
                continue
            for matrix in (cpu, mem):
                left, right = matrix[row, a - 1], matrix[row, b]
                if np.isnan(left) or np.isnan(right):
                    left = right = np.nanmean([left, right]) if not (np.isnan(left) and np.isnan(right)) else np.nan
                matrix[row, a:b] = np.linspace(left, right, b - a + 2)[1:-1]
            alive[row, a:b] = imputed[row, a:b] = True
            filled += b - a
    return alive, imputed, filled, silences


def _interpolate(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    index = np.flatnonzero(known)
    if not len(index):
        return np.zeros_like(values)
    return np.interp(np.arange(len(values)), index, values[index])


def reconstruct(
    reading: Reading,
    current: Shape,
    ladder: tuple[Shape, ...],
    managed: bool,
    target_tag: str | None = None,
    name: str | None = None,
    slo: float = 90.0,
) -> Reconstruction:
    """The demand and capacity of every minute from the per-instance utilization (see the module docstring)."""
    names = sorted(set(reading.cpu) | set(reading.mem))
    if not any(reading.cpu.values()):
        raise BacktestError(
            f"no CpuUtilization datapoints for {reading.deployment_id} between {_when(reading.start)} and "
            f"{_when(reading.start + 60 * reading.minutes)}: nothing to replay (is it ACTIVE, in this region, and "
            f"are its metrics in compartment {reading.compartment_id}?)"
        )
    notes = list(reading.notes)
    hostile: dict[str, int] = {}
    first = {n: min(reading.cpu.get(n) or reading.mem.get(n) or {0: 0}) for n in names}
    names.sort(key=lambda n: (first[n], _natural(n)))
    cpu = _clean(reading.cpu, names, reading, hostile)
    mem = _clean(reading.mem, names, reading, hostile)
    if hostile:
        what = ", ".join(f"{count} {kind}" for kind, count in hostile.items())
        notes.append(
            f"hostile datapoints: {what}; a value that is not a number or negative is dropped (a missing datapoint), "
            "one above 100 % is read as 100 % (saturated, so censored)"
        )
    alive, imputed, filled, silences = _fill_holes(cpu, mem, HOLE_MINUTES)
    if filled:
        notes.append(f"{filled} missing per-instance datapoints (silences of <= {HOLE_MINUTES} min) interpolated")
    if silences:
        notes.append(f"{silences} instance silences longer than {HOLE_MINUTES} min: the instance counted as away")
    count = alive.sum(axis=0)
    with_data = np.flatnonzero(count)
    lo, hi = int(with_data[0]), int(with_data[-1]) + 1
    if lo or hi < reading.minutes:
        notes.append(
            f"no datapoint in the first {lo} and the last {reading.minutes - hi} minutes of the range: trimmed"
            if lo and hi < reading.minutes
            else f"no datapoint in the {'first ' + str(lo) if lo else 'last ' + str(reading.minutes - hi)} minutes "
            "of the range: trimmed"
        )
    cpu, mem, alive, imputed, count = cpu[:, lo:hi], mem[:, lo:hi], alive[:, lo:hi], imputed[:, lo:hi], count[lo:hi]
    minutes = hi - lo
    keep = alive.any(axis=1)
    names = [n for n, k in zip(names, keep, strict=True) if k]
    cpu, mem, alive, imputed = cpu[keep], mem[keep], alive[keep], imputed[keep]
    born = alive.argmax(axis=1)

    shapes, shape_notes = shape_schedule(cpu, mem, alive, born, current, ladder, managed, reading, lo, target_tag)
    notes += shape_notes
    per_ocpus = np.array([s.size[0] for s in shapes])
    per_gb = np.array([s.size[1] for s in shapes])

    work = np.where(alive, cpu, 0.0) / 100 * per_ocpus  # OCPUs busy on each instance
    demand = work.sum(axis=0)
    hot = np.where(alive, np.fmax(cpu, np.nan_to_num(mem, nan=0.0)), 0.0).max(axis=0)
    cpu_censored = (np.where(alive, cpu, 0) >= CENSOR_AT).any(axis=0)
    mem_censored = (np.where(alive, np.nan_to_num(mem, nan=0.0), 0) >= CENSOR_AT).any(axis=0)
    censored = cpu_censored | mem_censored
    base_each = mem / 100 * per_gb - WORK_GB_PER_OCPU * work  # the memory each instance holds whatever its load
    usable = alive & ~np.isnan(mem)
    clean = usable & (mem < CENSOR_AT)
    pick = np.where(clean.any(axis=0)[None, :], clean, usable)
    with np.errstate(invalid="ignore"):
        base = np.where(pick, base_each, 0).sum(axis=0) / pick.sum(axis=0)
    if not usable.any():
        notes.append(
            "no MemoryUtilization datapoints: memory not replayed (each instance holds 0 GB whatever its load)"
        )
        base = np.zeros(minutes)
    else:
        base = np.clip(_interpolate(np.nan_to_num(base, nan=0.0), pick.any(axis=0)), 0, None)
    gaps = count == 0
    if gaps.any():
        runs = _runs(gaps)
        notes.append(
            f"{int(gaps.sum())} minutes in {len(runs)} gaps without any datapoint (longest "
            f"{max(b - a for a, b in runs)} min): demand interpolated across them, capacity held"
        )
        demand = _interpolate(demand, ~gaps)
        for a, b in runs:  # trimmed at both ends: every gap has a minute with instances before it
            count[a:b] = count[a - 1]
    if censored.any():
        notes.append(
            f"{int(censored.sum())} censored minutes ({int(cpu_censored.sum())} CPU, {int(mem_censored.sum())} memory):"
            f" an instance at >= {CENSOR_AT:g} % shows only that the demand was at least what it served; the replay "
            "gets that lower bound, so every run there sees less load than there was: costs read low, and violation "
            "minutes may move either way (a policy that reacted to the real load would have acted differently)"
        )
    weights, observed, weight_notes = slot_weights_from(cpu, alive, imputed, born, censored)
    notes += weight_notes
    schedule = [Capacity(int(n), s) for n, s in zip(count, shapes, strict=True)]
    start = reading.start + 60 * lo
    trace = Trace(
        name or _trace_name(reading.deployment_id),
        f"rebuilt from {reading.deployment_id}'s metrics",
        demand,
        base,
        family="backtest",
        params={"start_epoch": start},
    )
    measured = {
        "ocpu_hours": float(sum(c.instance_count * c.shape.size[0] for c in schedule) / 60),
        "violation_minutes": int((hot > slo).sum()),
    }
    requests = latency = None
    if reading.requests:
        requests = np.array([reading.requests.get(m + lo, np.nan) for m in range(minutes)], dtype=float)
    if reading.latency:
        latency = np.array([reading.latency.get(m + lo, np.nan) for m in range(minutes)], dtype=float)
    if reading.step > 1:
        notes.append(
            f"{reading.step}-minute means (more than {RANGE_DAYS[1]} days): each spread over its minutes, so a peak "
            f"shorter than {reading.step} minutes is smoothed away"
        )
    return Reconstruction(
        trace, schedule, censored, weights, observed, lo, reading.step, measured, requests, latency, notes
    )


def _trace_name(deployment: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", deployment.rsplit(".", 1)[-1])[-40:] or "deployment"


def shape_schedule(cpu, mem, alive, born, current, ladder, managed, reading, offset, target_tag):
    """The shape of every minute, and how it was found.

    A shape change replaces every instance (bench/sim.py models it so; on OCI the compute option group is changed by
    a new set of instances behind the load balancer), so it shows in the metrics as a minute whose instances share
    none with the minute before. Neither the work request of an update nor the function's state tags say which shape
    an earlier change left (the state tags keep only the last target), so for a deployment the function managed,
    the shape before each replacement is the rung of the function's ladder that keeps the demand and the per-instance
    base memory continuous across it, walking back from the current shape. A deployment it never managed gets the
    current shape throughout."""
    minutes = cpu.shape[1]
    notes = []
    replaced = []  # minutes whose instances share none with the last minute before that had any
    last = None
    for m in range(minutes):
        now = set(np.flatnonzero(alive[:, m]).tolist())
        if not now:
            continue
        if last is not None and now != last and not (now & last):
            replaced.append(m)
        last = now
    shapes = [current] * minutes
    if target_tag and not target_tag.endswith(str(current)):
        notes.append(f"the function's last target was {target_tag}, the deployment now runs {current}")
    if not replaced:
        source = (
            "the function's state tags say it managed the deployment" if managed else "never managed by the function"
        )
        notes.append(f"shape: {current} throughout ({source}; no instance replacement in the history)")
        return shapes, notes
    finished = [w for w in (reading.work_requests or []) if w["finished"] is not None and w["status"] == "SUCCEEDED"]

    def confirmed(m: int) -> str:
        if reading.work_requests is None:
            return "work requests not read"
        near = [w for w in finished if abs(w["finished"] - offset - m) <= WORK_REQUEST_MINUTES]
        return f"work request {near[0]['id'][-12:]}" if near else "no update work request near it"

    if not managed:
        where = ", ".join(f"minute {m} ({confirmed(m)})" for m in replaced[:5])
        notes.append(
            "shape: the deployment was never managed by the function (no autoscale_state_* tags), so its current "
            f"shape {current} is used for the whole history; every instance was replaced at {where}: if that was a "
            "shape change, the earlier demand is scaled by the wrong OCPUs"
        )
        return shapes, notes
    rungs = list(dict.fromkeys([*ladder, current]))
    after = current
    for m in reversed(replaced):
        before = _continuous(cpu, mem, alive, m, after, rungs)
        for t in range(m):
            shapes[t] = before
        notes.append(f"shape change at minute {m}: {before} -> {after} (inferred from continuity; {confirmed(m)})")
        after = before
    notes.append(f"shape: {after} at the start, from the current {current} and {len(replaced)} replacement(s)")
    return shapes, notes


def _continuous(cpu, mem, alive, m, after: Shape, rungs: list[Shape]) -> Shape:
    """The rung whose OCPUs and memory make the demand and the base memory before minute m continue after it."""
    before_minutes = [t for t in range(max(0, m - WINDOW), m) if alive[:, t].any()]
    after_minutes = [t for t in range(m, min(cpu.shape[1], m + WINDOW)) if alive[:, t].any()]

    def load(minutes, shape):
        ocpus, gb = shape.size
        work = [np.nansum(np.where(alive[:, t], cpu[:, t], 0)) / 100 * ocpus for t in minutes]
        base = []
        for t in minutes:
            rows = alive[:, t] & ~np.isnan(mem[:, t])
            if rows.any():
                base.append(np.mean(mem[rows, t] / 100 * gb - WORK_GB_PER_OCPU * cpu[rows, t] / 100 * ocpus))
        return float(np.mean(work)) if work else 0.0, float(np.mean(base)) if base else None

    d_after, b_after = load(after_minutes, after)
    best, error = after, math.inf
    for rung in rungs:
        if rung.size is None:
            continue
        d_before, b_before = load(before_minutes, rung)
        e = abs(math.log((d_before + 1e-3) / (d_after + 1e-3))) if d_after > 0.02 or d_before > 0.02 else 0.0
        if b_after is not None and b_before is not None:
            e += abs(b_before - b_after) / max(abs(b_after), 0.5)
        if e < error - 1e-9:
            best, error = rung, e
    return best


def slot_weights_from(cpu, alive, imputed, born, censored, slots: int = 16):
    """Each instance slot's share of the load, relative to slot 0: the median over the minutes of the ratio of the
    instance in that slot to the one in slot 0, where both report, neither is imputed, saturated or in its first two
    minutes (a fresh instance takes less), and slot 0 is busy enough to divide by. The instances of a minute fill the
    slots in the order they appeared (the simulator keeps its instances so; on OCI the load balancer's shares are
    whatever they are). Slots never seen get the mean share of the seen ones."""
    ratios: dict[int, list[float]] = {}
    order = np.argsort(born, kind="stable")
    for t in range(cpu.shape[1]):
        if censored[t]:
            continue
        rows = [r for r in order if alive[r, t]]
        if len(rows) < 2:
            if rows:
                ratios.setdefault(0, [])
            continue
        zero = rows[0]
        if imputed[zero, t] or t - born[zero] < 2 or cpu[zero, t] < 1.0:
            continue
        for slot, row in enumerate(rows[1:], 1):
            if imputed[row, t] or t - born[row] < 2:
                continue
            ratios.setdefault(slot, []).append(cpu[row, t] / cpu[zero, t])
    seen = {0: 1.0, **{slot: float(np.median(values)) for slot, values in ratios.items() if values and slot}}
    observed = max(seen) + 1
    mean = float(np.mean(list(seen.values())))
    weights = tuple(seen.get(slot, mean) for slot in range(max(slots, observed)))
    shown = ", ".join(f"{w:.3f}" for w in weights[:observed])
    notes = [f"instance shares from the history (relative, slot 0 = 1): {shown}"]
    if observed < slots:
        notes[-1] += f"; slots {observed}+ never seen: {mean:.3f}, the mean of those seen"
    return weights, observed, notes


# -- the deployment's own native autoscaling ------------------------------------------------------------------------


@dataclass(frozen=True)
class NativeRule:
    """A threshold rule of OCI native autoscaling, as the simulator's Native controller plays it."""

    label: str
    metric: str  # CpuUtilization or MemoryUtilization
    out_threshold: float
    in_threshold: float
    out_pending: str
    in_pending: str
    out_step: int
    in_step: int
    cooldown: int
    min_instances: int
    max_instances: int
    source: str


def bench_native(config: SimConfig) -> NativeRule:
    """bench.policies.Native as the benchmark runs it: CPU > 70 % out, < 30 % in (thresholds with no documented
    default: the bench's choice), pending PT3M (scaling_configuration.py: "Default: PT3M"), one instance a step
    (instance_count_adjustment default 1), cooldown 300 s ("The minimum value is 300 seconds, which is also the
    default", auto_scaling_policy.py), within the function's instance limits."""
    return NativeRule(
        "native 70/30",
        "CpuUtilization",
        70.0,
        30.0,
        "PT3M",
        "PT3M",
        1,
        1,
        300,
        config.min_instances,
        config.max_instances,
        "the bench's native policy (the deployment has no AutoScalingPolicy)",
    )


def describe(rule: NativeRule) -> str:
    """The rule as the report states it."""
    metric = rule.metric.removesuffix("Utilization").upper()
    return (
        f"{rule.source}: {metric} > {rule.out_threshold:g} % for {rule.out_pending} adds {rule.out_step}, "
        f"< {rule.in_threshold:g} % for {rule.in_pending} removes {rule.in_step}, cooldown {rule.cooldown} s, "
        f"{rule.min_instances}-{rule.max_instances} instances"
    )


def native_rule(scaling_policy, config: SimConfig) -> tuple[NativeRule, list[str]]:
    """The deployment's AutoScalingPolicy (ModelConfigurationDetails.scaling_policy, oci 2.189.0 AutoScalingPolicy:
    cool_down_in_seconds, is_enabled, auto_scaling_policies [ThresholdBasedAutoScalingPolicyDetails: rules,
    minimum/maximum_instance_count], each rule a PredefinedMetricExpressionRule (metric_type CPU_UTILIZATION or
    MEMORY_UTILIZATION, scale_in/out_configuration: threshold, pending_duration, instance_count_adjustment) or a
    CustomMetricExpressionRule (an MQL query)) as a Native rule; else the bench's native policy."""
    notes: list[str] = []
    if getattr(scaling_policy, "policy_type", None) != "AUTOSCALING":
        return bench_native(config), notes
    policies = [p for p in scaling_policy.auto_scaling_policies or () if getattr(p, "rules", None)]
    rules = [
        (p, r)
        for p in policies
        for r in p.rules
        if getattr(r, "metric_expression_rule_type", None) == "PREDEFINED_EXPRESSION"
        and getattr(r, "metric_type", None) in ("CPU_UTILIZATION", "MEMORY_UTILIZATION")
    ]
    if not rules:
        notes.append(
            "its AutoScalingPolicy has no predefined CPU or memory threshold rule (custom MQL rules are not "
            "translated): the bench's native policy instead"
        )
        return bench_native(config), notes
    policy, rule = rules[0]
    if len(rules) > 1 or len(policies) > 1:
        notes.append(f"its AutoScalingPolicy has {len(rules)} threshold rules: only the first is replayed")
    if scaling_policy.is_enabled is False:
        notes.append("its AutoScalingPolicy is disabled; replayed as if enabled")
    out, inward = rule.scale_out_configuration, rule.scale_in_configuration
    metric = "CpuUtilization" if rule.metric_type == "CPU_UTILIZATION" else "MemoryUtilization"
    short = "CPU" if metric == "CpuUtilization" else "memory"
    label = f"its native policy ({short} > {out.threshold} % / < {inward.threshold} %)"
    return (
        NativeRule(
            label,
            metric,
            float(out.threshold),
            float(inward.threshold),
            out.pending_duration or "PT3M",
            inward.pending_duration or "PT3M",
            int(out.instance_count_adjustment or 1),
            int(inward.instance_count_adjustment or 1),
            int(scaling_policy.cool_down_in_seconds or 300),
            int(policy.minimum_instance_count or 1),
            int(policy.maximum_instance_count or config.max_instances),
            "the deployment's own AutoScalingPolicy",
        ),
        notes,
    )


class RuleNative(Native):
    """bench.policies.Native on any predefined rule: its metric, its pending durations, steps and instance limits."""

    def __init__(self, rule: NativeRule):
        super().__init__(rule.label, rule.out_threshold, rule.in_threshold, rule.out_pending, rule.out_step)
        self.rule, self.cooldown = rule, rule.cooldown

    def alarms(self, md_id: str) -> list[dict]:
        r = self.rule
        query = f'{r.metric}[1m]{{resourceId = "{md_id}"}}.grouping().mean()'
        out = alarm(md_id, "native-out", "native-out", f"{query} > {r.out_threshold:g}", r.out_pending, None, False)
        low = alarm(md_id, "native-in", "native-in", f"{query} < {r.in_threshold:g}", r.in_pending, None, False)
        return [out, low]

    def limits(self) -> tuple[int, int, int, int]:
        r = self.rule
        return r.min_instances, r.max_instances, r.out_step, r.in_step


# -- replaying ------------------------------------------------------------------------------------------------------


class Observed(Controller):
    """The capacity the deployment had, minute by minute: each change made the minute before it served, in a world
    whose updates take no time (run with observed_config), so the simulator serves exactly the observed schedule."""

    name = "observed"

    def __init__(self, schedule: list[Capacity]):
        self.schedule = schedule

    def tick(self, minute: int, now: float) -> None:
        if minute + 1 >= len(self.schedule):
            return
        target = self.schedule[minute + 1]
        [md_id] = self.sim.ids
        _, current = self.sim.store.peek(md_id)
        if target.shape != current.shape:  # one option group per update: the shape first, then the count
            apply(self.sim.store, md_id, Capacity(current.instance_count, target.shape))
        if target.instance_count != current.instance_count:
            apply(self.sim.store, md_id, target)
        self.acted = self.acted or target != current


def observed_config(config: SimConfig) -> SimConfig:
    return config.with_update_minutes(out=(0.0, 0.0), shape=(0.0, 0.0), **{"in": (0.0, 0.0)})


@dataclass
class Outcome:
    label: str
    series: object  # bench.sim.Series
    ocpu_hours: float
    violation_minutes: int
    actions: int
    cost_per_month: float | None
    note: str = ""


class _Case:
    """What report.score needs of a case."""

    def __init__(self, name: str):
        self.name, self.family, self.seed, self.start = name, "backtest", 0, "observed"


def simulate(trace: Trace, controller: Controller, config: SimConfig, start: Capacity, tags: dict | None = None):
    """One run of the simulator; `tags` go on the simulated deployment (the function reads its overrides there)."""
    sim = Simulation([trace], controller, config, [start])
    sim.store.max_instances = None  # the observed capacity is what it was, whatever limit the emulator assumes
    if tags:
        state = sim.store.dump()
        for body in state["modelDeployments"]:
            body["freeformTags"] = dict(tags)
        sim.store.load(state)
    [series] = sim.run().series.values()
    return series


def monthly_cost(series, prices) -> float | None:
    """List price of the billed OCPUs, per 30-day month: each minute's billed OCPUs at the price per OCPU of the
    shape configured then (pricing.hourly_price of one instance / its OCPUs)."""
    changes = {minute: after for minute, _, after in series.actions}
    shape, total = series.start.shape, 0.0
    per_ocpu = {}
    for minute, ocpus in enumerate(series.billed_ocpus):
        if minute in changes:
            shape = changes[minute].shape
        if shape not in per_ocpu:
            price = hourly_price(shape, prices)
            per_ocpu[shape] = None if price is None else price / shape.size[0]
        if per_ocpu[shape] is None:
            return None
        total += ocpus * per_ocpu[shape] / 60
    return total * 30 * 1440 / max(1, len(series.billed_ocpus))


@dataclass
class Result:
    deployment_id: str
    recon: Reconstruction
    outcomes: dict[str, Outcome]
    bounds: object  # bench.optimum.Bounds
    config: SimConfig
    notes: list[str]
    settings_source: str
    seconds: dict[str, float] = field(default_factory=dict)


def replay(
    recon: Reconstruction,
    policy: Policy,
    function_env: dict[str, str],
    native: NativeRule | None,
    tags: dict[str, str],
    slo: float = 90.0,
    runs=("observed", "ours", "native", "exact"),
    seconds: dict | None = None,
) -> tuple[dict[str, Outcome], object, SimConfig]:
    """Replay the rebuilt demand through each policy: {run: Outcome}, the exact bounds, the SimConfig."""
    seconds = {} if seconds is None else seconds
    trace, start = recon.trace, recon.schedule[0]
    most = max(
        policy.max_instances,
        native.max_instances if native is not None else 0,
        max(c.instance_count for c in recon.schedule),
    )
    weights = recon.weights + (recon.weights[-1],) * max(0, most - len(recon.weights))  # a share for every slot used
    config = SimConfig(
        slo=slo,
        min_instances=policy.min_instances,
        max_instances=policy.max_instances,
        ladder=tuple(policy.shape_ladder),
        weights=weights,
    )
    case = _Case(trace.name)
    prices = policy.prices
    out: dict[str, Outcome] = {}

    def done(key: str, label: str, series, note: str = "") -> None:
        s = score(key, case, series, slo)
        out[key] = Outcome(
            label, series, s.ocpu_hours, s.violation_minutes, s.actions, monthly_cost(series, prices), note
        )

    bounds = None
    for run in runs:
        began = time.perf_counter()
        if run == "observed":
            series = simulate(trace, Observed(recon.schedule), observed_config(config), start)
            done(run, "the capacity it had", series, "replayed as observed")
        elif run == "ours":
            series = simulate(trace, Ours(transport="fakes", **function_env), config, start, tags)
            done(run, "ours (the function)", series)
        elif run == "native":
            limits = replace(config, min_instances=native.min_instances, max_instances=native.max_instances)
            series = simulate(trace, RuleNative(native), limits, start)
            done(run, native.label, series, describe(native))
        elif run == "exact":
            bounds, plan = solve_case(trace, config, start, deployment_id(0, trace.name))
            series = simulate(trace, Replay(plan), config, start)
            done(run, "exact bound (clairvoyant)", series, "fewest violation minutes, then least OCPU-hours")
        seconds[run] = time.perf_counter() - began
    return out, bounds, config


# -- settings -------------------------------------------------------------------------------------------------------


def read_config_file(path: Path) -> dict[str, str]:
    """The function's config as a file: a JSON object, or KEY=VALUE lines (# comments, optional `export`, quotes).
    Keys are AUTOSCALE_<NAME> (the prefix is added when missing), as in func.yaml or the Terraform module's map."""
    try:
        text = path.read_text()
    except OSError as error:
        raise BacktestError(f"--config {path}: {error.strerror}") from None
    items: dict[str, object] = {}
    if text.lstrip().startswith("{"):
        try:
            loaded = json.loads(text)
        except ValueError as error:
            raise BacktestError(f"--config {path}: not valid JSON ({error})") from None
        if not isinstance(loaded, dict):
            raise BacktestError(f"--config {path}: the JSON must be an object of settings")
        items = loaded
    else:
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.removeprefix("export ").partition("=")
            if not sep or not key.strip():
                raise BacktestError(f"--config {path}, line {number}: expected KEY=VALUE")
            items[key.strip()] = value.strip().strip("'\"")
    out = {}
    for key, value in items.items():
        name = str(key).strip().upper()
        name = name if name.startswith("AUTOSCALE_") else "AUTOSCALE_" + name
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, list | tuple):
            value = ",".join(str(v) for v in value)
        out[name] = str(value)
    return out


def function_settings(environ: dict[str, str], compartment: str):
    try:
        return load_settings({"AUTOSCALE_COMPARTMENT_ALLOWLIST": compartment, **environ})
    except ConfigError as error:
        raise BacktestError(f"the function's settings: {error}") from None


def _policy_tags(tags: dict[str, str]) -> dict[str, str]:
    """The deployment's `autoscale_<setting>` overrides (not the function's state tags: the replay starts fresh)."""
    return {
        k: v
        for k, v in tags.items()
        if k.startswith(OVERRIDE_TAG_PREFIX) and k[len(OVERRIDE_TAG_PREFIX) :] in Policy.model_fields
    }


# -- the whole backtest ---------------------------------------------------------------------------------------------


def backtest(
    gateway,
    md: str,
    days: float = 7,
    environ: dict[str, str] | None = None,
    settings_source: str = "the function's defaults",
    now: float | None = None,
    slo: float = 90.0,
    pace: float = PACE_SECONDS,
    name: str | None = None,
    runs=("observed", "ours", "native", "exact"),
) -> Result:
    """Read the deployment's history through `gateway` (an OciGateway: OCI, the emulator, or the simulator's own
    Store), rebuild the demand and replay it. BacktestError when there is nothing to replay."""
    from oci.exceptions import ServiceError

    seconds: dict[str, float] = {}
    began = time.perf_counter()
    environ = dict(environ or {})
    try:
        deployment = gateway.get_deployment(md)
    except ServiceError as error:
        raise BacktestError(f"GetModelDeployment {md}: {error.status} {error.code}: {error.message}") from None
    if deployment is None:
        raise BacktestError(f"deployment {md} not found (or not visible to these credentials)")
    state = deployment.state
    settings = function_settings(environ, state.compartment_id)
    try:
        policy = settings.policy_for(deployment.tags)
    except ConfigError as error:
        raise BacktestError(f"the deployment's tags: {error}") from None
    notes = []
    current = state.capacity.shape
    if current.size is None:
        raise BacktestError(
            f"{md} runs {current.name}: the simulator models CPU and memory of CPU shapes only "
            "(GPU shapes are not backtested)"
        )
    signals = tuple(s for s in policy.signals if s in ("cpu", "mem")) or ("cpu", "mem")
    if signals != policy.signals:
        notes.append(
            f"its signals are {','.join(policy.signals)}: the simulator replays CPU and memory only, so ours scales "
            f"on {','.join(signals)} here (requests and latency are read and plotted, not replayed)"
        )
    function_env = {k: v for k, v in environ.items() if k not in TRANSPORT_KEYS}
    function_env["AUTOSCALE_SIGNALS"] = ",".join(signals)
    if settings.dry_run:
        notes.append("AUTOSCALE_DRY_RUN is true in its settings: replayed as if false (what it would do)")
    start, end, step = history_range(days, time.time() if now is None else now)
    try:
        reading = read_history(gateway, deployment, start, end, step, policy.signals, pace)
    except ServiceError as error:
        raise BacktestError(f"SummarizeMetricsData: {error.status} {error.code}: {error.message}") from None
    seconds["read"] = time.perf_counter() - began
    managed = any(k.startswith("autoscale_state_") for k in deployment.tags)
    recon = reconstruct(
        reading, current, tuple(policy.shape_ladder), managed, deployment.tags.get(STATE_TARGET_TAG), name, slo
    )
    model = getattr(deployment.raw.model_deployment_configuration_details, "model_configuration_details", None)
    scaling = getattr(model, "scaling_policy", None)
    base_config = SimConfig(slo=slo, min_instances=policy.min_instances, max_instances=policy.max_instances)
    native, native_notes = native_rule(scaling, base_config)
    if getattr(scaling, "policy_type", None) == "AUTOSCALING":
        notes.append(
            "it runs OCI native autoscaling now; the function acts only on FIXED_SIZE deployments (it never fights "
            "native autoscaling): ours shows what it would do once the deployment has a fixed size"
        )
    notes += native_notes
    tags = _policy_tags(deployment.tags)
    tags.pop("autoscale_signals", None)
    outcomes, bounds, config = replay(recon, policy, function_env, native, tags, slo, runs, seconds)
    seconds["total"] = time.perf_counter() - began
    return Result(state.id, recon, outcomes, bounds, config, notes, settings_source, seconds)


# -- the report -----------------------------------------------------------------------------------------------------


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.2f}"


def summary(result: Result, png: str | None = None) -> str:
    recon, trace, config = result.recon, result.recon.trace, result.config
    start = start_time(trace)
    minutes = trace.minutes
    lines = [
        f"# Backtest of {result.deployment_id}",
        "",
        f"{minutes} minutes of history, {_when(start)} to {_when(start + 60 * minutes)}, at {recon.step}-minute "
        f"resolution. SLO: the hottest instance's CPU and memory at or below {config.slo:g} %. Settings: "
        f"{result.settings_source}, with the deployment's tags; instances {config.min_instances}-"
        f"{config.max_instances}, ladder {', '.join(map(str, config.ladder))}.",
        "",
        "| run | OCPU-hours | list price per month | violation minutes | actions |",
        "|---|---:|---:|---:|---:|",
    ]
    for outcome in result.outcomes.values():
        lines.append(
            f"| {outcome.label} | {outcome.ocpu_hours:.1f} | {_money(outcome.cost_per_month)} | "
            f"{outcome.violation_minutes} | {outcome.actions} |"
        )
    m = recon.measured
    lines += [
        "",
        f"Straight from the datapoints: {m['ocpu_hours']:.1f} OCPU-hours of instances that reported, "
        f"{m['violation_minutes']} minutes with an instance above the SLO.",
    ]
    if result.bounds is not None:
        b = result.bounds
        ours = result.outcomes.get("ours")
        lines.append(
            f"Exact bound: H0* = {b.ocpu_hours:.1f} OCPU-hours at V0* = {b.violation_minutes} violation minutes; "
            + ", ".join(
                f"J{k}* = {b.exact[k]:.1f}"
                + (f" (ours {ours.ocpu_hours + b.price(k) * ours.violation_minutes:.1f})" if ours is not None else "")
                for k in KS
            )
            + " where J_k = OCPU-hours + k·H0*/T per violation minute."
        )
    read_only = []
    if recon.requests is not None and np.isfinite(recon.requests).any():
        r = recon.requests
        read_only.append(f"PredictRequestCount {np.nanmean(r):.0f} per datapoint on average, peak {np.nanmax(r):.0f}")
    if recon.latency is not None and np.isfinite(recon.latency).any():
        r = recon.latency
        read_only.append(f"PredictLatency {np.nanmean(r):.0f} ms on average, highest {np.nanmax(r):.0f} ms")
    if read_only:
        lines.append("Read and plotted, not replayed: " + "; ".join(read_only) + ".")
    censored = int(recon.censored.sum())
    lines += [
        "",
        f"Censored minutes: {censored} of {minutes}"
        + (" (the demand there is a lower bound: see notes)." if censored else "."),
        "",
        "Notes:",
        *[f"- {note}" for note in [*result.notes, *recon.notes]],
        *[f"- {o.label}: {o.note}" for o in result.outcomes.values() if o.note],
        "- prices: the function's price table (AUTOSCALE_PRICES, else pricing.py's list prices), billed OCPUs "
        "per minute, scaled to a 30-day month",
    ]
    if png:
        lines += ["", f"![timeline]({png})"]
    return "\n".join(lines) + "\n"


def timeline(result: Result, path: Path) -> None:
    from bench.report import _pyplot

    plt = _pyplot()
    recon = result.recon
    hours = np.arange(recon.trace.minutes) / 60
    panels = 3 + (recon.requests is not None or recon.latency is not None)
    fig, axes = plt.subplots(panels, 1, figsize=(12, 2.6 * panels), sharex=True)
    ax = axes[0]
    ax.plot(hours, recon.trace.cpu, color="black", lw=0.8, label="demand (OCPUs of work, rebuilt)")
    if recon.censored.any():
        ax.fill_between(
            hours,
            0,
            recon.trace.cpu.max() * 1.05,
            where=recon.censored,
            color="tab:red",
            alpha=0.2,
            lw=0,
            label="censored (a lower bound)",
        )
    ax.set_ylabel("OCPUs")
    ax.legend(loc="upper left", fontsize=8)
    colors = {"observed": "tab:gray", "ours": "tab:green", "native": "tab:blue", "exact": "tab:purple"}
    for key, outcome in result.outcomes.items():
        axes[1].step(hours, outcome.series.billed_ocpus, where="post", lw=1, color=colors.get(key), label=outcome.label)
        hot = np.maximum(outcome.series.cpu, outcome.series.mem)
        axes[2].plot(hours, hot, lw=0.6, color=colors.get(key), label=outcome.label)
    axes[1].set_ylabel("billed OCPUs")
    axes[1].legend(loc="upper left", fontsize=8)
    axes[2].axhline(result.config.slo, color="tab:red", ls="--", lw=0.8)
    axes[2].set_ylabel("hottest instance %")
    axes[2].set_ylim(0, 150)
    if panels == 4:
        ax = axes[3]
        if recon.requests is not None:
            ax.plot(hours, recon.requests, lw=0.6, color="tab:orange", label="requests per datapoint")
            ax.set_ylabel("requests")
        if recon.latency is not None:
            other = ax.twinx() if recon.requests is not None else ax
            other.plot(hours, recon.latency, lw=0.6, color="tab:brown", label="latency (ms)")
            other.set_ylabel("ms")
        ax.legend(loc="upper left", fontsize=8)
    axes[-1].set_xlabel("hours since " + _when(start_time(recon.trace)))
    fig.suptitle(f"backtest of {result.deployment_id.rsplit('.', 1)[-1]}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write(result: Result, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    png, md = out / "timeline.png", out / "summary.md"
    timeline(result, png)
    md.write_text(summary(result, png.name))
    return md, png


# -- the command ----------------------------------------------------------------------------------------------------


def connect(emulator: str | None, environ: dict[str, str]):
    """Read-only access the way demo/explain.py has it: the emulator, or OCI with ~/.oci/config."""
    from autoscaler.oci_gateway import OciGateway

    settings = {
        k: v for k, v in environ.items() if k in ("AUTOSCALE_RETRY_BUDGET_SECONDS", "AUTOSCALE_OCI_TIMEOUT_SECONDS")
    }
    settings["AUTOSCALE_COMPARTMENT_ALLOWLIST"] = "ocid1.compartment.oc1..backtest"
    if emulator:
        settings.update(
            AUTOSCALE_AUTH="emulator", AUTOSCALE_DATA_SCIENCE_ENDPOINT=emulator, AUTOSCALE_MONITORING_ENDPOINT=emulator
        )
    else:
        settings["AUTOSCALE_AUTH"] = "config_file"
    return OciGateway.from_settings(load_settings(settings), role="backtest")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backtest", description=__doc__.split("\n\n")[0])
    parser.add_argument("deployment_id", help="model deployment OCID")
    parser.add_argument("--days", type=float, default=7.0, help="days of history (1-minute up to 7, 5-minute up to 30)")
    parser.add_argument("--config", type=Path, help="the function's config: KEY=VALUE lines or a JSON object")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where to write (default {DEFAULT_OUT})")
    parser.add_argument("--slo", type=float, default=90.0, help="hottest instance's utilization %% that violates")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--emulator", default=DEFAULT_EMULATOR, help=f"emulator URL (default {DEFAULT_EMULATOR})")
    target.add_argument("--oci", action="store_true", help="OCI itself, credentials from ~/.oci/config")
    args = parser.parse_args(argv)
    if not 0 < args.days or not 0 < args.slo <= 100:
        parser.error("--days must be > 0 and --slo within (0, 100]")
    environ = {k: v for k, v in os.environ.items() if k.startswith("AUTOSCALE_")}
    source = "the AUTOSCALE_* environment" if environ else "the function's defaults"
    try:
        if args.config:
            environ.update(read_config_file(args.config))
            source = f"{args.config}" + (
                " and the AUTOSCALE_* environment" if source != "the function's defaults" else ""
            )
        gateway = connect(None if args.oci else args.emulator, environ)
        result = backtest(gateway, args.deployment_id, args.days, environ, source)
    except BacktestError as error:
        print(f"backtest: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 - a user command: one line, not a traceback
        kind = type(error).__name__
        print(f"backtest: {kind}: {error}", file=sys.stderr)
        return 2
    md, png = write(result, args.out)
    print(summary(result).rstrip())
    print(f"\nwritten: {md}, {png} ({result.seconds['total']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
