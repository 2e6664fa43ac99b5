# Inputs of the autoscaler module. Validations catch values that would otherwise only fail in the
# cloud (or, worse, make the function reject its own configuration at its first invocation).

# --- Where things go ---------------------------------------------------------------------------

variable "tenancy_ocid" {
  description = "OCID of the tenancy. The dynamic group is created here (dynamic groups always live in the tenancy)."
  type        = string

  validation {
    condition     = can(regex("^ocid1\\.tenancy\\.", var.tenancy_ocid))
    error_message = "tenancy_ocid must be a tenancy OCID (ocid1.tenancy...)."
  }
}

variable "compartment_ocid" {
  description = "OCID of the compartment for the autoscaler's own resources: topic, subscription, Functions application and function, alarms, policy (by default) and the optional VCN."
  type        = string

  validation {
    condition     = can(regex("^ocid1\\.(compartment|tenancy)\\.", var.compartment_ocid))
    error_message = "compartment_ocid must be a compartment OCID (ocid1.compartment... or the tenancy OCID for the root compartment)."
  }
}

variable "policy_compartment_ocid" {
  description = "OCID of the compartment the IAM policy is attached to. A policy can only name its own compartment and the compartments below it, so when deployments live outside compartment_ocid's subtree set this to a common ancestor. Null means compartment_ocid. The statements stay scoped to the named compartments either way."
  type        = string
  default     = null

  validation {
    condition     = var.policy_compartment_ocid == null ? true : can(regex("^ocid1\\.(compartment|tenancy)\\.", var.policy_compartment_ocid))
    error_message = "policy_compartment_ocid must be null or a compartment/tenancy OCID."
  }
}

variable "name_prefix" {
  description = "Prefix of every display name. The topic and the dynamic group names must be unique in the tenancy, so use one prefix per installation."
  type        = string
  default     = "md-autoscale"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_-]{0,39}$", var.name_prefix))
    error_message = "name_prefix must start with a letter and contain at most 40 letters, digits, '-' or '_'."
  }
}

variable "freeform_tags" {
  description = "Freeform tags added to every resource. The module always adds autoscale_owner = oci-md-autoscaler (it wins over a tag of the same key here)."
  type        = map(string)
  default     = {}
}

variable "defined_tags" {
  description = "Defined tags (\"Namespace.Key\" = value) added to every resource."
  type        = map(string)
  default     = {}
}

# --- Network -----------------------------------------------------------------------------------

variable "subnet_ids" {
  description = "Subnet OCIDs for the Functions application. Empty: the module creates a VCN with one private subnet and a service gateway to all services in the Oracle Services Network."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.subnet_ids : can(regex("^ocid1\\.subnet\\.", id))])
    error_message = "Every subnet_ids entry must be a subnet OCID (ocid1.subnet...)."
  }
}

variable "vcn_cidr_block" {
  description = "CIDR block of the VCN created when subnet_ids is empty."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.vcn_cidr_block, 0))
    error_message = "vcn_cidr_block must be an IPv4 CIDR block such as 10.0.0.0/16."
  }
}

variable "subnet_cidr_block" {
  description = "CIDR block of the private subnet created when subnet_ids is empty; must lie inside vcn_cidr_block."
  type        = string
  default     = "10.0.0.0/24"

  validation {
    condition     = can(cidrhost(var.subnet_cidr_block, 0))
    error_message = "subnet_cidr_block must be an IPv4 CIDR block such as 10.0.0.0/24."
  }
}

# --- The function ------------------------------------------------------------------------------

variable "function_image" {
  description = "Container image of the function in OCI Registry, with a tag or digest, e.g. iad.ocir.io/<namespace>/md-autoscale/autoscale:0.1.0 (see README: fn build + docker push)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+/[^\\s]+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$", var.function_image))
    error_message = "function_image must be REGISTRY/PATH:TAG or REGISTRY/PATH@sha256:DIGEST."
  }
}

variable "function_memory_in_mbs" {
  description = "Memory of the function in MB (OCI Functions allows 128, 256, 512, 1024, 2048 or 3072). The OCI SDK needs about 60 MiB."
  type        = number
  default     = 256

  validation {
    condition     = contains([128, 256, 512, 1024, 2048, 3072], var.function_memory_in_mbs)
    error_message = "function_memory_in_mbs must be one of 128, 256, 512, 1024, 2048, 3072."
  }
}

