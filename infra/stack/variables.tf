# Inputs of the Resource Manager stack: flat values only (string, number, bool, lists of strings), each
# shown in the Console by schema.yaml. Defaults are the module's (infra/terraform/variables.tf); the module
# still validates every value it receives. Validations here cover what the flattening adds (enums as
# strings, tag lists, the deployment list), so a wrong value fails with this stack's variable name.
# tests/terraform/test_stack.py checks the defaults, enums and types against the module and schema.yaml.

# --- Placement (Resource Manager fills region, tenancy_ocid and compartment_ocid) ------------------------

variable "region" {
  description = "OCI region identifier, e.g. us-ashburn-1: where the function, alarms and topic are created."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+-[0-9]+$", var.region))
    error_message = "region must be a region identifier such as us-ashburn-1."
  }
}

variable "tenancy_ocid" {
  description = "OCID of the tenancy (the dynamic group is created there). Filled in by Resource Manager."
  type        = string
}

variable "compartment_ocid" {
  description = "Compartment for the autoscaler's own resources: topic, subscription, Functions application and function, alarms, policy and the optional VCN."
  type        = string
}

variable "policy_compartment_ocid" {
  description = "Compartment the IAM policy is attached to; empty means compartment_ocid. Set a common ancestor when the deployments live outside compartment_ocid's subtree."
  type        = string
  default     = ""
}

variable "name_prefix" {
  description = "Prefix of every display name. The topic and dynamic group names must be unique in the tenancy: one prefix per installation."
  type        = string
  default     = "md-autoscale"
}

variable "freeform_tags" {
  description = "Freeform tags added to every resource, as comma-separated key=value pairs (e.g. team=ml,env=prod); empty for none."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^(\\s*[^=,\\s][^=,]*=[^,]*)(,\\s*[^=,\\s][^=,]*=[^,]*)*$", var.freeform_tags)) || var.freeform_tags == ""
    error_message = "freeform_tags must be comma-separated key=value pairs, e.g. team=ml,env=prod."
  }
}

variable "defined_tags" {
  description = "Defined tags added to every resource, as comma-separated Namespace.Key=value pairs; empty for none."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^(\\s*[^=,.\\s][^=,.]*\\.[^=,]+=[^,]*)(,\\s*[^=,.\\s][^=,.]*\\.[^=,]+=[^,]*)*$", var.defined_tags)) || var.defined_tags == ""
    error_message = "defined_tags must be comma-separated Namespace.Key=value pairs, e.g. Operations.CostCenter=42."
  }
}

# --- Network ---------------------------------------------------------------------------------------

variable "use_existing_subnet" {
  description = "Run the Functions application in an existing subnet (existing_subnet_ocid). Off: the module creates a VCN with one private subnet and a service gateway."
  type        = bool
  default     = false
}

variable "network_compartment_ocid" {
  description = "Compartment of the existing VCN and subnet. Only filters the Console's VCN and subnet lists."
  type        = string
  default     = ""
}

variable "existing_vcn_ocid" {
  description = "VCN of the existing subnet. Only filters the Console's subnet list."
  type        = string
  default     = ""
}

variable "existing_subnet_ocid" {
  description = "Existing subnet for the Functions application (a private subnet that reaches the Oracle Services Network). Used when use_existing_subnet is on."
  type        = string
  default     = ""
}

variable "vcn_cidr_block" {
  description = "CIDR block of the VCN created when use_existing_subnet is off."
  type        = string
  default     = "10.0.0.0/16"
}

variable "subnet_cidr_block" {
  description = "CIDR block of the private subnet created when use_existing_subnet is off; inside vcn_cidr_block."
  type        = string
  default     = "10.0.0.0/24"
}

# --- The function ----------------------------------------------------------------------------------

variable "function_image" {
  description = "The function's image in OCI Registry, built and pushed beforehand (docs/deploy.md), e.g. iad.ocir.io/<namespace>/md-autoscale/autoscale:0.1.0."
  type        = string
}

variable "function_memory_in_mbs" {
  description = "Memory of the function in MB (a string: the Console's list offers OCI Functions' sizes)."
  type        = string
  default     = "256"

  validation {
    condition     = contains(["128", "256", "512", "1024", "2048", "3072"], var.function_memory_in_mbs)
    error_message = "function_memory_in_mbs must be one of 128, 256, 512, 1024, 2048, 3072."
  }
}

