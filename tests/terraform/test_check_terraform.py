"""The offline schema checker (infra/check_terraform.py) fails when it should, and passes the module."""

from __future__ import annotations

import pytest

from infra import check_terraform as ct

VERSIONS = """
terraform {
  required_providers {
    oci = {
      source = "oracle/oci"
    }
  }
}

variable "compartment_ocid" {
  type        = string
  description = "c"
}
"""

TOPIC = """
resource "oci_ons_notification_topic" "t" {
  compartment_id = var.compartment_ocid
  name           = "t"
}
"""


def check_snippet(checker, tmp_path, text: str, *, versions: str = VERSIONS, extra: dict[str, str] | None = None):
    (tmp_path / "versions.tf").write_text(versions)
    (tmp_path / "main.tf").write_text(text)
    for name, content in (extra or {}).items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return [str(problem) for problem in checker.check_module(tmp_path)]


VALID = {
    "plain resource": TOPIC,
    "meta-arguments": """
resource "oci_ons_notification_topic" "t" {
  count          = 2
  provider       = oci.home
  compartment_id = var.compartment_ocid
  name           = "t-${count.index}"
  depends_on     = [oci_ons_notification_topic.u]

  lifecycle {
    create_before_destroy = true
    ignore_changes        = [defined_tags]
    precondition {
      condition     = var.compartment_ocid != ""
      error_message = "empty"
    }
  }
}

resource "oci_ons_notification_topic" "u" {
  for_each       = toset(["a"])
  compartment_id = var.compartment_ocid
  name           = each.key
}
""",
    "nested and dynamic blocks": """
data "oci_core_services" "all" {
  filter {
    name   = "name"
    values = ["All .* Services In Oracle Services Network"]
    regex  = true
  }
}

resource "oci_core_service_gateway" "s" {
  compartment_id = var.compartment_ocid
  vcn_id         = "ocid1.vcn.oc1..x"

  dynamic "services" {
    for_each = data.oci_core_services.all.services
    content {
      service_id = services.value.id
    }
  }
}
""",
}


@pytest.mark.parametrize("text", VALID.values(), ids=VALID.keys())
def test_valid_snippets_pass(checker, tmp_path, text):
    assert check_snippet(checker, tmp_path, text) == []


