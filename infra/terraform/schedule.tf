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
  # One schedule (the default) keeps its address [0], name and body: raising reconcile.schedules adds [1]..[n-1].
  count = local.reconcile_schedules

  compartment_id     = var.compartment_ocid
  display_name       = local.reconcile_schedules == 1 ? "${var.name_prefix}-reconcile" : "${var.name_prefix}-reconcile-${count.index + 1}of${local.reconcile_schedules}"
  description        = local.reconcile_schedules == 1 ? "Invokes the model deployment autoscaler's reconcile every ${local.reconcile_minutes} minutes (${var.name_prefix})." : "Invokes the model deployment autoscaler's reconcile of ${length(local.reconcile_groups[count.index])} of its ${length(local.reconcile_compartment)} compartments every ${local.reconcile_minutes} minutes, ${local.reconcile_offsets[count.index]} minutes into the interval (${var.name_prefix}, schedule ${count.index + 1} of ${local.reconcile_schedules})."
  action             = "START_RESOURCE"
  recurrence_type    = "CRON"
  recurrence_details = local.reconcile_crons[count.index]

  resources {
    id = oci_functions_function.autoscale.id
    parameters {
      parameter_type = "BODY"
      value          = [local.reconcile_bodies[count.index]]
    }
  }

  freeform_tags = local.tags
  defined_tags  = var.defined_tags

  lifecycle {
    # A schedule reconciles whole compartments: more schedules than compartments would leave one with nothing to
    # do (tick.py refuses an empty list). Refused rather than silently creating fewer schedules, whose staggering
    # and load per tick would then not be the ones asked for (README, "The reconcile schedules").
    precondition {
      condition     = local.reconcile_schedules <= length(local.reconcile_compartment)
      error_message = "reconcile.schedules = ${local.reconcile_schedules} is more than the ${length(local.reconcile_compartment)} compartment(s) the function manages (compartment_ocid plus the deployments' compartments): a schedule reconciles whole compartments, so lower reconcile.schedules."
    }
    precondition {
      condition     = length(local.reconcile_groups[count.index]) <= 50 && length(local.reconcile_bodies[count.index]) <= 4096
      error_message = "The reconcile body of schedule ${count.index + 1} names ${length(local.reconcile_groups[count.index])} compartments in ${length(local.reconcile_bodies[count.index])} characters; the function accepts at most 50 compartments and 4096 characters (tick.py): raise reconcile.schedules."
    }
  }
}

# A schedule has no permissions of its own: "Example Policies" (Resource Scheduler) grants them to
# `any-user` narrowed to `request.principal.type = 'resourceschedule'` and the schedule's OCID. The verb
# for invoking a function is Oracle's own solution's ("manage functions-family", in the function's
# compartment only); whether `use fn-invocation` alone suffices is not documented, so it is not narrowed
# further here. One statement per schedule, in one policy (at most 50 statements: the variable's validation
# keeps reconcile.schedules <= 50).
resource "oci_identity_policy" "reconcile" {
  count = var.reconcile.enabled ? 1 : 0

  compartment_id = local.policy_compartment_id
  name           = "${var.name_prefix}-reconcile"
  description    = "Lets the reconcile schedule of the model deployment autoscaler invoke its function (${var.name_prefix})."
  statements = [
    for schedule in oci_resource_scheduler_schedule.reconcile :
    "Allow any-user to manage functions-family in compartment id ${var.compartment_ocid} where all {request.principal.type = 'resourceschedule', request.principal.id = '${schedule.id}'}"
  ]
  freeform_tags = local.tags
  defined_tags  = var.defined_tags
}
