"""In-process clients compatible with the oci SDK clients, over the emulator's Store (moto-style stateful fakes).

They keep their state in the emulator's Store (the same engine the HTTP emulator serves), so
etags, lifecycle and error codes behave as in OCI. They speak SDK objects: requests are
serialized and responses deserialized by the real SDK, so a wrong field name fails here too.
Every call is recorded in `store.calls`; `fail_next` makes the next calls to an operation fail.
"""

from __future__ import annotations

import json
from collections import defaultdict

import oci

from emulator.store import OciError, Store

_STATUS_CODES = {429: "TooManyRequests", 500: "InternalServerError", 503: "ServiceUnavailable"}


class _FakeClient:
    sdk_client = None  # the real client class, used only to (de)serialize

    def __init__(self, store: Store, config=None, **kwargs):
        self.store = store
        self.kwargs = kwargs  # signer, service_endpoint, retry_strategy, timeout as the gateway passed them
        self._codec = self.sdk_client({"region": "us-ashburn-1"}, signer=_NoSigner()).base_client
        self._faults: dict[str, list[int]] = defaultdict(list)

    def fail_next(self, operation: str, status: int = 503, count: int = 1) -> None:
        self._faults[operation].extend([status] * count)

    def _call(self, operation: str, action, response_type: str | None, status: int = 200):
        if self._faults[operation]:
            code = self._faults[operation].pop(0)
            raise oci.exceptions.ServiceError(code, _STATUS_CODES.get(code, "Error"), {}, f"injected {code}")
        try:
            body, headers = action()
        except OciError as error:
            raise oci.exceptions.ServiceError(error.status, error.code, {}, error.message) from None
        data = None
        if response_type:
            data = self._codec.deserialize_response_data(json.dumps(body).encode(), response_type)
        response = oci.response.Response(status, headers, data, None)
        response.next_page = headers.get("opc-next-page")
        return response

    def _wire(self, model) -> dict:
        return self._codec.sanitize_for_serialization(model)


class _NoSigner(oci.auth.signers.SecurityTokenSigner):
    def __init__(self):  # the codec client never sends a request
        pass


class FakeDataScienceClient(_FakeClient):
    sdk_client = oci.data_science.DataScienceClient

    def get_model_deployment(self, model_deployment_id, **kwargs):
        def action():
            body, etag = self.store.get_model_deployment(model_deployment_id)
            return body, {"etag": etag}

        return self._call("GetModelDeployment", action, "ModelDeployment")

    def update_model_deployment(self, model_deployment_id, update_model_deployment_details, if_match=None, **kwargs):
        details = self._wire(update_model_deployment_details)

        def action():
            work_request = self.store.update_model_deployment(model_deployment_id, details, if_match)
            return None, {"opc-work-request-id": work_request}

        return self._call("UpdateModelDeployment", action, None, status=202)

    def get_work_request(self, work_request_id, **kwargs):
        return self._call("GetWorkRequest", lambda: (self.store.get_work_request(work_request_id), {}), "WorkRequest")

    def list_work_requests(self, compartment_id, page=None, limit=None, **kwargs):
        names = ("id", "resource_id", "operation_type", "status", "sort_by", "sort_order")
        _check_kwargs("list_work_requests", kwargs, set(names))
        filters = {name: kwargs[name] for name in names if name in kwargs}

        def action():
            items = self.store.list_work_requests(compartment_id, **filters)
            return (items[:limit] if limit else items), {}  # one page: the gateway reads no further

        return self._call("ListWorkRequests", action, "list[WorkRequestSummary]")

    def list_work_request_errors(self, work_request_id, **kwargs):
        def action():
            return self.store.list_work_request_errors(work_request_id), {}

        return self._call("ListWorkRequestErrors", action, "list[WorkRequestError]")

    def list_model_deployments(self, compartment_id, page=None, limit=None, **kwargs):
        filters = {k: kwargs[k] for k in ("lifecycle_state", "display_name", "sort_by", "sort_order") if k in kwargs}

        def action():
            return self.store.list_model_deployments(compartment_id, **filters), {}

        return self._call("ListModelDeployments", action, "list[ModelDeploymentSummary]")

    def list_model_deployment_shapes(self, compartment_id, **kwargs):
        def action():
            return self.store.list_model_deployment_shapes(compartment_id), {}

        return self._call("ListModelDeploymentShapes", action, "list[ModelDeploymentShapeSummary]")


