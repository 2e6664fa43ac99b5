# The Functions application (in the given or the created subnet) and the autoscaler function.

resource "oci_functions_application" "this" {
  compartment_id = var.compartment_ocid
  display_name   = "${var.name_prefix}-app"
  subnet_ids     = local.subnet_ids
  shape          = var.function_shape
  freeform_tags  = local.tags
  defined_tags   = var.defined_tags
}

resource "oci_functions_function" "autoscale" {
  application_id = oci_functions_application.this.id
  # `fn invoke <application> autoscale` reaches it by this name.
  display_name       = "autoscale"
  image              = var.function_image
  memory_in_mbs      = tostring(var.function_memory_in_mbs)
  timeout_in_seconds = var.function_timeout_in_seconds
  config             = local.function_config
  freeform_tags      = local.tags
  defined_tags       = var.defined_tags

  lifecycle {
    precondition {
      condition     = var.retry_budget_seconds < var.function_timeout_in_seconds
      error_message = "retry_budget_seconds must be below function_timeout_in_seconds, or the platform kills the function mid-retry."
    }
    precondition {
      condition     = length(local.policy_problems) == 0
      error_message = "Inconsistent scaling policy (defaults + overrides): ${join("; ", local.policy_problems)}."
    }
  }
}

# A soft rule (a warning, not an error): one invocation makes up to 8 OCI calls for one deployment, each
# allowed the retry budget: GetAlarm (verify the alarm), RetrieveDimensionStates (confirm it fires for
# this deployment), GetAlarmHistory (only when the states cannot tell), GetModelDeployment,
# UpdateModelDeployment, ListAlarms (find our low alarm), CreateAlarm (or UpdateAlarm / DeleteAlarm),
# ListAlarms again (duplicates created concurrently).
check "retry_budget_fits_the_timeout" {
  assert {
    condition     = var.retry_budget_seconds * 8 <= var.function_timeout_in_seconds
    error_message = "8 x retry_budget_seconds (${var.retry_budget_seconds * 8} s) exceeds function_timeout_in_seconds (${var.function_timeout_in_seconds} s): a slow OCI API can make the platform kill the function mid-update."
  }
}
