"""The OCI adapter: Data Science and Monitoring through the real oci SDK, in our domain values."""

from __future__ import annotations

import math
from dataclasses import dataclass

import oci
from oci.data_science import models as ds
from oci.monitoring import models as mon

from .constants import (
    OWNER_TAG,
    OWNER_VALUE,
    STATE_EVENTS_TAG,
    STATE_HOLD_TAG,
    STATE_LAST_DOWN_TAG,
    STATE_LAST_UP_TAG,
)
from .policy import Capacity, DeploymentState
from .settings import Settings, Shape

CONNECT_TIMEOUT_SECONDS = 3.0
GONE = ("DELETING", "DELETED")


class Conflict(Exception):
    """The resource changed under us (412 stale etag, 409 busy): nothing was applied."""


@dataclass(frozen=True)
class Alarm:
    id: str
    display_name: str
    notification_title: str | None
    compartment_id: str
    metric_compartment_id: str
    namespace: str
    query: str
    severity: str
    destinations: tuple[str, ...]
    message_format: str | None
    lifecycle_state: str


@dataclass(frozen=True)
class Deployment:
    state: DeploymentState
    etag: str
    tags: dict[str, str]
    raw: ds.ModelDeployment  # kept so an update preserves every field we do not change


class OciGateway:
    def __init__(self, data_science: oci.data_science.DataScienceClient, monitoring: oci.monitoring.MonitoringClient):
        self.data_science = data_science
        self.monitoring = monitoring

    @classmethod
    def from_settings(cls, settings: Settings) -> OciGateway:
        config, signer = _credentials(settings)
        common = {
            "signer": signer,
            "retry_strategy": retry_strategy(settings.retry_budget_seconds),
            "timeout": (CONNECT_TIMEOUT_SECONDS, settings.oci_timeout_seconds),
            # The SDK's default breaker is shared process-wide and would outlive this invocation in a warm
            # function; retries within the budget, then a redelivery, are the recovery path instead.
            "circuit_breaker_strategy": oci.circuit_breaker.NoCircuitBreakerStrategy(),
        }
        return cls(
            oci.data_science.DataScienceClient(config, service_endpoint=settings.data_science_endpoint, **common),
            oci.monitoring.MonitoringClient(config, service_endpoint=settings.monitoring_endpoint, **common),
        )

    def get_alarm(self, alarm_id: str) -> Alarm | None:
        try:
            alarm = self.monitoring.get_alarm(alarm_id).data
        except oci.exceptions.ServiceError as error:
            if error.status == 404:
                return None
            raise
        return Alarm(
            id=alarm.id,
            display_name=alarm.display_name,
            notification_title=alarm.notification_title,
            compartment_id=alarm.compartment_id,
            metric_compartment_id=alarm.metric_compartment_id,
            namespace=alarm.namespace,
            query=alarm.query,
            severity=alarm.severity,
            destinations=tuple(alarm.destinations or ()),
            message_format=alarm.message_format,
            lifecycle_state=alarm.lifecycle_state,
        )

    def get_deployment(self, deployment_id: str) -> Deployment | None:
        try:
            response = self.data_science.get_model_deployment(deployment_id)
        except oci.exceptions.ServiceError as error:
            if error.status == 404:
                return None
            raise
        raw = response.data
        tags = dict(raw.freeform_tags or {})
        return Deployment(_state(raw, tags), response.headers.get("etag"), tags, raw)

    def update_deployment(self, deployment: Deployment, target: Capacity, tags: dict[str, str]) -> str:
        """Resize and write the state tags in one update, guarded by the etag. Returns the work request id."""
        current = deployment.raw.model_deployment_configuration_details.model_configuration_details
        update = _copy(current, ds.UpdateModelConfigurationDetails)
        instance = _copy(current.instance_configuration, ds.InstanceConfiguration)
        instance.instance_shape_name = target.shape.name
        instance.model_deployment_instance_shape_config_details = (
            None
            if target.shape.ocpus is None
            else ds.ModelDeploymentInstanceShapeConfigDetails(
                ocpus=target.shape.ocpus, memory_in_gbs=target.shape.memory_gbs
            )
        )
        update.instance_configuration = instance
        update.scaling_policy = ds.FixedSizeScalingPolicy(instance_count=target.instance_count)
        details = ds.UpdateModelDeploymentDetails(
            freeform_tags=tags,
            model_deployment_configuration_details=ds.UpdateSingleModelDeploymentConfigurationDetails(
                model_configuration_details=update
            ),
        )
        try:
            response = self.data_science.update_model_deployment(deployment.state.id, details, if_match=deployment.etag)
        except oci.exceptions.ServiceError as error:
            if error.status in (409, 412):
                raise Conflict(f"{error.status} {error.code}: {error.message}") from None
            raise
        return response.headers.get("opc-work-request-id", "")

    def owned_alarms(self, compartment_id: str, display_name: str) -> list[tuple[str, str]]:
        """(id, query) of the live alarms with this display name that the autoscaler created, in list order."""
        # Not oci.pagination.list_call_get_all_results: it wraps every page in the SDK's default retry
        # strategy (8 attempts, up to 600 s) on top of ours, far past the function's deadline.
        alarms, page = [], None
        while True:
            response = self.monitoring.list_alarms(
                compartment_id, display_name=display_name, lifecycle_state="ACTIVE", page=page
            )
            alarms += response.data
            page = response.next_page
            if not page:
                break
        return [(a.id, a.query) for a in alarms if (a.freeform_tags or {}).get(OWNER_TAG) == OWNER_VALUE]

    def update_alarm_query(self, alarm_id: str, query: str, body: str) -> None:
        self.monitoring.update_alarm(alarm_id, mon.UpdateAlarmDetails(query=query, body=body))

    def create_alarm(self, details: dict) -> str:
        return self.monitoring.create_alarm(mon.CreateAlarmDetails(**details)).data.id

    def delete_alarm(self, alarm_id: str) -> None:
        try:
            self.monitoring.delete_alarm(alarm_id)
        except oci.exceptions.ServiceError as error:
            # Already gone is what we wanted; a 409 comes from a retried delete whose first try landed.
            if error.status == 404:
                return
            if error.status != 409 or self.monitoring.get_alarm(alarm_id).data.lifecycle_state not in GONE:
                raise


