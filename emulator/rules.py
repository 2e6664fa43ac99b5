"""What OCI refuses, as the emulator enforces it: option groups per update, shapes, limits, alarm field ranges.

Every rule names its source: an OCI documentation page title or an SDK 2.189.0 file. Where the documentation is
silent, the comment says so and the value is a module constant (or a Store parameter) so a test can play both
answers. Pure functions over OCI camelCase JSON dicts; the Store calls them with its lock held.
"""

from __future__ import annotations

import re


def _error(status: int, code: str, message: str) -> Exception:
    from emulator.store import OciError  # here, not at the top: store.py imports this module

    return OciError(status, code, message)


def _bad(message: str) -> Exception:
    return _error(400, "InvalidParameter", message)


# -- One infrastructure option group per update while ACTIVE ----------------------------------------------------
#
# Docs "Editing a Model Deployment": while the deployment is Active, "you can change these option groups one at a
# time": name or description, default configuration (environment variables), models, compute (shape series,
# OCPUs, memory), logging, load balancer or BYOC. "You can't edit all the options at once when the model deployment
# resource is active." Docs "Updating an Existing Model Deployment with Autoscaling": scaling policy changes "must
# occur independently, without simultaneous changes to other configurations. However, updates to fields such as
# Display name, Description, Tags, and other non-infrastructure related aspects are allowed."
#
# The SDK disagrees with itself: the UpdateModelDeploymentDetails class docstring
# (oci/data_science/models/update_model_deployment_details.py) still says `bandwidthMbps` and `instanceCount` "can
# only be updated while the model deployment is in the INACTIVE state", while DataScienceClient.update_model_deployment
# (oci/data_science/data_science_client.py) says `instanceShapeName`, `instanceCount` and `modelId`, "separately
# `loadBalancerShape` or `CategoryLogDetails`" can be updated with zero downtime in ACTIVE or NEEDS_ATTENTION. The
# emulator follows the client docstring and the two console pages (Oracle's own 2022 autoscaling sample also changes
# the count of an ACTIVE deployment).
#
# Docs silent on the exact grouping of a few fields; the emulator takes the stricter reading (its own group) for:
# the instance count (scaling policy) versus compute, networking (subnet / private endpoint), and the environment
# (env vars or BYOC container) versus the load balancer. Edit INFRASTRUCTURE_GROUPS to play another reading.
INFRASTRUCTURE_GROUPS: dict[str, tuple[tuple[str, ...], ...]] = {
    # group: paths into the deployment document (modelDeploymentConfigurationDetails = "config", mc = its
    # modelConfigurationDetails, ic = mc.instanceConfiguration)
    "compute": (
        ("ic", "instanceShapeName"),
        ("ic", "modelDeploymentInstanceShapeConfigDetails"),
        ("ic", "capacityReservationIds"),
    ),
    "instance count": (("mc", "scalingPolicy"),),
    "model": (("mc", "modelId"), ("mc", "modelArtifactSignatureId")),
    "load balancer": (("mc", "bandwidthMbps"), ("mc", "maximumBandwidthMbps")),
    "logging": (("md", "categoryLogDetails"),),
    "networking": (("ic", "subnetId"), ("ic", "privateEndpointId"), ("ic", "networkAccessType")),
    "environment": (("config", "environmentConfigurationDetails"),),
}
# ModelDeploymentInstanceShapeConfigDetails.cpu_baseline docstring: "If this attribute is left blank, it will
# default to BASELINE_1_1" (so resending a shape config without it, when none was set, is not a change).
CPU_BASELINES = ("BASELINE_1_8", "BASELINE_1_2", "BASELINE_1_1")
DEFAULT_CPU_BASELINE = "BASELINE_1_1"
# DataScienceClient.update_model_deployment docstring: zero-downtime updates "when the model deployment's lifecycle
# state is ACTIVE or NEEDS_ATTENTION".
ONE_GROUP_STATES = ("ACTIVE", "NEEDS_ATTENTION")


