# Shared values. The resources are split by concern: notifications.tf (topic + subscription),
# functions.tf (application + function), iam.tf (dynamic group + policy), alarms.tf (high alarms),
# network.tf (optional VCN).

locals {
  # --- The contract with the function (functions/autoscale/autoscaler/constants.py). ----------
  # tests/terraform checks that these values equal the function's constants.
  namespace    = "oci_datascience_modeldeploy"
  metric_names = { cpu = "CpuUtilization", mem = "MemoryUtilization", gpu = "GPUCoreUtilization", requests = "PredictRequestCount", latency = "PredictLatency" }
  # The high alarms Terraform may create: their queries do not change with capacity. The request alarms'
  # thresholds follow the instance count, so the function owns them (owned_alarms.py), like the low alarms.
  high_titles         = { cpu = "model_deployment_high_cpu", mem = "model_deployment_high_mem", gpu = "model_deployment_high_gpu", latency = "model_deployment_high_latency" }
  owner_tags          = { autoscale_owner = "oci-md-autoscaler" }
  deployment_tag_key  = "autoscale_deployment"
  override_tag_prefix = "autoscale_"

  tags = merge(var.freeform_tags, local.owner_tags)

  # --- Placement. --------------------------------------------------------------------------------
  policy_compartment_id = coalesce(var.policy_compartment_ocid, var.compartment_ocid)
  deployment_compartment_ids = distinct([
    for d in values(var.deployments) : coalesce(d.compartment_id, var.compartment_ocid)
  ])
  # The alarms live in compartment_ocid (the function creates each low alarm beside the high alarm
  # that fired) and watch the deployments' compartments. The function refuses an alarm unless both
  # its compartment and its metric compartment are allowlisted, and a deployment unless its
  # compartment is: so the allowlist is exactly these compartments.
  compartment_allowlist = distinct(concat([var.compartment_ocid], local.deployment_compartment_ids))

  # --- The function's config: exactly the keys of settings.setting_keys() (checked by tests). --
  # Values must be strings. The endpoint keys are for the local emulator only: "" means "the
  # service's regional endpoint" (settings.py treats a blank endpoint as unset).
  function_config = {
    AUTOSCALE_AUTH                        = "resource_principal"
    AUTOSCALE_COMPARTMENT_ALLOWLIST       = join(",", local.compartment_allowlist)
    AUTOSCALE_CPU_LOW_THRESHOLD           = tostring(var.scaling.cpu_low_threshold)
    AUTOSCALE_CPU_MODE                    = var.scaling.cpu_mode
    AUTOSCALE_CPU_TARGET                  = tostring(var.scaling.cpu_target)
    AUTOSCALE_DATA_SCIENCE_ENDPOINT       = ""
    AUTOSCALE_ALARM_OPS_PER_SECOND        = tostring(var.reconcile.alarm_ops_per_second)
    AUTOSCALE_DRY_RUN                     = tostring(var.dry_run)
    AUTOSCALE_FLAP_WINDOW_SECONDS         = tostring(var.scaling.flap_window_seconds)
    AUTOSCALE_GPU_LOW_THRESHOLD           = tostring(var.scaling.gpu_low_threshold)
    AUTOSCALE_GPU_MODE                    = var.scaling.gpu_mode
    AUTOSCALE_GPU_SHAPE_LADDER            = join(",", var.scaling.gpu_shape_ladder)
    AUTOSCALE_GPU_TARGET                  = tostring(var.scaling.gpu_target)
    AUTOSCALE_HIGH_ALARM_PENDING_DURATION = var.high_alarm_pending_duration
    AUTOSCALE_HIGH_ALARM_REPEAT_DURATION  = var.high_alarm_repeat_duration
    AUTOSCALE_HISTORY_DAYS                = tostring(var.reconcile.history_days)
    AUTOSCALE_INSTANCE_CEILING            = tostring(var.instance_ceiling)
    AUTOSCALE_LATENCY_MODE                = var.scaling.latency_mode
    AUTOSCALE_LATENCY_SLO_MS              = tostring(var.scaling.latency_slo_ms)
    AUTOSCALE_LOW_ALARM_PENDING_DURATION  = var.low_alarm_pending_duration
    AUTOSCALE_LOW_ALARM_REPEAT_DURATION   = var.low_alarm_repeat_duration
    AUTOSCALE_MAX_ALARM_AGE_SECONDS       = tostring(var.scaling.max_alarm_age_seconds)
    AUTOSCALE_MAX_INSTANCES               = tostring(var.scaling.max_instances)
    AUTOSCALE_MAX_SCALE_IN_HOLD_SECONDS   = tostring(var.scaling.max_scale_in_hold_seconds)
    AUTOSCALE_MEM_LOW_THRESHOLD           = tostring(var.scaling.mem_low_threshold)
    AUTOSCALE_MEM_MODE                    = var.scaling.mem_mode
    AUTOSCALE_MEM_TARGET                  = tostring(var.scaling.mem_target)
    AUTOSCALE_MIN_INSTANCES               = tostring(var.scaling.min_instances)
    AUTOSCALE_MONITORING_ENDPOINT         = ""
    AUTOSCALE_OCI_TIMEOUT_SECONDS         = tostring(var.oci_timeout_seconds)
    AUTOSCALE_PREDICT                     = tostring(var.scaling.predict)
    AUTOSCALE_PRICES                      = join(",", var.scaling.prices)
    AUTOSCALE_RECONCILE_BUDGET_SECONDS    = tostring(floor(var.function_timeout_in_seconds * 2 / 3))
    AUTOSCALE_RECONCILE_INTERVAL_SECONDS  = tostring(var.reconcile.interval_minutes * 60)
    AUTOSCALE_REQUESTS_TARGET             = tostring(var.scaling.requests_target)
    AUTOSCALE_RETRY_BUDGET_SECONDS        = tostring(var.retry_budget_seconds)
    AUTOSCALE_SATURATED_SCALE_FACTOR      = tostring(var.scaling.saturated_scale_factor)
    AUTOSCALE_SCALE_DOWN_COOLDOWN_SECONDS = tostring(var.scaling.scale_down_cooldown_seconds)
    AUTOSCALE_SCALE_IN_HEADROOM           = tostring(var.scaling.scale_in_headroom)
    AUTOSCALE_SCALE_UP_COOLDOWN_SECONDS   = tostring(var.scaling.scale_up_cooldown_seconds)
    AUTOSCALE_SCHEDULE                    = var.scaling.schedule
    AUTOSCALE_SHAPE_LADDER                = join(",", var.scaling.shape_ladder)
    AUTOSCALE_SIGNALS                     = join(",", var.scaling.signals)
    AUTOSCALE_TIME_ZONE                   = var.scaling.time_zone
    AUTOSCALE_UPDATE_SECONDS              = tostring(var.scaling.update_seconds)
  }

  # --- Per-deployment overrides: the tags the function reads from the DEPLOYMENT. --------------
  list_settings = ["shape_ladder", "prices", "signals", "gpu_shape_ladder"] # written as comma-separated tags
  # Terraform does not own the deployments, so it cannot write these tags; they are an output.
  deployment_override_tags = {
    for key, d in var.deployments : key => merge(
      {
        for name, value in d.overrides : "${local.override_tag_prefix}${name}" => tostring(value)
        if value != null && !contains(local.list_settings, name)
      },
      {
        for name, value in d.overrides : "${local.override_tag_prefix}${name}" => join(",", value)
        if value != null && contains(local.list_settings, name)
      },
    )
  }

  # The policy each deployment ends up with (defaults + overrides), to catch inconsistent
  # combinations at plan time instead of as a ConfigError inside the function.
  effective_policies = {
    for key, d in var.deployments : key => merge(var.scaling, { for name, value in d.overrides : name => value if value != null })
  }
  high_thresholds = {
    for key, d in var.deployments : key => {
      cpu = coalesce(d.cpu_high_threshold, var.cpu_high_threshold)
      mem = coalesce(d.mem_high_threshold, var.mem_high_threshold)
      gpu = coalesce(d.gpu_high_threshold, var.gpu_high_threshold)
      # The latency alarm fires over the deployment's objective itself: latency has no target below an alarm.
      latency = local.effective_policies[key].latency_slo_ms
    }
  }
  # The largest count of each schedule ("Mon-Fri 08:00-18:00=3; Sun=1" -> 3, "" -> 0): every count follows an "=".
  default_schedule_peak = max(concat([0], [for m in regexall("=\\s*([0-9]+)", var.scaling.schedule) : tonumber(m[0])])...)
  schedule_peaks = {
    for key, p in local.effective_policies : key => max(concat([0], [for m in regexall("=\\s*([0-9]+)", p.schedule) : tonumber(m[0])])...)
  }
  # The instance ceiling (AUTOSCALE_INSTANCE_CEILING). The function refuses a config whose max_instances is above it,
  # and a deployment whose min_instances tag or schedule count is above it; a max_instances tag above it, it clamps
  # to it (a deployment's tags are written by whoever may tag it). Here a human can fix the value: all are errors.
  ceiling_note = "above instance_ceiling ${var.instance_ceiling}, the most instances the function gives any deployment: lower the count or raise instance_ceiling"
  ceiling_problems = concat(
    var.scaling.max_instances <= var.instance_ceiling ? [] : ["scaling.max_instances ${var.scaling.max_instances} is ${local.ceiling_note}"],
    local.default_schedule_peak <= var.scaling.max_instances ? [] : ["scaling.schedule asks for ${local.default_schedule_peak} instances, above scaling.max_instances ${var.scaling.max_instances}"],
    flatten([
      for key, d in var.deployments : [
        for check in [
          { count = d.overrides.min_instances, says = "overrides.min_instances ${coalesce(d.overrides.min_instances, 0)} is" },
          { count = d.overrides.max_instances, says = "overrides.max_instances ${coalesce(d.overrides.max_instances, 0)} is" },
          { count = d.overrides.schedule == null ? null : local.schedule_peaks[key], says = "overrides.schedule asks for ${local.schedule_peaks[key]} instances," },
        ] : "${key}: ${check.says} ${local.ceiling_note}" if coalesce(check.count, 0) > var.instance_ceiling
      ]
    ]),
  )
  policy_problems = flatten([local.ceiling_problems, [
    for key, p in local.effective_policies : concat(
      p.min_instances <= p.max_instances ? [] : ["${key}: min_instances ${p.min_instances} > max_instances ${p.max_instances}"],
      local.schedule_peaks[key] <= p.max_instances ? [] : ["${key}: schedule asks for ${local.schedule_peaks[key]} instances, above max_instances ${p.max_instances}"],
      p.cpu_low_threshold < p.cpu_target ? [] : ["${key}: cpu_low_threshold ${p.cpu_low_threshold} is not below cpu_target ${p.cpu_target}"],
      p.mem_low_threshold < p.mem_target ? [] : ["${key}: mem_low_threshold ${p.mem_low_threshold} is not below mem_target ${p.mem_target}"],
      local.high_thresholds[key].cpu > p.cpu_target ? [] : ["${key}: CPU high threshold ${local.high_thresholds[key].cpu} is not above cpu_target ${p.cpu_target}"],
      local.high_thresholds[key].mem > p.mem_target ? [] : ["${key}: memory high threshold ${local.high_thresholds[key].mem} is not above mem_target ${p.mem_target}"],
      p.gpu_low_threshold < p.gpu_target ? [] : ["${key}: gpu_low_threshold ${p.gpu_low_threshold} is not below gpu_target ${p.gpu_target}"],
      local.high_thresholds[key].gpu > p.gpu_target ? [] : ["${key}: GPU high threshold ${local.high_thresholds[key].gpu} is not above gpu_target ${p.gpu_target}"],
    )
  ]])
}
