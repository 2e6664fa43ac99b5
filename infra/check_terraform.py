"""Offline checks of Terraform modules against the OCI provider schema.

`terraform validate` needs the provider plugin, which cannot be downloaded here. This checker covers
the part of it that matters most for us, from the provider's schema (oracle/oci, vendored beside
this file as oci-provider-schema-<version>.json.gz):

- every resource and data block: known type; no unknown argument or nested block; every required
  argument and nested block present; nested blocks checked recursively; arguments written as blocks
  and blocks written as arguments; meta-arguments (count, for_each, depends_on, provider, lifecycle,
  provisioner/connection) and `dynamic` blocks handled;
- references: var., local., module., data. and resource addresses point at something declared;
  each./count. only where for_each/count is set;
- module calls with a local source: every argument is a variable of the called module, every
  variable without a default is given, every module.<name>.<output> exists;
- variables have a type and a description, outputs a value;
- a module that uses oci_* declares required_providers oci = { source = "oracle/oci" }.

Usage: python infra/check_terraform.py [--schema FILE] DIR [DIR ...]
Each DIR is searched recursively (skipping .terraform); every folder with .tf files is a module.
Exit status 0 when clean, 1 when problems were found (one line each: file: address: message).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DEFAULT_SCHEMA = Path(__file__).with_name("oci-provider-schema-7.19.0.json.gz")
PROVIDER_NAME = "oci"
PROVIDER_PREFIX = PROVIDER_NAME + "_"
PROVIDER_SOURCE = "oracle/oci"  # without it Terraform looks for hashicorp/oci

RESOURCE_META_ARGS = {"count", "for_each", "depends_on", "provider"}
RESOURCE_META_BLOCKS = {"lifecycle", "provisioner", "connection"}
DATA_META_BLOCKS = {"lifecycle"}
MODULE_META_ARGS = {"source", "version", "count", "for_each", "depends_on", "providers"}
LIFECYCLE_ARGS = {"create_before_destroy", "prevent_destroy", "ignore_changes", "replace_triggered_by"}
CONDITION_BLOCKS = {"precondition", "postcondition"}
DYNAMIC_ARGS = {"for_each", "iterator", "labels"}

BLOCK_MARK = "__is_block__"
REFERENCE = re.compile(
    r"(?<![\w.])(?:"
    r"var\.(?P<var>\w+)"
    r"|local\.(?P<local>\w+)"
    r"|module\.(?P<module>\w+)(?:\.(?P<module_output>\w+))?"
    r"|data\.(?P<data_type>\w+)\.(?P<data_name>\w+)"
    r"|(?P<each>each)\.(?:key|value)"
    r"|(?P<count>count)\.index"
    rf"|(?P<resource_type>{PROVIDER_PREFIX}\w+)\.(?P<resource_name>\w+)"
    r")"
)


@dataclass(frozen=True)
class Problem:
    file: str
    address: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.address}: {self.message}"


# --- Loading -------------------------------------------------------------------------------------


def load_schema(path: Path | str | None = None) -> dict:
    """The provider schema: {"provider", "version", "resource": {type: spec}, "data": {type: spec}}."""
    path = Path(path) if path else DEFAULT_SCHEMA
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


@cache
def parse_text(text: str) -> dict:
    """Parse HCL text with python-hcl2 (cached by content: copies of a module parse once)."""
    import hcl2  # imported late: its grammar takes seconds to build the first time

    return hcl2.loads(text)


def parse_module(directory: Path | str) -> dict[Path, dict]:
    """Every *.tf file of one module folder (not its subfolders), parsed with python-hcl2."""
    return {path: parse_text(path.read_text(encoding="utf-8")) for path in sorted(Path(directory).glob("*.tf"))}


def module_dirs(root: Path | str) -> list[Path]:
    """`root` and every folder below it that holds .tf files (skipping .terraform)."""
    root = Path(root)
    found = {path.parent for path in root.rglob("*.tf") if ".terraform" not in path.parts}
    return sorted(found)


# --- HCL helpers -----------------------------------------------------------------------------------


def unquote(value: object) -> object:
    """python-hcl2 keeps the quotes of string literals and labels: '"x"' -> 'x'."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def is_literal_string(value: object) -> bool:
    return isinstance(value, str) and value.startswith('"') and value.endswith('"') and "${" not in value


def is_block(value: object) -> bool:
    """A nested block parses as a list of dicts marked __is_block__ (an object argument does not)."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and v.get(BLOCK_MARK) for v in value)


def body_items(body: dict) -> Iterator[tuple[str, object]]:
    """The arguments and blocks of a body, without python-hcl2's markers (__is_block__, __comments__)."""
    return ((key, value) for key, value in body.items() if not (key.startswith("__") and key.endswith("__")))