def _parts(md: dict, config: dict) -> dict[str, dict]:
    mc = config.get("modelConfigurationDetails") or {}
    return {"md": md, "config": config, "mc": mc, "ic": mc.get("instanceConfiguration") or {}}


def _normalized(path: tuple[str, str], value):
    if path[1] == "modelDeploymentInstanceShapeConfigDetails" and isinstance(value, dict):
        return {"cpuBaseline": DEFAULT_CPU_BASELINE, **value}
    return value


def group_values(md: dict, config: dict, group: str) -> list:
    parts = _parts(md, config)
    return [_normalized(path, parts[path[0]].get(path[1])) for path in INFRASTRUCTURE_GROUPS[group]]


def changed_groups(md: dict, current: dict, merged: dict, details: dict) -> list[str]:
    """The infrastructure option groups whose value differs between the current and the merged deployment."""
    after = {**md, **{k: details[k] for k in ("categoryLogDetails",) if k in details}}
    return [
        group
        for group in INFRASTRUCTURE_GROUPS
        if group_values(md, current, group) != group_values(after, merged, group)
    ]


def check_one_group(md: dict, current: dict, merged: dict, details: dict) -> list[str]:
    changed = changed_groups(md, current, merged, details)
    if md.get("lifecycleState") in ONE_GROUP_STATES and len(changed) > 1:
        raise _bad(
            f"While a model deployment is {md['lifecycleState']}, one infrastructure option group can change per "
            f"update (non-infrastructure fields such as tags may go along); this update changes {len(changed)}: "
            f"{', '.join(changed)}"
        )
    return changed


# -- Shapes --------------------------------------------------------------------------------------------------------
#
# ListModelDeploymentShapes answers ModelDeploymentShapeSummary items (oci/data_science/models/
# model_deployment_shape_summary.py): name, coreCount, memoryInGBs, shapeSeries (AMD_ROME, INTEL_SKYLAKE, NVIDIA_GPU,
# GENERIC, LEGACY, ARM). Flex ranges: ModelDeploymentInstanceShapeConfigDetails docstrings (oci/data_science/models/
# model_deployment_instance_shape_config_details.py): E3/E4.Flex 1-64 OCPUs and 6-1024 GB, Standard3.Flex 1-32 OCPUs
# and 6-512 GB, Optimized3.Flex 1-18 OCPUs and 6-256 GB. VM.Standard.E5.Flex (absent from that docstring): 1-94
# OCPUs, up to 1049 GB (docs "Supported Compute Shapes", Data Science). Memory per OCPU for model deployments on
# standard Flex shapes: 6-64 GB per OCPU (docs "Supported Compute Shapes": "The minimum memory is 6 GB per OCPU ...
# The maximum memory is 64 GB per OCPU up to the allowed memory for each shape"). Fixed shapes' OCPUs/memory: docs
# "Compute Shapes". Docs silent: which shapeSeries each shape reports, and what coreCount/memoryInGBs a Flex shape
# reports in the list (the emulator answers its maximum). Pass Store(shapes=...) for another catalogue.
def _flex(series: str, ocpus: tuple[float, float], memory: tuple[float, float]) -> dict:
    return {
        "coreCount": int(ocpus[1]),
        "memoryInGBs": int(memory[1]),
        "shapeSeries": series,
        "flex": {"ocpus": ocpus, "memoryInGBs": memory, "memoryPerOcpu": (6, 64)},
    }


def _fixed(series: str, ocpus: int, memory: int) -> dict:
    return {"coreCount": ocpus, "memoryInGBs": memory, "shapeSeries": series}


