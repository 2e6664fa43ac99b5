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

  # Spreading the compartments over several schedules (reconcile.schedules = n; docs/reconcile.md sizes it).
  # The allowlist, sorted (a stable order whatever the order of var.deployments), dealt round-robin: group i holds
  # the compartments at positions i, i + n, i + 2n... so the groups differ in size by at most one. Schedule i
  # fires floor(i * interval / n) minutes into each interval: hourly with n = 4 at :00, :15, :30, :45. The
  # variable's validation keeps n <= interval_minutes, so the offsets are distinct whole minutes.
  reconcile_schedules   = var.reconcile.enabled ? var.reconcile.schedules : 0
  reconcile_compartment = sort(local.compartment_allowlist)
  reconcile_groups = [
    for i in range(local.reconcile_schedules) : [
      for position, compartment in local.reconcile_compartment : compartment if position % local.reconcile_schedules == i
    ]
  ]
  reconcile_offsets = [for i in range(local.reconcile_schedules) : floor(i * local.reconcile_minutes / local.reconcile_schedules)]
  # Offset 0 (schedule 0, whatever n) keeps today's expression. Another offset lists its minutes (and, for
  # intervals of several hours, its hours) explicitly: plain 5-field cron lists, which every cron dialect reads
  # (ranges with steps such as 15-59/30 are an extension). Sub-hourly every 20 min, offset 7: "7,27,47 * * * *";
  # hourly, offset 15: "15 * * * *"; every 6 h, offset 90: "30 1,7,13,19 * * *"; daily, offset 720:
  # "0 12 * * *". Each interval divides 60 or 1440, so the fire times stay evenly spaced across the hour and day.
  reconcile_crons = [
    for offset in local.reconcile_offsets : offset == 0 ? local.reconcile_cron : join(" ", [
      local.reconcile_minutes < 60 ? join(",", range(offset, 60, local.reconcile_minutes)) : tostring(offset % 60),
      local.reconcile_minutes <= 60 ? "*" : join(",", range(floor(offset / 60), 24, local.reconcile_minutes / 60)),
      "* * *",
    ])
  ]
  # Fixed: the body carries no authority and no cursor (tick.py). Sent as the invocation's body. One schedule:
  # today's body, every allowlisted compartment. Several: each names its group (tick.py: 1 to 50 allowlisted
  # compartment OCIDs, a body of at most 4096 characters).
  reconcile_body = jsonencode({ type = "RECONCILE", version = 1 })
  reconcile_bodies = [
    for group in local.reconcile_groups : local.reconcile_schedules == 1 ? local.reconcile_body : jsonencode({ type = "RECONCILE", version = 1, compartments = group })
  ]
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
