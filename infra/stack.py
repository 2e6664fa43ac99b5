"""The Resource Manager stack: its zip (`make stack`) and the check of its schema document.

    python -m infra.stack                 # check infra/stack/schema.yaml, write build/autoscaler-stack.zip
    python -m infra.stack --out PATH      # somewhere else

The zip holds the stack's root module (infra/stack: *.tf and schema.yaml) at its top level and a copy of
the module (infra/terraform/*.tf, without its examples) under modules/autoscaler, the path the root's
`source` names: Resource Manager runs the zip's root folder as the working directory and finds
schema.yaml there ("Extend Console Pages Using Schema Documents": "Placement under the root folder").
Entries are sorted and dated 1980-01-01, so the same sources give the same bytes.

The schema check follows that page's meta schema ("Meta Schema for Validation") and its list of supported
types, written out here in our own tables, plus this project's rules: every variable of variables.tf in
exactly one group, with a title and a description, a type that agrees with its Terraform type, the same
default, and an enum exactly where a validation restricts the value to a list.
"""

from __future__ import annotations

import argparse
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
STACK_DIR = REPO / "infra" / "stack"
MODULE_DIR = REPO / "infra" / "terraform"
MODULE_PATH = "modules/autoscaler"  # main.tf: source = "./modules/autoscaler"
DEFAULT_ZIP = REPO / "build" / "autoscaler-stack.zip"
SCHEMA_FILE = "schema.yaml"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

# --- Building the zip ------------------------------------------------------------------------------


def stack_files(stack_dir: Path = STACK_DIR, module_dir: Path = MODULE_DIR) -> list[tuple[str, Path]]:
    """(name in the zip, source file), sorted: the root's *.tf and schema.yaml, the module's *.tf."""
    root = [(path.name, path) for path in sorted(stack_dir.glob("*.tf"))] + [(SCHEMA_FILE, stack_dir / SCHEMA_FILE)]
    module = [(f"{MODULE_PATH}/{path.name}", path) for path in sorted(module_dir.glob("*.tf"))]
    return sorted(root + module)


def module_source(stack_dir: Path = STACK_DIR) -> str:
    """The `source` of the root's module call, read from main.tf."""
    match = re.search(r'^\s*source\s*=\s*"([^"]+)"', (stack_dir / "main.tf").read_text(), re.MULTILINE)
    if not match:
        raise ValueError(f"{stack_dir / 'main.tf'}: no module source")
    return match.group(1)


def build_zip(out: Path = DEFAULT_ZIP, stack_dir: Path = STACK_DIR, module_dir: Path = MODULE_DIR) -> Path:
    """Write the stack's zip to `out` (its folder is created) and return the path."""
    source = module_source(stack_dir)
    if source.removeprefix("./") != MODULE_PATH:
        raise ValueError(f"main.tf's source {source!r} does not name ./{MODULE_PATH}, where the zip puts the module")
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, path in stack_files(stack_dir, module_dir):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return out


def extract(archive: Path, target: Path) -> Path:
    """Unzip a stack (as Resource Manager does) into `target` and return it."""
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(target)
    return target


# --- Reading the root's variables ------------------------------------------------------------------

MISSING = object()


@dataclass(frozen=True)
class Variable:
    """What the checks need of one Terraform variable: its type, default and enumerated values."""

    name: str
    type: str  # as written: string, number, bool, list(string), ...
    default: Any = MISSING
    enum: tuple[str, ...] | None = None  # from a validation `contains([...], var.<name>)`
    description: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def required(self) -> bool:
        return self.default is MISSING


def _literal(value: Any) -> Any:
    """python-hcl2's literal: strings keep their quotes ('"x"'); lists and numbers are plain."""
    from infra import check_terraform as ct

    if isinstance(value, list):
        return [_literal(item) for item in value]
    return ct.unquote(value)


CONTAINS = re.compile(r"contains\(\[([^\]]*)\],\s*var\.([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+)*)\)")