DEFAULT_SHAPES: dict[str, dict] = {
    "VM.Standard.E3.Flex": _flex("AMD_ROME", (1, 64), (6, 1024)),
    "VM.Standard.E4.Flex": _flex("AMD_ROME", (1, 64), (6, 1024)),
    "VM.Standard.E5.Flex": _flex("AMD_ROME", (1, 94), (6, 1049)),
    "VM.Standard3.Flex": _flex("INTEL_SKYLAKE", (1, 32), (6, 512)),
    "VM.Optimized3.Flex": _flex("INTEL_SKYLAKE", (1, 18), (6, 256)),
    "VM.Standard2.1": _fixed("INTEL_SKYLAKE", 1, 15),
    "VM.Standard2.2": _fixed("INTEL_SKYLAKE", 2, 30),
    "VM.Standard2.4": _fixed("INTEL_SKYLAKE", 4, 60),
    "VM.Standard2.8": _fixed("INTEL_SKYLAKE", 8, 120),
    "VM.Standard2.16": _fixed("INTEL_SKYLAKE", 16, 240),
    "VM.GPU2.1": _fixed("NVIDIA_GPU", 12, 72),
    "VM.GPU3.1": _fixed("NVIDIA_GPU", 6, 90),
    "VM.GPU.A10.1": _fixed("NVIDIA_GPU", 15, 240),
    "VM.GPU.A10.2": _fixed("NVIDIA_GPU", 30, 480),
}


def shape_summaries(shapes: dict[str, dict]) -> list[dict]:
    return [
        {"name": name, **{k: spec[k] for k in ("coreCount", "memoryInGBs", "shapeSeries")}}
        for name, spec in shapes.items()
    ]


def check_shape(shapes: dict[str, dict], ic: dict, where: str) -> None:
    """Refuse a shape not in the catalogue, and Flex OCPUs/memory outside the shape's ranges."""
    name = ic.get("instanceShapeName")
    if name not in shapes:
        raise _bad(f"{where}.instanceShapeName {name!r} is not a model deployment shape (ListModelDeploymentShapes)")
    flex = shapes[name].get("flex")
    config = ic.get("modelDeploymentInstanceShapeConfigDetails") or {}
    sc_where = f"{where}.modelDeploymentInstanceShapeConfigDetails"
    baseline = config.get("cpuBaseline")
    if baseline is not None and baseline not in CPU_BASELINES:
        raise _bad(f"{sc_where}.cpuBaseline must be one of {', '.join(CPU_BASELINES)}, got {baseline!r}")
    if not flex:
        return
    ocpus, memory = config.get("ocpus"), config.get("memoryInGBs")
    (lo, hi), (mem_lo, mem_hi), (per_lo, per_hi) = flex["ocpus"], flex["memoryInGBs"], flex["memoryPerOcpu"]
    if not lo <= ocpus <= hi:
        raise _bad(f"{sc_where}.ocpus for {name} must be between {lo:g} and {hi:g}, got {ocpus:g}")
    if not mem_lo <= memory <= mem_hi:
        raise _bad(f"{sc_where}.memoryInGBs for {name} must be between {mem_lo:g} and {mem_hi:g} GB, got {memory:g}")
    if not per_lo * ocpus <= memory <= per_hi * ocpus:
        raise _bad(
            f"{sc_where}.memoryInGBs for {name} must be {per_lo:g}-{per_hi:g} GB per OCPU "
            f"({per_lo * ocpus:g}-{per_hi * ocpus:g} GB for {ocpus:g} OCPUs), got {memory:g}"
        )


# -- Instance-count service limit ----------------------------------------------------------------------------------
#
# Docs silent: neither "Service Limits" nor the Data Science pages state how many instances one model deployment may
# have (NOTES.md: "the instance-count limit [is] not documented"). Store(max_instances=10) is a guess; None disables.
# The refusal follows docs "API Errors": 400 LimitExceeded, "Fulfilling this request exceeds the Oracle-defined limit
# for this tenancy for this resource type".
DEFAULT_MAX_INSTANCES = 10


def instance_counts(policy: dict | None) -> list[int]:
    """The instance counts a scaling policy asks for: FIXED_SIZE instanceCount, AUTOSCALING maximumInstanceCount."""
    policy = policy or {}
    if policy.get("policyType") == "FIXED_SIZE":
        return [policy.get("instanceCount")]
    return [p.get("maximumInstanceCount") for p in policy.get("autoScalingPolicies") or () if isinstance(p, dict)]