class FakeMonitoringClient(_FakeClient):
    sdk_client = oci.monitoring.MonitoringClient

    def get_alarm(self, alarm_id, **kwargs):
        def action():
            body, etag = self.store.get_alarm(alarm_id)
            return body, {"etag": etag}

        return self._call("GetAlarm", action, "Alarm")

    def list_alarms(self, compartment_id, display_name=None, lifecycle_state=None, page=None, limit=None, **kwargs):
        sorting = {k: kwargs[k] for k in ("sort_by", "sort_order", "compartment_id_in_subtree") if k in kwargs}

        def action():
            return self.store.list_alarms(compartment_id, display_name, lifecycle_state, **sorting), {}

        return self._call("ListAlarms", action, "list[AlarmSummary]")

    def create_alarm(self, create_alarm_details, opc_retry_token=None, **kwargs):
        details = self._wire(create_alarm_details)

        def action():
            body, etag = self.store.create_alarm(details, opc_retry_token)
            return body, {"etag": etag}

        return self._call("CreateAlarm", action, "Alarm")

    def update_alarm(self, alarm_id, update_alarm_details, if_match=None, **kwargs):
        details = self._wire(update_alarm_details)

        def action():
            body, etag = self.store.update_alarm(alarm_id, details, if_match)
            return body, {"etag": etag}

        return self._call("UpdateAlarm", action, "Alarm")

    def delete_alarm(self, alarm_id, if_match=None, **kwargs):
        def action():
            self.store.delete_alarm(alarm_id, if_match)
            return None, {}

        return self._call("DeleteAlarm", action, None, status=204)

    # -- metrics, alarm state and history (emulator/monitoring.py); unknown kwargs are refused as the SDK does --

    def post_metric_data(self, post_metric_data_details, **kwargs):
        _check_kwargs("post_metric_data", kwargs, {"content_encoding"})
        details = self._wire(post_metric_data_details)
        return self._call(
            "PostMetricData", lambda: (self.store.post_metric_data(details), {}), "PostMetricDataResponseDetails"
        )

    def summarize_metrics_data(self, compartment_id, summarize_metrics_data_details, **kwargs):
        _check_kwargs("summarize_metrics_data", kwargs, {"compartment_id_in_subtree"})
        details = self._wire(summarize_metrics_data_details)
        subtree = bool(kwargs.get("compartment_id_in_subtree"))

        def action():
            return self.store.summarize_metrics_data(compartment_id, details, subtree), {}

        return self._call("SummarizeMetricsData", action, "list[MetricData]")

    def get_alarm_history(self, alarm_id, **kwargs):
        names = ("alarm_historytype", "timestamp_greater_than_or_equal_to", "timestamp_less_than", "page", "limit")
        _check_kwargs("get_alarm_history", kwargs, set(names))

        def action():
            body, token = self.store.get_alarm_history(alarm_id, *(kwargs.get(name) for name in names))
            return body, _next_page(token)

        return self._call("GetAlarmHistory", action, "AlarmHistoryCollection")

    def retrieve_dimension_states(self, alarm_id, **kwargs):
        _check_kwargs("retrieve_dimension_states", kwargs, {"page", "limit", "retrieve_dimension_states_details"})
        details = kwargs.get("retrieve_dimension_states_details")
        details = None if details is None else self._wire(details)

        def action():
            page, limit = kwargs.get("page"), kwargs.get("limit")
            body, token = self.store.retrieve_dimension_states(alarm_id, details, page, limit)
            return body, _next_page(token)

        return self._call("RetrieveDimensionStates", action, "AlarmDimensionStatesCollection")

    def list_alarms_status(self, compartment_id, **kwargs):
        names = (
            "compartment_id_in_subtree display_name sort_by sort_order resource_id service_name entity_id status "
            "page limit".split()
        )
        _check_kwargs("list_alarms_status", kwargs, set(names))
        filters = {name: kwargs[name] for name in names if name in kwargs}

        def action():
            items, token = self.store.list_alarms_status(compartment_id, **filters)
            return items, _next_page(token)

        return self._call("ListAlarmsStatus", action, "list[AlarmStatusSummary]")


_COMMON_KWARGS = {"allow_control_chars", "enable_strict_url_encoding", "retry_strategy", "opc_request_id"}


def _check_kwargs(operation: str, kwargs: dict, allowed: set[str]) -> None:
    extra = [key for key in kwargs if key not in allowed | _COMMON_KWARGS]
    if extra:
        raise ValueError(f"{operation} got unknown kwargs: {extra!r}")


def _next_page(token: str | None) -> dict:
    return {"opc-next-page": token} if token else {}