def retry_strategy(budget_seconds: float):
    """Retry throttling, 5xx, timeouts and dropped connections, but only within the function's budget."""
    return oci.retry.RetryStrategyBuilder(
        max_attempts_check=True,
        max_attempts=4,
        total_elapsed_time_check=True,
        total_elapsed_time_seconds=budget_seconds,
        retry_max_wait_between_calls_seconds=2,
        retry_base_sleep_time_seconds=0.25,
        service_error_check=True,
        service_error_retry_on_any_5xx=True,
        service_error_retry_config={429: []},
    ).get_retry_strategy()


def _state(raw: ds.ModelDeployment, tags: dict[str, str]) -> DeploymentState:
    config = raw.model_deployment_configuration_details
    model = getattr(config, "model_configuration_details", None)
    instance = getattr(model, "instance_configuration", None)
    shape_config = getattr(instance, "model_deployment_instance_shape_config_details", None)
    scaling = getattr(model, "scaling_policy", None)
    shape = Shape(
        name=getattr(instance, "instance_shape_name", None) or "unknown",
        ocpus=getattr(shape_config, "ocpus", None),
        memory_gbs=getattr(shape_config, "memory_in_gbs", None),
    )
    return DeploymentState(
        id=raw.id,
        compartment_id=raw.compartment_id,
        lifecycle_state=raw.lifecycle_state,
        deployment_type=getattr(config, "deployment_type", None) or "unknown",
        scaling_policy=getattr(scaling, "policy_type", None) or "unknown",
        capacity=Capacity(getattr(scaling, "instance_count", None) or 0, shape),
        last_up=_float_tag(tags, STATE_LAST_UP_TAG),
        last_down=_float_tag(tags, STATE_LAST_DOWN_TAG),
        scale_in_hold=_float_tag(tags, STATE_HOLD_TAG),
        recent_events=tuple(tags.get(STATE_EVENTS_TAG, "").split()),
    )


def _float_tag(tags: dict[str, str], key: str) -> float | None:
    """A number from our state tags; a missing, garbled or non-finite one (hand-edited tags) reads as unset."""
    try:
        value = float(tags[key])
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _copy(model, cls):
    return cls(**{name: getattr(model, name, None) for name in cls().swagger_types}) if model else cls()


def _credentials(settings: Settings):
    if settings.auth == "resource_principal":
        signer = oci.auth.signers.get_resource_principals_signer()
        return {"region": signer.region}, signer
    if settings.auth == "config_file":
        config = oci.config.from_file()
        return config, None
    return {"region": "us-ashburn-1"}, _emulator_signer()


def _emulator_signer():
    """A throwaway key: the local emulator only checks that requests are signed, not by whom."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return oci.auth.signers.SecurityTokenSigner("emulator", key)
