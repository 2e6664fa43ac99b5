"""The OCI adapter: Data Science and Monitoring through the real oci SDK, in our domain values."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import oci
from oci.data_science import models as ds
from oci.monitoring import models as mon

from .constants import (
    NAMESPACE,
    OWNER_TAG,
    OWNER_VALUE,
    STATE_EVENTS_TAG,
    STATE_HOLD_TAG,
    STATE_LAST_DOWN_TAG,
    STATE_LAST_UP_TAG,
    STATE_TARGET_TAG,
    STATE_UPDATE_DOWN_TAG,
    STATE_UPDATE_FOR_TAG,
    STATE_UPDATE_UP_TAG,
)
from .domain import Capacity, DeploymentState, Shape
from .settings import Settings
from .update_time import bounded

CONNECT_TIMEOUT_SECONDS = 3.0
USER_AGENT = "oci-md-autoscaler"
GONE = ("DELETING", "DELETED")
# How far a state transition may sit after the message's timestamp and still explain it: Monitoring stamps
# transitions with a lag for late metrics (AlarmHistoryEntry.timestamp_triggered docstring: "A three-minute lag").
FIRING_SKEW_SECONDS = 300
# How far back a late redelivery may have fired: Notifications retries for up to ~2 h ("Notifications
# Overview"), and a REPEAT can belong to an episode that began long before.
FIRING_LOOKBACK_SECONDS = 86400
MAX_HISTORY_PAGES = 5
# DataScienceClient.list_work_requests (oci 2.189.0): operation type of an UpdateModelDeployment's work request
# (WorkRequestSummary.OPERATION_TYPE_MODEL_DEPLOYMENT_UPDATE), and the page read: "1 is the minimum, 100 is the
# maximum". One page, newest first: the update of our last change is at its top unless others followed it.
UPDATE_OPERATION = "MODEL_DEPLOYMENT_UPDATE"
WORK_REQUESTS_READ = 20


class Conflict(Exception):
    """The resource changed under us (412 stale etag, 409 busy): nothing was applied."""


class OciRefused(Exception):
    """OCI refused the request as invalid (400: e.g. a limit or a field combination): nothing was applied,
    and sending the same request again cannot succeed."""


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
    etag: str | None = None  # for an if-match on the next update or delete of this alarm
    freeform_tags: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Deployment:
    state: DeploymentState
    etag: str
    tags: dict[str, str]
    raw: ds.ModelDeployment  # kept so an update preserves every field we do not change


@dataclass(frozen=True)
class ListedAlarm:
    """An alarm as ListAlarms summarises it (no message format: get_alarm has the full alarm)."""

    id: str
    display_name: str
    notification_title: str | None
    compartment_id: str
    metric_compartment_id: str
    query: str
    tags: dict[str, str]
    destinations: tuple[str, ...] = ()
    severity: str = "CRITICAL"


@dataclass(frozen=True)
class UpdateTiming:
    """The latest finished update of a deployment, as its work request tells it (WorkRequestSummary)."""

    work_request_id: str
    seconds: float  # time_finished - time_accepted: from OCI accepting the update to the new configuration serving


@dataclass(frozen=True)
class OciGateway:
    data_science: oci.data_science.DataScienceClient
    monitoring: oci.monitoring.MonitoringClient
    # governor.Governor instances (or None): every alarm operation, or SummarizeMetricsData call, then takes a slot
    # of its rate limit first; the periodic tick sets them (gateway.governed), the alarm path does not.
    alarm_governor: object = None
    metrics_governor: object = None

    def governed(self, alarms, metrics=None) -> OciGateway:
        return replace(self, alarm_governor=alarms, metrics_governor=metrics)

    def _alarm_op(self) -> dict:
        return {"retry_strategy": self.alarm_governor} if self.alarm_governor is not None else {}

    @classmethod
    def from_settings(cls, settings: Settings, role: str = "alarm") -> OciGateway:
        """`role` ("alarm" or "tick") goes into the User-Agent of every request (the SDK's additional_user_agent
        config key), so a tenancy's audit log, and the emulator's call log, tell the two paths apart."""
        config, signer = _credentials(settings)
        config = {**config, "additional_user_agent": f"{USER_AGENT}/{role}"}
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
            response = self.monitoring.get_alarm(alarm_id, **self._alarm_op())
        except oci.exceptions.ServiceError as error:
            if error.status == 404:
                return None
            raise
        return _alarm(response)

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
        """Resize and write the state tags in one update, guarded by the etag. Returns the work request id.

        While a deployment is ACTIVE, OCI takes one infrastructure option group per update (compute shape,
        instance count, model, logging, load balancer), tags alongside ("Editing a Model Deployment";
        "Updating an Existing Model Deployment with Autoscaling"). So the body carries only the group the
        decision changes, copied from the current configuration (a burstable shape keeps its cpu_baseline),
        plus model_id, which UpdateModelConfigurationDetails requires, unchanged."""
        current = deployment.raw.model_deployment_configuration_details.model_configuration_details
        update = ds.UpdateModelConfigurationDetails(model_id=current.model_id)
        before = deployment.state.capacity
        if target.shape != before.shape:
            update.instance_configuration = _resized(current.instance_configuration, target)
        if target.instance_count != before.instance_count:
            update.scaling_policy = ds.FixedSizeScalingPolicy(instance_count=target.instance_count)
        if (update.instance_configuration is None) == (update.scaling_policy is None):
            raise ValueError(f"an update must change exactly one of shape and count: {before} -> {target}")
        details = ds.UpdateModelDeploymentDetails(
            freeform_tags=tags,
            model_deployment_configuration_details=ds.UpdateSingleModelDeploymentConfigurationDetails(
                model_configuration_details=update
            ),
        )
        return self._update(deployment, details)

    def update_tags(self, deployment: Deployment, tags: dict[str, str]) -> str:
        """Replace the deployment's freeform tags and nothing else, guarded by the etag. Returns the work request id.

        Tags are not an infrastructure option group: they may change while ACTIVE ("Editing a Model Deployment").
        The tick writes the update time it measured this way (update_time.py), and only when it changed."""
        return self._update(deployment, ds.UpdateModelDeploymentDetails(freeform_tags=tags))

    def _update(self, deployment: Deployment, details: ds.UpdateModelDeploymentDetails) -> str:
        try:
            response = self.data_science.update_model_deployment(deployment.state.id, details, if_match=deployment.etag)
        except oci.exceptions.ServiceError as error:
            if error.status in (409, 412):
                raise Conflict(f"{error.status} {error.code}: {error.message}") from None
            if error.status == 400:
                raise OciRefused(f"{error.status} {error.code}: {error.message}") from None
            raise
        return response.headers.get("opc-work-request-id", "")

    def latest_update(self, compartment_id: str, deployment_id: str) -> UpdateTiming | None:
        """How long the deployment's latest update took, from its work requests (one ListWorkRequests call), or
        None when its latest update did not succeed or it has none on the page.

        DataScienceClient.list_work_requests (oci 2.189.0): compartment_id required; resource_id filters "by the
        OCID of the resource associated with the work request"; sort_by timeAccepted ("when you sort by time fields,
        the results are shown in descending order"). Only that filter is sent: ListModelDeployments refuses two
        filters at once (its docstring), and whether ListWorkRequests does is not written, so the operation type
        and status are checked here. WorkRequestSummary (work_request_summary.py): operation_type
        MODEL_DEPLOYMENT_UPDATE, status SUCCEEDED / FAILED / CANCELED / ..., time_accepted (required),
        time_started, time_finished, resources [WorkRequestResource(identifier, ...)]. The latest update counts
        only if it SUCCEEDED: a failed one took its own time, and the one before it was not our last change."""
        response = self.data_science.list_work_requests(
            compartment_id,
            resource_id=deployment_id,
            sort_by="timeAccepted",
            sort_order="DESC",
            limit=WORK_REQUESTS_READ,
        )
        updates = [
            item
            for item in response.data or ()
            if item.operation_type == UPDATE_OPERATION
            and (not item.resources or any(r.identifier == deployment_id for r in item.resources))
            and (item.time_accepted or item.time_started) is not None
        ]
        if not updates:
            return None
        newest = max(updates, key=lambda item: (item.time_accepted or item.time_started).timestamp())
        if newest.status != "SUCCEEDED" or newest.time_finished is None:
            return None
        begun = newest.time_accepted or newest.time_started
        took = (newest.time_finished - begun).total_seconds()
        return UpdateTiming(newest.id, bounded(took))

    def alarm_fired(self, alarm_id: str, deployment_id: str, at: float, streams: str, history: bool) -> str | None:
        """How OCI shows the alarm firing for this deployment around epoch second `at`, or None if it does not.

        First the current state of the alarm's metric streams (RetrieveDimensionStates: status and transition
        time per stream); a stream of this deployment FIRING since before the message explains it, an
        OK_TO_FIRING or a REPEAT alike. `streams` says what a stream of this deployment looks like:
        "deployment" (groupBy(resourceId): exactly {resourceId}, which the dimension filter matches; its docstring:
        "the exact set of specified dimension key-value pairs"), "instance" (resourceId among other dimensions:
        filtered here), "all" (grouping(): one stream without dimensions). If no stream is firing now, a late
        redelivery may still be genuine: with `history`, the last state transition at or before the message
        (GetAlarmHistory, STATE_TRANSITION_HISTORY) must be one into FIRING. History entries carry no dimensions,
        so this is only asked for alarms whose query names the deployment. ("Listing Metric Stream Status in an
        Alarm" shows stream states for split-notification alarms only; for a grouped alarm that lists nothing,
        the history answers.)"""
        filters = {"resourceId": deployment_id} if streams == "deployment" else None
        details = mon.RetrieveDimensionStatesDetails(dimension_filters=filters, status="FIRING")
        page = None
        for _ in range(MAX_HISTORY_PAGES):
            response = self.monitoring.retrieve_dimension_states(
                alarm_id, retrieve_dimension_states_details=details, page=page, **self._alarm_op()
            )
            for item in response.data.items or ():
                ours = streams == "all" or (item.dimensions or {}).get("resourceId") == deployment_id
                if ours and item.status == "FIRING" and item.timestamp.timestamp() <= at + FIRING_SKEW_SECONDS:
                    return f"firing since {item.timestamp.isoformat()}"
            page = response.next_page
            if not page:
                break
        if not history:
            return None
        entries, page = [], None
        for _ in range(MAX_HISTORY_PAGES):
            response = self.monitoring.get_alarm_history(
                alarm_id,
                alarm_historytype="STATE_TRANSITION_HISTORY",
                timestamp_greater_than_or_equal_to=_utc(at - FIRING_LOOKBACK_SECONDS),
                timestamp_less_than=_utc(at + FIRING_SKEW_SECONDS),
                page=page,
                **self._alarm_op(),
            )
            entries += response.data.entries or []
            page = response.next_page
            if not page:
                break
        if not entries:
            return None
        last = max(entries, key=lambda e: e.timestamp_triggered or e.timestamp)
        # AlarmHistoryEntry.summary docstring: "State transitioned from OK to Firing".
        if last.summary and last.summary.lower().rstrip(". ").endswith("to firing"):
            return f"fired at {(last.timestamp_triggered or last.timestamp).isoformat()} (alarm history)"
        return None

    def owned_alarms(self, compartment_id: str, display_name: str) -> list[tuple[str, str]]:
        """(id, query) of the live alarms with this display name that the autoscaler created, in list order."""
        # Not oci.pagination.list_call_get_all_results: it wraps every page in the SDK's default retry
        # strategy (8 attempts, up to 600 s) on top of ours, far past the function's deadline.
        alarms, page = [], None
        while True:
            response = self.monitoring.list_alarms(
                compartment_id, display_name=display_name, lifecycle_state="ACTIVE", page=page, **self._alarm_op()
            )
            alarms += response.data
            page = response.next_page
            if not page:
                break
        return [(a.id, a.query) for a in alarms if (a.freeform_tags or {}).get(OWNER_TAG) == OWNER_VALUE]

    def update_alarm_query(self, alarm_id: str, query: str, body: str, etag: str | None = None) -> Alarm:
        """Set an alarm's query and body; with an etag, only if the alarm is still as read (else Conflict)."""
        details = mon.UpdateAlarmDetails(query=query, body=body)
        try:
            return _alarm(self.monitoring.update_alarm(alarm_id, details, if_match=etag, **self._alarm_op()))
        except oci.exceptions.ServiceError as error:
            if error.status == 412:
                raise Conflict(f"{error.status} {error.code}: {error.message}") from None
            raise

    def create_alarm(self, details: dict, retry_token: str) -> Alarm:
        """Create an alarm; OCI answers a repeated create with the same retry token with the first one's alarm
        (in the state it is in now: the emulator answers DELETED for a token whose alarm was deleted since)."""
        response = self.monitoring.create_alarm(
            mon.CreateAlarmDetails(**details), opc_retry_token=retry_token, **self._alarm_op()
        )
        return _alarm(response)

    def delete_alarm(self, alarm_id: str, etag: str | None = None) -> bool:
        """Delete an alarm; with an etag, only if it is still as read (else Conflict). Gone already is fine.

        True when OCI answered this call's request with a delete; False when the alarm was gone already (deleted
        by a concurrent call, or by an earlier attempt of this one whose answer was lost: OCI cannot tell which)."""
        try:
            self.monitoring.delete_alarm(alarm_id, if_match=etag, **self._alarm_op())
            return True
        except oci.exceptions.ServiceError as error:
            # Already gone is what we wanted; a 409 or 412 may come from a retried delete whose first try landed.
            if error.status == 404:
                return False
            if error.status not in (409, 412):
                raise
            current = self.get_alarm(alarm_id)
            if current is not None and current.lifecycle_state not in GONE:
                if error.status == 412:
                    raise Conflict(f"{error.status} {error.code}: {error.message}") from None
                raise
            return False

    # -- the periodic reconcile (reconcile.py): a compartment at a time, never a call per deployment to find them --

    def list_deployments(self, compartment_id: str) -> list[Deployment]:
        """Every model deployment of a compartment (ListModelDeployments, all pages). The summaries carry the
        configuration and tags but no etag: re-read a deployment (get_deployment) before updating it."""
        found, page = [], None
        while True:
            response = self.data_science.list_model_deployments(compartment_id, page=page, limit=100)
            for raw in response.data:
                tags = dict(raw.freeform_tags or {})
                found.append(Deployment(_state(raw, tags), "", tags, raw))
            page = response.next_page
            if not page:
                return found

    def list_alarm_summaries(self, compartment_id: str) -> list[ListedAlarm]:
        """Every ACTIVE alarm of a compartment (ListAlarms, all pages), with its tags: one listing per tick
        instead of one per deployment and alarm name."""
        found, page = [], None
        while True:
            response = self.monitoring.list_alarms(
                compartment_id, lifecycle_state="ACTIVE", page=page, limit=1000, **self._alarm_op()
            )
            found += [
                ListedAlarm(
                    a.id,
                    a.display_name,
                    a.notification_title,
                    a.compartment_id,
                    a.metric_compartment_id,
                    a.query,
                    dict(a.freeform_tags or {}),
                    tuple(a.destinations or ()),
                    a.severity or "CRITICAL",
                )
                for a in response.data
            ]
            page = response.next_page
            if not page:
                return found

    def metric_series(self, compartment_id: str, query: str, start: float, end: float, resolution: str):
        """SummarizeMetricsData: {resourceId: {timestamp, epoch seconds: value}} for every stream of the query.

        One call answers every deployment of the compartment when the query groups by resourceId. Limits
        (MetricData, SummarizeMetricsDataDetails docstrings, SDK 2.189.0): at most 100,000 datapoints and 2,000
        streams per answer; a range of at most 7 days at 1m, 30 at 5m, 90 at 1h; the caller splits the range."""
        series: dict[str, dict[float, float]] = {}
        for dimensions, points in self.metric_streams(compartment_id, query, start, end, resolution):
            if dimensions.get("resourceId"):
                series.setdefault(dimensions["resourceId"], {}).update(points)
        return series

    def metric_streams(self, compartment_id: str, query: str, start: float, end: float, resolution: str):
        """SummarizeMetricsData: [(dimensions, {timestamp, epoch seconds: value})], one item per stream of the
        answer (a query without a grouping function answers one stream per instance: resourceId and instanceId).
        The timestamp is "the date and time associated with the value" (AggregatedDatapoint docstring): which end
        of its aggregation window it marks is not documented (history.py)."""
        details = mon.SummarizeMetricsDataDetails(
            namespace=NAMESPACE, query=query, start_time=_utc(start), end_time=_utc(end), resolution=resolution
        )
        governed = {"retry_strategy": self.metrics_governor} if self.metrics_governor is not None else {}
        return [
            (
                dict(stream.dimensions or {}),
                {point.timestamp.timestamp(): point.value for point in stream.aggregated_datapoints or ()},
            )
            for stream in self.monitoring.summarize_metrics_data(compartment_id, details, **governed).data
        ]


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