def check_instance_limit(max_instances: int | None, before: dict | None, after: dict | None) -> None:
    if max_instances is None or before == after:
        return
    for count in instance_counts(after):
        if isinstance(count, int) and count > max_instances:
            raise _error(
                400,
                "LimitExceeded",
                f"Fulfilling this request exceeds the Oracle-defined limit of {max_instances} instances per model "
                f"deployment (requested {count})",
            )


# -- List parameters -----------------------------------------------------------------------------------------------
#
# DataScienceClient.list_model_deployments / list_model_deployment_shapes / list_work_requests /
# list_work_request_errors docstrings: limit "1 is the minimum, 100 is the maximum". MonitoringClient.list_alarms
# docstring: limit "Default: 1000", no maximum stated (docs silent: the emulator takes 1000 as the maximum too).
DS_LIST_MAX_LIMIT = 100
ALARMS_LIST_MAX_LIMIT = 1000
# DataScienceClient.list_model_deployments docstring: lifecycleState values; sortBy timeCreated (default descending)
# or displayName (default ascending, case sensitive); "Only one parameter other than compartmentId may also be
# included in a query ... If the query ... includes compartmentId but two or more other parameters an error is
# returned" (the emulator counts the filters id, projectId, displayName, lifecycleState, createdBy; strict mode only).
MD_LIFECYCLE_STATES = (
    "CREATING",
    "ACTIVE",
    "DELETING",
    "FAILED",
    "INACTIVE",
    "UPDATING",
    "DELETED",
    "NEEDS_ATTENTION",
)
MD_SORT_DEFAULT_ORDER = {"timeCreated": "DESC", "displayName": "ASC"}
# MonitoringClient.list_alarms docstring: lifecycleState ACTIVE, DELETING, DELETED ("When not specified, only alarms
# in the ACTIVE lifecycle state are listed"); sortBy displayName or severity; sortOrder ASC or DESC. Docs silent on
# the default order and on how severity sorts: the emulator sorts ascending, severity as text.
ALARM_LIFECYCLE_STATES = ("ACTIVE", "DELETING", "DELETED")
# DataScienceClient.list_work_requests docstring: status ACCEPTED, IN_PROGRESS, FAILED, SUCCEEDED, CANCELING,
# CANCELED; sortBy operationType, status, timeAccepted; limit 1-100 (DS_LIST_MAX_LIMIT).
WR_STATUSES = ("ACCEPTED", "IN_PROGRESS", "FAILED", "SUCCEEDED", "CANCELING", "CANCELED")
WR_SORT_FIELDS = ("operationType", "status", "timeAccepted")
ALARM_SORT_FIELDS = ("displayName", "severity")
SORT_ORDERS = ("ASC", "DESC")


def check_enum(value, allowed, name: str) -> None:
    if value is not None and value not in allowed:
        raise _bad(f"{name} must be one of {', '.join(allowed)}, got {value!r}")


def sort_items(items: list[dict], sort_by: str | None, sort_order: str | None, default_order: str = "ASC"):
    if sort_by is None:
        return items
    return sorted(items, key=lambda item: str(item.get(sort_by) or ""), reverse=(sort_order or default_order) == "DESC")


def is_tenancy(ocid: str) -> bool:
    return isinstance(ocid, str) and ocid.startswith("ocid1.tenancy.")