def contains_lists(condition: str) -> list[tuple[str, tuple[str, ...]]]:
    """('name' or 'name.attr', values as strings) of each `contains([...], var.name[.attr])` in a condition."""
    found = []
    for match in CONTAINS.finditer(condition):
        values = tuple(
            item.strip().strip('"').replace('\\"', '"') for item in match.group(1).split(",") if item.strip()
        )
        found.append((match.group(2) + match.group(3), values))
    return found


def read_variables(directory: Path) -> dict[str, Variable]:
    """The variables of the module in `directory` (python-hcl2)."""
    from infra import check_terraform as ct

    variables = {}
    for tree in ct.parse_module(directory).values():
        for name, body in ct.labelled(tree.get("variable", [])):
            kind = str(body.get("type", "any"))
            kind = kind[2:-1] if kind.startswith("${") and kind.endswith("}") else kind
            enum = None
            for rule in body.get("validation", []):
                for target, values in contains_lists(str(rule.get("condition", ""))):
                    if target == name:
                        enum = values
            variables[name] = Variable(
                name=name,
                type=kind,
                default=_literal(body["default"]) if "default" in body else MISSING,
                enum=enum,
                description=str(ct.unquote(body.get("description", ""))),
            )
    return variables


def read_outputs(directory: Path) -> set[str]:
    from infra import check_terraform as ct

    return {name for tree in ct.parse_module(directory).values() for name, _ in ct.labelled(tree.get("output", []))}


def load_schema(path: Path) -> dict:
    import yaml  # PyYAML (requirements-dev.txt)

    return yaml.safe_load(path.read_text())


# --- The documented format (meta schema of "Extend Console Pages Using Schema Documents") -----------

