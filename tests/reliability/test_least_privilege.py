"""IAM: the statements Terraform writes are exactly what the function's OCI calls need, no more."""

import ast
import re

from tests.conftest import ROOT

GATEWAY = ROOT / "functions" / "autoscale" / "autoscaler" / "oci_gateway.py"
IAM = ROOT / "infra" / "terraform" / "iam.tf"
VARIABLES = ROOT / "infra" / "terraform" / "variables.tf"
VERBS = ["inspect", "read", "use", "manage"]  # each includes the ones before it

# What each SDK call needs, per OCI's IAM reference for Data Science and Monitoring:
# (verb, resource type) pairs. A new call fails this test until its permissions are reviewed.
NEEDS = {
    "get_model_deployment": [("read", "data-science-model-deployments")],
    "update_model_deployment": [("use", "data-science-model-deployments"), ("read", "data-science-models")],
    "get_alarm": [("read", "alarms"), ("read", "metrics")],
    "list_alarms": [("inspect", "alarms")],
    "create_alarm": [("manage", "alarms"), ("read", "metrics"), ("use", "ons-topics")],
    "update_alarm": [("manage", "alarms"), ("read", "metrics")],
    "delete_alarm": [("manage", "alarms")],
}


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


def granted() -> dict[str, str]:
    """resource type -> verb of every policy statement in iam.tf, with the default verb variable resolved."""
    default_verb = re.search(
        r'variable "model_deployment_verb" \{.*?default\s*=\s*"(\w+)"', VARIABLES.read_text(), re.S
    )
    statements = re.findall(r'"Allow dynamic-group \$\{local\.dynamic_group\} to ([^"]+)"', IAM.read_text())
    grants = {}
    for statement in statements:
        statement = statement.replace("${var.model_deployment_verb}", default_verb.group(1))
        verb, resource, scope = re.match(r"(\w+) ([\w-]+) in (.*)", statement).groups()
        assert scope.startswith("compartment id "), f"not scoped to a compartment: {statement}"
        assert resource not in grants, f"two statements for {resource}"
        grants[resource] = verb
    return grants


def test_every_sdk_call_is_reviewed():
    assert sdk_calls() == set(NEEDS)


def test_policy_is_exactly_the_minimum_the_calls_need():
    needed: dict[str, str] = {}
    for operation in sdk_calls():
        for verb, resource in NEEDS[operation]:
            if resource not in needed or VERBS.index(verb) > VERBS.index(needed[resource]):
                needed[resource] = verb
    assert granted() == needed


def test_nothing_is_granted_tenancy_wide():
    text = IAM.read_text()
    assert " in tenancy" not in text and "all-resources" not in text
    assert "manage" not in {v for r, v in granted().items() if r != "alarms"}
