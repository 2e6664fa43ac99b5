"""In-memory state of the emulated OCI Data Science and Monitoring services (no HTTP).

Bodies are OCI camelCase JSON dicts, exactly as the REST API sends them. Every public method takes one
lock, settles deployments whose update has finished, and records the SDK operation it stands for in
``calls``. Error codes follow OCI's published API errors (and the SDK's retry checker): a stale
if-match is 412 NoEtagMatch, a write to a busy resource is 409 IncorrectState.
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

# JSON field names, from the SDK models' attribute_map (UpdateModelDeploymentDetails, CreateAlarmDetails, ...)
MD_UPDATE_FIELDS = set(
    "displayName description modelDeploymentConfigurationDetails categoryLogDetails freeformTags definedTags".split()
)
MD_CONFIG_FIELDS = {"deploymentType", "modelConfigurationDetails", "environmentConfigurationDetails"}
MODEL_CONFIG_FIELDS = set(
    "modelId modelArtifactSignatureId instanceConfiguration scalingPolicy bandwidthMbps maximumBandwidthMbps".split()
)
INSTANCE_CONFIG_FIELDS = set(
    "instanceShapeName modelDeploymentInstanceShapeConfigDetails subnetId privateEndpointId networkAccessType "
    "capacityReservationIds".split()
)
SHAPE_CONFIG_FIELDS = {"ocpus", "memoryInGBs", "cpuBaseline"}
ALARM_REQUIRED = "displayName compartmentId metricCompartmentId namespace query severity destinations isEnabled".split()
ALARM_FIELDS = set(ALARM_REQUIRED) | set(
    "metricCompartmentIdInSubtree resourceGroup resolution pendingDuration body "
    "isNotificationsPerMetricDimensionEnabled messageFormat repeatNotificationDuration suppression freeformTags "
    "definedTags overrides ruleName "
    "notificationVersion notificationTitle evaluationSlackDuration alarmSummary".split()
)
ALARM_SUMMARY_FIELDS = (
    "id displayName compartmentId metricCompartmentId namespace query severity destinations suppression isEnabled "
    "isNotificationsPerMetricDimensionEnabled freeformTags definedTags lifecycleState overrides ruleName "
    "notificationVersion notificationTitle evaluationSlackDuration alarmSummary resourceGroup".split()
)
SEVERITIES = ("CRITICAL", "ERROR", "WARNING", "INFO")


class OciError(Exception):
    """An OCI service error: HTTP status, OCI error code and message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


