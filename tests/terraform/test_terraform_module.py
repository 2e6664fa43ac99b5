"""The module's shape: inputs, example, tags, IAM scope; and a broken copy fails the checker."""

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
    "retry_budget_seconds",
    "low_alarm_pending_duration",
    "low_alarm_repeat_duration",
    "cpu_high_threshold",
    "mem_high_threshold",
    "high_alarm_pending_duration",
    "high_alarm_repeat_duration",
    "alarm_severity",
    "dynamic_group_matching",
    "model_deployment_verb",
    "deployments",
}


def test_every_variable_has_type_and_description(module, example):
    for name, body in {**module.variables, **example.variables}.items():
        assert "type" in body, name
        assert str(ct.unquote(body.get("description", ""))).strip(), name


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
        "to ${var.model_deployment_verb} data-science-model-deployments in compartment id",
        "to read data-science-models in compartment id",
        "to read metrics in compartment id",
        "to manage alarms in compartment id ${var.compartment_ocid}",
        "to use ons-topics in compartment id ${var.compartment_ocid}",
    ):
        assert grant in statements, grant
    assert not re.search(r"\bin tenancy\b", statements), "no tenancy-wide grants"
    assert "manage all-resources" not in statements and "data-science-family" not in statements
    dynamic_group = module.resource("oci_identity_dynamic_group", "function")
    assert dynamic_group["compartment_id"] == "${var.tenancy_ocid}"


def test_a_broken_copy_fails_the_checker(checker, module_copy, edit):
    edit(module_copy / "notifications.tf", '  protocol       = "ORACLE', '  protocols      = "ORACLE')
    edit(module_copy / "alarms.tf", "  is_enabled                   = true\n", "")
    edit(module_copy / "network.tf", "    tcp_options {", "    tcp_option {")
    edit(module_copy / "functions.tf", "var.function_image", "var.function_img")
    edit(module_copy / "examples/complete/main.tf", "  dry_run        = var.dry_run", "  dry_runn       = var.dry_run")
    edit(module_copy / "variables.tf", '  description = "Severity of the high alarms."\n', "")
    problems = [str(problem) for problem in checker.check_paths([module_copy])]
    for expected in (
        "notifications.tf: oci_ons_subscription.function.protocols: unknown argument 'protocols'",
        "notifications.tf: oci_ons_subscription.function: missing required argument 'protocol'",
        "alarms.tf: oci_monitoring_alarm.high: missing required argument 'is_enabled'",
        "network.tf: oci_core_security_list.private.egress_security_rules.tcp_option: unknown nested block",
        "functions.tf: oci_functions_function.autoscale: reference to undeclared variable 'var.function_img'",
        "complete/main.tf: module.autoscaler.dry_runn: module '../..' has no variable 'dry_runn'",
        "variables.tf: variable.alarm_severity: missing description",
    ):
        assert any(expected in problem for problem in problems), (expected, problems)