SCHEMA_VERSIONS = {"1.0.0", "1.1.0"}
TOP_LEVEL_KEYS = {
    "title",
    "description",
    "stackDescription",
    "packageVersion",
    "version",
    "schemaVersion",
    "locale",
    "logoUrl",
    "source",
    "informationalText",
    "instructions",
    "troubleshooting",
    "allowViewState",
    "variables",
    "groupings",  # deprecated: variableGroups
    "variableGroups",
    "outputs",
    "outputGroups",
    "primaryOutputButton",
}
STATIC_TYPES = {"array", "boolean", "enum", "integer", "number", "string", "text", "file", "password", "datetime"}
# Dynamic (Console-populated) types: dependsOn keys required, and allowed, by the meta schema.
COMPARTMENT = ({"compartmentId"}, {"compartmentId"})
DYNAMIC_TYPES: dict[str, tuple[set[str], set[str]]] = {
    "oci:identity:compartment:id": (set(), set()),
    "oci:identity:region:name": (set(), set()),
    "oci:core:ssh:publickey": (set(), set()),
    "oci:logan:entitytype:id": (set(), set()),
    "oci:blockstorage:policies:id": (set(), {"compartmentId"}),
    "oci:identity:domains:id": COMPARTMENT,
    "oci:core:image:id": ({"compartmentId"}, {"compartmentId", "shape", "operatingSystem", "operatingSystemVersion"}),
    "oci:core:instanceshape:name": ({"compartmentId"}, {"compartmentId", "imageId", "availabilityDomain"}),
    "oci:core:instanceshapewithflex:name": ({"compartmentId"}, {"compartmentId", "imageId", "availabilityDomain"}),
    "oci:core:natgateway:id": ({"compartmentId"}, {"compartmentId", "vcnId"}),
    "oci:core:servicegateway:id": ({"compartmentId"}, {"compartmentId", "vcnId"}),
    "oci:core:nsg:id": ({"compartmentId"}, {"compartmentId", "vcnId"}),
    "oci:core:instance:id": COMPARTMENT,
    "oci:core:subnet:id": (
        {"compartmentId", "vcnId"},
        {"compartmentId", "vcnId", "hidePublicSubnet", "hidePrivateSubnet", "hideRegionalSubnet", "hideAdSubnet"},
    ),
    "oci:core:vcn:id": COMPARTMENT,
    "oci:identity:availabilitydomain:name": COMPARTMENT,
    "oci:identity:faultdomain:name": (
        {"compartmentId", "availabilityDomainName"},
        {"compartmentId", "availabilityDomainName"},
    ),
    "oci:database:dbsystem:id": COMPARTMENT,
    "oci:database:dbhome:id": ({"compartmentId", "dbSystemId"}, {"compartmentId", "dbSystemId"}),
    "oci:database:dbhome:dbversion": ({"dbHomeId"}, {"dbHomeId"}),
    "oci:database:database:id": ({"compartmentId", "dbHomeId"}, {"compartmentId", "dbHomeId"}),
    "oci:database:autonomousdatabase:id": ({"compartmentId"}, {"compartmentId", "dbWorkload"}),
    "oci:database:autonomousdatabaseversion:id": (set(), {"compartmentId", "dbWorkload"}),
    "oci:database:autonomouscontainerdatabase:id": COMPARTMENT,
    "oci:kms:vault:id": COMPARTMENT,
    "oci:kms:key:id": (
        {"compartmentId", "vaultId"},
        {"compartmentId", "vaultId", "protectionMode", "algorithm", "length", "curveId"},
    ),
    "oci:kms:secret:id": ({"compartmentId"}, {"compartmentId", "vaultId", "name"}),
    "oci:container:cluster:id": COMPARTMENT,
    "oci:kubernetes:versions:id": ({"compartmentId", "clusterOptionId"}, {"compartmentId", "clusterOptionId"}),
    "oci:loadbalancer:loadbalancer:id": COMPARTMENT,
    "oci:mount:target:id": ({"compartmentId", "availabilityDomain"}, {"compartmentId", "availabilityDomain"}),
    "oci:identity:tag:value": COMPARTMENT,
    "oci:ods:project:id": COMPARTMENT,
    "oci:identity:groups:id": COMPARTMENT,
    "oci:identity:dynamicgroups:id": COMPARTMENT,
    "oci:logan:loggroup:id": COMPARTMENT,
    "oci:logan:scheduledtask:id": ({"compartmentId", "taskType"}, {"compartmentId", "taskType"}),
    "oci:logan:logentity:id": COMPARTMENT,
    "oci:mgmt:agent:id": COMPARTMENT,
    "oci:logan:source:id": COMPARTMENT,
    "oci:resourcemanager:privateendpoint:id": (set(), {"compartmentId", "vcnId"}),
    "oci:apm:domain:id": COMPARTMENT,
}
OUTPUT_TYPES = {"boolean", "number", "string", "copyableString", "link", "ocid", "map", "json", "list", "csv"}
COMPARISONS = {"eq", "ge", "le", "gt", "lt"}

# The Terraform type each schema type stands for ("Data types must be consistent with the associated
# Terraform configuration"). Terraform has one number type: integer and number both map to it; an enum
# is a string (its values are strings in the meta schema); every picker yields an OCID or a name.
SCALAR_TF_TYPES = {"number": "number", "integer": "number", "boolean": "bool"}


def tf_type_of(spec: dict) -> str | None:
    """The Terraform type a schema variable must have, or None when its type is unknown."""
    kind = spec.get("type")
    if kind == "array":
        inner = tf_type_of(spec.get("items") or {})
        return f"list({inner})" if inner else None
    if kind in SCALAR_TF_TYPES:
        return SCALAR_TF_TYPES[kind]
    if kind in STATIC_TYPES or kind in DYNAMIC_TYPES:
        return "string"
    return None


REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def reference(value: Any) -> str | None:
    """The variable a reference names: `${name}`, or a bare `name` where the docs use that form."""
    if not isinstance(value, str):
        return None
    match = REFERENCE.match(value)
    return match.group(1) if match else (value if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value) else None)


