"""Reading Terraform modules in Python, and the one check `terraform validate` does not make.

Real Terraform now validates the module and its examples offline (`make tf-validate`:
infra/tfrun.py with the local oracle/oci provider in infra/provider): unknown or missing arguments,
wrong types, nested blocks, references, module inputs and outputs, the provider source. The
schema checker that used to live here did a subset of that from a JSON schema and is gone.

What is left:

- an HCL reader (python-hcl2) the tests use to compare the module with the function's code
  (config keys, names, defaults) without running Terraform;
- the documentation rule Terraform does not enforce: every variable has a type and a
  description, every output a description (they are the module's user interface).

Usage: python -m infra.check_terraform DIR [DIR ...]   (each DIR searched for module folders)
Exit status 0 when clean, 1 when problems were found (one line each: file: address: message).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

MODULE_META_ARGS = {"source", "version", "count", "for_each", "depends_on", "providers"}
BLOCK_MARK = "__is_block__"


@dataclass(frozen=True)
class Problem:
    file: str
    address: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.address}: {self.message}"


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
    return sorted({path.parent for path in root.rglob("*.tf") if ".terraform" not in path.parts})


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


def documentation_problems(directory: Path | str) -> list[Problem]:
    """Variables without a type or a description, outputs without a description."""
    problems = []
    for path, tree in parse_module(directory).items():
        for kind, required in (("variable", ("type", "description")), ("output", ("description",))):
            for name, body in labelled(tree.get(kind, [])):
                for key in required:
                    if not str(unquote(body.get(key, ""))).strip():
                        problems.append(Problem(str(path), f"{kind}.{name}", f"missing {key}"))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path, help="module folders (searched recursively)")
    args = parser.parse_args(argv)
    problems = [
        problem
        for root in args.dirs
        for directory in module_dirs(root)
        for problem in documentation_problems(directory)
    ]
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
