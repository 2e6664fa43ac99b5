"""Plain records: the OCI resources the emulator does not model, so that Terraform can create them.

The offline Terraform provider (infra/provider) creates alarms through the emulated Monitoring API
and everything else it manages here: topics, subscriptions, Functions applications and functions,
dynamic groups, policies, log groups and logs, schedules, VCNs and their parts. A record is the
resource's Terraform attributes (snake_case) plus the OCID and creation time this endpoint gives it,
like a real service would. Nothing here checks what the attributes mean.

    POST   /_emulator/records/{type}        create: body = attributes -> 200 record (with "id", "time_created")
    GET    /_emulator/records/{type}        list (data types such as oci_core_services come pre-filled)
    GET    /_emulator/records/{type}/{id}   read, 404 when absent
    PUT    /_emulator/records/{type}/{id}   replace the attributes (id and time_created are kept)
    DELETE /_emulator/records/{type}/{id}   delete, 404 when absent
    GET    /_emulator/records               every record, by type
"""

from __future__ import annotations

import copy
import json
import secrets
import threading

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator.store import rfc3339

# The OCID resource-type part a real service uses for each Terraform type.
OCID_KINDS = {
    "oci_ons_notification_topic": "onstopic",
    "oci_ons_subscription": "onssubscription",
    "oci_functions_application": "fnapp",
    "oci_functions_function": "fnfunc",
    "oci_identity_dynamic_group": "dynamicgroup",
    "oci_identity_policy": "policy",
    "oci_logging_log_group": "loggroup",
    "oci_logging_log": "log",
    "oci_resource_scheduler_schedule": "resourceschedule",
    "oci_core_vcn": "vcn",
    "oci_core_service_gateway": "servicegateway",
    "oci_core_route_table": "routetable",
    "oci_core_security_list": "securitylist",
    "oci_core_subnet": "subnet",
}
# Read-only collections, as ListServices answers in us-ashburn-1.
DATA = {
    "oci_core_services": [
        {
            "id": "ocid1.service.oc1.iad.all-iad-services",
            "name": "All IAD Services In Oracle Services Network",
            "cidr_block": "all-iad-services-in-oracle-services-network",
            "description": "All IAD Services In Oracle Services Network",
        },
        {
            "id": "ocid1.service.oc1.iad.objectstorage",
            "name": "OCI IAD Object Storage",
            "cidr_block": "oci-iad-objectstorage",
            "description": "OCI IAD Object Storage",
        },
    ],
}


class Records:
    def __init__(self):
        self._lock = threading.Lock()
        self._by_type: dict[str, dict[str, dict]] = {}

    def create(self, tf_type: str, attributes: dict) -> dict:
        kind = OCID_KINDS.get(tf_type, tf_type.removeprefix("oci_").replace("_", ""))
        record = {**copy.deepcopy(attributes), "id": f"ocid1.{kind}.oc1.iad.{secrets.token_hex(16)}"}
        record["time_created"] = rfc3339()
        with self._lock:
            self._by_type.setdefault(tf_type, {})[record["id"]] = record
        return copy.deepcopy(record)

    def get(self, tf_type: str, record_id: str) -> dict | None:
        with self._lock:
            record = self._by_type.get(tf_type, {}).get(record_id)
            return copy.deepcopy(record)

    def replace(self, tf_type: str, record_id: str, attributes: dict) -> dict | None:
        with self._lock:
            table = self._by_type.get(tf_type, {})
            if record_id not in table:
                return None
            kept = {key: table[record_id][key] for key in ("id", "time_created")}
            table[record_id] = {**copy.deepcopy(attributes), **kept}
            return copy.deepcopy(table[record_id])

    def delete(self, tf_type: str, record_id: str) -> bool:
        with self._lock:
            return self._by_type.get(tf_type, {}).pop(record_id, None) is not None

    def list(self, tf_type: str) -> list[dict]:
        with self._lock:
            return copy.deepcopy(list(self._by_type.get(tf_type, {}).values()) or DATA.get(tf_type, []))

    def dump(self) -> dict[str, list[dict]]:
        with self._lock:
            return {tf_type: copy.deepcopy(list(table.values())) for tf_type, table in self._by_type.items() if table}


def _json(payload, status: int = 200) -> Response:
    return Response(json.dumps(payload), status_code=status, media_type="application/json")


def _missing(tf_type: str, record_id: str) -> Response:
    return _json({"code": "NotAuthorizedOrNotFound", "message": f"{tf_type} {record_id} not found"}, 404)


def routes(records: Records) -> list[Route]:
    async def collection(request: Request) -> Response:
        tf_type = request.path_params["type"]
        if request.method == "GET":
            return _json(records.list(tf_type))
        try:
            attributes = json.loads(await request.body())
        except ValueError:
            attributes = None
        if not isinstance(attributes, dict):
            return _json({"code": "InvalidParameter", "message": "The body must be a JSON object"}, 400)
        return _json(records.create(tf_type, attributes))

    async def item(request: Request) -> Response:
        tf_type, record_id = request.path_params["type"], request.path_params["id"]
        if request.method == "GET":
            record = records.get(tf_type, record_id)
        elif request.method == "DELETE":
            return Response(status_code=204) if records.delete(tf_type, record_id) else _missing(tf_type, record_id)
        else:
            try:
                attributes = json.loads(await request.body())
            except ValueError:
                attributes = None
            if not isinstance(attributes, dict):
                return _json({"code": "InvalidParameter", "message": "The body must be a JSON object"}, 400)
            record = records.replace(tf_type, record_id, attributes)
        return _json(record) if record is not None else _missing(tf_type, record_id)

    async def everything(request: Request) -> Response:
        return _json(records.dump())

    return [
        Route("/_emulator/records", everything, methods=["GET"]),
        Route("/_emulator/records/{type}", collection, methods=["GET", "POST"]),
        Route("/_emulator/records/{type}/{id}", item, methods=["GET", "PUT", "DELETE"]),
    ]
