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


class FakeMonitoringClient(_FakeClient):
    sdk_client = oci.monitoring.MonitoringClient

    def get_alarm(self, alarm_id, **kwargs):
        def action():
            body, etag = self.store.get_alarm(alarm_id)
            return body, {"etag": etag}

        return self._call("GetAlarm", action, "Alarm")

    def list_alarms(self, compartment_id, display_name=None, lifecycle_state=None, page=None, limit=None, **kwargs):
        def action():
            return self.store.list_alarms(compartment_id, display_name, lifecycle_state), {}

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
