output "topic_id" {
  description = "OCID of the Notifications topic the alarms notify."
  value       = oci_ons_notification_topic.alarms.id
}

output "subscription_id" {
  description = "OCID of the ORACLE_FUNCTIONS subscription of the topic."
  value       = oci_ons_subscription.function.id
}

output "application_id" {
  description = "OCID of the Functions application."
  value       = oci_functions_application.this.id
}

output "application_name" {
  description = "Display name of the Functions application (for `fn invoke <application> autoscale`)."
  value       = oci_functions_application.this.display_name
}

output "function_id" {
  description = "OCID of the autoscaler function."
  value       = oci_functions_function.autoscale.id
}

output "function_invoke_endpoint" {
  description = "Invoke endpoint of the function (for `oci fn function invoke`)."
  value       = oci_functions_function.autoscale.invoke_endpoint
}

output "function_config" {
  description = "The config (AUTOSCALE_* environment) given to the function."
  value       = local.function_config
}

output "subnet_ids" {
  description = "Subnets of the Functions application (given, or the created private subnet)."
  value       = local.subnet_ids
}

output "vcn_id" {
  description = "OCID of the VCN created for the function, or null when subnet_ids were given."
  value       = local.create_vcn ? oci_core_vcn.this[0].id : null
}

output "alarm_ids" {
  description = "High alarm OCIDs per deployment key: { key = { cpu = ocid, mem = ocid, gpu = ocid, latency = ocid } }, for the signals the deployment enables (an alarm disabled with cpu_alarm/mem_alarm = false is absent). The request alarms are the function's (their threshold follows the instance count)."
  value = {
    for key in keys(var.deployments) : key => {
      for id, alarm in local.high_alarms : alarm.metric => oci_monitoring_alarm.high[id].id if alarm.key == key
    }
  }
}

output "dynamic_group_name" {
  description = "Name of the dynamic group that matches the function."
  value       = oci_identity_dynamic_group.function.name
}

output "policy_name" {
  description = "Name of the IAM policy granting the function its permissions."
  value       = oci_identity_policy.autoscaler.name
}

output "policy_statements" {
  description = "The statements of the IAM policy."
  value       = local.policy_statements
}

output "compartment_allowlist" {
  description = "Compartments the function accepts alarms from (AUTOSCALE_COMPARTMENT_ALLOWLIST)."
  value       = local.compartment_allowlist
}

output "deployment_override_tags" {
  description = "Per-deployment overrides as the freeform tags the function reads from each DEPLOYMENT: { key = { autoscale_<setting> = value } }. Terraform does not manage the deployments, so it does not write them: merge them into each deployment's freeform tags (README, \"Per-deployment overrides\")."
  value       = local.deployment_override_tags
}

output "deployment_ids" {
  description = "Model deployment OCID per deployment key (to apply deployment_override_tags)."
  value       = { for key, d in var.deployments : key => d.deployment_id }
}

output "log_group_id" {
  description = "OCID of the log group holding the function's invoke log, or null when invoke_log.enabled = false."
  value       = var.invoke_log.enabled ? oci_logging_log_group.function[0].id : null
}

output "invoke_log_id" {
  description = "OCID of the Functions application's invoke log (where the decision lines are), or null when invoke_log.enabled = false. Logging search: search \"<compartment>/<log group>/<log>\" | where data.message = '*\"status\"*'."
  value       = var.invoke_log.enabled ? oci_logging_log.invoke[0].id : null
}

output "scale_actions_search" {
  description = "A Logging search query listing every scale action the function applied (newest first), for the Console's advanced search or `oci logging-search search-logs --search-query`; pick the time range there. Null when invoke_log.enabled = false."
  value       = var.invoke_log.enabled ? "search \"${var.compartment_ocid}/${oci_logging_log_group.function[0].id}/${oci_logging_log.invoke[0].id}\" | where data.message = '*\"status\": \"applied\"*' | sort by datetime desc" : null
}

output "reconcile_schedule_id" {
  description = "OCID of the (first) Resource Scheduler schedule that invokes the reconcile, or null when reconcile.enabled = false. With reconcile.schedules > 1 see reconcile_schedule_ids."
  value       = var.reconcile.enabled ? oci_resource_scheduler_schedule.reconcile[0].id : null
}

output "reconcile_schedule_ids" {
  description = "OCIDs of the Resource Scheduler schedules that invoke the reconcile, one per group of compartments (reconcile.schedules), in order of their offset in the interval; empty when reconcile.enabled = false."
  value       = oci_resource_scheduler_schedule.reconcile[*].id
}