def _boolean_statement(value: Any, where: str, names: set[str], problems: list[str]) -> None:
    """A booleanStatement: true/false, a string (a reference), or eq/ge/le/gt/lt/and/or/not."""
    if isinstance(value, bool):
        return
    if isinstance(value, str):
        match = REFERENCE.match(value)
        if match and match.group(1) not in names:
            problems.append(f"{where}: refers to an unknown variable {match.group(1)}")
        return
    if not isinstance(value, dict) or len(value) != 1:
        problems.append(f"{where}: not a boolean statement: {value!r}")
        return
    ((operator, operands),) = value.items()
    sizes = {"not": 1, "and": 2, "or": 2, **{name: 2 for name in COMPARISONS}}
    if operator not in sizes or not isinstance(operands, list) or len(operands) != sizes[operator]:
        problems.append(f"{where}: {operator} takes a list of {sizes.get(operator, '?')} operand(s)")
        return
    for index, operand in enumerate(operands):
        if operator in COMPARISONS:
            if not isinstance(operand, str | int | float) or isinstance(operand, bool):
                problems.append(f"{where}.{operator}[{index}]: a string or number is expected")
        else:
            _boolean_statement(operand, f"{where}.{operator}[{index}]", names, problems)


def _variable_format(name: str, spec: Any, names: set[str], problems: list[str], where: str | None = None) -> None:
    """One variable definition against the meta schema (recursing into an array's items)."""
    where = where or f"variables.{name}"
    if not isinstance(spec, dict):
        problems.append(f"{where}: a mapping is expected")
        return
    kind = spec.get("type")
    if kind is None:
        problems.append(f"{where}: no type")
        return
    if kind not in STATIC_TYPES and kind not in DYNAMIC_TYPES:
        problems.append(f"{where}: type {kind!r} is not a documented schema type")
        return
    if "title" in spec and not (isinstance(spec["title"], str) and spec["title"]):
        problems.append(f"{where}: title must be a non-empty string")
    if "description" in spec and not isinstance(spec["description"], str):
        problems.append(f"{where}: description must be a string")
    if "required" in spec and not isinstance(spec["required"], bool):
        problems.append(f"{where}: required must be true or false")
    if "visible" in spec:
        _boolean_statement(spec["visible"], f"{where}.visible", names, problems)
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
        if key in spec and (isinstance(spec[key], bool) or not isinstance(spec[key], int | float)):
            problems.append(f"{where}: {key} must be a number")
    for key in ("minItems", "maxItems", "minLength", "maxLength"):
        if key in spec and (isinstance(spec[key], bool) or not isinstance(spec[key], int) or spec[key] < 0):
            problems.append(f"{where}: {key} must be a non-negative integer")
    if "pattern" in spec:
        try:
            re.compile(spec["pattern"])
        except (re.error, TypeError) as error:
            problems.append(f"{where}: pattern does not compile: {error}")
    default = spec.get("default", MISSING)
    if kind == "enum":
        values = spec.get("enum")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            problems.append(f"{where}: an enum needs `enum`, a list of strings")
        elif default is not MISSING and default not in values:
            problems.append(f"{where}: default {default!r} is not one of {values}")
    if kind == "integer" and default is not MISSING and (isinstance(default, bool) or not isinstance(default, int)):
        problems.append(f"{where}: default must be an integer")
    if (
        kind == "number"
        and default is not MISSING
        and (isinstance(default, bool) or not isinstance(default, int | float))
    ):
        problems.append(f"{where}: default must be a number")
    if kind == "boolean" and default is not MISSING and not isinstance(default, bool):
        problems.append(f"{where}: default must be true or false")
    if kind == "array":
        if "items" not in spec:
            problems.append(f"{where}: an array needs `items`")
        else:
            _variable_format(name, spec["items"], names, problems, f"{where}.items")
        if default is not MISSING and not isinstance(default, list):
            problems.append(f"{where}: default must be a list")
    if kind in DYNAMIC_TYPES:
        required, allowed = DYNAMIC_TYPES[kind]
        depends = spec.get("dependsOn", {})
        if not isinstance(depends, dict):
            problems.append(f"{where}.dependsOn: a mapping is expected")
            return
        for key in sorted(required - set(depends)):
            problems.append(f"{where}.dependsOn: {kind} requires {key}")
        for key in sorted(set(depends) - allowed):
            problems.append(f"{where}.dependsOn: {kind} does not take {key}")
        for key, value in depends.items():
            match = REFERENCE.match(value) if isinstance(value, str) else None
            if match and match.group(1) not in names:
                problems.append(f"{where}.dependsOn.{key}: refers to an unknown variable {match.group(1)}")


