"""IAM: the policy Terraform writes grants what the function's OCI calls need (docs/iam.md), and nothing else.

Each SDK call the gateway makes (the reconcile added ListModelDeployments, ListAlarms of a whole compartment,
SummarizeMetricsData and ListWorkRequests), and the ones announced for the function (GetWorkRequest), maps to what
the OCI IAM reference says it needs:
a permission (granted by name) or a verb on a resource type, in the deployment compartment `D` or the
alarms' compartment `C`. A new SDK call fails this test until its permissions are reviewed here.
"""

from __future__ import annotations

import ast
import re

from tests.terraform.parsed import MODULE_DIR, REPO

GATEWAY = REPO / "functions" / "autoscale" / "autoscaler" / "oci_gateway.py"
IAM = MODULE_DIR / "iam.tf"
D, C = "${c}", "${var.compartment_ocid}"  # how iam.tf names the two scopes

# operation -> [(grant, scope)]; a grant is a permission or "verb resource-type" (docs/iam.md cites the pages).
NEEDS = {
    "list_model_deployments": [("DATA_SCIENCE_MODEL_DEPLOYMENT_INSPECT", D)],
    "get_model_deployment": [("DATA_SCIENCE_MODEL_DEPLOYMENT_READ", D)],
    "update_model_deployment": [("DATA_SCIENCE_MODEL_DEPLOYMENT_UPDATE", D), ("read data-science-models", D)],
    "get_work_request": [("read data-science-work-requests", D)],
    # ListWorkRequests (the tick measures a deployment's update time, update_time.py): listing needs `inspect`, which
    # `read` includes (docs "Verbs": "read: Includes inspect plus the ability to get ... the actual resource").
    "list_work_requests": [("read data-science-work-requests", D)],
    "list_alarms": [("ALARM_INSPECT", C)],
    "retrieve_dimension_states": [("ALARM_INSPECT", C)],
    "get_alarm": [("ALARM_READ", C), ("read metrics", D)],
    "get_alarm_history": [("ALARM_READ", C)],
    "create_alarm": [("ALARM_CREATE", C), ("read metrics", D)],
    "update_alarm": [("ALARM_UPDATE", C), ("read metrics", D)],
    "delete_alarm": [("ALARM_DELETE", C)],
    # SummarizeMetricsData: METRIC_INSPECT + METRIC_READ = `read metrics` ("Details for Monitoring"); the reconcile's
    # one history read per compartment. ListModelDeployments: DATA_SCIENCE_MODEL_DEPLOYMENT_INSPECT ("Data Science
    # Policies"); the reconcile's listing of a compartment.
    "summarize_metrics_data": [("read metrics", D)],
}
ANNOUNCED = {"get_work_request"}
SCHEDULE = MODULE_DIR / "schedule.tf"


def sdk_calls() -> set[str]:
    """The SDK operations the gateway invokes (self.data_science.X(...) / self.monitoring.X(...))."""
    calls = set()
    for node in ast.walk(ast.parse(GATEWAY.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            is_self = (
                isinstance(owner, ast.Attribute) and isinstance(owner.value, ast.Name) and owner.value.id == "self"
            )
            if is_self and owner.attr in ("data_science", "monitoring"):
                calls.add(node.func.attr)
    return calls


def granted() -> set[tuple[str, str]]:
    """(grant, scope) of every policy statement in iam.tf; permission lists are split into permissions."""
    grants = set()
    pattern = (
        r'"Allow dynamic-group \$\{local\.dynamic_group\} to (.+?) in compartment id (\$\{[^}]+\})( where [^"]*)?"'
    )
    for what, scope, condition in re.findall(pattern, IAM.read_text()):
        if what.startswith("{"):
            grants |= {(permission.strip(), scope) for permission in what.strip("{}").split(",")}
        else:
            grants.add((what, scope))
        if "metrics" in what:
            assert condition == " where target.metrics.namespace = '${local.namespace}'", condition
    return grants


def test_every_sdk_call_is_reviewed():
    assert sdk_calls() - set(NEEDS) == set(), "review the IAM needs of the new calls and add them to NEEDS"


def test_the_policy_grants_exactly_what_the_calls_need():
    needed = {need for operation in sdk_calls() | ANNOUNCED for need in NEEDS[operation]}
    assert granted() == needed


def test_nothing_is_granted_tenancy_wide_or_with_manage():
    text = IAM.read_text()
    assert " in tenancy" not in text and "all-resources" not in text and "-family" not in text
    assert not {grant for grant, _ in granted() if grant.startswith("manage")}


def test_the_reconcile_calls_are_made_and_granted():
    assert {"list_model_deployments", "summarize_metrics_data", "list_alarms"} <= sdk_calls()


def test_the_schedule_may_invoke_only_as_itself_in_the_functions_compartment():
    """Resource Scheduler "Example Policies": a schedule acts only with a policy naming its principal type and id."""
    text = SCHEDULE.read_text()
    [statement] = re.findall(r'"(Allow any-user .*?)",?\n', text)
    assert statement.startswith("Allow any-user to manage functions-family in compartment id ${var.compartment_ocid} ")
    assert "where all {request.principal.type = 'resourceschedule', request.principal.id = " in statement
    # One statement per schedule (reconcile.schedules), each naming its own schedule.
    assert "for schedule in oci_resource_scheduler_schedule.reconcile :" in text
    assert statement.endswith("request.principal.id = '${schedule.id}'}")
    assert " in tenancy" not in text
