# The module's inputs rebuilt from the stack's flat variables: its objects (scaling, invoke_log,
# reconcile), maps (tags, deployments) and the values the Console can only offer as strings (enums of
# numbers, empty for null). main.tf passes each to the module; tests/terraform/test_stack.py evaluates
# them with the defaults and checks they equal the module's own defaults.

locals {
  # Empty in the Console means "not set": the module's null (its default) for the optional compartments.
  policy_compartment_ocid = var.policy_compartment_ocid == "" ? null : var.policy_compartment_ocid
  deployment_compartment  = var.deployment_compartment_ocid == "" ? null : var.deployment_compartment_ocid

  # "team=ml, env=prod" -> { team = "ml", env = "prod" } (the variables' validations fix the form).
  freeform_tags = { for pair in regexall("([^=,]+)=([^,]*)", var.freeform_tags) : trimspace(pair[0]) => trimspace(pair[1]) }
  defined_tags  = { for pair in regexall("([^=,]+)=([^,]*)", var.defined_tags) : trimspace(pair[0]) => trimspace(pair[1]) }

  # Off: no subnet, so the module creates its private VCN. On: the chosen subnet (the module validates it).
  subnet_ids = var.use_existing_subnet ? [var.existing_subnet_ocid] : []

  function_memory_in_mbs = tonumber(var.function_memory_in_mbs)

  invoke_log = {
    enabled        = var.invoke_log_enabled
    retention_days = tonumber(var.invoke_log_retention_days)
  }

  reconcile = {
    enabled              = var.reconcile_enabled
    interval_minutes     = tonumber(var.reconcile_interval_minutes)
    history_days         = var.reconcile_history_days
    alarm_ops_per_second = var.reconcile_alarm_ops_per_second
    schedules            = var.reconcile_schedules
  }

  # One check box per signal, in the module's order.
  signal_switches = {
    cpu      = var.signal_cpu
    mem      = var.signal_mem
    gpu      = var.signal_gpu
    requests = var.signal_requests
    latency  = var.signal_latency
  }

  scaling = {
    cpu_mode                    = var.cpu_mode
    mem_mode                    = var.mem_mode
    min_instances               = var.min_instances
    max_instances               = var.max_instances
    shape_ladder                = var.shape_ladder
    cpu_target                  = var.cpu_target
    mem_target                  = var.mem_target
    cpu_low_threshold           = var.cpu_low_threshold
    mem_low_threshold           = var.mem_low_threshold
    scale_up_cooldown_seconds   = var.scale_up_cooldown_seconds
    scale_down_cooldown_seconds = var.scale_down_cooldown_seconds
    max_alarm_age_seconds       = var.max_alarm_age_seconds
    scale_in_headroom           = var.scale_in_headroom
    saturated_scale_factor      = var.saturated_scale_factor
    flap_window_seconds         = var.flap_window_seconds
    max_scale_in_hold_seconds   = var.max_scale_in_hold_seconds
    prices                      = var.prices
    schedule                    = var.schedule
    time_zone                   = var.time_zone
    predict                     = var.predict
    update_seconds              = var.update_seconds
    signals                     = [for signal in ["cpu", "mem", "gpu", "requests", "latency"] : signal if local.signal_switches[signal]]
    gpu_mode                    = var.gpu_mode
    gpu_target                  = var.gpu_target
    gpu_low_threshold           = var.gpu_low_threshold
    gpu_shape_ladder            = var.gpu_shape_ladder
    requests_target             = var.requests_target
    latency_slo_ms              = var.latency_slo_ms
    latency_mode                = var.latency_mode
  }

  # The module's map of deployments, keyed by the tail of each OCID: stable when the list is reordered or
  # shortened (a key from the position would rename, and so replace, the alarms of every later entry).
  deployments = {
    for id in var.deployment_ids : lower(substr(id, length(id) - 12, 12)) => {
      deployment_id  = id
      compartment_id = local.deployment_compartment
      cpu_alarm      = var.cpu_alarm
      mem_alarm      = var.mem_alarm
    }
  }
}