BROKEN = {
    "unknown argument": (
        TOPIC.replace('name           = "t"', 'name           = "t"\n  colour         = "red"'),
        "main.tf: oci_ons_notification_topic.t.colour: unknown argument 'colour'",
    ),
    "missing required argument": (
        """
resource "oci_ons_subscription" "s" {
  compartment_id = var.compartment_ocid
  topic_id       = "ocid1.onstopic.oc1..x"
  endpoint       = "ocid1.fnfunc.oc1..x"
}
""",
        "main.tf: oci_ons_subscription.s: missing required argument 'protocol'",
    ),
    "unknown nested block": (
        """
resource "oci_core_route_table" "r" {
  compartment_id = var.compartment_ocid
  vcn_id         = "ocid1.vcn.oc1..x"
  route_rule {
    network_entity_id = "ocid1.servicegateway.oc1..x"
  }
}
""",
        "main.tf: oci_core_route_table.r.route_rule: unknown nested block 'route_rule'",
    ),
    "unknown argument in a nested block": (
        """
resource "oci_core_service_gateway" "s" {
  compartment_id = var.compartment_ocid
  vcn_id         = "ocid1.vcn.oc1..x"
  services {
    service_id = "ocid1.service.oc1..x"
    bogus      = 1
  }
}
""",
        "main.tf: oci_core_service_gateway.s.services.bogus: unknown argument 'bogus'",
    ),
    "missing required argument in a nested block": (
        """
resource "oci_core_security_list" "l" {
  compartment_id = var.compartment_ocid
  vcn_id         = "ocid1.vcn.oc1..x"
  egress_security_rules {
    destination = "0.0.0.0/0"
  }
}
""",
        "main.tf: oci_core_security_list.l.egress_security_rules: missing required argument 'protocol'",
    ),
    "missing required block": (
        """
resource "oci_core_service_gateway" "s" {
  compartment_id = var.compartment_ocid
  vcn_id         = "ocid1.vcn.oc1..x"
}
""",
        "main.tf: oci_core_service_gateway.s: missing required block 'services'",
    ),
    "block written as an argument": (
        """
resource "oci_core_service_gateway" "s" {
  compartment_id = var.compartment_ocid
  vcn_id         = "ocid1.vcn.oc1..x"
  services       = [{ service_id = "ocid1.service.oc1..x" }]
}
""",
        "main.tf: oci_core_service_gateway.s.services: 'services' is a nested block",
    ),
    "argument written as a block": (
        TOPIC.replace('name           = "t"', 'name           = "t"\n  freeform_tags {\n    a = "b"\n  }'),
        "main.tf: oci_ons_notification_topic.t.freeform_tags: 'freeform_tags' is an argument",
    ),
    "unknown resource type": (
        TOPIC.replace("oci_ons_notification_topic", "oci_ons_notification_topik"),
        "main.tf: oci_ons_notification_topik.t: unknown resource type 'oci_ons_notification_topik'",
    ),
    "data source type used as a resource": (
        'resource "oci_core_services" "s" {}\n',
        "unknown resource type 'oci_core_services' (it is a data source type)",
    ),
    "dynamic block for an unknown block": (
        """
resource "oci_core_route_table" "r" {
  compartment_id = var.compartment_ocid
  vcn_id         = "ocid1.vcn.oc1..x"
  dynamic "route_rule" {
    for_each = []
    content {}
  }
}
""",
        "main.tf: oci_core_route_table.r.dynamic.route_rule: dynamic block for unknown nested block 'route_rule'",
    ),
    "unknown argument inside dynamic content": (
        """
resource "oci_core_route_table" "r" {
  compartment_id = var.compartment_ocid
  vcn_id         = "ocid1.vcn.oc1..x"
  dynamic "route_rules" {
    for_each = []
    content {
      network_entity_id = route_rules.value
      bogus             = 1
    }
  }
}
""",
        "main.tf: oci_core_route_table.r.dynamic.route_rules.content.bogus: unknown argument 'bogus'",
    ),
    "count and for_each together": (
        TOPIC.replace('name           = "t"', 'name           = "t"\n  count          = 1\n  for_each       = {}'),
        "main.tf: oci_ons_notification_topic.t: count and for_each cannot both be set",
    ),
    "unknown lifecycle argument": (
        TOPIC.replace('name           = "t"', 'name           = "t"\n  lifecycle {\n    prevent_destroyed = true\n  }'),
        "oci_ons_notification_topic.t.lifecycle.prevent_destroyed: unknown lifecycle argument",
    ),
    "undeclared variable": (
        TOPIC.replace("var.compartment_ocid", "var.compartment_id"),
        "main.tf: oci_ons_notification_topic.t: reference to undeclared variable 'var.compartment_id'",
    ),
    "undeclared local": (
        TOPIC.replace('"t"\n', "local.name\n"),
        "reference to undeclared local 'local.name'",
    ),
    "undeclared resource": (
        TOPIC + 'output "o" {\n  value = oci_ons_notification_topic.u.id\n}\n',
        "main.tf: output.o: reference to undeclared resource 'oci_ons_notification_topic.u'",
    ),
    "each without for_each": (
        TOPIC.replace('"t"\n', "each.key\n"),
        "'each.key' used in a block without for_each",
    ),
    "variable without description": (
        'variable "x" {\n  type = string\n}\n',
        "main.tf: variable.x: missing description",
    ),
    "variable without type": (
        'variable "x" {\n  description = "x"\n}\n',
        "main.tf: variable.x: missing type",
    ),
}


@pytest.mark.parametrize(("text", "expected"), BROKEN.values(), ids=BROKEN.keys())
def test_broken_snippets_fail(checker, tmp_path, text, expected):
    problems = check_snippet(checker, tmp_path, text)
    assert any(expected in problem for problem in problems), problems


def test_missing_required_providers_fails(checker, tmp_path):
    problems = check_snippet(
        checker, tmp_path, TOPIC, versions='variable "compartment_ocid" {\n  type = string\n  description = "c"\n}\n'
    )
    assert any('does not declare oci = { source = "oracle/oci" }' in problem for problem in problems), problems


CHILD = {
    "child/main.tf": """
variable "needed" {
  type        = string
  description = "n"
}

variable "optional" {
  type        = string
  description = "o"
  default     = "x"
}

output "out" {
  value = var.needed
}
"""
}


def test_module_call_inputs_and_outputs_are_checked(checker, tmp_path):
    text = """
module "child" {
  source  = "./child"
  unknown = 1
}

output "o" {
  value = module.child.missing
}
"""
    problems = check_snippet(checker, tmp_path, text, extra=CHILD)
    for expected in (
        "main.tf: module.child.unknown: module './child' has no variable 'unknown'",
        "main.tf: module.child: missing required module input 'needed'",
        "main.tf: output.o: module './child' has no output 'missing'",
    ):
        assert any(expected in problem for problem in problems), (expected, problems)


def test_a_correct_module_call_passes(checker, tmp_path):
    text = 'module "child" {\n  source = "./child"\n  needed = "x"\n}\n\noutput "o" {\n  value = module.child.out\n}\n'
    assert check_snippet(checker, tmp_path, text, extra=CHILD) == []


def test_the_module_and_its_example_pass(checker, module_dir):
    assert checker.check_paths([module_dir]) == []


def test_command_line_exit_status(module_dir, tmp_path, capsys):
    assert ct.main([str(module_dir)]) == 0
    (tmp_path / "main.tf").write_text(TOPIC.replace("oci_ons_notification_topic", "oci_nope"))
    assert ct.main([str(tmp_path)]) == 1
    assert "unknown resource type 'oci_nope'" in capsys.readouterr().out