def rfc3339(epoch: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if epoch is None else epoch, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _bad(message: str) -> OciError:
    return OciError(400, "InvalidParameter", message)


def _check_keys(obj, allowed: set[str], where: str) -> None:
    if not isinstance(obj, dict):
        raise _bad(f"{where} must be a JSON object")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise _bad(f"Unknown field(s) {', '.join(unknown)} in {where}")


def _positive_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _merge_deployment_config(current: dict, update: dict) -> dict:
    """Merge an UpdateModelDeploymentConfigurationDetails into the current configuration and validate the result."""
    where = "modelDeploymentConfigurationDetails"
    _check_keys(update, MD_CONFIG_FIELDS, where)
    if update.get("deploymentType") != "SINGLE_MODEL":
        raise _bad(f"Unsupported {where}.deploymentType {update.get('deploymentType')!r}: expected SINGLE_MODEL")
    merged = copy.deepcopy(current)
    merged["deploymentType"] = "SINGLE_MODEL"
    if "environmentConfigurationDetails" in update:
        merged["environmentConfigurationDetails"] = copy.deepcopy(update["environmentConfigurationDetails"])
    mc_update = update.get("modelConfigurationDetails")
    if mc_update is None:
        return merged
    where += ".modelConfigurationDetails"
    _check_keys(mc_update, MODEL_CONFIG_FIELDS, where)
    if not mc_update.get("modelId"):
        raise _bad(f"{where}.modelId is required")
    mc = merged.setdefault("modelConfigurationDetails", {})
    for key, value in mc_update.items():
        if key != "instanceConfiguration":
            mc[key] = copy.deepcopy(value)  # scalingPolicy is polymorphic: replaced whole
            continue
        _check_keys(value, INSTANCE_CONFIG_FIELDS, f"{where}.instanceConfiguration")
        ic = mc.setdefault("instanceConfiguration", {})
        # The shape config belongs to the shape: a new shape does not inherit the old one's OCPUs/memory.
        if "instanceShapeName" in value and value["instanceShapeName"] != ic.get("instanceShapeName"):
            ic.pop("modelDeploymentInstanceShapeConfigDetails", None)
        ic.update(copy.deepcopy(value))
    _validate_model_config(mc, where)
    return merged


def _validate_model_config(mc: dict, where: str) -> None:
    ic = mc.get("instanceConfiguration") or {}
    shape = ic.get("instanceShapeName")
    if not isinstance(shape, str) or not shape:
        raise _bad(f"{where}.instanceConfiguration.instanceShapeName is required")
    shape_config = ic.get("modelDeploymentInstanceShapeConfigDetails")
    sc_where = f"{where}.instanceConfiguration.modelDeploymentInstanceShapeConfigDetails"
    if shape.endswith(".Flex"):
        if shape_config is None:
            raise _bad(f"Flex shape {shape} requires {sc_where} with ocpus and memoryInGBs")
        _check_keys(shape_config, SHAPE_CONFIG_FIELDS, sc_where)
        for field in ("ocpus", "memoryInGBs"):
            if field not in shape_config:
                raise _bad(f"Flex shape {shape} requires {sc_where}.{field}")
            if not _positive_number(shape_config[field]):
                raise _bad(f"{sc_where}.{field} must be a positive number, got {shape_config[field]!r}")
    elif shape_config:
        raise _bad(f"{sc_where} is only allowed for Flex shapes, not {shape}")
    policy = mc.get("scalingPolicy") or {}
    policy_type = policy.get("policyType")
    if policy_type == "FIXED_SIZE":
        count = policy.get("instanceCount")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise _bad(f"{where}.scalingPolicy.instanceCount must be an integer >= 1, got {count!r}")
    elif policy_type != "AUTOSCALING":
        raise _bad(f"{where}.scalingPolicy.policyType must be FIXED_SIZE or AUTOSCALING, got {policy_type!r}")
    if "bandwidthMbps" in mc and not (isinstance(mc["bandwidthMbps"], int) and mc["bandwidthMbps"] > 0):
        raise _bad(f"{where}.bandwidthMbps must be a positive integer, got {mc['bandwidthMbps']!r}")


def _validate_alarm(alarm: dict) -> None:
    for field in ALARM_REQUIRED:
        if alarm.get(field) in (None, "", []):
            raise _bad(f"Alarm field {field} is required")
    for field in ("displayName", "compartmentId", "metricCompartmentId", "namespace", "query"):
        if not isinstance(alarm[field], str):
            raise _bad(f"Alarm field {field} must be a string")
    if alarm["severity"] not in SEVERITIES:
        raise _bad(f"Alarm severity must be one of {', '.join(SEVERITIES)}, got {alarm['severity']!r}")
    if not isinstance(alarm["destinations"], list) or not all(isinstance(d, str) for d in alarm["destinations"]):
        raise _bad("Alarm destinations must be a non-empty list of topic OCIDs")
    if not isinstance(alarm["isEnabled"], bool):
        raise _bad("Alarm isEnabled must be a boolean")
    if alarm.get("messageFormat", "RAW") not in ("RAW", "PRETTY_JSON", "ONS_OPTIMIZED"):
        raise _bad(f"Alarm messageFormat {alarm['messageFormat']!r} is not RAW, PRETTY_JSON or ONS_OPTIMIZED")


def _not_found(kind: str, resource_id: str) -> OciError:
    return OciError(404, "NotAuthorizedOrNotFound", f"{kind} {resource_id} not found or not authorized")


class Store:
    def __init__(self, update_delay_seconds: float = 0.0, clock: Callable[[], float] = time.monotonic):
        self.update_delay_seconds = update_delay_seconds
        self.clock = clock
        self._lock = threading.RLock()
        self.calls: list[tuple[str, str]] = []
        self.load({})

    @classmethod
    def from_seed(cls, seed: dict, **kwargs) -> Store:
        store = cls(**kwargs)
        store.load(seed)
        return store

    def load(self, seed: dict) -> None:
        """Replace the whole state (and the call log) by a seed; an optional "etag" per resource is kept."""
        with self._lock:
            self.calls.clear()  # cleared in place: fakes may hold a reference to the list
            self._deployments: dict[str, dict] = {}
            self._alarms: dict[str, dict] = {}
            self._etags: dict[str, str] = {}
            self._pending: dict[str, float] = {}  # deployment id -> clock() at which UPDATING ends
            self._work_requests: dict[str, dict] = {}
            self._retry_tokens: dict[str, str] = {}
            for kind, table in (("modelDeployments", self._deployments), ("alarms", self._alarms)):
                for item in copy.deepcopy(seed.get(kind, [])):
                    etag = item.pop("etag", None) or secrets.token_hex(16)
                    table[item["id"]] = item
                    self._etags[item["id"]] = etag
            for md_id, md in self._deployments.items():
                if md.get("lifecycleState") == "UPDATING":
                    self._pending[md_id] = self.clock() + self.update_delay_seconds

    def dump(self) -> dict:
        with self._lock:
            self._settle()
            return {
                "modelDeployments": [
                    {**copy.deepcopy(md), "etag": self._etags[i]} for i, md in self._deployments.items()
                ],
                "alarms": [{**copy.deepcopy(a), "etag": self._etags[i]} for i, a in self._alarms.items()],
            }

    def record(self, operation: str, resource_id: str = "") -> None:
        with self._lock:
            self.calls.append((operation, resource_id))

    # -- internals (call with the lock held) --

    def _settle(self) -> None:
        now = self.clock()
        for md_id, done_at in list(self._pending.items()):
            if now >= done_at:
                md = self._deployments[md_id]
                md["lifecycleState"] = "ACTIVE"
                policy = (
                    md["modelDeploymentConfigurationDetails"].get("modelConfigurationDetails", {}).get("scalingPolicy")
                )
                system_data = md.get("modelDeploymentSystemData")
                if system_data is not None and policy and policy.get("policyType") == "FIXED_SIZE":
                    system_data["currentInstanceCount"] = policy["instanceCount"]
                self._etags[md_id] = secrets.token_hex(16)
                del self._pending[md_id]

    def _begin(self, operation: str, resource_id: str = "") -> None:
        self.calls.append((operation, resource_id))
        self._settle()

    def _check_etag(self, resource_id: str, if_match: str | None) -> None:
        if if_match is not None and if_match != self._etags[resource_id]:
            raise OciError(412, "NoEtagMatch", f"The if-match etag {if_match} does not match {resource_id}'s etag")

    def _deployment(self, deployment_id: str) -> dict:
        if deployment_id not in self._deployments:
            raise _not_found("Model deployment", deployment_id)
        return self._deployments[deployment_id]

    def _alarm(self, alarm_id: str) -> dict:
        if alarm_id not in self._alarms:
            raise _not_found("Alarm", alarm_id)
        return self._alarms[alarm_id]

    # -- Data Science --

    def get_model_deployment(self, deployment_id) -> tuple[dict, str]:
        with self._lock:
            self._begin("GetModelDeployment", deployment_id)
            return copy.deepcopy(self._deployment(deployment_id)), self._etags[deployment_id]

    def list_model_deployments(self, compartment_id, lifecycle_state=None, display_name=None) -> list[dict]:
        with self._lock:
            self._begin("ListModelDeployments")
            return [
                {k: copy.deepcopy(v) for k, v in md.items() if k != "lifecycleDetails"}
                for md in self._deployments.values()
                if md.get("compartmentId") == compartment_id
                and lifecycle_state in (None, md.get("lifecycleState"))
                and display_name in (None, md.get("displayName"))
            ]

    def update_model_deployment(self, deployment_id, details: dict, if_match: str | None) -> str:
        with self._lock:
            self._begin("UpdateModelDeployment", deployment_id)
            md = self._deployment(deployment_id)
            _check_keys(details, MD_UPDATE_FIELDS, "UpdateModelDeploymentDetails")
            config = md["modelDeploymentConfigurationDetails"]
            if "modelDeploymentConfigurationDetails" in details:
                config = _merge_deployment_config(config, details["modelDeploymentConfigurationDetails"])
            for field in ("freeformTags", "definedTags"):
                if not isinstance(details.get(field, {}), dict):
                    raise _bad(f"UpdateModelDeploymentDetails.{field} must be a JSON object")
            self._check_etag(deployment_id, if_match)
            if md["lifecycleState"] != "ACTIVE":
                raise OciError(
                    409, "IncorrectState", f"Model deployment {deployment_id} is {md['lifecycleState']}, not ACTIVE"
                )
            for field in MD_UPDATE_FIELDS - {"modelDeploymentConfigurationDetails"}:
                if field in details:
                    md[field] = copy.deepcopy(details[field])  # tag maps are replaced whole, as OCI does
            md["modelDeploymentConfigurationDetails"] = config
            md["lifecycleState"] = "UPDATING"
            self._etags[deployment_id] = secrets.token_hex(16)
            start = self.clock()
            self._pending[deployment_id] = start + self.update_delay_seconds
            wr_id = f"ocid1.datascienceworkrequest.oc1..{secrets.token_hex(12)}"
            self._work_requests[wr_id] = {
                "deployment": deployment_id,
                "start": start,
                "done_at": start + self.update_delay_seconds,
                "wall": time.time(),
                "compartmentId": md.get("compartmentId"),
            }
            return wr_id

    def get_work_request(self, work_request_id) -> dict:
        with self._lock:
            self._begin("GetWorkRequest", work_request_id)
            wr = self._work_requests.get(work_request_id)
            if wr is None:
                raise _not_found("Work request", work_request_id)
            duration = wr["done_at"] - wr["start"]
            elapsed = self.clock() - wr["start"]
            done = wr["deployment"] not in self._pending or elapsed >= duration
            status = "SUCCEEDED" if done else ("ACCEPTED" if elapsed < duration / 10 else "IN_PROGRESS")
            body = {
                "id": work_request_id,
                "operationType": "MODEL_DEPLOYMENT_UPDATE",
                "status": status,
                "compartmentId": wr["compartmentId"],
                "percentComplete": 100.0 if done else round(100.0 * elapsed / duration, 1),
                "resources": [
                    {
                        "actionType": "UPDATED" if done else "IN_PROGRESS",
                        "entityType": "modelDeployment",
                        "identifier": wr["deployment"],
                        "entityUri": f"/modelDeployments/{wr['deployment']}",
                    }
                ],
                "timeAccepted": rfc3339(wr["wall"]),
            }
            if status != "ACCEPTED":
                body["timeStarted"] = rfc3339(wr["wall"])
            if done:
                body["timeFinished"] = rfc3339(wr["wall"] + duration)
            return body

    # -- Monitoring --

    def create_alarm(self, details: dict, retry_token: str | None = None) -> tuple[dict, str]:
        with self._lock:
            if retry_token in self._retry_tokens:
                alarm_id = self._retry_tokens[retry_token]
                self._begin("CreateAlarm", alarm_id)
                return copy.deepcopy(self._alarms[alarm_id]), self._etags[alarm_id]
            self._begin("CreateAlarm")
            _check_keys(details, ALARM_FIELDS, "CreateAlarmDetails")
            now = rfc3339()
            alarm_id = f"ocid1.alarm.oc1..{secrets.token_hex(16)}"
            alarm = {
                "id": alarm_id,
                "metricCompartmentIdInSubtree": False,
                "isNotificationsPerMetricDimensionEnabled": False,
                "messageFormat": "RAW",
                "freeformTags": {},
                "definedTags": {},
                **copy.deepcopy(details),
                "lifecycleState": "ACTIVE",
                "timeCreated": now,
                "timeUpdated": now,
            }
            _validate_alarm(alarm)
            self.calls[-1] = ("CreateAlarm", alarm_id)
            self._alarms[alarm_id] = alarm
            self._etags[alarm_id] = secrets.token_hex(16)
            if retry_token:
                self._retry_tokens[retry_token] = alarm_id
            return copy.deepcopy(alarm), self._etags[alarm_id]

    def get_alarm(self, alarm_id) -> tuple[dict, str]:
        with self._lock:
            self._begin("GetAlarm", alarm_id)
            return copy.deepcopy(self._alarm(alarm_id)), self._etags[alarm_id]

    def list_alarms(self, compartment_id, display_name=None, lifecycle_state=None) -> list[dict]:
        with self._lock:
            self._begin("ListAlarms")
            return [
                {k: copy.deepcopy(alarm[k]) for k in ALARM_SUMMARY_FIELDS if k in alarm}
                for alarm in self._alarms.values()
                if alarm.get("compartmentId") == compartment_id
                and display_name in (None, alarm.get("displayName"))
                and (
                    alarm.get("lifecycleState") == lifecycle_state
                    if lifecycle_state
                    else alarm["lifecycleState"] != "DELETED"
                )
            ]

    def update_alarm(self, alarm_id, details: dict, if_match: str | None) -> tuple[dict, str]:
        with self._lock:
            self._begin("UpdateAlarm", alarm_id)
            alarm = self._alarm(alarm_id)
            _check_keys(details, ALARM_FIELDS, "UpdateAlarmDetails")
            updated = {**alarm, **copy.deepcopy(details), "timeUpdated": rfc3339()}
            _validate_alarm(updated)
            self._check_etag(alarm_id, if_match)
            if alarm["lifecycleState"] != "ACTIVE":
                raise OciError(409, "IncorrectState", f"Alarm {alarm_id} is {alarm['lifecycleState']}")
            self._alarms[alarm_id] = updated
            self._etags[alarm_id] = secrets.token_hex(16)
            return copy.deepcopy(updated), self._etags[alarm_id]

    def delete_alarm(self, alarm_id, if_match: str | None) -> None:
        with self._lock:
            self._begin("DeleteAlarm", alarm_id)
            alarm = self._alarm(alarm_id)
            self._check_etag(alarm_id, if_match)
            if alarm["lifecycleState"] == "DELETED":
                raise OciError(409, "IncorrectState", f"Alarm {alarm_id} is already DELETED")
            alarm["lifecycleState"] = "DELETED"
            alarm["timeUpdated"] = rfc3339()
            self._etags[alarm_id] = secrets.token_hex(16)