def labelled(entries: list[dict]) -> Iterator[tuple[str, dict]]:
    """`resource "t" "n" {}` parses as [{'"t"': {'"n"': {...}}}]: yield ('t', {'"n"': ...})."""
    for entry in entries:
        for label, inner in body_items(entry):
            yield str(unquote(label)), inner


def labelled2(entries: list[dict]) -> Iterator[tuple[str, str, dict]]:
    for first, inner in labelled(entries):
        for second, body in labelled([inner]):
            yield first, second, body


def interpolations(text: str) -> Iterator[str]:
    """The expressions inside ${...} of a python-hcl2 value, nested templates included."""
    i = 0
    while (start := text.find("${", i)) != -1:
        depth, j, quoted = 0, start + 2, False
        while j < len(text):
            char = text[j]
            if quoted:
                if char == "\\":
                    j += 1
                elif char == '"':
                    quoted = False
            elif char == '"':
                quoted = True
            elif char == "{":
                depth += 1
            elif char == "}":
                if depth == 0:
                    break
                depth -= 1
            j += 1
        inner = text[start + 2 : j]
        yield inner
        yield from interpolations(inner)
        i = j + 1


def strings_in(value: object) -> Iterator[str]:
    """Every string (keys included) anywhere in a parsed value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in body_items(value):
            yield key
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def required_provider_sources(tree: dict) -> list[str]:
    """The `source` of the oci entry in each `terraform { required_providers { ... } }` of a file."""
    sources = []
    for block in tree.get("terraform", []):
        for providers in block.get("required_providers", []):
            entry = providers.get(PROVIDER_NAME)
            if isinstance(entry, dict) and entry.get("source"):
                sources.append(str(unquote(entry["source"])))
    return sources


# --- The module model --------------------------------------------------------------------------------


@dataclass
class Declared:
    variables: dict[str, dict]
    locals: set[str]
    outputs: set[str]
    modules: dict[str, dict]
    resources: set[tuple[str, str]]
    data: set[tuple[str, str]]


def declarations(files: dict[Path, dict]) -> Declared:
    declared = Declared({}, set(), set(), {}, set(), set())
    for tree in files.values():
        for name, body in labelled(tree.get("variable", [])):
            declared.variables[name] = body
        for entry in tree.get("locals", []):
            declared.locals.update(key for key, _ in body_items(entry))
        declared.outputs.update(name for name, _ in labelled(tree.get("output", [])))
        for name, body in labelled(tree.get("module", [])):
            declared.modules[name] = body
        declared.resources.update((t, n) for t, n, _ in labelled2(tree.get("resource", [])))
        declared.data.update((t, n) for t, n, _ in labelled2(tree.get("data", [])))
    return declared


# --- Checks ---------------------------------------------------------------------------------------


class Checker:
    def __init__(self, schema: dict):
        self.schema = schema

    def check_paths(self, roots: list[Path | str]) -> list[Problem]:
        problems: list[Problem] = []
        for root in roots:
            root = Path(root)
            if not root.is_dir():
                problems.append(Problem(str(root), "-", "not a directory"))
                continue
            dirs = module_dirs(root)
            if not dirs:
                problems.append(Problem(str(root), "-", "no .tf files found"))
            for directory in dirs:
                problems.extend(self.check_module(directory))
        return problems

    def check_module(self, directory: Path | str) -> list[Problem]:
        directory = Path(directory)
        files = parse_module(directory)
        declared = declarations(files)
        problems: list[Problem] = []
        seen: dict[str, str] = {}
        uses_provider = False
        provider_sources: list[str] = []
        for path, tree in files.items():
            file = str(path)

            def report(address: str, message: str, file: str = file) -> None:
                problems.append(Problem(file, address, message))

            for kind in ("variable", "output", "module"):
                for name, _ in labelled(tree.get(kind, [])):
                    address = f"{kind}.{name}"
                    if address in seen:
                        report(address, f"declared twice (also in {seen[address]})")
                    seen[address] = file
            for mode in ("resource", "data"):
                for rtype, name, body in labelled2(tree.get(mode, [])):
                    address = f"{rtype}.{name}" if mode == "resource" else f"data.{rtype}.{name}"
                    if address in seen:
                        report(address, f"declared twice (also in {seen[address]})")
                    seen[address] = file
                    uses_provider |= rtype.startswith(PROVIDER_PREFIX)
                    self.check_block_instance(mode, rtype, body, address, report)
                    self.check_references(body, address, declared, directory, report)
            uses_provider |= any(name == PROVIDER_NAME for name, _ in labelled(tree.get("provider", [])))
            provider_sources.extend(required_provider_sources(tree))
            for name, body in labelled(tree.get("variable", [])):
                self.check_variable(name, body, report)
                self.check_references(body, f"variable.{name}", declared, directory, report, only_self=True)
            for name, body in labelled(tree.get("output", [])):
                if "value" not in body:
                    report(f"output.{name}", "missing value")
                self.check_references(body, f"output.{name}", declared, directory, report)
            for entry in tree.get("locals", []):
                for key, value in body_items(entry):
                    self.check_references(value, f"local.{key}", declared, directory, report)
            for name, body in labelled(tree.get("module", [])):
                self.check_module_call(name, body, directory, report)
                self.check_references(body, f"module.{name}", declared, directory, report)
        if uses_provider and PROVIDER_SOURCE not in provider_sources:
            message = f'uses {PROVIDER_NAME} but does not declare {PROVIDER_NAME} = {{ source = "{PROVIDER_SOURCE}" }}'
            problems.append(Problem(str(directory), "terraform.required_providers", message))
        return problems

    # Resource and data blocks ----------------------------------------------------------------

    def check_block_instance(self, mode: str, rtype: str, body: dict, address: str, report) -> None:
        types = self.schema["data" if mode == "data" else "resource"]
        if rtype not in types:
            other = "data source" if mode == "resource" else "resource"
            hint = f" (it is a {other} type)" if rtype in self.schema["resource" if mode == "data" else "data"] else ""
            report(address, f"unknown {'data source' if mode == 'data' else 'resource'} type {rtype!r}{hint}")
            return
        if "count" in body and "for_each" in body:
            report(address, "count and for_each cannot both be set")
        meta_blocks = RESOURCE_META_BLOCKS if mode == "resource" else DATA_META_BLOCKS
        if "lifecycle" in body:
            self.check_lifecycle(body["lifecycle"], f"{address}.lifecycle", report, data=(mode == "data"))
        self.check_body(types[rtype], body, address, report, meta_args=RESOURCE_META_ARGS, meta_blocks=meta_blocks)

    def check_body(
        self,
        spec: dict,
        body: dict,
        address: str,
        report,
        *,
        meta_args: set[str] = frozenset(),
        meta_blocks: set[str] = frozenset(),
    ) -> None:
        arguments, blocks = spec.get("arguments", {}), spec.get("blocks", {})
        static_blocks: dict[str, int] = {}
        dynamic_blocks: set[str] = set()
        for key, value in body_items(body):
            if key in meta_args or key in meta_blocks:
                continue
            if key == "dynamic":
                for label, dynamic_body in labelled(value if isinstance(value, list) else []):
                    self.check_dynamic(blocks, label, dynamic_body, f"{address}.dynamic.{label}", report)
                    dynamic_blocks.add(label)
                continue
            if key in arguments:
                if is_block(value):
                    report(f"{address}.{key}", f"{key!r} is an argument: write {key} = ..., not a block")
                continue
            if key in blocks:
                if not is_block(value):
                    report(f"{address}.{key}", f"{key!r} is a nested block: write {key} {{ ... }}, not {key} = ...")
                    static_blocks[key] = 1  # reported once, not again as missing
                    continue
                static_blocks[key] = len(value)
                for index, item in enumerate(value):
                    suffix = f"[{index}]" if len(value) > 1 else ""
                    self.check_body(blocks[key], item, f"{address}.{key}{suffix}", report)
                continue
            kind = "nested block" if is_block(value) else "argument"
            report(f"{address}.{key}", f"unknown {kind} {key!r}")
        for name, argument in arguments.items():
            if argument.get("required") and name not in body:
                report(address, f"missing required argument {name!r}")
        for name, block in blocks.items():
            if block.get("required") and name not in static_blocks and name not in dynamic_blocks:
                report(address, f"missing required block {name!r}")
            if not block.get("list", True) and static_blocks.get(name, 0) > 1:
                report(f"{address}.{name}", f"block {name!r} may appear at most once")

    def check_dynamic(self, blocks: dict, label: str, body: dict, address: str, report) -> None:
        if label not in blocks:
            report(address, f"dynamic block for unknown nested block {label!r}")
            return
        if "for_each" not in body:
            report(address, "dynamic block needs for_each")
        contents = body.get("content")
        if not is_block(contents):
            report(address, "dynamic block needs a content { ... } block")
        else:
            for item in contents:
                self.check_body(blocks[label], item, f"{address}.content", report)
        for key, _ in body_items(body):
            if key not in DYNAMIC_ARGS and key != "content":
                report(f"{address}.{key}", f"unknown argument {key!r} in a dynamic block")

    def check_lifecycle(self, value: object, address: str, report, *, data: bool) -> None:
        if not is_block(value):
            report(address, "lifecycle must be a block")
            return
        for body in value:
            for key, item in body_items(body):
                if key in CONDITION_BLOCKS:
                    for condition in item if is_block(item) else []:
                        for required in ("condition", "error_message"):
                            if required not in condition:
                                report(f"{address}.{key}", f"missing {required!r}")
                elif data or key not in LIFECYCLE_ARGS:
                    report(f"{address}.{key}", f"unknown lifecycle argument {key!r}")

    # Variables, modules, references ------------------------------------------------------------

    def check_variable(self, name: str, body: dict, report) -> None:
        address = f"variable.{name}"
        for required in ("type", "description"):
            if required not in body:
                report(address, f"missing {required}")
        if "description" in body and not str(unquote(body["description"])).strip():
            report(address, "empty description")
        for validation in body.get("validation", []):
            for required in ("condition", "error_message"):
                if required not in validation:
                    report(f"{address}.validation", f"missing {required!r}")

    def check_module_call(self, name: str, body: dict, directory: Path, report) -> None:
        address = f"module.{name}"
        source = unquote(body.get("source"))
        if not isinstance(source, str):
            report(address, "missing source")
            return
        if not source.startswith(("./", "../")):
            return  # registry or git modules cannot be read offline
        target = (directory / source).resolve()
        if not any(target.glob("*.tf")):
            report(address, f"source {source!r} has no .tf files")
            return
        variables = declarations(parse_module(target)).variables
        for key, _ in body_items(body):
            if key not in MODULE_META_ARGS and key not in variables:
                report(f"{address}.{key}", f"module {source!r} has no variable {key!r}")
        for variable, spec in variables.items():
            if "default" not in spec and variable not in body:
                report(address, f"missing required module input {variable!r}")

    def check_references(
        self,
        value: object,
        address: str,
        declared: Declared,
        directory: Path,
        report,
        *,
        only_self: bool = False,
    ) -> None:
        """Check var./local./module./data./resource references; each./count. need for_each/count.

        `only_self`: a variable block may only reference var.<itself> (in its validations).
        """
        body = value if isinstance(value, dict) else {}
        iterators = {name for name, meta in (("each", "for_each"), ("count", "count")) if meta in body}
        for text in strings_in(value):
            for expression in interpolations(text):
                for match in REFERENCE.finditer(_without_string_literals(expression)):
                    problem = self._reference_problem(match, declared, directory, iterators)
                    if only_self and match.group(0) != f"var.{address.split('.', 1)[1]}":
                        problem = f"a variable may only reference itself, not {match.group(0)!r}"
                    if problem:
                        report(address, problem)

    def _reference_problem(self, match: re.Match, declared: Declared, directory: Path, iterators: set[str]) -> str:
        text, group = match.group(0), match.group
        if group("var") and group("var") not in declared.variables:
            return f"reference to undeclared variable {text!r}"
        if group("local") and group("local") not in declared.locals:
            return f"reference to undeclared local {text!r}"
        if group("module"):
            if group("module") not in declared.modules:
                return f"reference to undeclared module {text!r}"
            source = unquote(declared.modules[group("module")].get("source"))
            if group("module_output") and isinstance(source, str) and source.startswith(("./", "../")):
                outputs = declarations(parse_module((directory / source).resolve())).outputs
                if group("module_output") not in outputs:
                    return f"module {source!r} has no output {group('module_output')!r}"
        if group("data_type") and (group("data_type"), group("data_name")) not in declared.data:
            return f"reference to undeclared data source {text!r}"
        if group("resource_type") and (group("resource_type"), group("resource_name")) not in declared.resources:
            return f"reference to undeclared resource {text!r}"
        if group("each") and "each" not in iterators:
            return f"{text!r} used in a block without for_each"
        if group("count") and "count" not in iterators:
            return f"{text!r} used in a block without count"
        return ""


def _without_string_literals(expression: str) -> str:
    """Blank out quoted strings (their ${...} parts are visited separately) to avoid false matches."""
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', expression)


def check(roots: list[Path | str], schema: dict | None = None) -> list[Problem]:
    return Checker(schema or load_schema()).check_paths(roots)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path, help="module folders (searched recursively)")
    parser.add_argument(
        "--schema", type=Path, default=None, help=f"provider schema JSON (default: {DEFAULT_SCHEMA.name})"
    )
    args = parser.parse_args(argv)
    schema = load_schema(args.schema)
    problems = check(args.dirs, schema)
    for problem in problems:
        print(problem)
    checked = sum(len(module_dirs(d)) for d in args.dirs if d.is_dir())
    print(
        f"{len(problems)} problem(s) in {checked} module(s) (schema {schema['provider']} {schema['version']})",
        file=sys.stderr,
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
