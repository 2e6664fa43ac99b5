"""Names shared by the function, the Terraform module and the alarms it creates."""

NAMESPACE = "oci_datascience_modeldeploy"

# Alarm notification titles: the routing contract kept from the 2022 sample.
HIGH_CPU = "model_deployment_high_cpu"
LOW_CPU = "model_deployment_low_cpu"
HIGH_MEM = "model_deployment_high_mem"
LOW_MEM = "model_deployment_low_mem"

METRIC_NAMES = {"cpu": "CpuUtilization", "mem": "MemoryUtilization"}

# (metric, direction) for each routing title.
ROUTES = {
    HIGH_CPU: ("cpu", "up"),
    LOW_CPU: ("cpu", "down"),
    HIGH_MEM: ("mem", "up"),
    LOW_MEM: ("mem", "down"),
}
LOW_TITLE = {"cpu": LOW_CPU, "mem": LOW_MEM}

ACTIONABLE_TYPES = ("OK_TO_FIRING", "REPEAT")
ACKNOWLEDGED_TYPES = ("FIRING_TO_OK", "RESET")

# Freeform tags. Alarms the autoscaler owns carry OWNER_TAG=OWNER_VALUE and DEPLOYMENT_TAG.
OWNER_TAG = "autoscale_owner"
OWNER_VALUE = "oci-md-autoscaler"
DEPLOYMENT_TAG = "autoscale_deployment"
# Per-deployment overrides: a deployment tag "autoscale_<setting>" overrides setting <setting>.
OVERRIDE_TAG_PREFIX = "autoscale_"
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

# Valid range of each metric's values; a message outside it is refused (docs: "Model Deployment
# Metrics": CpuUtilization and MemoryUtilization are percentages).
VALUE_RANGES = {"cpu": (0.0, 100.0), "mem": (0.0, 100.0)}


def alarm_query(metric: str, deployment_id: str, operator: str, threshold: float) -> str:
    """The MQL form of every alarm we write, high (Terraform) and low (function): one stream per deployment.

    Model deployment metrics carry the dimensions resourceId and instanceId (docs: "Model Deployment
    Metrics"), so without a grouping the query is one stream per instance. `.groupBy(resourceId)`
    aggregates the instances of the deployment into one stream (docs: "Using groupBy(x) in a Query")."""
    return (
        f'{METRIC_NAMES[metric]}[1m]{{resourceId = "{deployment_id}"}}.groupBy(resourceId).mean() '
        f"{operator} {threshold:g}"
    )
