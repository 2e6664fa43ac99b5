variable "region" {
  description = "OCI region identifier, e.g. us-ashburn-1."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+-[0-9]+$", var.region))
    error_message = "region must be a region identifier such as us-ashburn-1."
  }
}

variable "config_file_profile" {
  description = "Profile of ~/.oci/config used by the provider."
  type        = string
  default     = "DEFAULT"
}

variable "tenancy_ocid" {
  description = "OCID of the tenancy (the dynamic group is created there)."
  type        = string
}

variable "compartment_ocid" {
  description = "OCID of the compartment for the autoscaler's resources."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of every display name."
  type        = string
  default     = "md-autoscale"
}

variable "freeform_tags" {
  description = "Extra freeform tags for every resource."
  type        = map(string)
  default     = {}
}

variable "subnet_ids" {
  description = "Existing subnet OCIDs for the Functions application; empty creates a private VCN."
  type        = list(string)
  default     = []
}

variable "function_image" {
  description = "The pushed function image, e.g. iad.ocir.io/<namespace>/md-autoscale/autoscale:0.1.0."
  type        = string
}

variable "dry_run" {
  description = "Log decisions without changing deployments (a safe first run)."
  type        = bool
  default     = false
}

variable "scaling" {
  description = "Default scaling policy (see the module's variable of the same name); {} keeps the defaults."
  type        = any
  default     = {}
}

variable "instance_ceiling" {
  description = "The most instances the function gives any deployment (see the module's variable of the same name); null keeps the module's default."
  type        = number
  default     = null
}

variable "deployments" {
  description = "Model deployments to autoscale (see the module's variable of the same name)."
  type        = any
  default     = {}
}
