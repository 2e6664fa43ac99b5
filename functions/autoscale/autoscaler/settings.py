"""Configuration: the function's config (environment) with per-deployment tag overrides.

Every setting is an environment variable AUTOSCALE_<NAME> (the function's `config:` map).
Policy settings can be overridden per deployment by a freeform tag `autoscale_<name>`.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .constants import OVERRIDE_TAG_PREFIX, SIGNALS
from .domain import Shape
from .pricing import DEFAULT_PRICES, Price, parse_prices
from .schedule import max_count as _schedule_max
from .schedule import parse as _parse_schedule
from .schedule import zone as _zone

ENV_PREFIX = "AUTOSCALE_"
OCID = re.compile(r"^ocid1\.[a-z0-9_]+\.[a-z0-9_-]*\.[a-z0-9_-]*\.[A-Za-z0-9._-]+$")
ISO_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
# CreateAlarmDetails docstrings (oci/monitoring/models/create_alarm_details.py, SDK 2.189.0):
# pending_duration "Minimum: PT1M. Maximum: PT1H."; repeat_notification_duration "Minimum: PT1M. Maximum: P30D."
PENDING_RANGE = (60, 3600)
REPEAT_RANGE = (60, 30 * 86400)
DEFAULT_LADDER = "VM.Standard.E4.Flex:1:16,VM.Standard.E4.Flex:2:32,VM.Standard.E4.Flex:4:64,VM.Standard.E4.Flex:8:128"
DEFAULT_GPU_LADDER = "VM.GPU.A10.1,VM.GPU.A10.2"


class ConfigError(ValueError):
    """A setting has a wrong value; the message names the key."""


def parse_ladder(value: object) -> tuple[Shape, ...]:
    if isinstance(value, str):
        value = [item for item in value.split(",") if item.strip()]
    ladder = tuple(item if isinstance(item, Shape) else Shape.parse(str(item)) for item in value)
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
    _prices = field_validator("prices", mode="before")(parse_prices)
    _signals = field_validator("signals", mode="before")(parse_signals)

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

    def with_overrides(self, tags: dict[str, str]) -> Policy:
        """This policy with the deployment's `autoscale_<setting>` tags applied."""
        overrides = {
            key[len(OVERRIDE_TAG_PREFIX) :]: value
            for key, value in tags.items()
            if key.startswith(OVERRIDE_TAG_PREFIX) and key[len(OVERRIDE_TAG_PREFIX) :] in Policy.model_fields
        }
        if not overrides:
            return self
        try:
            return Policy.model_validate({**self._policy_values(), **overrides})
        except ValidationError as error:
            given = ", ".join(f"{OVERRIDE_TAG_PREFIX}{k}={v!r}" for k, v in overrides.items())
            raise ConfigError(f"{_explain(error, OVERRIDE_TAG_PREFIX, str.lower)} (from tags {given})") from None


class Settings(BaseSettings, Policy):
    """Everything the function reads from its config. Global keys cannot be overridden by tags."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")
    compartment_allowlist: Annotated[tuple[str, ...], NoDecode]
    dry_run: bool = False
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

    @property
    def policy(self) -> Policy:
        return Policy.model_validate(self._policy_values())


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
