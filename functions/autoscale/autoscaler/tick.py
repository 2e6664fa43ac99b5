"""The reconcile request: the fixed body the Resource Scheduler sends, parsed and bounded like alarm messages.

    {"type": "RECONCILE", "version": 1}                          every allowlisted compartment
    {"type": "RECONCILE", "version": 1, "compartments": [...]}   a subset (one schedule per group of them)

The body carries no authority: it names no deployment and no capacity. Everything the reconcile acts on
is read from OCI and checked against the allowlist and the policy, so a forged tick can only make the
function do now what its own policy would do at the next tick anyway. Compartments outside the allowlist
are refused in the outcomes.

How the Resource Scheduler hands a BODY parameter's value to the function is not spelled out in the pages
consulted (the Terraform argument is a list of strings): the object itself, the object as a JSON string,
or a one-element list of either are all accepted.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from .messages import Rejected

MAX_TICK_BYTES = 4096
MARKER = "RECONCILE"
OCID = r"^ocid1\.(compartment|tenancy)\.[a-z0-9_-]*\.[a-z0-9_-]*\.[A-Za-z0-9._-]+$"
CompartmentId = Annotated[str, StringConstraints(pattern=OCID, max_length=255)]


class ReconcileRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    type: Literal["RECONCILE"]
    version: int = Field(1, ge=1, le=1)  # strict: a bool is not a version
    compartments: list[CompartmentId] | None = Field(None, min_length=1, max_length=50)


def looks_like_tick(body: bytes | str | None) -> bool:
    """Cheap test before any parsing: only a body naming RECONCILE can be a reconcile request."""
    if not body:
        return False
    return (MARKER.encode() if isinstance(body, bytes) else MARKER) in body


def parse_tick(body: bytes | str | None) -> ReconcileRequest | None:
    """The reconcile request in `body`; None when the body is not one (an alarm message: parse it as such);
    Rejected when it says it is one ("type": "RECONCILE") but is malformed or too large."""
    if not looks_like_tick(body):
        return None
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            return None  # not a tick we sent: the alarm parser explains
    document: object = body.removeprefix("\ufeff")
    try:
        for _ in range(3):  # unwrap a JSON string or a one-element list, at most twice
            if isinstance(document, str):
                document = json.loads(document)
            elif isinstance(document, list) and len(document) == 1:
                document = document[0]
            else:
                break
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or document.get("type") != MARKER:
        return None
    if len(body) > MAX_TICK_BYTES:
        raise Rejected(f"reconcile body of {len(body)} characters exceeds the {MAX_TICK_BYTES} limit")
    try:
        return ReconcileRequest.model_validate(document)
    except ValidationError as error:
        problems = []
        for item in error.errors()[:5]:
            where = ".".join(str(part) for part in item["loc"]) or "body"
            problems.append(f"{where}: {item['msg']}")
        raise Rejected("invalid reconcile request: " + "; ".join(problems)) from None
