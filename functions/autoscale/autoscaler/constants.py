"""Names shared by the function, the Terraform module and the alarms it creates."""

import math

NAMESPACE = "oci_datascience_modeldeploy"

# Alarm notification titles: the routing contract kept from the 2022 sample.
HIGH_CPU = "model_deployment_high_cpu"
LOW_CPU = "model_deployment_low_cpu"
HIGH_MEM = "model_deployment_high_mem"
LOW_MEM = "model_deployment_low_mem"
# Serving signals (docs "Model Deployment Metrics"): GPU utilization per instance, requests and latency per deployment.
HIGH_GPU = "model_deployment_high_gpu"
LOW_GPU = "model_deployment_low_gpu"
HIGH_REQUESTS = "model_deployment_high_requests"
LOW_REQUESTS = "model_deployment_low_requests"
HIGH_LATENCY = "model_deployment_high_latency"  # no low latency title: latency never scales in on its own

# Signal -> metric of namespace oci_datascience_modeldeploy (docs "Model Deployment Metrics": CpuUtilization,
# MemoryUtilization, GPUCoreUtilization in percent with dimensions resourceId and instanceId; PredictRequestCount,
# a count with dimension resourceId only; PredictLatency in milliseconds with dimensions resourceId and result).
METRIC_NAMES = {
    "cpu": "CpuUtilization",
    "mem": "MemoryUtilization",
    "gpu": "GPUCoreUtilization",
    "requests": "PredictRequestCount",
    "latency": "PredictLatency",
}
SIGNALS = tuple(METRIC_NAMES)
# The metrics with an instanceId dimension: without a grouping, their alarm has one stream per instance.
PER_INSTANCE_METRICS = ("cpu", "mem", "gpu")

# (metric, direction) for each routing title.
ROUTES = {
    HIGH_CPU: ("cpu", "up"),
    LOW_CPU: ("cpu", "down"),
    HIGH_MEM: ("mem", "up"),
    LOW_MEM: ("mem", "down"),
    HIGH_GPU: ("gpu", "up"),
    LOW_GPU: ("gpu", "down"),
    HIGH_REQUESTS: ("requests", "up"),
    LOW_REQUESTS: ("requests", "down"),
    HIGH_LATENCY: ("latency", "up"),
}
LOW_TITLE = {"cpu": LOW_CPU, "mem": LOW_MEM, "gpu": LOW_GPU, "requests": LOW_REQUESTS}
HIGH_TITLE = {"cpu": HIGH_CPU, "mem": HIGH_MEM, "gpu": HIGH_GPU, "requests": HIGH_REQUESTS, "latency": HIGH_LATENCY}
# The statistic of the alarms we write: the deployment's mean utilization or latency; requests are counted (sum of
# the count over the interval: requests per minute at [1m]).
STATISTICS = {"requests": "sum"}
UNITS = {"cpu": "%", "mem": "%", "gpu": "%", "requests": "/min", "latency": " ms"}

ACTIONABLE_TYPES = ("OK_TO_FIRING", "REPEAT")
ACKNOWLEDGED_TYPES = ("FIRING_TO_OK", "RESET")

# Freeform tags. Alarms the autoscaler owns carry OWNER_TAG=OWNER_VALUE and DEPLOYMENT_TAG.
OWNER_TAG = "autoscale_owner"
OWNER_VALUE = "oci-md-autoscaler"
DEPLOYMENT_TAG = "autoscale_deployment"
# Per-deployment overrides: a deployment tag "autoscale_<setting>" overrides setting <setting>.
OVERRIDE_TAG_PREFIX = "autoscale_"
# Opt a deployment in ("true": the reconcile manages it without a high alarm) or out ("false": the function
# leaves it alone, alarms and reconcile alike). Absent: managed while an autoscaler high alarm watches it.
MANAGED_TAG = "autoscale_managed"
# Scaling state the function writes on the deployment in the same update as the change.
STATE_LAST_UP_TAG = "autoscale_state_last_up"
STATE_LAST_DOWN_TAG = "autoscale_state_last_down"
STATE_HOLD_TAG = "autoscale_state_scale_in_hold"
STATE_EVENTS_TAG = "autoscale_state_events"
# The capacity our last change asked for: if the deployment is ACTIVE on another capacity, that change
# never took effect (its work request failed and OCI rolled it back), so it must not hold a cooldown.
STATE_TARGET_TAG = "autoscale_state_target"
# A random id of the invocation that wrote the state: tells "our update landed" from "another
# invocation's update for the same event landed" when an update answers 409/412.
STATE_WRITER_TAG = "autoscale_state_writer"
# How long this deployment's updates take, as OCI measured them (its work requests, read by the tick: update_time.py),
# in whole seconds, per direction of our change; and the last change (the value of its last_up / last_down tag) the
# tick last measured, so that it reads each change's work requests once.
STATE_UPDATE_UP_TAG = "autoscale_state_update_up_seconds"
STATE_UPDATE_DOWN_TAG = "autoscale_state_update_down_seconds"
STATE_UPDATE_FOR_TAG = "autoscale_state_update_for"
# Every autoscale_* tag the function reads or writes besides the policy overrides (settings.known_tag_keys): a
# deployment tag of another autoscale_* key is logged as unknown (a typo would otherwise be ignored silently).
FUNCTION_TAGS = frozenset(
    {
        OWNER_TAG,
        DEPLOYMENT_TAG,
        MANAGED_TAG,
        STATE_LAST_UP_TAG,
        STATE_LAST_DOWN_TAG,
        STATE_HOLD_TAG,
        STATE_EVENTS_TAG,
        STATE_TARGET_TAG,
        STATE_WRITER_TAG,
        STATE_UPDATE_UP_TAG,
        STATE_UPDATE_DOWN_TAG,
        STATE_UPDATE_FOR_TAG,
    }
)

# Valid range of each metric's values; a message outside it is refused (docs: "Model Deployment
# Metrics": CpuUtilization, MemoryUtilization and GPUCoreUtilization are percentages; PredictRequestCount is a
# count and PredictLatency milliseconds, neither below 0).
VALUE_RANGES = {
    "cpu": (0.0, 100.0),
    "mem": (0.0, 100.0),
    "gpu": (0.0, 100.0),
    "requests": (0.0, math.inf),
    "latency": (0.0, math.inf),
}


def mql_number(value: float) -> str:
    """A threshold as MQL and Terraform's tostring() write it: no exponent, at most two decimals (1200, 27, 72.5)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def show(metric: str, value: float) -> str:
    """A value with its unit, for reasons: `92.3%`, `2100/min`, `812 ms`."""
    return f"{value:g}{UNITS[metric]}"


def alarm_query(metric: str, deployment_id: str, operator: str, threshold: float) -> str:
    """The MQL form of every alarm we write, high (Terraform) and low (function): one stream per deployment.

    Model deployment metrics carry the dimensions resourceId and instanceId (docs: "Model Deployment
    Metrics"), so without a grouping the query is one stream per instance. `.groupBy(resourceId)`
    aggregates the instances of the deployment into one stream (docs: "Using groupBy(x) in a Query").
    PredictRequestCount (resourceId only) and PredictLatency (resourceId, result) get the same form: one stream
    per deployment, all results together."""
    statistic = STATISTICS.get(metric, "mean")
    return (
        f'{METRIC_NAMES[metric]}[1m]{{resourceId = "{deployment_id}"}}.groupBy(resourceId).{statistic}() '
        f"{operator} {mql_number(threshold)}"
    )
