# Who the function is (a dynamic group, which always lives in the tenancy) and what it may do: one
# policy whose statements name only the compartments involved, each justified by the OCI IAM reference
# for the API calls the function makes (docs/iam.md has the full table).
#
# The function calls: GetModelDeployment, UpdateModelDeployment, GetWorkRequest, ListModelDeployments
# (Data Science); GetAlarm, ListAlarms, CreateAlarm, UpdateAlarm, DeleteAlarm, RetrieveDimensionStates,
# GetAlarmHistory, SummarizeMetricsData (Monitoring).

locals {
  dynamic_group_rule = var.dynamic_group_matching == "function_id" ? "ALL {resource.type = 'fnfunc', resource.id = '${oci_functions_function.autoscale.id}'}" : "ALL {resource.type = 'fnfunc', resource.compartment.id = '${var.compartment_ocid}'}"

  dynamic_group = oci_identity_dynamic_group.function.name
  policy_statements = concat(
    # ListModelDeployments (INSPECT), GetModelDeployment (READ), UpdateModelDeployment (UPDATE): the
    # three permissions, not a verb. Oracle's ML Applications sample policies grant a principal that
    # updates a model deployment exactly {..._INSPECT, _READ, _UPDATE} (+ _PREDICT, which we do not call);
    # `manage` would add CREATE, DELETE and MOVE. Docs: "Data Science Policies" (resource type
    # data-science-model-deployments); "Policy Syntax" (permissions in place of verb + resource type).
    [for c in local.deployment_compartment_ids : "Allow dynamic-group ${local.dynamic_group} to {DATA_SCIENCE_MODEL_DEPLOYMENT_INSPECT, DATA_SCIENCE_MODEL_DEPLOYMENT_READ, DATA_SCIENCE_MODEL_DEPLOYMENT_UPDATE} in compartment id ${c}"],
    # GetWorkRequest: follow the update the function started (read = INSPECT + READ on work requests,
    # which live in the deployment's compartment). Docs: "Data Science Policies" (data-science-work-requests).
    [for c in local.deployment_compartment_ids : "Allow dynamic-group ${local.dynamic_group} to read data-science-work-requests in compartment id ${c}"],
    # UpdateModelDeployment sends the deployment's model_id back (required, unchanged); "any user who
    # wants to deploy a model through model deployment also needs to access the model". Docs: "Model
    # Deployment Policies". Models in another compartment: grant read there.
    [for c in local.deployment_compartment_ids : "Allow dynamic-group ${local.dynamic_group} to read data-science-models in compartment id ${c}"],
    # METRIC_READ on the metric compartment and namespace: GetAlarm, CreateAlarm and UpdateAlarm are only
    # partially covered by the alarm permissions without it; SummarizeMetricsData needs METRIC_INSPECT and
    # METRIC_READ (= read metrics). Docs: "Details for Monitoring" (permissions required for each API operation).
    [for c in local.deployment_compartment_ids : "Allow dynamic-group ${local.dynamic_group} to read metrics in compartment id ${c} where target.metrics.namespace = '${local.namespace}'"],
    [
      # ListAlarms, RetrieveDimensionStates (ALARM_INSPECT); GetAlarm, GetAlarmHistory (ALARM_READ);
      # CreateAlarm (ALARM_CREATE); UpdateAlarm (ALARM_UPDATE); DeleteAlarm (ALARM_DELETE): every alarm
      # permission except ALARM_MOVE, which `manage alarms` would add. Docs: "Details for Monitoring".
      # The docs list no Notifications permission for CreateAlarm with a topic destination, so no
      # `use ons-topics` statement (docs/iam.md: what to add if your tenancy asks for it).
      "Allow dynamic-group ${local.dynamic_group} to {ALARM_INSPECT, ALARM_READ, ALARM_CREATE, ALARM_UPDATE, ALARM_DELETE} in compartment id ${var.compartment_ocid}",
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
