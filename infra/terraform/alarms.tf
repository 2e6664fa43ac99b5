# The high alarms of each deployment, one per signal it enables (scaling.signals, or its
# overrides.signals) whose query does not change with capacity: CPU, memory, GPU (per instance
# metrics, grouped per deployment) and latency (over the deployment's latency_slo_ms). The function
# creates and rewrites the rest itself: the low alarms and both request alarms (their thresholds
# follow the instance count, so Terraform keeping them would show a diff after every scale).
# Routing is by notification title; the function checks that the title, the query's resourceId and
# the alarm's compartment agree before acting.

locals {
  high_alarms = {
    for alarm in flatten([
      for key, d in var.deployments : [
        for metric in ["cpu", "mem", "gpu", "latency"] : {
          key                   = key
          metric                = metric
          deployment_id         = d.deployment_id
          metric_compartment_id = coalesce(d.compartment_id, var.compartment_ocid)
          threshold             = local.high_thresholds[key][metric]
        } if contains(local.effective_policies[key].signals, metric) && lookup({ cpu = d.cpu_alarm, mem = d.mem_alarm }, metric, true)
      ]
    ]) : "${alarm.key}-${alarm.metric}" => alarm
  }
}

resource "oci_monitoring_alarm" "high" {
  for_each = local.high_alarms

  compartment_id        = var.compartment_ocid
  metric_compartment_id = each.value.metric_compartment_id
  display_name          = "${var.name_prefix}-${each.value.key}-high-${each.value.metric}"
  notification_title    = local.high_titles[each.value.metric]
  namespace             = local.namespace
  # Same form as constants.alarm_query(metric, deployment_id, ">", threshold). Model deployment metrics
  # carry resourceId and instanceId: without .groupBy(resourceId) this is one stream per instance, which
  # fires on one hot instance; grouped, it is the deployment's mean (docs: "Using groupBy(x) in a Query").
  query                        = "${local.metric_names[each.value.metric]}[1m]{resourceId = \"${each.value.deployment_id}\"}.groupBy(resourceId).mean() > ${each.value.threshold}"
  severity                     = var.alarm_severity
  is_enabled                   = true
  destinations                 = [oci_ons_notification_topic.alarms.id]
  pending_duration             = var.high_alarm_pending_duration
  repeat_notification_duration = var.high_alarm_repeat_duration
  # RAW is the JSON alarm message (dedupeKey, title, type, alarmMetaData, ...) that the function
  # parses. PRETTY_JSON is the same JSON indented; ONS_OPTIMIZED is a friendly layout meant for
  # email. RAW is also the API default, but stating it keeps a console edit from going unnoticed.
  message_format       = "RAW"
  notification_version = "1.X"
  body                 = "Autoscaler routing alarm for model deployment ${each.value.deployment_id}. Do not change the notification title: it routes the alarm."
  freeform_tags        = merge(local.tags, { (local.deployment_tag_key) = each.value.deployment_id })
  defined_tags         = var.defined_tags

  # One stream per alarm (groupBy(resourceId) of one deployment): split or grouped messages are the same
  # message, but OCI lists per-stream states (RetrieveDimensionStates, which the function asks before it
  # acts) only for split alarms ("Listing Metric Stream Status in an Alarm"). The function's low alarms
  # are split too.
  is_notifications_per_metric_dimension_enabled = true
}
