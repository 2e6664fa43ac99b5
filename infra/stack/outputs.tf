output "topic_id" {
  description = "OCID of the Notifications topic the alarms notify."
  value       = module.autoscaler.topic_id
}

output "application_id" {
  description = "OCID of the Functions application."
  value       = module.autoscaler.application_id
}

output "application_name" {
  description = "Functions application name: fn invoke <application_name> autoscale < alarms/<file>.json."
  value       = module.autoscaler.application_name
}

output "function_id" {
  description = "OCID of the autoscaler function."
  value       = module.autoscaler.function_id
}

output "deployment_ids" {
  description = "Model deployment OCID per key (the key appears in the alarms' display names)."
  value       = module.autoscaler.deployment_ids
}

output "alarm_ids" {
  description = "High alarm OCIDs per deployment key and signal."
  value       = module.autoscaler.alarm_ids
}

output "dynamic_group_name" {
  description = "Dynamic group matching the function."
  value       = module.autoscaler.dynamic_group_name
}

output "policy_name" {
  description = "IAM policy of the function."
  value       = module.autoscaler.policy_name
}

output "invoke_log_id" {
  description = "OCID of the function's invoke log: the decision lines (null when the log is turned off)."
  value       = module.autoscaler.invoke_log_id
}

output "scale_actions_search" {
  description = "Logging search query listing every scale action the function applied."
  value       = module.autoscaler.scale_actions_search
}
