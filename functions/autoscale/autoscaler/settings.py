"""Configuration: the function's config (environment) with per-deployment tag overrides.

Every setting is an environment variable AUTOSCALE_<NAME> (the function's `config:` map).
Policy settings can be overridden per deployment by a freeform tag `autoscale_<name>`, within the
instance ceiling (AUTOSCALE_INSTANCE_CEILING), which no tag can raise.
"""

from __future__ import annotations

import difflib
import json
import logging
import math
import re
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .constants import FUNCTION_TAGS, OVERRIDE_TAG_PREFIX, SIGNALS
from .domain import Shape
from .pricing import DEFAULT_PRICES, Price, parse_prices
from .schedule import MAX_COUNT as _SCHEDULE_MAX_COUNT
from .schedule import max_count as _schedule_max
from .schedule import parse as _parse_schedule
from .schedule import zone as _zone

ENV_PREFIX = "AUTOSCALE_"
OCID = re.compile(r"^ocid1\.[a-z0-9_]+\.[a-z0-9_-]*\.[a-z0-9_-]*\.[A-Za-z0-9._-]+$")
# [0-9], not \d: \d matches every Unicode digit ("PT٣M"), and int() reads them.
ISO_DURATION = re.compile(r"^P(?:([0-9]+)D)?(?:T(?=[0-9])(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+)S)?)?$")
# CreateAlarmDetails docstrings (oci/monitoring/models/create_alarm_details.py, SDK 2.189.0):
# pending_duration "Minimum: PT1M. Maximum: PT1H."; repeat_notification_duration "Minimum: PT1M. Maximum: P30D."
PENDING_RANGE = (60, 3600)
REPEAT_RANGE = (60, 30 * 86400)
DEFAULT_LADDER = "VM.Standard.E4.Flex:1:16,VM.Standard.E4.Flex:2:32,VM.Standard.E4.Flex:4:64,VM.Standard.E4.Flex:8:128"
DEFAULT_GPU_LADDER = "VM.GPU.A10.1,VM.GPU.A10.2"
# The most instances the function gives any deployment (AUTOSCALE_INSTANCE_CEILING), whatever its tags say: a
# setting of the function, not of the policy, so only whoever owns the function's config can raise it (anyone who
# may tag a deployment can otherwise set its max_instances). OCI documents no per-deployment instance limit
# (../shared/NOTES.md: "the instance-count limit [is] not documented"); the emulator assumes 10 (emulator/rules.py
# DEFAULT_MAX_INSTANCES, a guess). 10 is that assumed limit, 2.5x the default max_instances of 4: by default the
# function never asks for a count we model OCI as refusing, and a mistyped tag costs at most 10 instances. Raise it
# for a fleet that needs more; it is bounded by the schedule grammar's largest count (schedule.MAX_COUNT).
DEFAULT_INSTANCE_CEILING = 10
CEILING_KEY = "AUTOSCALE_INSTANCE_CEILING"
log = logging.getLogger("autoscaler")  # handler.py gives it its JSON-lines handler


class ConfigError(ValueError):
    """A setting has a wrong value; the message names the key."""


def parse_ladder(value: object) -> tuple[Shape, ...]:
    if isinstance(value, str):
        value = [item for item in value.split(",") if item.strip()]
    ladder = tuple(item if isinstance(item, Shape) else Shape.parse(str(item)) for item in value)
    for rung in ladder:
        if not all(math.isfinite(number) for number in (rung.ocpus or 0, rung.memory_gbs or 0)):
            raise ValueError(f"rung {str(rung)!r}: OCPUs and memory must be finite numbers")
    if not ladder:
        raise ValueError("the shape ladder is empty")
    if len(set(ladder)) != len(ladder):
        raise ValueError("the shape ladder repeats a rung")
    return ladder


def parse_signals(value: object) -> tuple[str, ...]:
    """`cpu,mem,gpu,requests,latency` (any non-empty subset, each once) into a tuple."""
    if isinstance(value, str):
        value = [item.strip() for item in value.split(",") if item.strip()]
    signals = tuple(str(item).strip() for item in value)
    unknown = [name for name in signals if name not in SIGNALS]
    if unknown:
        raise ValueError(f"unknown signal {unknown[0]!r}; expected some of {', '.join(SIGNALS)}")
    if not signals or len(set(signals)) != len(signals):
        raise ValueError("signals must name at least one signal, each once")
    return signals


def parse_finite_prices(value: object) -> tuple[Price, ...]:
    """parse_prices, refusing nan and inf (float() reads both)."""
    table = parse_prices(value)
    for price in table:
        if not (math.isfinite(price.ocpu_hour) and math.isfinite(price.gb_hour)):
            raise ValueError(f"price {str(price)!r}: prices must be finite numbers")
    return table


