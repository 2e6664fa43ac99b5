"""The fdk boundary: bytes in, one JSON log line per deployment, a JSON response out."""

from __future__ import annotations

import functools
import json
import logging
import sys
import time

from fdk import response

from .messages import MAX_BODY_BYTES, Rejected, parse_message
from .oci_gateway import OciGateway
from .service import handle_message
from .settings import ConfigError, Settings, load_settings
from .tick import parse_tick

log = logging.getLogger("autoscaler")
if not log.handlers:  # fdk configures the root logger; ours writes bare JSON lines to stderr
    _stream = logging.StreamHandler(sys.stderr)
    _stream.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(_stream)
    log.setLevel(logging.INFO)
    log.propagate = False


class RetryableFailure(RuntimeError):
    """Raised to make fdk answer 502 so OCI Notifications redelivers the message."""


@functools.lru_cache(maxsize=4)
def gateway_for(settings: Settings, role: str = "alarm") -> OciGateway:
    """SDK clients are reused across warm invocations of the same configuration."""
    return OciGateway.from_settings(settings, role)


def handle(ctx, data):
    started = time.monotonic()
    call_id = _call_id(ctx)
    body = data.read(MAX_BODY_BYTES + 1) if hasattr(data, "read") else data
    try:
        tick = parse_tick(body)  # the Resource Scheduler's reconcile body, else an alarm message
        message = parse_message(body) if tick is None else None
    except Rejected as rejection:
        line = {"call_id": call_id, "status": "rejected", "reason": str(rejection), "bytes": len(body or b"")}
        log.warning(json.dumps(line))
        return _respond(ctx, line, 400)

    try:
        settings = load_settings()
    except ConfigError as error:  # fail loudly (502 naming the key); Notifications redelivers once it is fixed
        log.error(json.dumps({"call_id": call_id, "status": "config_error", "reason": str(error)}))
        raise
    if tick is not None:
        return _reconcile(ctx, tick, settings, call_id, started)
    outcomes = handle_message(message, settings, gateway_for(settings), time.time())
    lines = [{"call_id": call_id, **outcome.as_dict()} for outcome in outcomes]
    for line in lines:
        log.info(json.dumps(line))
    failed = [line for line in lines if line["status"] == "error"]
    if failed:
        raise RetryableFailure(f"{len(failed)} of {len(lines)} deployments failed, redeliver: {failed[0]['reason']}")
    body = {"call_id": call_id, "duration_ms": round((time.monotonic() - started) * 1000, 1), "outcomes": lines}
    return _respond(ctx, body, 200)


def _reconcile(ctx, tick, settings: Settings, call_id, started: float):
    """A reconcile tick: one line per managed deployment, then a summary line. Always 200: the scheduler's
    invocation is detached (nobody reads the reply or retries it); the next tick is the retry."""
    from .reconcile import reconcile  # only a tick needs it: not on every alarm's cold start (bench/coldstart.py)

    outcomes = reconcile(tick, settings, gateway_for(settings, "tick"), time.time())
    lines = [{"call_id": call_id, **outcome.as_dict()} for outcome in outcomes]
    for line in lines:
        log.info(json.dumps(line))
    counts: dict[str, int] = {}
    for line in lines:
        counts[line["status"]] = counts.get(line["status"], 0) + 1
    duration = round((time.monotonic() - started) * 1000, 1)
    summary = {"call_id": call_id, "title": "reconcile", "status": "summary", "counts": counts, "duration_ms": duration}
    log.info(json.dumps(summary))
    return _respond(ctx, {**summary, "outcomes": lines}, 200)


def _respond(ctx, body: dict, status: int):
    return response.Response(
        ctx, response_data=json.dumps(body), headers={"Content-Type": "application/json"}, status_code=status
    )


def _call_id(ctx) -> str | None:
    try:
        return ctx.CallID()
    except Exception:  # in-process fixtures may give a context without a call id
        return None
