"""The module's shape: inputs, example, tags, IAM scope, the function's log."""

from __future__ import annotations

import re

import pytest

from infra import check_terraform as ct

REQUIRED_INPUTS = {"tenancy_ocid", "compartment_ocid", "function_image"}
# Inputs where a wrong value would only fail in the cloud (or in the function): they must validate.
VALIDATED_INPUTS = {
    "tenancy_ocid",
    "compartment_ocid",
    "policy_compartment_ocid",
    "name_prefix",
    "subnet_ids",
    "vcn_cidr_block",
    "subnet_cidr_block",
    "function_image",
    "function_memory_in_mbs",
    "function_timeout_in_seconds",
    "function_shape",
    "scaling",
    "instance_ceiling",
    "retry_budget_seconds",
    "low_alarm_pending_duration",
    "low_alarm_repeat_duration",
    "cpu_high_threshold",
    "mem_high_threshold",
    "high_alarm_pending_duration",
    "high_alarm_repeat_duration",
    "alarm_severity",
    "dynamic_group_matching",
    "invoke_log",
    "deployments",
}


def test_every_variable_and_output_is_typed_and_described(module_dir):
    """The one rule `terraform validate` does not enforce (infra/check_terraform.py)."""
    problems = [p for d in ct.module_dirs(module_dir) for p in ct.documentation_problems(d)]
    assert problems == []


def test_an_undocumented_variable_is_reported(module_copy, edit):
    edit(module_copy / "variables.tf", '  description = "Severity of the high alarms."\n', "")
    problems = [str(p) for p in ct.documentation_problems(module_copy)]
    assert any(p.endswith("variable.alarm_severity: missing description") for p in problems), problems


def test_only_the_essential_inputs_lack_a_default(module):
    assert {name for name, body in module.variables.items() if "default" not in body} == REQUIRED_INPUTS


@pytest.mark.parametrize("name", sorted(VALIDATED_INPUTS))
def test_inputs_that_fail_late_are_validated(module, name):
    validations = module.variables[name].get("validation", [])
    assert validations and all("condition" in v and "error_message" in v for v in validations)


def test_every_output_is_described(module, example):
    for name, body in {**module.outputs, **example.outputs}.items():
        assert str(ct.unquote(body.get("description", ""))).strip(), name


def test_outputs_cover_the_issue(module):
    wanted = {"topic_id", "function_id", "application_id", "alarm_ids", "dynamic_group_name", "policy_name"}
    assert wanted <= set(module.outputs) | {"deployment_override_tags"}
    assert "deployment_override_tags" in module.outputs


def test_example_calls_the_module_with_existing_inputs_only(module, example):
    call = example.modules["autoscaler"]
    assert ct.unquote(call["source"]) == "../.."
    arguments = {key for key, _ in ct.body_items(call)} - ct.MODULE_META_ARGS
    assert arguments <= set(module.variables), arguments - set(module.variables)
    assert REQUIRED_INPUTS <= arguments


def test_tfvars_example_sets_only_example_variables(example_dir, example):
    tfvars = ct.parse_text((example_dir / "terraform.tfvars.example").read_text())
    given = {key for key, _ in ct.body_items(tfvars)}
    assert given <= set(example.variables), given - set(example.variables)
    required = {name for name, body in example.variables.items() if "default" not in body}
    assert required <= given, required - given


def test_every_taggable_resource_carries_the_module_tags(module, schema):
    for rtype, name, body in module.resources():
        if "freeform_tags" in schema["resource"][rtype]["arguments"]:
            assert "local.tags" in str(body.get("freeform_tags")), f"{rtype}.{name} lacks freeform_tags = local.tags"
            assert body.get("defined_tags") == "${var.defined_tags}", f"{rtype}.{name} lacks defined_tags"


def test_policy_is_least_privilege_and_compartment_scoped(module):
    statements = str(module.locals["policy_statements"])
    for grant in (
        "to {DATA_SCIENCE_MODEL_DEPLOYMENT_INSPECT, DATA_SCIENCE_MODEL_DEPLOYMENT_READ, "
        "DATA_SCIENCE_MODEL_DEPLOYMENT_UPDATE} in compartment id ${c}",
        "to read data-science-work-requests in compartment id ${c}",
        "to read data-science-models in compartment id ${c}",
        "to read metrics in compartment id ${c} where target.metrics.namespace = '${local.namespace}'",
        "to {ALARM_INSPECT, ALARM_READ, ALARM_CREATE, ALARM_UPDATE, ALARM_DELETE} in compartment id "
        "${var.compartment_ocid}",
    ):
        assert grant in statements, grant
    assert statements.count("Allow dynamic-group") == 5
    assert not re.search(r"\bin tenancy\b", statements), "no tenancy-wide grants"
    assert "manage" not in statements and "-family" not in statements and "ons-topics" not in statements
    dynamic_group = module.resource("oci_identity_dynamic_group", "function")
    assert dynamic_group["compartment_id"] == "${var.tenancy_ocid}"


def test_the_invoke_log_is_the_applications_and_can_be_turned_off(module):
    log = module.resource("oci_logging_log", "invoke")
    source = log["configuration"][0]["source"][0]
    assert (ct.unquote(source["service"]), ct.unquote(source["category"])) == ("functions", "invoke")
    assert ct.unquote(source["source_type"]) == "OCISERVICE"
    assert source["resource"] == "${oci_functions_application.this.id}"
    assert ct.unquote(log["log_type"]) == "SERVICE"
    for name in ("oci_logging_log", "oci_logging_log_group"):
        body = next(b for rtype, _, b in module.resources() if rtype == name)
        assert body["count"] == "${var.invoke_log.enabled ? 1 : 0}"
