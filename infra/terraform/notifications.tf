# Alarms → topic → ORACLE_FUNCTIONS subscription → the function.

resource "oci_ons_notification_topic" "alarms" {
  compartment_id = var.compartment_ocid
  # Topic names are unique in the tenancy.
  name          = "${var.name_prefix}-alarms"
  description   = "Model deployment autoscaler: high alarms (Terraform) and low alarms (the function) notify this topic."
  freeform_tags = local.tags
  defined_tags  = var.defined_tags
}

resource "oci_ons_subscription" "function" {
  compartment_id = var.compartment_ocid
  topic_id       = oci_ons_notification_topic.alarms.id
  protocol       = "ORACLE_FUNCTIONS"
  endpoint       = oci_functions_function.autoscale.id
  freeform_tags  = local.tags
  defined_tags   = var.defined_tags

  # Deliver nothing before the function is allowed to act on it.
  depends_on = [oci_identity_policy.autoscaler]
}