def ascii_only(value: object) -> object:
    """Every setting and tag value is ASCII: Python reads other scripts' digits as numbers (int("٣") == 3,
    float("１") == 1.0), so a value that is not ASCII is refused before any parser sees it."""
    if isinstance(value, str) and not value.isascii():
        character = next(c for c in value if not c.isascii())
        raise ValueError(f"{character!r} (U+{ord(character):04X}) is not ASCII: write numbers with the digits 0-9")
    return value


Mode = Literal["horizontal", "vertical"]
CpuMode = Literal["horizontal", "vertical", "cost"]  # cost: more instances or the next rung, whichever is cheaper
Percent = Annotated[float, Field(gt=0, le=100)]


class Policy(BaseModel):
    """The scaling knobs of one deployment: defaults from config, overridable by its tags."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    cpu_mode: CpuMode = "horizontal"
    mem_mode: Mode = "vertical"
    min_instances: int = Field(1, ge=1)
    max_instances: int = Field(4, ge=1)
    shape_ladder: Annotated[tuple[Shape, ...], NoDecode] = parse_ladder(DEFAULT_LADDER)
    cpu_target: Percent = 70
    mem_target: Percent = 60
    cpu_low_threshold: Percent = 20
    mem_low_threshold: Percent = 20
    scale_up_cooldown_seconds: int = Field(720, ge=0)  # longer than a deployment update plus a fresh reading
    scale_down_cooldown_seconds: int = Field(600, ge=0)
    max_alarm_age_seconds: int = Field(0, ge=0)
    # Flap damping: a scale-up within this long after a scale-in doubles every scale-in's wait (0: off).
    flap_window_seconds: int = Field(7200, ge=0)
    max_scale_in_hold_seconds: int = Field(86400, ge=0)
    # A saturated high reading (>= 99 %) grows the capacity at least this many times (1: proportional only).
    saturated_scale_factor: float = Field(4.0, ge=1, le=16)
    # Scale in while the smaller capacity would run at <= this share of the target (0: fixed low thresholds).
    scale_in_headroom: float = Field(0.9, ge=0, le=1)
    prices: Annotated[tuple[Price, ...], NoDecode] = parse_prices(DEFAULT_PRICES)  # used by cpu_mode=cost
    # Instance floors by time of day and day of week (docs/schedules.md, e.g. "Mon-Fri 08:00-18:00=3"), read in
    # time_zone (UTC or an IANA name); "" = none. Raised ahead of each window by the horizon (plan.py).
    schedule: str = ""
    time_zone: str = "UTC"
    # Raise capacity ahead of the load the deployment's own CPU history shows, and hold scale-in before it
    # (forecast.py); false = off.
    predict: bool = True
    # How long a deployment update takes: the lead time of a change planned ahead (horizon = interval + this), and
    # how long after our scale-in the metrics still come from the larger capacity (policy._cooldown_left).
    update_seconds: int = Field(900, ge=0, le=7200)

    @field_validator("schedule")
    @classmethod
    def _valid_schedule(cls, value: str) -> str:
        _parse_schedule(value)
        return value

    @field_validator("time_zone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        _zone(value)
        return value

    @model_validator(mode="after")
    def _schedule_within_max(self) -> Policy:
        if (most := _schedule_max(_parse_schedule(self.schedule))) > self.max_instances:
            raise ValueError(f"schedule asks for {most} instances, above max_instances {self.max_instances}")
        return self

    # Which signals this deployment scales on: the function acts on (and keeps its own alarms for) these only.
    signals: Annotated[tuple[str, ...], NoDecode] = ("cpu", "mem")
    gpu_mode: Mode = "horizontal"  # vertical: one rung along gpu_shape_ladder
    gpu_target: Percent = 60
    gpu_low_threshold: Percent = 20
    gpu_shape_ladder: Annotated[tuple[Shape, ...], NoDecode] = parse_ladder(DEFAULT_GPU_LADDER)
    # Requests per instance per minute one instance should serve: scale out to ceil(rate / target).
    requests_target: float = Field(600, gt=0, le=10_000_000)
    # The latency objective in ms: the high-latency alarm's threshold (Terraform), never a reason to scale in.
    latency_slo_ms: float = Field(1000, gt=0, le=3_600_000)
    latency_mode: Mode = "horizontal"  # vertical: one rung up the ladder the current shape is on

    _ladder = field_validator("shape_ladder", "gpu_shape_ladder", mode="before")(parse_ladder)
    _prices = field_validator("prices", mode="before")(parse_finite_prices)
    _signals = field_validator("signals", mode="before")(parse_signals)
    # Defined after the parsers above on purpose: pydantic runs "before" validators last-defined first, so this
    # check sees the raw text before parse_ladder / parse_prices turn "٣" into 3.0.
    _ascii = field_validator("*", mode="before")(ascii_only)
    # The instance ceiling this policy was made under (Settings.policy sets AUTOSCALE_INSTANCE_CEILING): a private
    # attribute, not a field, so no tag can set it; with_overrides keeps every policy it makes within it.
    _instance_ceiling: int = PrivateAttr(DEFAULT_INSTANCE_CEILING)

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        if self.max_instances < self.min_instances:
            raise ValueError("max_instances must be >= min_instances")
        for metric in ("cpu", "mem", "gpu"):
            if getattr(self, f"{metric}_low_threshold") >= getattr(self, f"{metric}_target"):
                raise ValueError(f"{metric}_low_threshold must be below {metric}_target")
        return self

    def mode(self, metric: str) -> CpuMode:
        """How this signal scales; requests only horizontally (a request rate says nothing about a bigger shape)."""
        return {"cpu": self.cpu_mode, "mem": self.mem_mode, "gpu": self.gpu_mode, "latency": self.latency_mode}.get(
            metric, "horizontal"
        )

    def target(self, metric: str) -> float:
        """Utilization % (cpu, mem, gpu), requests per instance per minute, or the latency objective in ms."""
        return {
            "cpu": self.cpu_target,
            "mem": self.mem_target,
            "gpu": self.gpu_target,
            "requests": self.requests_target,
            "latency": self.latency_slo_ms,
        }[metric]

    def low_threshold(self, metric: str) -> float:
        """The configured floor of a low alarm's threshold; 0 where only the headroom rule sets it (requests)."""
        return {"cpu": self.cpu_low_threshold, "mem": self.mem_low_threshold, "gpu": self.gpu_low_threshold}.get(
            metric, 0.0
        )

    def ladder(self, metric: str, shape: Shape | None = None) -> tuple[Shape, ...]:
        """The shape ladder of a signal: GPU rungs for gpu; for latency the ladder the current shape is on."""
        if metric == "gpu" or (metric == "latency" and shape is not None and shape.name in self._gpu_names):
            return self.gpu_shape_ladder
        return self.shape_ladder

    @property
    def _gpu_names(self) -> set[str]:
        return {rung.name for rung in self.gpu_shape_ladder}

    def _policy_values(self) -> dict:
        return {name: getattr(self, name) for name in Policy.model_fields}

    @property
    def ceiling(self) -> int:
        """The most instances any deployment may get under this policy (AUTOSCALE_INSTANCE_CEILING)."""
        return self._instance_ceiling

    def with_overrides(self, tags: Mapping[str, str]) -> Policy:
        """This policy with the deployment's `autoscale_<setting>` tags applied, within the instance ceiling.

        Other tags (unknown `autoscale_*` keys included: see unknown_tag_keys) are ignored. A max_instances tag above
        the ceiling is clamped to it (a user who wrote 1000000000 meant "no limit"; the clamp keeps the deployment
        managed, up to the most the function's owner allows); a min_instances tag or a schedule count above the
        ceiling is a ConfigError (a floor above the ceiling cannot be honoured: the deployment is refused and left
        as it is, rather than raised to the ceiling and kept there)."""
        ceiling = self.ceiling
        overrides = {
            key[len(OVERRIDE_TAG_PREFIX) :]: value
            for key, value in tags.items()
            if key.startswith(OVERRIDE_TAG_PREFIX) and key[len(OVERRIDE_TAG_PREFIX) :] in Policy.model_fields
        }
        if not overrides and self.max_instances <= ceiling:
            return self
        given = ", ".join(f"{OVERRIDE_TAG_PREFIX}{k}={v!r}" for k, v in overrides.items())
        try:
            policy = Policy.model_validate({**self._policy_values(), **overrides})
        except ValidationError as error:
            raise ConfigError(f"{_explain(error, OVERRIDE_TAG_PREFIX, str.lower)} (from tags {given})") from None
        floors = {
            "min_instances": (policy.min_instances, f"{policy.min_instances} is"),
            "schedule": (scheduled := _schedule_max_of(policy), f"asks for {scheduled} instances,"),
        }
        for name, (count, says) in floors.items():
            if count > ceiling:
                raise ConfigError(
                    f"invalid configuration: {OVERRIDE_TAG_PREFIX}{name}: {says} above the instance ceiling {ceiling} "
                    f"({CEILING_KEY}); a floor above the ceiling cannot be honoured (from tags {given})"
                )
        if policy.max_instances > ceiling:
            policy = Policy.model_validate({**policy._policy_values(), "max_instances": ceiling})
        policy._instance_ceiling = ceiling
        return policy