def _alarm(response) -> Alarm:
    alarm = response.data
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
        etag=response.headers.get("etag"),
        freeform_tags=tuple(sorted((alarm.freeform_tags or {}).items())),
    )


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
        last_target=tags.get(STATE_TARGET_TAG) or None,
        up_update_seconds=_seconds_tag(tags, STATE_UPDATE_UP_TAG),
        down_update_seconds=_seconds_tag(tags, STATE_UPDATE_DOWN_TAG),
        update_measured_for=_float_tag(tags, STATE_UPDATE_FOR_TAG),
    )


def _float_tag(tags: dict[str, str], key: str) -> float | None:
    """A number from our state tags; a missing, garbled or non-finite one (hand-edited tags) reads as unset."""
    try:
        value = float(tags[key])
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _seconds_tag(tags: dict[str, str], key: str) -> float | None:
    """A measured update time from our state tags; a negative one (hand-edited) reads as unset, a huge one as the
    longest the function uses."""
    value = _float_tag(tags, key)
    return None if value is None or value < 0 else bounded(value)


def _resized(instance: ds.InstanceConfiguration, target: Capacity) -> ds.InstanceConfiguration:
    """The current instance configuration on the target shape; every other field (subnet, cpu_baseline, ...) kept."""
    resized = _copy(instance, ds.InstanceConfiguration)
    resized.instance_shape_name = target.shape.name
    if target.shape.ocpus is None:
        resized.model_deployment_instance_shape_config_details = None
    else:
        shape_config = _copy(
            instance.model_deployment_instance_shape_config_details, ds.ModelDeploymentInstanceShapeConfigDetails
        )
        shape_config.ocpus, shape_config.memory_in_gbs = target.shape.ocpus, target.shape.memory_gbs
        resized.model_deployment_instance_shape_config_details = shape_config
    return resized


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


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