def format_problems(schema: Any) -> list[str]:
    """The schema document against its documented format (meta schema), nothing project-specific."""
    if not isinstance(schema, dict):
        return ["the schema document must be a YAML mapping"]
    problems = [f"{key}: required" for key in ("schemaVersion", "variables") if key not in schema]
    problems += [f"{key}: not a key of the schema document format" for key in sorted(set(schema) - TOP_LEVEL_KEYS)]
    if "schemaVersion" in schema and str(schema["schemaVersion"]) not in SCHEMA_VERSIONS:
        problems.append(f"schemaVersion: {schema['schemaVersion']!r} is not one of {sorted(SCHEMA_VERSIONS)}")
    if "locale" in schema and schema["locale"] != "en":
        problems.append("locale: only en is documented")
    for key in ("title", "description", "stackDescription", "informationalText", "instructions", "troubleshooting"):
        if key in schema and not isinstance(schema[key], str):
            problems.append(f"{key}: a string is expected")
    variables = schema.get("variables") or {}
    if not isinstance(variables, dict):
        return problems + ["variables: a mapping of variable names is expected"]
    names = set(variables)
    for name, spec in variables.items():
        _variable_format(name, spec, names, problems)
    for key in ("variableGroups", "groupings"):
        groups = schema.get(key, [])
        if not isinstance(groups, list):
            problems.append(f"{key}: a list is expected")
            continue
        for index, group in enumerate(groups):
            where = f"{key}[{index}]"
            if not isinstance(group, dict) or "title" not in group or "variables" not in group:
                problems.append(f"{where}: a group needs a title and variables")
                continue
            if not isinstance(group["title"], str):
                problems.append(f"{where}.title: a string is expected")
            for item in group["variables"] if isinstance(group["variables"], list) else [None]:
                named = reference(item)
                if named is None or named not in names:
                    problems.append(f"{where} ({group['title']}): {item!r} is not a variable of the schema")
            if "visible" in group:
                _boolean_statement(group["visible"], f"{where}.visible", names, problems)
    outputs = schema.get("outputs", {})
    if not isinstance(outputs, dict):
        problems.append("outputs: a mapping is expected")
        outputs = {}
    for name, spec in outputs.items():
        if not isinstance(spec, dict) or spec.get("type") not in OUTPUT_TYPES:
            problems.append(f"outputs.{name}: type must be one of {sorted(OUTPUT_TYPES)}")
    for index, group in enumerate(schema.get("outputGroups", []) or []):
        if not isinstance(group, dict) or "title" not in group or not isinstance(group.get("outputs"), list):
            problems.append(f"outputGroups[{index}]: a group needs a title and outputs")
            continue
        for item in group["outputs"]:
            if reference(item) not in outputs:
                problems.append(f"outputGroups[{index}]: {item!r} is not an output of the schema")
    if "primaryOutputButton" in schema and reference(schema["primaryOutputButton"]) not in outputs:
        problems.append("primaryOutputButton: not an output of the schema")
    return problems


# --- This project's rules: the schema presents the root module exactly ------------------------------


def _matches(pattern: str, value: Any) -> bool:
    return isinstance(value, str) and re.search(pattern, value) is not None


