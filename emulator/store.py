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

from emulator import monitoring as _monitoring
from emulator import rules

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
    _check_alarm_query(alarm)


def _not_found(kind: str, resource_id: str) -> OciError:
    return OciError(404, "NotAuthorizedOrNotFound", f"{kind} {resource_id} not found or not authorized")


# -- Monitoring helpers (emulator/monitoring.py) --


def _check_alarm_query(alarm: dict) -> None:
    """CreateAlarm/UpdateAlarm: a non-blank namespace and a query that is MQL with a trigger rule."""
    if not alarm["namespace"].strip():
        raise _bad("Alarm field namespace must not be blank")
    try:
        _monitoring.check_alarm_query(alarm["query"])
    except ValueError as error:
        raise _bad(str(error)) from None


def _mon(call, *args, **kwargs):
    """Call into Monitoring, turning its ApiError into the Store's OciError."""
    try:
        return call(*args, **kwargs)
    except _monitoring.ApiError as error:
        raise OciError(error.status, error.code, error.message) from None


class Store:
    def __init__(
        self,
        update_delay_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        strict: bool = True,
        max_instances: int | None = rules.DEFAULT_MAX_INSTANCES,
        shapes: dict[str, dict] | None = None,
        monitoring: _monitoring.Monitoring | None = None,
    ):
        self.update_delay_seconds = update_delay_seconds
        self.clock = clock
        # strict: one infrastructure option group per update while ACTIVE, one ListModelDeployments filter (rules.py).
        # max_instances: the instance-count limit (a guess, see rules.py; None = no limit). shapes: the catalogue of
        # model deployment shapes and Flex ranges (None = rules.DEFAULT_SHAPES).
        self.strict, self.max_instances = strict, max_instances
        self.shapes = copy.deepcopy(rules.DEFAULT_SHAPES if shapes is None else shapes)
        self._lock = threading.RLock()
        self.calls: list[tuple[str, str]] = []
        # Metrics, alarm evaluation, state and history (emulator/monitoring.py), with its own epoch wall clock.
        self.monitoring = monitoring if monitoring is not None else _monitoring.Monitoring()
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
            self._update_failures: list[dict] = []  # armed by fail_next_updates
            self._failing: dict[str, dict] = {}  # deployment id -> how its pending update ends FAILED
            for kind, table in (("modelDeployments", self._deployments), ("alarms", self._alarms)):
                for item in copy.deepcopy(seed.get(kind, [])):
                    etag = item.pop("etag", None) or secrets.token_hex(16)
                    table[item["id"]] = item
                    self._etags[item["id"]] = etag
            for md_id, md in self._deployments.items():
                if md.get("lifecycleState") == "UPDATING":
                    self._pending[md_id] = self.clock() + self.update_delay_seconds
            self._load_monitoring(seed)

    def dump(self) -> dict:
        with self._lock:
            self._settle()
            return {
                "modelDeployments": [
                    {**copy.deepcopy(md), "etag": self._etags[i]} for i, md in self._deployments.items()
                ],
                "alarms": [{**copy.deepcopy(a), "etag": self._etags[i]} for i, a in self._alarms.items()],
                "alarmStates": self.monitoring.dump_states(),
            }

    def record(self, operation: str, resource_id: str = "") -> None:
        with self._lock:
            self.calls.append((operation, resource_id))

    # -- internals (call with the lock held) --

    def _settle(self) -> None:
        now = self.clock()
        for md_id, done_at in list(self._pending.items()):
            if now >= done_at and md_id in self._failing:
                self._finish_failed_update(md_id)
                del self._pending[md_id]
            elif now >= done_at:
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

    def _check_update_rules(self, md: dict, config: dict, details: dict) -> None:
        """Shape catalogue and Flex ranges when the compute group changes; the instance limit when the count does."""
        current = md["modelDeploymentConfigurationDetails"]
        if rules.group_values(md, current, "compute") != rules.group_values(md, config, "compute"):
            ic = (config.get("modelConfigurationDetails") or {}).get("instanceConfiguration") or {}
            rules.check_shape(self.shapes, ic, "modelConfigurationDetails.instanceConfiguration")
        before = (current.get("modelConfigurationDetails") or {}).get("scalingPolicy")
        after = (config.get("modelConfigurationDetails") or {}).get("scalingPolicy")
        rules.check_instance_limit(self.max_instances, before, after)

    def _arm_failure(self, deployment_id: str, wr_id: str, previous: dict) -> None:
        """If a fail_next_updates entry matches, this update's work request ends FAILED when its delay elapses."""
        self._failing.pop(deployment_id, None)
        for failure in self._update_failures:
            if failure["deployment_id"] in (None, deployment_id):
                failure["count"] -= 1
                self._failing[deployment_id] = {**failure, "work_request": wr_id, "previous": previous}
                self._work_requests[wr_id]["failed"] = failure["message"]
                break
        self._update_failures = [f for f in self._update_failures if f["count"] > 0]

    def _finish_failed_update(self, md_id: str) -> None:
        """The failed update's end: the previous configuration back; the state ACTIVE or NEEDS_ATTENTION.

        Docs silent on what a failed update leaves behind: with revert_tags every updated field (tags, name,
        description) goes back too, without it only the infrastructure does and the non-infrastructure fields keep
        the values the update sent."""
        failure = self._failing.pop(md_id)
        md, previous = self._deployments[md_id], failure["previous"]
        restored = (
            MD_UPDATE_FIELDS
            if failure["revert_tags"]
            else {"modelDeploymentConfigurationDetails", "categoryLogDetails"}
        )
        for field in restored:
            if field in previous:
                md[field] = copy.deepcopy(previous[field])
            else:
                md.pop(field, None)
        needs_attention = failure["outcome"] == "needs_attention"
        md["lifecycleState"] = "NEEDS_ATTENTION" if needs_attention else "ACTIVE"
        md["lifecycleDetails"] = f"Update failed: {failure['message']}"
        self._etags[md_id] = secrets.token_hex(16)

    # -- Data Science --

    def get_model_deployment(self, deployment_id) -> tuple[dict, str]:
        with self._lock:
            self._begin("GetModelDeployment", deployment_id)
            return copy.deepcopy(self._deployment(deployment_id)), self._etags[deployment_id]

    def list_model_deployments(
        self,
        compartment_id,
        lifecycle_state=None,
        display_name=None,
        *,
        id=None,
        project_id=None,
        created_by=None,
        sort_by=None,
        sort_order=None,
    ) -> list[dict]:
        with self._lock:
            self._begin("ListModelDeployments")
            filters = {
                "id": id,
                "projectId": project_id,
                "displayName": display_name,
                "lifecycleState": lifecycle_state,
                "createdBy": created_by,
            }
            rules.check_enum(lifecycle_state, rules.MD_LIFECYCLE_STATES, "lifecycleState")
            rules.check_enum(sort_by, tuple(rules.MD_SORT_DEFAULT_ORDER), "sortBy")
            rules.check_enum(sort_order, rules.SORT_ORDERS, "sortOrder")
            given = [name for name, value in filters.items() if value is not None]
            if self.strict and len(given) > 1:
                raise _bad(f"Only one parameter other than compartmentId may be included, got {', '.join(given)}")
            items = [
                {k: copy.deepcopy(v) for k, v in md.items() if k != "lifecycleDetails"}
                for md in self._deployments.values()
                if md.get("compartmentId") == compartment_id
                and all(value in (None, md.get(name)) for name, value in filters.items())
            ]
            if sort_by is None and sort_order is not None:
                sort_by = "timeCreated"
            return rules.sort_items(items, sort_by, sort_order, rules.MD_SORT_DEFAULT_ORDER.get(sort_by, "ASC"))

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
            self._check_update_rules(md, config, details)
            self._check_etag(deployment_id, if_match)
            # DataScienceClient.update_model_deployment docstring: zero-downtime updates in ACTIVE or NEEDS_ATTENTION.
            if md["lifecycleState"] not in rules.ONE_GROUP_STATES:
                raise OciError(
                    409, "IncorrectState", f"Model deployment {deployment_id} is {md['lifecycleState']}, not ACTIVE"
                )
            if self.strict:
                rules.check_one_group(md, md["modelDeploymentConfigurationDetails"], config, details)
            previous = {k: copy.deepcopy(md[k]) for k in MD_UPDATE_FIELDS if k in md}
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
                # Epoch seconds of `start`: Monitoring's wall clock, which is the virtual clock in the benchmark
                # (bench/sim.py gives the Store and its Monitoring one clock), time.time otherwise.
                "wall": self.monitoring.wall_clock(),
                "compartmentId": md.get("compartmentId"),
                "seq": len(self._work_requests),
            }
            self._arm_failure(deployment_id, wr_id, previous)
            return wr_id

    def get_work_request(self, work_request_id) -> dict:
        with self._lock:
            self._begin("GetWorkRequest", work_request_id)
            wr = self._work_requests.get(work_request_id)
            if wr is None:
                raise _not_found("Work request", work_request_id)
            return self._work_request_body(work_request_id, wr)

    def list_work_requests(
        self,
        compartment_id,
        *,
        id=None,
        resource_id=None,
        operation_type=None,
        status=None,
        sort_by=None,
        sort_order=None,
    ) -> list[dict]:
        """WorkRequestSummary items of a compartment (DataScienceClient.list_work_requests, oci 2.189.0): filters
        id, resourceId ("the resource associated with the work request"), operationType and status, any number at
        once (the docstring states no one-filter rule, unlike ListModelDeployments'); sortBy operationType, status or
        timeAccepted, "when you sort by time fields, the results are shown in descending order. All other fields
        default to ascending order". Docs silent on the order without sortBy: the emulator answers newest first.
        The emulator's work requests are its updates (operation type MODEL_DEPLOYMENT_UPDATE), with the same body
        as GetWorkRequest (WorkRequestSummary has WorkRequest's fields), on the Store's clock."""
        with self._lock:
            self._begin("ListWorkRequests", resource_id or "")
            rules.check_enum(status, rules.WR_STATUSES, "status")
            rules.check_enum(sort_by, rules.WR_SORT_FIELDS, "sortBy")
            rules.check_enum(sort_order, rules.SORT_ORDERS, "sortOrder")
            found = [
                (wr, self._work_request_body(wr_id, wr))
                for wr_id, wr in self._work_requests.items()
                if wr["compartmentId"] == compartment_id and id in (None, wr_id)
            ]
            items = [
                (wr, body)
                for wr, body in found
                if resource_id in (None, *(r["identifier"] for r in body["resources"]))
                and operation_type in (None, body["operationType"])
                and status in (None, body["status"])
            ]
            if sort_by in (None, "timeAccepted"):
                descending = (sort_order or "DESC") == "DESC"
                items.sort(key=lambda pair: (pair[0]["wall"], pair[0]["seq"]), reverse=descending)
                return [body for _, body in items]
            return rules.sort_items([body for _, body in items], sort_by, sort_order)

    def _work_request_body(self, work_request_id: str, wr: dict) -> dict:
        """A work request as WorkRequest / WorkRequestSummary (oci/data_science/models/work_request*.py) at clock()."""
        duration = wr["done_at"] - wr["start"]
        elapsed = self.clock() - wr["start"]
        done = wr["deployment"] not in self._pending or elapsed >= duration
        status = "SUCCEEDED" if done else ("ACCEPTED" if elapsed < duration / 10 else "IN_PROGRESS")
        if done and wr.get("failed"):
            status = "FAILED"
        body = {
            "id": work_request_id,
            "operationType": "MODEL_DEPLOYMENT_UPDATE",
            "status": status,
            "compartmentId": wr["compartmentId"],
            "percentComplete": 100.0 if done else round(100.0 * elapsed / duration, 1),
            "resources": [
                {
                    # WorkRequestResource.action_type has no FAILED value: a failed update only relates to it.
                    "actionType": ("RELATED" if wr.get("failed") else "UPDATED") if done else "IN_PROGRESS",
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

    def list_work_request_errors(self, work_request_id) -> list[dict]:
        """WorkRequestError items (code, message, timestamp): one for a work request that ended FAILED."""
        with self._lock:
            self._begin("ListWorkRequestErrors", work_request_id)
            wr = self._work_requests.get(work_request_id)
            if wr is None:
                raise _not_found("Work request", work_request_id)
            done = wr["deployment"] not in self._pending or self.clock() >= wr["done_at"]
            if not (done and wr.get("failed")):
                return []
            return [
                {
                    "code": "InternalError",
                    "message": wr["failed"],
                    "timestamp": rfc3339(wr["wall"] + wr["done_at"] - wr["start"]),
                }
            ]

    def list_model_deployment_shapes(self, compartment_id) -> list[dict]:
        """ModelDeploymentShapeSummary items of the shape catalogue (the same in every compartment)."""
        with self._lock:
            self._begin("ListModelDeploymentShapes")
            return rules.shape_summaries(self.shapes)

    def fail_next_updates(
        self,
        count: int = 1,
        deployment_id: str | None = None,
        outcome: str = "revert",
        revert_tags: bool = True,
        message: str = "The update could not be completed (injected fault)",
    ) -> dict:
        """Make the next `count` accepted updates (of `deployment_id`, or of any deployment) end FAILED.

        When the update delay elapses, GetWorkRequest answers status FAILED and ListWorkRequestErrors an error, and
        the deployment gets its previous configuration back (see _finish_failed_update) and ends ACTIVE
        (outcome "revert") or NEEDS_ATTENTION (outcome "needs_attention"). Refused updates (400, 409, 412) do not
        count. Docs silent on both outcomes and on the tags: these are parameters so a test can play each answer."""
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise _bad("count must be an integer >= 1")
        if outcome not in ("revert", "needs_attention"):
            raise _bad('outcome must be "revert" or "needs_attention"')
        if not isinstance(revert_tags, bool):
            raise _bad("revert_tags must be true or false")
        if deployment_id is not None and not isinstance(deployment_id, str):
            raise _bad("deployment_id must be a model deployment OCID")
        failure = {
            "deployment_id": deployment_id,
            "count": count,
            "outcome": outcome,
            "revert_tags": revert_tags,
            "message": str(message),
        }
        with self._lock:
            self._update_failures.append(failure)
            return dict(failure)

    def update_failures(self) -> list[dict]:
        with self._lock:
            return [dict(f) for f in self._update_failures]

    def clear_update_failures(self) -> None:
        with self._lock:
            self._update_failures.clear()

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
            rules.check_alarm_ranges(alarm, "CreateAlarmDetails")
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

    def list_alarms(
        self,
        compartment_id,
        display_name=None,
        lifecycle_state=None,
        *,
        sort_by=None,
        sort_order=None,
        compartment_id_in_subtree=False,
    ) -> list[dict]:
        with self._lock:
            self._begin("ListAlarms")
            rules.check_enum(lifecycle_state, rules.ALARM_LIFECYCLE_STATES, "lifecycleState")
            rules.check_enum(sort_by, rules.ALARM_SORT_FIELDS, "sortBy")
            rules.check_enum(sort_order, rules.SORT_ORDERS, "sortOrder")
            # MonitoringClient.list_alarms docstring: compartmentIdInSubtree "can only be set to true when
            # compartmentId is the tenancy OCID". The emulator has no compartment tree: the tenancy holds every alarm.
            if compartment_id_in_subtree and not rules.is_tenancy(compartment_id):
                raise _bad("compartmentIdInSubtree can only be true when compartmentId is the tenancy OCID")
            items = [
                {k: copy.deepcopy(alarm[k]) for k in ALARM_SUMMARY_FIELDS if k in alarm}
                for alarm in self._alarms.values()
                if (compartment_id_in_subtree or alarm.get("compartmentId") == compartment_id)
                and display_name in (None, alarm.get("displayName"))
                and alarm.get("lifecycleState") == (lifecycle_state or "ACTIVE")
            ]
            return rules.sort_items(items, sort_by, sort_order)

    def update_alarm(self, alarm_id, details: dict, if_match: str | None) -> tuple[dict, str]:
        with self._lock:
            self._begin("UpdateAlarm", alarm_id)
            alarm = self._alarm(alarm_id)
            _check_keys(details, ALARM_FIELDS, "UpdateAlarmDetails")
            updated = {**alarm, **copy.deepcopy(details), "timeUpdated": rfc3339()}
            _validate_alarm(updated)
            rules.check_alarm_ranges(updated, "UpdateAlarmDetails")
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

    # -- Monitoring: metrics, alarm evaluation, state and history (emulator/monitoring.py) --

    def _load_monitoring(self, seed: dict) -> None:
        """Seed keys "alarmStates" [{"alarmId", "dimensions", "status", "timestamp", "value"?}] and "metrics"
        [MetricDataDetails, as the service emits them]. Raises ValueError on a bad entry."""
        self.monitoring.reset()
        self.monitoring.load_metrics(seed.get("metrics") or [])
        self.monitoring.load_states(self._alarms, seed.get("alarmStates") or [])

    def post_metric_data(self, details: dict) -> dict:
        """PostMetricData as a client calls it: custom metrics only (no oci_/oracle_ namespace), recent datapoints."""
        with self._lock:
            self._begin("PostMetricData")
            return _mon(self.monitoring.post_metric_data, details)

    def post_service_metrics(self, details: dict) -> dict:
        """The same body as PostMetricData, as an OCI service emits it (any namespace, any time; not recorded)."""
        with self._lock:
            return _mon(self.monitoring.post_metric_data, details, service=True)

    def summarize_metrics_data(self, compartment_id, details: dict, compartment_id_in_subtree=False) -> list[dict]:
        with self._lock:
            self._begin("SummarizeMetricsData")
            compartments = None
            if compartment_id_in_subtree:
                if not rules.is_tenancy(compartment_id):
                    raise _bad("compartmentIdInSubtree can only be true when compartmentId is the tenancy OCID")
                compartments = self.monitoring.compartments()
            return _mon(self.monitoring.summarize, compartment_id, details, compartments)

    def get_alarm_history(
        self,
        alarm_id,
        alarm_historytype=None,
        timestamp_greater_than_or_equal_to=None,
        timestamp_less_than=None,
        page=None,
        limit=None,
    ) -> tuple[dict, str | None]:
        """(AlarmHistoryCollection, opc-next-page or None)."""
        with self._lock:
            self._begin("GetAlarmHistory", alarm_id)
            alarm = self._alarm(alarm_id)
            return _mon(
                self.monitoring.history,
                alarm,
                alarm_historytype,
                timestamp_greater_than_or_equal_to,
                timestamp_less_than,
                page,
                limit,
            )

    def retrieve_dimension_states(self, alarm_id, details: dict | None = None, page=None, limit=None):
        """(AlarmDimensionStatesCollection, opc-next-page or None)."""
        with self._lock:
            self._begin("RetrieveDimensionStates", alarm_id)
            alarm = self._alarm(alarm_id)
            return _mon(self.monitoring.dimension_states, alarm, details, page, limit)

    def list_alarms_status(
        self,
        compartment_id,
        *,
        compartment_id_in_subtree=False,
        display_name=None,
        sort_by=None,
        sort_order=None,
        resource_id=None,
        service_name=None,
        entity_id=None,
        status=None,
        page=None,
        limit=None,
    ) -> tuple[list[dict], str | None]:
        """(list of AlarmStatusSummary, opc-next-page or None)."""
        with self._lock:
            self._begin("ListAlarmsStatus")
            if compartment_id_in_subtree and not rules.is_tenancy(compartment_id):
                raise _bad("compartmentIdInSubtree can only be true when compartmentId is the tenancy OCID")
            alarms = [
                a
                for a in self._alarms.values()
                if (compartment_id_in_subtree or a.get("compartmentId") == compartment_id)
                and a.get("lifecycleState") == "ACTIVE"
            ]
            return _mon(
                self.monitoring.alarms_status,
                alarms,
                display_name=display_name,
                sort_by=sort_by,
                sort_order=sort_order,
                resource_id=resource_id,
                service_name=service_name,
                entity_id=entity_id,
                status=status,
                page=page,
                limit=limit,
            )

    def evaluate_alarms(self, now: float | None = None) -> list[dict]:
        """Evaluate every ACTIVE, enabled alarm up to `now` (epoch seconds, default the monitoring wall clock) and
        return the alarm messages OCI would publish (nothing is delivered)."""
        with self._lock:
            return self.monitoring.evaluate(list(self._alarms.values()), now)

    def fire_alarm(self, alarm_id, dimensions: dict, value=None, timestamp_epoch_millis=None) -> dict:
        """Make one stream of an alarm FIRING now (or at the given time) and return the message OCI would send."""
        return self._set_alarm_stream(alarm_id, dimensions, "FIRING", value, timestamp_epoch_millis)

    def clear_alarm(self, alarm_id, dimensions: dict, value=None, timestamp_epoch_millis=None) -> dict:
        """Make a FIRING stream of an alarm OK (409 if it is not FIRING) and return the FIRING_TO_OK message."""
        return self._set_alarm_stream(alarm_id, dimensions, "OK", value, timestamp_epoch_millis)

    def _set_alarm_stream(self, alarm_id, dimensions, status, value, millis) -> dict:
        with self._lock:
            alarm = self._alarm(alarm_id)
            if alarm.get("lifecycleState") != "ACTIVE":
                raise OciError(409, "IncorrectState", f"Alarm {alarm_id} is {alarm.get('lifecycleState')}")
            if millis is not None and (isinstance(millis, bool) or not isinstance(millis, int) or millis < 0):
                raise _bad(f"timestampEpochMillis must be a non-negative integer, got {millis!r}")
            at = None if millis is None else millis / 1000
            return _mon(self.monitoring.set_stream, alarm, dimensions, status, at, value)