variable "function_timeout_in_seconds" {
  description = "Timeout of one invocation in seconds (5 to 300); must exceed retry_budget_seconds."
  type        = number
  default     = 90
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

variable "dry_run" {
  description = "Decide and log, but change no deployment and no alarm: a safe first run."
  type        = bool
  default     = false
}

variable "instance_ceiling" {
  description = "The most instances the function gives any deployment, whatever its tags say (1 to 1000)."
  type        = number
  default     = 10
}

variable "retry_budget_seconds" {
  description = "Time the OCI SDK may spend retrying one OCI call, in seconds; keep 8 x this under the timeout."
  type        = number
  default     = 10
}

variable "oci_timeout_seconds" {
  description = "Read timeout of one OCI HTTP call made by the function, in seconds (up to 60)."
  type        = number
  default     = 10
}

variable "invoke_log_enabled" {
  description = "Create the application's invoke log, where the function's decision lines are kept (off: they are lost)."
  type        = bool
  default     = true
}

variable "invoke_log_retention_days" {
  description = "Retention of the invoke log in days (a string: the Console's list offers 30 to 180 in steps of 30)."
  type        = string
  default     = "30"

  validation {
    condition     = contains(["30", "60", "90", "120", "150", "180"], var.invoke_log_retention_days)
    error_message = "invoke_log_retention_days must be 30, 60, 90, 120, 150 or 180."
  }
}

variable "dynamic_group_matching" {
  description = "How the dynamic group matches the function: function_id (only this function) or compartment (every function in compartment_ocid)."
  type        = string
  default     = "function_id"

  validation {
    condition     = contains(["function_id", "compartment"], var.dynamic_group_matching)
    error_message = "dynamic_group_matching must be function_id or compartment."
  }
}

# --- What to scale ---------------------------------------------------------------------------------

variable "deployment_ids" {
  description = "OCIDs of the model deployments to autoscale. Each gets high alarms for its signals; its key in display names is the last 12 characters of its OCID."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.deployment_ids : can(regex("^ocid1\\.datasciencemodeldeployment\\.[a-z0-9-]+\\.[a-z0-9-]*\\.[a-z0-9]{12,}$", id))])
    error_message = "Every deployment_ids entry must be a model deployment OCID (ocid1.datasciencemodeldeployment...)."
  }
  validation {
    condition     = length(distinct(var.deployment_ids)) == length(var.deployment_ids)
    error_message = "Each model deployment may appear only once in deployment_ids."
  }
}

variable "deployment_compartment_ocid" {
  description = "Compartment of the deployments (where their metrics are); empty means compartment_ocid. Deployments in several compartments: use the Terraform module directly."
  type        = string
  default     = ""
}

variable "cpu_alarm" {
  description = "Create each deployment's high-CPU alarm when cpu is among its signals."
  type        = bool
  default     = true
}

variable "mem_alarm" {
  description = "Create each deployment's high-memory alarm when mem is among its signals."
  type        = bool
  default     = true
}

# --- Scaling policy (the module's `scaling` object, one value each) ---------------------------------

variable "signal_cpu" {
  description = "Scale on CPU utilization."
  type        = bool
  default     = true
}

variable "signal_mem" {
  description = "Scale on memory utilization."
  type        = bool
  default     = true
}

variable "signal_gpu" {
  description = "Scale on GPU utilization (GPUCoreUtilization)."
  type        = bool
  default     = false
}

variable "signal_requests" {
  description = "Scale on requests per instance (PredictRequestCount); needs requests_target."
  type        = bool
  default     = false
}

variable "signal_latency" {
  description = "Scale out on latency above latency_slo_ms (never sizes nor scales in: pair it with another signal)."
  type        = bool
  default     = false
}

variable "cpu_mode" {
  description = "How CPU pressure scales: horizontal (instance count), vertical (shape ladder) or cost (whichever is cheaper by prices)."
  type        = string
  default     = "horizontal"

  validation {
    condition     = contains(["horizontal", "vertical", "cost"], var.cpu_mode)
    error_message = "cpu_mode must be horizontal, vertical or cost."
  }
}

