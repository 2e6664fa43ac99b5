# The function's decision lines (one JSON line per deployment on stdout/stderr) are kept only if the
# application has a Logging service log: category "invoke" of service "functions", resource = the
# application (docs: Logging "Details for Functions" and "Functions Example"). Without it they are lost.

resource "oci_logging_log_group" "function" {
  count = var.invoke_log.enabled ? 1 : 0

  compartment_id = var.compartment_ocid
  display_name   = "${var.name_prefix}-logs"
  description    = "Model deployment autoscaler (${var.name_prefix}): the function's invoke log, one JSON decision line per deployment."
  freeform_tags  = local.tags
  defined_tags   = var.defined_tags
}

resource "oci_logging_log" "invoke" {
  count = var.invoke_log.enabled ? 1 : 0

  display_name       = "${var.name_prefix}-invoke"
  log_group_id       = oci_logging_log_group.function[0].id
  log_type           = "SERVICE"
  is_enabled         = true
  retention_duration = var.invoke_log.retention_days
  freeform_tags      = local.tags
  defined_tags       = var.defined_tags

  configuration {
    compartment_id = var.compartment_ocid

    source {
      category    = "invoke"
      resource    = oci_functions_application.this.id
      service     = "functions"
      source_type = "OCISERVICE"
    }
  }
}
