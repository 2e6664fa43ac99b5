"""Wire models of the OCI Monitoring alarm message, parsed and bounded at the boundary."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from .constants import NAMESPACE, ROUTES

MAX_BODY_BYTES = 256 * 1024
MAX_METADATA = 20
MAX_DIMENSIONS = 100

Text = Annotated[str, StringConstraints(max_length=1024)]
AlarmId = Annotated[str, StringConstraints(pattern=r"^ocid1\.alarm\.[a-z0-9._-]+$", max_length=255)]
DeploymentId = Annotated[
    str, StringConstraints(pattern=r"^ocid1\.datasciencemodeldeployment\.[a-z0-9._-]+$", max_length=255)
]


class Rejected(ValueError):
    """The message cannot be acted on; retrying the same message cannot fix it."""


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, strict=True)


class Dimension(_Wire):
    resource_id: DeploymentId = Field(alias="resourceId")
    instance_id: Text | None = Field(None, alias="instanceId")  # present on per-instance metric streams


class AlarmMetaData(_Wire):
    id: AlarmId
    namespace: Text
    status: Text | None = None
    query: Annotated[str, StringConstraints(max_length=4096)] | None = None
    dimensions: list[Dimension] = Field(min_length=1, max_length=MAX_DIMENSIONS)
    metric_values: list[dict[Text, float]] = Field(
        default_factory=list, alias="metricValues", max_length=MAX_DIMENSIONS
    )

    @field_validator("namespace")
    @classmethod
    def _our_namespace(cls, value: str) -> str:
        if value != NAMESPACE:
            raise ValueError(f"namespace {value!r} is not {NAMESPACE}")
        return value

    @field_validator("metric_values", mode="before")
    @classmethod
    def _numbers(cls, value: object) -> object:
        """OCI sends metric values as strings: parse them, refusing NaN and infinities."""
        if not isinstance(value, list):
            return value
        parsed = []
        for entry in value:
            if not isinstance(entry, dict):
                raise ValueError("each metricValues entry must be an object")
            numbers = {}
            for key, raw in entry.items():
                try:
                    number = float(raw) if isinstance(raw, (str, int, float)) and not isinstance(raw, bool) else None
                except ValueError:
                    number = None
                if number is None or not math.isfinite(number):
                    raise ValueError(f"metric value {str(raw)[:40]!r} is not a finite number")
                numbers[key] = number
            parsed.append(numbers)
        return parsed


class AlarmMessage(_Wire):
    dedupe_key: Text = Field(alias="dedupeKey", min_length=1)
    title: Text
    type: Literal["OK_TO_FIRING", "FIRING_TO_OK", "REPEAT", "RESET"]
    timestamp_epoch_millis: int = Field(alias="timestampEpochMillis", ge=0, lt=2**53)
    alarm_meta_data: list[AlarmMetaData] = Field(alias="alarmMetaData", min_length=1, max_length=MAX_METADATA)

    @field_validator("title")
    @classmethod
    def _known_title(cls, value: str) -> str:
        if value not in ROUTES:
            raise ValueError(f"unknown alarm title {value[:80]!r}; expected one of {', '.join(ROUTES)}")
        return value

    @property
    def event_key(self) -> str:
        """Identifies one delivery-independent alarm event (redeliveries share it)."""
        raw = f"{self.dedupe_key}|{self.timestamp_epoch_millis}".encode()
        return hashlib.sha256(raw).hexdigest()[:12]

    def targets(self) -> list[Target]:
        """Every (alarm, deployment) pair the message names, with its observed value if given."""
        found: dict[tuple[str, str], Target] = {}
        for meta in self.alarm_meta_data:
            for index, dimension in enumerate(meta.dimensions):
                values = meta.metric_values[index] if index < len(meta.metric_values) else {}
                observed = next(iter(values.values()), None)
                target = Target(meta.id, dimension.resource_id, observed, dimension.instance_id)
                found.setdefault((meta.id, dimension.resource_id), target)
        return list(found.values())


@dataclass(frozen=True)
class Target:
    alarm_id: str
    deployment_id: str
    observed: float | None
    instance_id: str | None = None


def parse_message(body: bytes | str | None) -> AlarmMessage:
    """Parse a request body into an AlarmMessage or raise Rejected with a precise reason."""
    if body is None or len(body) == 0:
        raise Rejected("empty body: expected an OCI alarm message (JSON object)")
    if len(body) > MAX_BODY_BYTES:
        raise Rejected(f"body of {len(body)} bytes exceeds the {MAX_BODY_BYTES} byte limit")
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8-sig")  # RFC 8259 §8.1: a parser MAY ignore a leading byte order mark
        except UnicodeDecodeError as error:
            raise Rejected(f"body is not UTF-8 ({error.reason} at byte {error.start})") from None
    body = body.removeprefix("\ufeff")
    try:
        document = json.loads(body)
    except RecursionError:
        raise Rejected("body is nested too deeply") from None
    except ValueError as error:
        raise Rejected(f"body is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise Rejected(f"body is JSON {type(document).__name__}, expected an object")
    try:
        return AlarmMessage.model_validate(document)
    except RecursionError:
        raise Rejected("body is nested too deeply") from None
    except ValidationError as error:
        raise Rejected(_explain(error)) from None


def _explain(error: ValidationError) -> str:
    problems = []
    for item in error.errors()[:5]:
        where = ".".join(str(part) for part in item["loc"]) or "message"
        problems.append(f"{where}: {item['msg']}")
    more = error.error_count() - len(problems)
    return "invalid alarm message: " + "; ".join(problems) + (f" (+{more} more)" if more > 0 else "")