# -- Alarm field ranges --------------------------------------------------------------------------------------------
#
# CreateAlarmDetails / UpdateAlarmDetails / AlarmOverride docstrings (oci/monitoring/models/create_alarm_details.py,
# update_alarm_details.py, alarm_override.py): pendingDuration "Minimum: PT1M. Maximum: PT1H";
# repeatNotificationDuration
# "Minimum: PT1M. Maximum: P30D"; evaluationSlackDuration "Minimum: PT3M. Maximum: PT2H"; resolution "Supported value:
# 1m"; messageFormat RAW, PRETTY_JSON, ONS_OPTIMIZED; destinations "Supported destination services: Notifications,
# Streaming. Limit: One destination per supported destination service"; notificationVersion "Allowed value: 1.X ...
# must start with a number (up to four digits), followed by a period and an uppercase X"; resourceGroup "starts with
# an alphabetical character and includes only alphanumeric characters, periods (.), underscores (_), hyphens (-), and
# dollar signs ($)"; metricCompartmentIdInSubtree "can only be set to true when metricCompartmentId is the tenancy
# OCID". Severity values (the Alarm model and docs "Alarm Message Format"): CRITICAL, ERROR, WARNING, INFO.
DURATION_RANGES = {
    "pendingDuration": (60, 3600),
    "repeatNotificationDuration": (60, 30 * 86400),
    "evaluationSlackDuration": (180, 7200),
}
# Docs silent (no length in the SDK docstrings or the pages searched): text length limits are guesses, per field.
ALARM_TEXT_MAX_LENGTH = {"displayName": 255, "body": 1000, "notificationTitle": 255, "alarmSummary": 1000}
DESTINATION_SERVICES = {"ocid1.onstopic.": "Notifications", "ocid1.stream.": "Streaming"}
_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_RESOURCE_GROUP = re.compile(r"^[A-Za-z][A-Za-z0-9._$-]*$")
_NOTIFICATION_VERSION = re.compile(r"^\d{1,4}\.X$")


