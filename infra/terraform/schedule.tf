# The periodic reconcile (docs/reconcile.md): OCI Resource Scheduler invokes the function on a CRON
# recurrence with a fixed body; the function recognises it and reconciles every deployment it manages.
# Docs: "Scheduling Functions" (a resource schedule with the function as its resource, action
# START_RESOURCE); the CLI reference of `resource-scheduler schedule create` ("recurrence details ...
# UNIX cron formatting" for recurrence type CRON). The invocation is detached: nobody reads the reply.

locals {
  reconcile_minutes = var.reconcile.interval_minutes
  reconcile_cron = (
    local.reconcile_minutes < 60 ? "*/${local.reconcile_minutes} * * * *" :
    local.reconcile_minutes == 60 ? "0 * * * *" :
    local.reconcile_minutes == 1440 ? "0 0 * * *" : "0 */${local.reconcile_minutes / 60} * * *"
  )
  # Fixed: the body carries no authority and no cursor (tick.py). Sent as the invocation's body.
  reconcile_body = jsonencode({ type = "RECONCILE", version = 1 })
}

resource "oci_resource_scheduler_schedule" "reconcile" {
  count = var.reconcile.enabled ? 1 : 0

  compartment_id     = var.compartment_ocid
  display_name       = "${var.name_prefix}-reconcile"
  description        = "Invokes the model deployment autoscaler's reconcile every ${local.reconcile_minutes} minutes (${var.name_prefix})."
  action             = "START_RESOURCE"
  recurrence_type    = "CRON"
  recurrence_details = local.reconcile_cron

  resources {
    id = oci_functions_function.autoscale.id
    parameters {
      parameter_type = "BODY"
      value          = [local.reconcile_body]
    }
  }

  freeform_tags = local.tags
  defined_tags  = var.defined_tags
}

# A schedule has no permissions of its own: "Example Policies" (Resource Scheduler) grants them to
# `any-user` narrowed to `request.principal.type = 'resourceschedule'` and the schedule's OCID. The verb
# for invoking a function is Oracle's own solution's ("manage functions-family", in the function's
# compartment only); whether `use fn-invocation` alone suffices is not documented, so it is not narrowed
# further here.
resource "oci_identity_policy" "reconcile" {
  count = var.reconcile.enabled ? 1 : 0

  compartment_id = local.policy_compartment_id
  name           = "${var.name_prefix}-reconcile"
  description    = "Lets the reconcile schedule of the model deployment autoscaler invoke its function (${var.name_prefix})."
  statements = [
    "Allow any-user to manage functions-family in compartment id ${var.compartment_ocid} where all {request.principal.type = 'resourceschedule', request.principal.id = '${oci_resource_scheduler_schedule.reconcile[0].id}'}",
  ]
  freeform_tags = local.tags
  defined_tags  = var.defined_tags
}