def _schedule_max_of(policy: Policy) -> int:
    return _schedule_max(_parse_schedule(policy.schedule))


class Settings(BaseSettings, Policy):
    """Everything the function reads from its config. Global keys cannot be overridden by tags."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")
    compartment_allowlist: Annotated[tuple[str, ...], NoDecode]
    dry_run: bool = False
    # The most instances any deployment may get, whatever its tags say (DEFAULT_INSTANCE_CEILING explains 10).
    instance_ceiling: int = Field(DEFAULT_INSTANCE_CEILING, ge=1, le=_SCHEDULE_MAX_COUNT)
    auth: Literal["resource_principal", "config_file", "emulator"] = "resource_principal"
    data_science_endpoint: str | None = None
    monitoring_endpoint: str | None = None
    retry_budget_seconds: float = Field(10, gt=0, le=300)
    oci_timeout_seconds: float = Field(10, gt=0, le=60)
    # The periodic reconcile (reconcile.py): how often the schedule invokes it (its horizon), how many days of
    # CPU history the forecast reads (at 1h resolution: SummarizeMetricsData allows up to 90 days), and the time
    # one tick may spend before it leaves the remaining deployments to the next (below the function timeout).
    reconcile_interval_seconds: int = Field(3600, ge=300, le=86400)
    history_days: int = Field(15, ge=1, le=90)
    reconcile_budget_seconds: float = Field(60, gt=0, le=290)
    # The tick's share of the tenancy's 10 alarm operations a second (governor.py; docs/reconcile.md: why 3).
    alarm_ops_per_second: float = Field(3, gt=0, le=10)
    low_alarm_pending_duration: str = "PT10M"
    low_alarm_repeat_duration: str = "PT10M"
    # Of the high alarms the function owns (requests: their threshold follows the instance count); the same
    # values as Terraform's high alarms.
    high_alarm_pending_duration: str = "PT1M"
    high_alarm_repeat_duration: str = "PT5M"

    @field_validator("compartment_allowlist", mode="before")
    @classmethod
    def _split_allowlist(cls, value: object) -> tuple[str, ...]:
        items = tuple(v.strip() for v in value.split(",") if v.strip()) if isinstance(value, str) else tuple(value)
        if not items:
            raise ValueError("at least one compartment OCID is required")
        for item in items:
            if not OCID.match(item):
                raise ValueError(f"{item!r} is not an OCID")
        return items

    @field_validator("data_science_endpoint", "monitoring_endpoint", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("low_alarm_pending_duration", "high_alarm_pending_duration")
    @classmethod
    def _pending(cls, value: str) -> str:
        return _duration_within(value, PENDING_RANGE, "PT1M", "PT1H")

    @field_validator("low_alarm_repeat_duration", "high_alarm_repeat_duration")
    @classmethod
    def _repeat(cls, value: str) -> str:
        return _duration_within(value, REPEAT_RANGE, "PT1M", "P30D")

    @model_validator(mode="after")
    def _endpoints_for_emulator(self) -> Settings:
        if self.auth == "emulator" and not (self.data_science_endpoint and self.monitoring_endpoint):
            raise ValueError("auth=emulator needs data_science_endpoint and monitoring_endpoint")
        return self

    @model_validator(mode="after")
    def _max_within_ceiling(self) -> Settings:
        if self.max_instances > self.instance_ceiling:
            raise ValueError(
                f"AUTOSCALE_MAX_INSTANCES {self.max_instances} is above {CEILING_KEY} {self.instance_ceiling}, "
                "the most instances any deployment may get: lower the one or raise the other"
            )
        return self

    @property
    def ceiling(self) -> int:
        return self.instance_ceiling

    @property
    def policy(self) -> Policy:
        """The default policy of every deployment, carrying the instance ceiling its tag overrides stay within."""
        policy = Policy.model_validate(self._policy_values())
        policy._instance_ceiling = self.instance_ceiling
        return policy

    def policy_for(self, tags: Mapping[str, str]) -> Policy:
        """The policy of a deployment with these freeform tags (Policy.with_overrides): ConfigError if refused."""
        return self.policy.with_overrides(tags)


def duration_seconds(value: str) -> int | None:
    """Seconds in an ISO-8601 duration of days, hours, minutes and seconds (`P1D`, `PT10M`); None if not one."""
    match = ISO_DURATION.match(value) if value not in ("P", "") else None
    if match is None:
        return None
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def _duration_within(value: str, bounds: tuple[int, int], low: str, high: str) -> str:
    seconds = duration_seconds(value)
    if seconds is None:
        raise ValueError(f"{value!r} is not an ISO-8601 duration such as PT5M")
    if not bounds[0] <= seconds <= bounds[1]:
        raise ValueError(f"{value} is outside {low}..{high}, the range OCI accepts (CreateAlarmDetails)")
    return value


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read settings from `environ` (default: the process environment); ConfigError names the key."""
    try:
        if environ is None:
            return Settings()
        return Settings(**{k[len(ENV_PREFIX) :].lower(): v for k, v in environ.items() if k.startswith(ENV_PREFIX)})
    except ValidationError as error:
        raise ConfigError(_explain(error, ENV_PREFIX, str.upper)) from None