def duration_seconds(text) -> int | None:
    """Seconds of an ISO 8601 duration such as PT5M, PT1H, P30D; None if it is not one."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if not match or text in ("P", "PT") or text.endswith("T"):
        return None
    weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds


def _check_duration(field: str, value, where: str) -> None:
    if value is None:
        return
    seconds = duration_seconds(value)
    lo, hi = DURATION_RANGES[field]
    if seconds is None:
        raise _bad(f"{where}.{field} must be an ISO 8601 duration such as PT5M, got {value!r}")
    if not lo <= seconds <= hi:
        raise _bad(f"{where}.{field} must be between {_fmt(lo)} and {_fmt(hi)}, got {value}")


def _fmt(seconds: int) -> str:
    if seconds % 86400 == 0:
        return f"P{seconds // 86400}D"
    if seconds % 3600 == 0:
        return f"PT{seconds // 3600}H"
    return f"PT{seconds // 60}M"


def check_alarm_ranges(alarm: dict, where: str = "Alarm") -> None:
    """Refuse alarm fields outside the ranges the SDK documents (create and update alike, on the merged alarm)."""
    for field in DURATION_RANGES:
        _check_duration(field, alarm.get(field), where)
    if alarm.get("resolution") not in (None, "1m"):
        raise _bad(f"{where}.resolution must be 1m for alarms, got {alarm['resolution']!r}")
    for field, limit in ALARM_TEXT_MAX_LENGTH.items():
        value = alarm.get(field)
        if value is None:
            continue
        if not isinstance(value, str):
            raise _bad(f"{where}.{field} must be a string")
        if len(value) > limit or (field == "displayName" and not value):
            raise _bad(f"{where}.{field} must be 1 to {limit} characters long, got {len(value)}")
    services = []
    for destination in alarm.get("destinations") or ():
        service = next((s for prefix, s in DESTINATION_SERVICES.items() if destination.startswith(prefix)), None)
        if service is None:
            raise _bad(f"{where}.destinations: {destination!r} is not a Notifications topic or a Streaming stream")
        if service in services:
            raise _bad(f"{where}.destinations: one destination per service, got two {service} destinations")
        services.append(service)
    version = alarm.get("notificationVersion")
    if version is not None and not (isinstance(version, str) and _NOTIFICATION_VERSION.match(version)):
        raise _bad(f"{where}.notificationVersion must look like 1.X, got {version!r}")
    group = alarm.get("resourceGroup")
    if group is not None and not (isinstance(group, str) and _RESOURCE_GROUP.match(group)):
        raise _bad(f"{where}.resourceGroup {group!r} must start with a letter and use only letters, digits, . _ - $")
    if alarm.get("metricCompartmentIdInSubtree") and not is_tenancy(alarm.get("metricCompartmentId")):
        raise _bad(f"{where}.metricCompartmentIdInSubtree can only be true when metricCompartmentId is the tenancy")
    for field in ("isNotificationsPerMetricDimensionEnabled", "metricCompartmentIdInSubtree"):
        if alarm.get(field) is not None and not isinstance(alarm[field], bool):
            raise _bad(f"{where}.{field} must be a boolean")
    for index, override in enumerate(alarm.get("overrides") or ()):
        if not isinstance(override, dict):
            raise _bad(f"{where}.overrides[{index}] must be a JSON object")
        _check_duration("pendingDuration", override.get("pendingDuration"), f"{where}.overrides[{index}]")
        check_enum(override.get("severity"), ("CRITICAL", "ERROR", "WARNING", "INFO"), f"overrides[{index}].severity")


# -- Tenancy-wide API rate limits (enforced by the HTTP layer only: emulator/limits.py) ---------------------------
#
# MonitoringClient docstrings (oci/monitoring/monitoring_client.py, SDK 2.189.0) of create_alarm, delete_alarm,
# get_alarm, get_alarm_history, list_alarms, list_alarms_status, retrieve_dimension_states and update_alarm, each word
# for word: "This call is subject to a Monitoring limit that applies to the total number of requests across all alarm
# operations. Monitoring might throttle this call to reject an otherwise valid request when the total rate of alarm
# operations exceeds 10 requests, or transactions, per second (TPS) for a given tenancy." (The alarm suppression
# operations carry the same sentence; the emulator does not serve them. change_alarm_compartment does not.) So these
# eight share ONE budget of 10 per second per tenancy.
# summarize_metrics_data docstring: "Transactions Per Second (TPS) per-tenancy limit for this operation: 10."
# post_metric_data docstring: "Transactions Per Second (TPS) per-tenancy limit for this operation: 50." (list_metrics
# says 10 too; the emulator does not serve it.)
# DataScienceClient (oci/data_science/data_science_client.py, SDK 2.189.0): no docstring documents a rate limit (the
# file has no "TPS", "throttl", "per second" or "rate limit"): Data Science operations are NOT throttled.
# The refusal: HTTP 429 with code TooManyRequests (docs "API Errors"; the SDK's default retry strategy retries 429,
# oci/retry/retry_checkers.py). Docs silent: how "per second" is measured (fixed buckets, sliding window, token bucket
# with a burst) and whether a refused call counts. The emulator allows at most N accepted calls of a group in any
# sliding window of RATE_LIMIT_WINDOW_SECONDS (stricter than fixed buckets, which let 2N through across a bucket
# edge); refused calls do not count. One emulator is one tenancy.
ALARM_OPERATIONS = frozenset(
    {
        "CreateAlarm",
        "DeleteAlarm",
        "GetAlarm",
        "GetAlarmHistory",
        "ListAlarms",
        "ListAlarmsStatus",
        "RetrieveDimensionStates",
        "UpdateAlarm",
    }
)
RATE_LIMIT_GROUPS: dict[str, frozenset[str]] = {
    "alarms": ALARM_OPERATIONS,
    "SummarizeMetricsData": frozenset({"SummarizeMetricsData"}),
    "PostMetricData": frozenset({"PostMetricData"}),
}
RATE_LIMITS: dict[str, int] = {"alarms": 10, "SummarizeMetricsData": 10, "PostMetricData": 50}  # calls per window
RATE_LIMIT_WINDOW_SECONDS = 1.0


def rate_limit_group(operation: str) -> str | None:
    """The rate-limit group an SDK operation belongs to, None if OCI documents no limit for it."""
    return next((group for group, operations in RATE_LIMIT_GROUPS.items() if operation in operations), None)