def stack_problems(schema: dict, variables: dict[str, Variable], outputs: set[str]) -> list[str]:
    """The documented format, then: the schema presents every variable of the root module, once, faithfully."""
    problems = format_problems(schema)
    specs = schema.get("variables") or {}
    if not isinstance(specs, dict):
        return problems
    for name in sorted(set(variables) - set(specs)):
        problems.append(f"variables.{name}: in variables.tf but not in the schema")
    for name in sorted(set(specs) - set(variables)):
        problems.append(f"variables.{name}: in the schema but not in variables.tf")
    grouped: dict[str, list[str]] = {}
    for group in schema.get("variableGroups") or []:
        if isinstance(group, dict) and isinstance(group.get("variables"), list):
            for item in group["variables"]:
                grouped.setdefault(reference(item) or str(item), []).append(str(group.get("title")))
    for name in sorted(variables):
        titles = grouped.get(name, [])
        if len(titles) != 1:
            problems.append(f"variables.{name}: in {len(titles)} groups {titles}, not exactly one")
    for name in sorted(set(variables) & set(specs)):
        variable, spec = variables[name], specs[name]
        if not isinstance(spec, dict):
            continue
        where = f"variables.{name}"
        if not spec.get("title"):
            problems.append(f"{where}: no title")
        if not spec.get("description"):
            problems.append(f"{where}: no description")
        expected = tf_type_of(spec)
        if expected is not None and expected != variable.type:
            problems.append(
                f"{where}: schema type {spec.get('type')} means Terraform {expected}, variables.tf says {variable.type}"
            )
        if spec.get("required", False) != variable.required:
            has = "no" if variable.required else "a"
            problems.append(f"{where}: required is {spec.get('required', False)}, but variables.tf has {has} default")
        default = spec.get("default", MISSING)
        if not variable.required:
            if default is MISSING:
                problems.append(f"{where}: no default; variables.tf's is {variable.default!r}")
            elif default != variable.default or type(default) is not type(variable.default):
                problems.append(f"{where}: default {default!r} differs from variables.tf's {variable.default!r}")
        enum = spec.get("enum") if spec.get("type") == "enum" else None
        if variable.enum is not None and enum is None:
            problems.append(
                f"{where}: variables.tf restricts it to {list(variable.enum)}: the schema should be an enum"
            )
        if enum is not None and tuple(enum) != variable.enum:
            problems.append(f"{where}: enum {enum} differs from variables.tf's validation {variable.enum}")
        if default is not MISSING and "pattern" in spec and not _matches(spec["pattern"], default) and default != "":
            problems.append(f"{where}: default {default!r} does not match its pattern")
        items = spec.get("items") if isinstance(spec.get("items"), dict) else {}
        if isinstance(default, list) and "pattern" in items:
            problems += [
                f"{where}: default item {v!r} does not match its pattern"
                for v in default
                if not _matches(items["pattern"], v)
            ]
    for name in sorted(set(schema.get("outputs") or {}) - outputs):
        problems.append(f"outputs.{name}: not an output of the root module")
    return problems


def check(stack_dir: Path = STACK_DIR) -> list[str]:
    """Problems of the stack's schema.yaml against its documented format and the root module."""
    return stack_problems(load_schema(stack_dir / SCHEMA_FILE), read_variables(stack_dir), read_outputs(stack_dir))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.stack", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_ZIP, help=f"the zip to write (default {DEFAULT_ZIP})")
    options = parser.parse_args(argv)
    problems = check()
    if problems:
        print("infra/stack/schema.yaml:\n" + "\n".join(f"  {p}" for p in problems), file=sys.stderr)
        return 1
    out = build_zip(options.out.resolve())
    entries = len(stack_files())
    shown = out.relative_to(REPO) if out.is_relative_to(REPO) else out
    print(
        f"{shown}: {entries} files, {out.stat().st_size} bytes (root module + schema.yaml, module under {MODULE_PATH})"
    )
    print("Create the stack: Resource Manager > Stacks > Create stack > My configuration > .Zip file (README.md).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