variable "mem_mode" {
  description = "How memory pressure scales: horizontal (instance count) or vertical (shape ladder)."
  type        = string
  default     = "vertical"

  validation {
    condition     = contains(["horizontal", "vertical"], var.mem_mode)
    error_message = "mem_mode must be horizontal or vertical."
  }
}

variable "min_instances" {
  description = "Fewest instances a deployment is scaled to."
  type        = number
  default     = 1
}

variable "max_instances" {
  description = "Most instances a deployment is scaled to (at most instance_ceiling)."
  type        = number
  default     = 4
}

variable "shape_ladder" {
  description = "Vertical scaling rungs, smallest first: SHAPE or SHAPE:OCPUS:MEMORY_GB."
  type        = list(string)
  default     = ["VM.Standard.E4.Flex:1:16", "VM.Standard.E4.Flex:2:32", "VM.Standard.E4.Flex:4:64", "VM.Standard.E4.Flex:8:128"]
}

variable "cpu_target" {
  description = "CPU utilization (%) the function sizes for."
  type        = number
  default     = 70
}

variable "mem_target" {
  description = "Memory utilization (%) the function sizes for."
  type        = number
  default     = 60
}

variable "cpu_low_threshold" {
  description = "CPU utilization (%) below which the low alarm fires (scale in); below cpu_target."
  type        = number
  default     = 20
}

variable "mem_low_threshold" {
  description = "Memory utilization (%) below which the low alarm fires (scale in); below mem_target."
  type        = number
  default     = 20
}

variable "scale_up_cooldown_seconds" {
  description = "Seconds after a scale-up before the next scale-up."
  type        = number
  default     = 720
}

variable "scale_down_cooldown_seconds" {
  description = "Seconds after any scale before a scale-in."
  type        = number
  default     = 600
}

variable "max_alarm_age_seconds" {
  description = "Ignore alarm events older than this many seconds (late redeliveries); 0 turns it off."
  type        = number
  default     = 0
}

variable "scale_in_headroom" {
  description = "Scale in while one step down would run at or below headroom x target (0 to 1; 0: the low thresholds only)."
  type        = number
  default     = 0.9
}

variable "saturated_scale_factor" {
  description = "A high alarm at 99 % or more grows capacity at least this many times (1 to 16; 1: proportional only)."
  type        = number
  default     = 4
}

variable "flap_window_seconds" {
  description = "A scale-up this soon after a scale-in doubles the wait before every scale-in (0 turns it off)."
  type        = number
  default     = 7200
}

variable "max_scale_in_hold_seconds" {
  description = "The longest that doubled wait before a scale-in can grow, in seconds."
  type        = number
  default     = 86400
}

variable "prices" {
  description = "Prices for cpu_mode = cost: SHAPE=OCPU_HOUR_PRICE[:GB_HOUR_PRICE]."
  type        = list(string)
  default     = ["VM.Standard.E3.Flex=0.025:0.0015", "VM.Standard.E4.Flex=0.025:0.0015", "VM.Standard.E5.Flex=0.03:0.002", "VM.Standard2.1=0.0638", "VM.Standard2.2=0.0638", "VM.Standard2.4=0.0638", "VM.Standard2.8=0.0638", "VM.Standard2.16=0.0638"]
}

variable "schedule" {
  description = "Capacity floors by time, e.g. \"Mon-Fri 08:00-18:00=3; Sun=1\"; empty for none."
  type        = string
  default     = ""
}

variable "time_zone" {
  description = "Time zone of the schedule (IANA name, e.g. Europe/Paris)."
  type        = string
  default     = "UTC"
}

variable "predict" {
  description = "Raise capacity ahead of load the CPU history predicts (read by the reconcile)."
  type        = bool
  default     = true
}

variable "update_seconds" {
  description = "How long a deployment update is expected to take, in seconds (for scaling ahead)."
  type        = number
  default     = 900
}

variable "gpu_mode" {
  description = "How GPU pressure scales: horizontal (instance count) or vertical (gpu_shape_ladder)."
  type        = string
  default     = "horizontal"

  validation {
    condition     = contains(["horizontal", "vertical"], var.gpu_mode)
    error_message = "gpu_mode must be horizontal or vertical."
  }
}