# --- Tags: which keys the function knows, and a warning for the others --------------------------------------------


def known_tag_keys() -> frozenset[str]:
    """Every `autoscale_*` tag key the function reads: the overrides, and the tags it writes or reads itself."""
    return frozenset(OVERRIDE_TAG_PREFIX + name for name in Policy.model_fields) | FUNCTION_TAGS


def unknown_tag_keys(tags: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """Each tag key that looks like ours (`autoscale_...`, in any case) but is not one the function reads, with the
    nearest known key (difflib) or None. Such a tag is ignored: a typo (`autoscale_min_instance`) would otherwise
    be ignored without a word."""
    known = known_tag_keys()
    # Compared without the common prefix, which would make every key look close to every other.
    names = sorted(key[len(OVERRIDE_TAG_PREFIX) :] for key in known)
    unknown = []
    for key in sorted(tags):
        if not key.lower().startswith(OVERRIDE_TAG_PREFIX) or key in known:
            continue
        nearest = difflib.get_close_matches(key.lower()[len(OVERRIDE_TAG_PREFIX) :], names, n=1)
        unknown.append((key, OVERRIDE_TAG_PREFIX + nearest[0] if nearest else None))
    return unknown


def tag_warnings(tags: Mapping[str, str], ceiling: int | None = None) -> list[str]:
    """Why some of a deployment's tags are ignored or changed, one reason per tag: unknown keys (with the nearest
    known key), function settings written as tags (no tag can change them), and, given the ceiling, a max_instances
    above it (with_overrides clamps it). Pure; log_unknown_tags logs them. Ignored tags never fail the deployment."""
    reasons = []
    for key, nearest in unknown_tag_keys(tags):
        name = key.lower()[len(OVERRIDE_TAG_PREFIX) :]
        if name in Settings.model_fields and name not in Policy.model_fields:
            reasons.append(
                f"tag {key} ignored: {ENV_PREFIX}{name.upper()} is a setting of the function, not of a deployment"
            )
        else:
            reasons.append(f"unknown tag {key}" + (f" (did you mean {nearest}?)" if nearest else ""))
    key = OVERRIDE_TAG_PREFIX + "max_instances"
    value = tags.get(key, "").strip()
    if ceiling is not None and re.fullmatch(r"[0-9]{1,256}", value) and int(value) > ceiling:  # with_overrides clamps
        reasons.append(
            f"tag {key}={value[:20]} is above the instance ceiling {ceiling} ({CEILING_KEY}): clamped to {ceiling}"
        )
    return reasons


def log_unknown_tags(
    tags: Mapping[str, str], deployment_id: str, *, ceiling: int | None = None, call_id: str | None = None
) -> list[str]:
    """Log one JSON line per tag_warnings reason on the "autoscaler" logger, in handler.py's format:
    {"call_id" (if given), "status": "warning", "reason", "deployment_id"}; returns the reasons. Call it once per
    deployment per invocation; with ceiling=settings.instance_ceiling it also says when max_instances is clamped."""
    reasons = tag_warnings(tags, ceiling)
    for reason in reasons:
        line = {"call_id": call_id} if call_id is not None else {}
        log.warning(json.dumps({**line, "status": "warning", "reason": reason, "deployment_id": deployment_id}))
    return reasons


def setting_keys() -> list[str]:
    """Every config key the function reads (the Terraform module must set exactly these)."""
    return sorted(ENV_PREFIX + name.upper() for name in Settings.model_fields)


def _explain(error: ValidationError, prefix: str, case) -> str:
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        key = prefix + case(field) if field else "(settings)"
        problems.append(f"{key}: {item['msg']}")
    return "invalid configuration: " + "; ".join(problems)
