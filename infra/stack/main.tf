# The Resource Manager stack: a root module whose inputs are flat (string, number, bool, lists of
# strings) because a schema document has no map or object type ("Extend Console Pages Using Schema
# Documents", docs.oracle.com/iaas/Content/ResourceManager/Concepts/terraformconfigresourcemanager_topic-schema.htm).
# inputs.tf rebuilds the module's objects and maps from them; schema.yaml lays them out in the Console.
#
# `make stack` zips this folder with a copy of infra/terraform under modules/autoscaler (infra/stack.py),
# which is where `source` points: the path resolves inside the zip, not in the repository.

module "autoscaler" {
  source = "./modules/autoscaler"

  tenancy_ocid            = var.tenancy_ocid
  compartment_ocid        = var.compartment_ocid
  policy_compartment_ocid = local.policy_compartment_ocid
  name_prefix             = var.name_prefix
  freeform_tags           = local.freeform_tags
  defined_tags            = local.defined_tags

  subnet_ids        = local.subnet_ids
  vcn_cidr_block    = var.vcn_cidr_block
  subnet_cidr_block = var.subnet_cidr_block

  function_image              = var.function_image
  function_memory_in_mbs      = local.function_memory_in_mbs
  function_timeout_in_seconds = var.function_timeout_in_seconds
  function_shape              = var.function_shape
  invoke_log                  = local.invoke_log

  scaling              = local.scaling
  instance_ceiling     = var.instance_ceiling
  reconcile            = local.reconcile
  dry_run              = var.dry_run
  retry_budget_seconds = var.retry_budget_seconds
  oci_timeout_seconds  = var.oci_timeout_seconds

  low_alarm_pending_duration  = var.low_alarm_pending_duration
  low_alarm_repeat_duration   = var.low_alarm_repeat_duration
  cpu_high_threshold          = var.cpu_high_threshold
  mem_high_threshold          = var.mem_high_threshold
  gpu_high_threshold          = var.gpu_high_threshold
  high_alarm_pending_duration = var.high_alarm_pending_duration
  high_alarm_repeat_duration  = var.high_alarm_repeat_duration
  alarm_severity              = var.alarm_severity

  dynamic_group_matching = var.dynamic_group_matching

  deployments = local.deployments
}
