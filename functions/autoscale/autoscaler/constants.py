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


def alarm_query(metric: str, deployment_id: str, operator: str, threshold: float) -> str:
    """The MQL form used for every per-deployment alarm, high (Terraform) and low (function)."""
    return f'{METRIC_NAMES[metric]}[1m]{{resourceId = "{deployment_id}"}}.mean() {operator} {threshold:g}'