variable "gpu_target" {
  description = "GPU utilization (%) the function sizes for."
  type        = number
  default     = 60
}

variable "gpu_low_threshold" {
  description = "GPU utilization (%) below which the low alarm fires; below gpu_target."
  type        = number
  default     = 20
}

variable "gpu_shape_ladder" {
  description = "Vertical GPU rungs, smallest first: SHAPE or SHAPE:OCPUS:MEMORY_GB."
  type        = list(string)
  default     = ["VM.GPU.A10.1", "VM.GPU.A10.2"]
}

variable "requests_target" {
  description = "Requests per instance per minute one instance serves within your objective (from a load test)."
  type        = number
  default     = 600
}

variable "latency_slo_ms" {
  description = "The latency objective in ms: the high-latency alarm's threshold."
  type        = number
  default     = 1000
}

variable "latency_mode" {
  description = "What a latency alarm adds: one instance (horizontal) or one rung (vertical)."
  type        = string
  default     = "horizontal"

  validation {
    condition     = contains(["horizontal", "vertical"], var.latency_mode)
    error_message = "latency_mode must be horizontal or vertical."
  }
}

# --- Alarms ----------------------------------------------------------------------------------------

variable "cpu_high_threshold" {
  description = "CPU utilization (%) above which a deployment's high-CPU alarm fires; above cpu_target."
  type        = number
  default     = 75
}

variable "mem_high_threshold" {
  description = "Memory utilization (%) above which a deployment's high-memory alarm fires; above mem_target."
  type        = number
  default     = 80
}

variable "gpu_high_threshold" {
  description = "GPU utilization (%) above which a deployment's high-GPU alarm fires; above gpu_target."
  type        = number
  default     = 75
}

variable "high_alarm_pending_duration" {
  description = "How long (ISO-8601, PT1M to PT1H) the high condition must hold before the alarm fires."
  type        = string
  default     = "PT1M"
}

variable "high_alarm_repeat_duration" {
  description = "While a high alarm keeps firing it notifies again after this long (ISO-8601, PT1M to P30D)."
  type        = string
  default     = "PT5M"
}

variable "low_alarm_pending_duration" {
  description = "Pending duration (ISO-8601, PT1M to PT1H) of the low alarms the function creates."
  type        = string
  default     = "PT10M"
}

variable "low_alarm_repeat_duration" {
  description = "Repeat-notification duration (ISO-8601, PT1M to P30D) of the low alarms the function creates."
  type        = string
  default     = "PT10M"
}

variable "alarm_severity" {
  description = "Severity of the high alarms (the function copies it to its low alarms)."
  type        = string
  default     = "CRITICAL"

  validation {
    condition     = contains(["CRITICAL", "ERROR", "WARNING", "INFO"], var.alarm_severity)
    error_message = "alarm_severity must be CRITICAL, ERROR, WARNING or INFO."
  }
}

# --- The reconcile schedule ------------------------------------------------------------------------

variable "reconcile_enabled" {
  description = "Create the Resource Scheduler schedule that invokes the reconcile (alarms still act without it)."
  type        = bool
  default     = true
}

variable "reconcile_interval_minutes" {
  description = "Minutes between reconciles (a string: the Console's list offers the accepted intervals; under 60 is not documented by OCI)."
  type        = string
  default     = "60"

  validation {
    condition     = contains(["5", "10", "15", "20", "30", "60", "120", "180", "240", "360", "720", "1440"], var.reconcile_interval_minutes)
    error_message = "reconcile_interval_minutes must be 5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 720 or 1440."
  }
}

variable "reconcile_history_days" {
  description = "Days of CPU history the forecast reads (1 to 90)."
  type        = number
  default     = 15
}

variable "reconcile_alarm_ops_per_second" {
  description = "The reconcile's share of the tenancy's 10 alarm operations a second (docs/reconcile.md: why 3)."
  type        = number
  default     = 3
}

variable "reconcile_schedules" {
  description = "How many staggered schedules share the managed compartments (1 to 50, at most the number of compartments)."
  type        = number
  default     = 1
}