variable "function_timeout_in_seconds" {
  description = "Timeout of one invocation in seconds (OCI Functions maximum: 300). Must exceed retry_budget_seconds; a check warns below 8 x retry_budget_seconds (the OCI calls one deployment can take)."
  type        = number
  default     = 90

  validation {
    condition     = var.function_timeout_in_seconds >= 5 && var.function_timeout_in_seconds <= 300 && floor(var.function_timeout_in_seconds) == var.function_timeout_in_seconds
    error_message = "function_timeout_in_seconds must be a whole number from 5 to 300."
  }
}

variable "function_shape" {
  description = "Architecture of the Functions application; the image must be built for it."
  type        = string
  default     = "GENERIC_X86"

  validation {
    condition     = contains(["GENERIC_X86", "GENERIC_ARM", "GENERIC_X86_ARM"], var.function_shape)
    error_message = "function_shape must be GENERIC_X86, GENERIC_ARM or GENERIC_X86_ARM."
  }
}

variable "invoke_log" {
  description = "The Logging service log of the Functions application (service functions, category invoke): where the function's JSON decision lines are kept. enabled = false opts out (the lines are then lost); retention_days: 30 to 180 in steps of 30."
  type = object({
    enabled        = optional(bool, true)
    retention_days = optional(number, 30)
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains([30, 60, 90, 120, 150, 180], var.invoke_log.retention_days)
    error_message = "invoke_log.retention_days must be 30, 60, 90, 120, 150 or 180."
  }
}

# --- What the function does (its config: AUTOSCALE_*) ------------------------------------------

variable "scaling" {
  description = "Default scaling policy, written to the function config (AUTOSCALE_<NAME>). Modes: horizontal (instance count) or vertical (shape ladder); cpu_mode may also be cost (more instances or the next rung, whichever is cheaper by prices: SHAPE=OCPU_HOUR_PRICE[:GB_HOUR_PRICE]). Ladder rungs: SHAPE or SHAPE:OCPUS:MEMORY_GB, smallest first. Targets and thresholds are percentages. max_alarm_age_seconds: ignore alarm events older than this (late redeliveries; 0 = off). scale_in_headroom: scale in while one step down would run at <= headroom x target (0 = fixed low thresholds only). saturated_scale_factor: a high alarm at >= 99 % grows the capacity at least this many times (1 = proportional only). flap_window_seconds: a scale-up this soon after a scale-in doubles the wait before every scale-in, up to max_scale_in_hold_seconds; a later scale-up halves it (0 = off). signals: which of cpu, mem, gpu, requests, latency a deployment scales on (the module creates the high alarms of cpu, mem, gpu and latency; the function owns the request alarms). gpu_*: the GPU signal (GPUCoreUtilization %), horizontal or vertical along gpu_shape_ladder. requests_target: requests per instance per minute. latency_slo_ms: the latency objective, the high-latency alarm's threshold; latency_mode: one instance (horizontal) or one rung (vertical) per alarm. Any attribute can be overridden per deployment (deployments[*].overrides)."
  type = object({
    cpu_mode                    = optional(string, "horizontal")
    mem_mode                    = optional(string, "vertical")
    min_instances               = optional(number, 1)
    max_instances               = optional(number, 4)
    shape_ladder                = optional(list(string), ["VM.Standard.E4.Flex:1:16", "VM.Standard.E4.Flex:2:32", "VM.Standard.E4.Flex:4:64", "VM.Standard.E4.Flex:8:128"])
    cpu_target                  = optional(number, 70)
    mem_target                  = optional(number, 60)
    cpu_low_threshold           = optional(number, 20)
    mem_low_threshold           = optional(number, 20)
    scale_up_cooldown_seconds   = optional(number, 720)
    scale_down_cooldown_seconds = optional(number, 600)
    max_alarm_age_seconds       = optional(number, 0)
    scale_in_headroom           = optional(number, 0.9)
    saturated_scale_factor      = optional(number, 4)
    flap_window_seconds         = optional(number, 7200)
    max_scale_in_hold_seconds   = optional(number, 86400)
    prices                      = optional(list(string), ["VM.Standard.E3.Flex=0.025:0.0015", "VM.Standard.E4.Flex=0.025:0.0015", "VM.Standard.E5.Flex=0.03:0.002", "VM.Standard2.1=0.0638", "VM.Standard2.2=0.0638", "VM.Standard2.4=0.0638", "VM.Standard2.8=0.0638", "VM.Standard2.16=0.0638"])
    schedule                    = optional(string, "")
    time_zone                   = optional(string, "UTC")
    predict                     = optional(bool, true)
    update_seconds              = optional(number, 900)
    signals                     = optional(list(string), ["cpu", "mem"])
    gpu_mode                    = optional(string, "horizontal")
    gpu_target                  = optional(number, 60)
    gpu_low_threshold           = optional(number, 20)
    gpu_shape_ladder            = optional(list(string), ["VM.GPU.A10.1", "VM.GPU.A10.2"])
    requests_target             = optional(number, 600)
    latency_slo_ms              = optional(number, 1000)
    latency_mode                = optional(string, "horizontal")
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains(["horizontal", "vertical", "cost"], var.scaling.cpu_mode) && contains(["horizontal", "vertical"], var.scaling.mem_mode)
    error_message = "scaling.cpu_mode must be horizontal, vertical or cost; scaling.mem_mode horizontal or vertical."
  }
  validation {
    condition     = var.scaling.min_instances >= 1 && floor(var.scaling.min_instances) == var.scaling.min_instances && floor(var.scaling.max_instances) == var.scaling.max_instances && var.scaling.min_instances <= var.scaling.max_instances
    error_message = "scaling.min_instances and scaling.max_instances must be whole numbers with 1 <= min_instances <= max_instances."
  }
  validation {
    condition = length(var.scaling.shape_ladder) > 0 && length(distinct(var.scaling.shape_ladder)) == length(var.scaling.shape_ladder) && alltrue([
      for rung in var.scaling.shape_ladder : can(regex("^[A-Za-z0-9][A-Za-z0-9._-]*(:[0-9.]+:[0-9.]+)?$", rung)) && (length(split(":", rung)) == 1 ? true : try(tonumber(split(":", rung)[1]) > 0 && tonumber(split(":", rung)[2]) > 0, false))
    ])
    error_message = "scaling.shape_ladder must be a non-empty list of distinct rungs, each SHAPE or SHAPE:OCPUS:MEMORY_GB with positive numbers (e.g. VM.Standard.E4.Flex:2:32)."
  }
  validation {
    condition = alltrue([
      for value in [var.scaling.cpu_target, var.scaling.mem_target, var.scaling.cpu_low_threshold, var.scaling.mem_low_threshold] : value > 0 && value <= 100
    ]) && var.scaling.cpu_low_threshold < var.scaling.cpu_target && var.scaling.mem_low_threshold < var.scaling.mem_target
    error_message = "scaling targets and low thresholds must be percentages in (0, 100], each low threshold below its target."
  }
  validation {
    condition = alltrue([
      for seconds in [var.scaling.scale_up_cooldown_seconds, var.scaling.scale_down_cooldown_seconds, var.scaling.max_alarm_age_seconds, var.scaling.flap_window_seconds, var.scaling.max_scale_in_hold_seconds] : seconds >= 0 && floor(seconds) == seconds
    ])
    error_message = "scaling cooldowns, max_alarm_age_seconds, flap_window_seconds and max_scale_in_hold_seconds must be whole numbers of seconds >= 0."
  }
  validation {
    condition     = var.scaling.scale_in_headroom >= 0 && var.scaling.scale_in_headroom <= 1
    error_message = "scaling.scale_in_headroom must be in [0, 1] (0: the fixed low thresholds only)."
  }
  validation {
    condition     = var.scaling.saturated_scale_factor >= 1 && var.scaling.saturated_scale_factor <= 16
    error_message = "scaling.saturated_scale_factor must be in [1, 16] (1: proportional scale-out only)."
  }
  validation {
    condition     = length(var.scaling.signals) > 0 && length(distinct(var.scaling.signals)) == length(var.scaling.signals) && alltrue([for s in var.scaling.signals : contains(["cpu", "mem", "gpu", "requests", "latency"], s)])
    error_message = "scaling.signals must be a non-empty list of distinct signals among cpu, mem, gpu, requests, latency."
  }
  validation {
    condition     = contains(["horizontal", "vertical"], var.scaling.gpu_mode) && contains(["horizontal", "vertical"], var.scaling.latency_mode)
    error_message = "scaling.gpu_mode and scaling.latency_mode must be horizontal or vertical."
  }
  validation {
    condition     = var.scaling.gpu_target > 0 && var.scaling.gpu_target <= 100 && var.scaling.gpu_low_threshold > 0 && var.scaling.gpu_low_threshold < var.scaling.gpu_target
    error_message = "scaling.gpu_target must be a percentage in (0, 100] and gpu_low_threshold a percentage below it."
  }
  validation {
    condition = length(var.scaling.gpu_shape_ladder) > 0 && length(distinct(var.scaling.gpu_shape_ladder)) == length(var.scaling.gpu_shape_ladder) && alltrue([
      for rung in var.scaling.gpu_shape_ladder : can(regex("^[A-Za-z0-9][A-Za-z0-9._-]*(:[0-9.]+:[0-9.]+)?$", rung)) && (length(split(":", rung)) == 1 ? true : try(tonumber(split(":", rung)[1]) > 0 && tonumber(split(":", rung)[2]) > 0, false))
    ])
    error_message = "scaling.gpu_shape_ladder must be a non-empty list of distinct rungs, each SHAPE or SHAPE:OCPUS:MEMORY_GB (e.g. VM.GPU.A10.1)."
  }
  validation {
    condition     = var.scaling.requests_target > 0 && var.scaling.requests_target <= 10000000 && var.scaling.latency_slo_ms > 0 && var.scaling.latency_slo_ms <= 3600000
    error_message = "scaling.requests_target (requests per instance per minute) must be in (0, 10000000] and scaling.latency_slo_ms in (0, 3600000]."
  }
}

variable "instance_ceiling" {
  description = "The most instances the function gives any deployment (AUTOSCALE_INSTANCE_CEILING), whatever its tags say: a setting of the function, not of a deployment, so no autoscale_* tag can raise it. The function refuses a deployment whose min_instances or schedule count is above it and clamps a max_instances tag to it; at plan time scaling.max_instances and every deployments[*].overrides count above it is an error. OCI documents no per-deployment instance limit; 10 is the one the local emulator assumes."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.instance_ceiling >= 1 && var.instance_ceiling <= 1000 && floor(var.instance_ceiling) == var.instance_ceiling
    error_message = "instance_ceiling must be a whole number from 1 to 1000 (the largest count a schedule may ask for)."
  }
}

variable "reconcile" {
  description = "The periodic reconcile (docs/reconcile.md): an OCI Resource Scheduler schedule invokes the function every interval_minutes with a fixed body; the function converges every managed deployment's alarms, repairs half-done changes and raises capacity to its schedule and forecast floor. enabled = false creates no schedule (the alarms still act). interval_minutes: 60 (hourly, as the Resource Scheduler docs show) or another divisor or multiple of an hour; shorter than hourly is not documented by OCI. history_days: days of CPU history the forecast reads (at 1h resolution, up to 90). schedules: how many schedules share the managed compartments (compartment_ocid plus the deployments' compartments): 1 (default) invokes one reconcile of every compartment; n > 1 deals the sorted compartments round-robin into n groups, one schedule each, staggered by interval_minutes / n (hourly with 4: minutes 0, 15, 30, 45), each body naming its group; at most the number of compartments, interval_minutes and 50 (docs/reconcile.md sizes it)."
  type = object({
    enabled          = optional(bool, true)
    interval_minutes = optional(number, 60)
    history_days     = optional(number, 15)
    # The tick's share of the tenancy's 10 alarm operations a second (docs/reconcile.md: why 3).
    alarm_ops_per_second = optional(number, 3)
    # Schedules sharing the compartments, staggered within the interval (schedule.tf; docs/reconcile.md sizes it).
    schedules = optional(number, 1)
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains([5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 720, 1440], var.reconcile.interval_minutes)
    error_message = "reconcile.interval_minutes must be 5, 10, 15, 20, 30 (sub-hourly: not documented by OCI), 60, 120, 180, 240, 360, 720 or 1440."
  }
  validation {
    condition     = var.reconcile.history_days >= 1 && var.reconcile.history_days <= 90 && floor(var.reconcile.history_days) == var.reconcile.history_days
    error_message = "reconcile.history_days must be a whole number of days from 1 to 90 (SummarizeMetricsData's range at 1h resolution)."
  }
  validation {
    condition     = var.reconcile.alarm_ops_per_second > 0 && var.reconcile.alarm_ops_per_second <= 10
    error_message = "reconcile.alarm_ops_per_second must be above 0 and at most 10, the tenancy's whole alarm-operation budget (OCI Monitoring API); keep it well below 10 so alarm invocations and other tools keep theirs."
  }
  validation {
    # 50: the statements of one OCI policy (one per schedule in the reconcile policy, schedule.tf). interval_minutes:
    # one distinct minute per schedule within the interval. The number of compartments is checked at plan time.
    condition     = floor(var.reconcile.schedules) == var.reconcile.schedules && var.reconcile.schedules >= 1 && var.reconcile.schedules <= min(50, var.reconcile.interval_minutes)
    error_message = "reconcile.schedules must be a whole number from 1 to 50 (the statements of one OCI policy, one per schedule) and at most interval_minutes (each schedule fires at its own minute of the interval)."
  }
}

variable "dry_run" {
  description = "When true the function decides and logs but does not update deployments or alarms (AUTOSCALE_DRY_RUN)."
  type        = bool
  default     = false
  nullable    = false
}

variable "retry_budget_seconds" {
  description = "Time the OCI SDK may spend retrying one OCI call (AUTOSCALE_RETRY_BUDGET_SECONDS). An invocation makes up to 8 calls for one deployment: keep 8 x budget under function_timeout_in_seconds."
  type        = number
  default     = 10

  validation {
    condition     = var.retry_budget_seconds > 0 && var.retry_budget_seconds <= 300
    error_message = "retry_budget_seconds must be in (0, 300]."
  }
}

variable "oci_timeout_seconds" {
  description = "Read timeout in seconds of one OCI HTTP call made by the function (AUTOSCALE_OCI_TIMEOUT_SECONDS); a timed-out call is retried within retry_budget_seconds."
  type        = number
  default     = 10

  validation {
    condition     = var.oci_timeout_seconds > 0 && var.oci_timeout_seconds <= 60
    error_message = "oci_timeout_seconds must be in (0, 60]."
  }
}

variable "low_alarm_pending_duration" {
  description = "Pending duration (ISO-8601, PT1M to PT1H) of the low alarms the function creates (AUTOSCALE_LOW_ALARM_PENDING_DURATION)."
  type        = string
  default     = "PT10M"

  validation {
    # ISO-8601 days/hours/minutes/seconds, in seconds: PT1M..PT1H (CreateAlarmDetails, oci SDK 2.189.0).
    condition     = !endswith(var.low_alarm_pending_duration, "T") && try([for seconds in [sum([for i, part in regex("^P(?:([0-9]+)D)?(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+)S)?)?$", var.low_alarm_pending_duration) : tonumber(coalesce(part, "0")) * [86400, 3600, 60, 1][i]])] : seconds >= 60 && seconds <= 3600][0], false)
    error_message = "low_alarm_pending_duration must be an ISO-8601 duration from PT1M to PT1H (the range OCI accepts), e.g. PT5M."
  }
}

variable "low_alarm_repeat_duration" {
  description = "Repeat-notification duration (ISO-8601, PT1M to P30D) of the low alarms the function creates (AUTOSCALE_LOW_ALARM_REPEAT_DURATION)."
  type        = string
  default     = "PT10M"

  validation {
    # ISO-8601 days/hours/minutes/seconds, in seconds: PT1M..P30D (CreateAlarmDetails, oci SDK 2.189.0).
    condition     = !endswith(var.low_alarm_repeat_duration, "T") && try([for seconds in [sum([for i, part in regex("^P(?:([0-9]+)D)?(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+)S)?)?$", var.low_alarm_repeat_duration) : tonumber(coalesce(part, "0")) * [86400, 3600, 60, 1][i]])] : seconds >= 60 && seconds <= 2592000][0], false)
    error_message = "low_alarm_repeat_duration must be an ISO-8601 duration from PT1M to P30D (the range OCI accepts), e.g. PT5M."
  }
}

# --- The high alarms Terraform creates ---------------------------------------------------------

variable "cpu_high_threshold" {
  description = "Default CPU utilisation (%) above which a deployment's high-CPU alarm fires; must exceed the CPU target."
  type        = number
  default     = 75

  validation {
    condition     = var.cpu_high_threshold > 0 && var.cpu_high_threshold <= 100
    error_message = "cpu_high_threshold must be a percentage in (0, 100]."
  }
}

variable "mem_high_threshold" {
  description = "Default memory utilisation (%) above which a deployment's high-memory alarm fires; must exceed the memory target."
  type        = number
  default     = 80

  validation {
    condition     = var.mem_high_threshold > 0 && var.mem_high_threshold <= 100
    error_message = "mem_high_threshold must be a percentage in (0, 100]."
  }
}

variable "gpu_high_threshold" {
  description = "Default GPU utilisation (%) above which a deployment's high-GPU alarm fires (deployments whose signals include gpu); must exceed the GPU target."
  type        = number
  default     = 75

  validation {
    condition     = var.gpu_high_threshold > 0 && var.gpu_high_threshold <= 100
    error_message = "gpu_high_threshold must be a percentage in (0, 100]."
  }
}

variable "high_alarm_pending_duration" {
  description = "How long (ISO-8601, PT1M to PT1H) the high condition must hold before the alarm fires. PT1M: a deployment update already takes ~10 minutes, so waiting longer only adds overload minutes (bench/results.md). Also the pending duration of the high request alarms the function creates (AUTOSCALE_HIGH_ALARM_PENDING_DURATION)."
  type        = string
  default     = "PT1M"

  validation {
    # ISO-8601 days/hours/minutes/seconds, in seconds: PT1M..PT1H (CreateAlarmDetails, oci SDK 2.189.0).
    condition     = !endswith(var.high_alarm_pending_duration, "T") && try([for seconds in [sum([for i, part in regex("^P(?:([0-9]+)D)?(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+)S)?)?$", var.high_alarm_pending_duration) : tonumber(coalesce(part, "0")) * [86400, 3600, 60, 1][i]])] : seconds >= 60 && seconds <= 3600][0], false)
    error_message = "high_alarm_pending_duration must be an ISO-8601 duration from PT1M to PT1H (the range OCI accepts), e.g. PT5M."
  }
}

variable "high_alarm_repeat_duration" {
  description = "While a high alarm keeps firing it notifies again after this long (ISO-8601, PT1M to P30D), so scaling continues step by step; the function's scale-up cooldown decides whether a REPEAT acts. Also used by the high request alarms the function creates (AUTOSCALE_HIGH_ALARM_REPEAT_DURATION)."
  type        = string
  default     = "PT5M"

  validation {
    # ISO-8601 days/hours/minutes/seconds, in seconds: PT1M..P30D (CreateAlarmDetails, oci SDK 2.189.0).
    condition     = !endswith(var.high_alarm_repeat_duration, "T") && try([for seconds in [sum([for i, part in regex("^P(?:([0-9]+)D)?(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+)S)?)?$", var.high_alarm_repeat_duration) : tonumber(coalesce(part, "0")) * [86400, 3600, 60, 1][i]])] : seconds >= 60 && seconds <= 2592000][0], false)
    error_message = "high_alarm_repeat_duration must be an ISO-8601 duration from PT1M to P30D (the range OCI accepts), e.g. PT5M."
  }
}

variable "alarm_severity" {
  description = "Severity of the high alarms."
  type        = string
  default     = "CRITICAL"

  validation {
    condition     = contains(["CRITICAL", "ERROR", "WARNING", "INFO"], var.alarm_severity)
    error_message = "alarm_severity must be CRITICAL, ERROR, WARNING or INFO."
  }
}

# --- IAM ---------------------------------------------------------------------------------------

variable "dynamic_group_matching" {
  description = "How the dynamic group matches the function: function_id (only this function; default) or compartment (every function in compartment_ocid)."
  type        = string
  default     = "function_id"

  validation {
    condition     = contains(["function_id", "compartment"], var.dynamic_group_matching)
    error_message = "dynamic_group_matching must be function_id or compartment."
  }
}

# --- What to scale -----------------------------------------------------------------------------

variable "deployments" {
  description = <<-EOT
    Model deployments to autoscale, keyed by a short name used in display names. Per deployment:
    deployment_id (required); compartment_id (the deployment's compartment, where its metrics are;
    default compartment_ocid); cpu_alarm / mem_alarm (create that high alarm when its signal is on;
    default true); cpu_high_threshold / mem_high_threshold / gpu_high_threshold (override the
    defaults); overrides (any attribute of var.scaling for this deployment only; emitted as the
    output deployment_override_tags, which you apply to the deployment's freeform tags: see README).
    overrides.signals are the deployment's signal switches: the module creates the high alarm of
    each of cpu, mem, gpu and latency it lists (latency over overrides.latency_slo_ms).
  EOT
  type = map(object({
    deployment_id      = string
    compartment_id     = optional(string)
    cpu_alarm          = optional(bool, true)
    mem_alarm          = optional(bool, true)
    cpu_high_threshold = optional(number)
    mem_high_threshold = optional(number)
    gpu_high_threshold = optional(number)
    overrides = optional(object({
      cpu_mode                    = optional(string)
      mem_mode                    = optional(string)
      min_instances               = optional(number)
      max_instances               = optional(number)
      shape_ladder                = optional(list(string))
      cpu_target                  = optional(number)
      mem_target                  = optional(number)
      cpu_low_threshold           = optional(number)
      mem_low_threshold           = optional(number)
      scale_up_cooldown_seconds   = optional(number)
      scale_down_cooldown_seconds = optional(number)
      max_alarm_age_seconds       = optional(number)
      scale_in_headroom           = optional(number)
      saturated_scale_factor      = optional(number)
      flap_window_seconds         = optional(number)
      max_scale_in_hold_seconds   = optional(number)
      prices                      = optional(list(string))
      schedule                    = optional(string)
      time_zone                   = optional(string)
      predict                     = optional(bool)
      update_seconds              = optional(number)
      signals                     = optional(list(string))
      gpu_mode                    = optional(string)
      gpu_target                  = optional(number)
      gpu_low_threshold           = optional(number)
      gpu_shape_ladder            = optional(list(string))
      requests_target             = optional(number)
      latency_slo_ms              = optional(number)
      latency_mode                = optional(string)
    }), {})
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for key in keys(var.deployments) : can(regex("^[a-z0-9][a-z0-9_-]{0,39}$", key))])
    error_message = "deployments keys must be 1-40 lowercase letters, digits, '-' or '_' (they appear in display names)."
  }
  validation {
    condition     = alltrue([for d in values(var.deployments) : can(regex("^ocid1\\.datasciencemodeldeployment\\.", d.deployment_id))])
    error_message = "Every deployment_id must be a model deployment OCID (ocid1.datasciencemodeldeployment...)."
  }
  validation {
    condition     = length(distinct([for d in values(var.deployments) : d.deployment_id])) == length(var.deployments)
    error_message = "Each model deployment may appear only once in deployments."
  }
  validation {
    condition     = alltrue([for d in values(var.deployments) : d.compartment_id == null ? true : can(regex("^ocid1\\.(compartment|tenancy)\\.", d.compartment_id))])
    error_message = "deployments[*].compartment_id must be null or a compartment OCID."
  }
  validation {
    condition = alltrue(flatten([
      for d in values(var.deployments) : [
        for value in [d.cpu_high_threshold, d.mem_high_threshold, d.gpu_high_threshold] : value == null ? true : (value > 0 && value <= 100)
      ]
    ]))
    error_message = "deployments[*].cpu_high_threshold, mem_high_threshold and gpu_high_threshold must be percentages in (0, 100]."
  }
  validation {
    condition = alltrue([
      for d in values(var.deployments) : (d.overrides.cpu_mode == null ? true : contains(["horizontal", "vertical", "cost"], d.overrides.cpu_mode)) && (d.overrides.mem_mode == null ? true : contains(["horizontal", "vertical"], d.overrides.mem_mode))
    ])
    error_message = "deployments[*].overrides.cpu_mode must be horizontal, vertical or cost; mem_mode horizontal or vertical."
  }
  validation {
    condition = alltrue(flatten([
      for d in values(var.deployments) : [
        for instances in [d.overrides.min_instances, d.overrides.max_instances] : instances == null ? true : (instances >= 1 && floor(instances) == instances)
      ]
    ]))
    error_message = "deployments[*].overrides.min_instances and max_instances must be whole numbers >= 1."
  }
  validation {
    condition = alltrue([
      for d in values(var.deployments) : d.overrides.shape_ladder == null ? true : (
        length(d.overrides.shape_ladder) > 0 && length(distinct(d.overrides.shape_ladder)) == length(d.overrides.shape_ladder) && length(join(",", d.overrides.shape_ladder)) <= 256 && alltrue([
          for rung in d.overrides.shape_ladder : can(regex("^[A-Za-z0-9][A-Za-z0-9._-]*(:[0-9.]+:[0-9.]+)?$", rung)) && (length(split(":", rung)) == 1 ? true : try(tonumber(split(":", rung)[1]) > 0 && tonumber(split(":", rung)[2]) > 0, false))
        ])
      )
    ])
    error_message = "deployments[*].overrides.shape_ladder must be a non-empty list of distinct SHAPE or SHAPE:OCPUS:MEMORY_GB rungs, at most 256 characters joined (a freeform tag value limit)."
  }
  validation {
    condition = alltrue(flatten([
      for d in values(var.deployments) : [
        for value in [d.overrides.cpu_target, d.overrides.mem_target, d.overrides.cpu_low_threshold, d.overrides.mem_low_threshold, d.overrides.gpu_target, d.overrides.gpu_low_threshold] : value == null ? true : (value > 0 && value <= 100)
      ]
    ]))
    error_message = "deployments[*].overrides targets and low thresholds must be percentages in (0, 100]."
  }
  validation {
    condition = alltrue(flatten([
      for d in values(var.deployments) : [
        for seconds in [d.overrides.scale_up_cooldown_seconds, d.overrides.scale_down_cooldown_seconds, d.overrides.max_alarm_age_seconds, d.overrides.flap_window_seconds, d.overrides.max_scale_in_hold_seconds] : seconds == null ? true : (seconds >= 0 && floor(seconds) == seconds)
      ]
    ]))
    error_message = "deployments[*].overrides cooldowns, max_alarm_age_seconds, flap_window_seconds and max_scale_in_hold_seconds must be whole numbers of seconds >= 0."
  }
  validation {
    condition = alltrue([
      for d in values(var.deployments) : (d.overrides.scale_in_headroom == null ? true : (d.overrides.scale_in_headroom >= 0 && d.overrides.scale_in_headroom <= 1)) && (d.overrides.saturated_scale_factor == null ? true : (d.overrides.saturated_scale_factor >= 1 && d.overrides.saturated_scale_factor <= 16))
    ])
    error_message = "deployments[*].overrides.scale_in_headroom must be in [0, 1] and saturated_scale_factor in [1, 16]."
  }
  validation {
    condition = alltrue([
      for d in values(var.deployments) : d.overrides.signals == null ? true : (
        length(d.overrides.signals) > 0 && length(distinct(d.overrides.signals)) == length(d.overrides.signals) && alltrue([for s in d.overrides.signals : contains(["cpu", "mem", "gpu", "requests", "latency"], s)])
      )
    ])
    error_message = "deployments[*].overrides.signals must be a non-empty list of distinct signals among cpu, mem, gpu, requests, latency."
  }
  validation {
    condition = alltrue([
      for d in values(var.deployments) : (d.overrides.gpu_mode == null ? true : contains(["horizontal", "vertical"], d.overrides.gpu_mode)) && (d.overrides.latency_mode == null ? true : contains(["horizontal", "vertical"], d.overrides.latency_mode))
    ])
    error_message = "deployments[*].overrides.gpu_mode and latency_mode must be horizontal or vertical."
  }
  validation {
    condition = alltrue([
      for d in values(var.deployments) : d.overrides.gpu_shape_ladder == null ? true : (
        length(d.overrides.gpu_shape_ladder) > 0 && length(distinct(d.overrides.gpu_shape_ladder)) == length(d.overrides.gpu_shape_ladder) && length(join(",", d.overrides.gpu_shape_ladder)) <= 256 && alltrue([
          for rung in d.overrides.gpu_shape_ladder : can(regex("^[A-Za-z0-9][A-Za-z0-9._-]*(:[0-9.]+:[0-9.]+)?$", rung))
        ])
      )
    ])
    error_message = "deployments[*].overrides.gpu_shape_ladder must be a non-empty list of distinct SHAPE or SHAPE:OCPUS:MEMORY_GB rungs, at most 256 characters joined."
  }
  validation {
    condition = alltrue([
      for d in values(var.deployments) : (d.overrides.requests_target == null ? true : (d.overrides.requests_target > 0 && d.overrides.requests_target <= 10000000)) && (d.overrides.latency_slo_ms == null ? true : (d.overrides.latency_slo_ms > 0 && d.overrides.latency_slo_ms <= 3600000))
    ])
    error_message = "deployments[*].overrides.requests_target must be in (0, 10000000] and latency_slo_ms in (0, 3600000]."
  }
}
