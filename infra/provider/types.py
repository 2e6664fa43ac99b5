"""The oracle/oci types this provider serves: every resource and data source the module and its examples use."""

# Alarms go to the emulator's Monitoring API; every other type is a plain record in the emulator.
RESOURCES = (
    "oci_monitoring_alarm",
    "oci_ons_notification_topic",
    "oci_ons_subscription",
    "oci_functions_application",
    "oci_functions_function",
    "oci_identity_dynamic_group",
    "oci_identity_policy",
    "oci_logging_log_group",
    "oci_logging_log",
    "oci_resource_scheduler_schedule",
    "oci_core_vcn",
    "oci_core_service_gateway",
    "oci_core_route_table",
    "oci_core_security_list",
    "oci_core_subnet",
)
DATA_SOURCES = ("oci_core_services",)
