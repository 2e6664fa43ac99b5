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
  description = "High alarm OCIDs per deployment key: { key = { cpu = ocid, mem = ocid } } (an alarm disabled with cpu_alarm/mem_alarm = false is absent)."
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
