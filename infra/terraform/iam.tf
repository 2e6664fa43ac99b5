# Who the function is (a dynamic group, which always lives in the tenancy) and what it may do
# (a policy whose statements name only the compartments involved). README explains each statement.

locals {
  dynamic_group_rule = var.dynamic_group_matching == "function_id" ? "ALL {resource.type = 'fnfunc', resource.id = '${oci_functions_function.autoscale.id}'}" : "ALL {resource.type = 'fnfunc', resource.compartment.id = '${var.compartment_ocid}'}"

  dynamic_group = oci_identity_dynamic_group.function.name
  policy_statements = concat(
    # GetModelDeployment (read) and UpdateModelDeployment (use): instance count, shape, state tags.
    [for c in local.deployment_compartment_ids : "Allow dynamic-group ${local.dynamic_group} to ${var.model_deployment_verb} data-science-model-deployments in compartment id ${c}"],
    # UpdateModelDeployment carries the deployment's model_id: the caller must be able to read it.
    [for c in local.deployment_compartment_ids : "Allow dynamic-group ${local.dynamic_group} to read data-science-models in compartment id ${c}"],
    # CreateAlarm and GetAlarm also need METRIC_READ on the metric compartment and namespace.
    [for c in local.deployment_compartment_ids : "Allow dynamic-group ${local.dynamic_group} to read metrics in compartment id ${c} where target.metrics.namespace = '${local.namespace}'"],
    [
      # GetAlarm, ListAlarms, CreateAlarm, DeleteAlarm (the low alarms).
      "Allow dynamic-group ${local.dynamic_group} to manage alarms in compartment id ${var.compartment_ocid}",
      # The low alarms the function creates name the topic as their destination.
      "Allow dynamic-group ${local.dynamic_group} to use ons-topics in compartment id ${var.compartment_ocid}",
    ],
  )
}

resource "oci_identity_dynamic_group" "function" {
  compartment_id = var.tenancy_ocid
  name           = "${var.name_prefix}-function"
  description    = "The model deployment autoscaler function (${var.name_prefix})."
  matching_rule  = local.dynamic_group_rule
  freeform_tags  = local.tags
  defined_tags   = var.defined_tags
}

resource "oci_identity_policy" "autoscaler" {
  compartment_id = local.policy_compartment_id
  name           = "${var.name_prefix}-function"
  description    = "Least privilege for the model deployment autoscaler function (${var.name_prefix})."
  statements     = local.policy_statements
  freeform_tags  = local.tags
  defined_tags   = var.defined_tags

  lifecycle {
    precondition {
      condition     = length(local.policy_statements) <= 50
      error_message = "An OCI policy holds at most 50 statements: spread the deployments over fewer compartments."
    }
  }
}
