"""`terraform init` + `terraform validate` (real Terraform core, offline oracle/oci provider) fail on a broken module.

Each case copies the module, breaks one thing and validates the copy: one break per copy, because
Terraform skips the resources that depend on a failed one and would hide the next break. The
copies are validated in parallel (each validate is its own process) once per session.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from infra.tfrun import REPO, copy_tree, format_diagnostics

# name: (file, old, new, directory validated, what Terraform must say)
BREAKS = {
    "bad reference": (
        "iam.tf",
        "oci_functions_function.autoscale.id",
        "oci_functions_function.autoscaler.id",
        ".",
        'Reference to undeclared resource: A managed resource "oci_functions_function" "autoscaler" has not been',
    ),
    "wrong type": (
        "functions.tf",
        "timeout_in_seconds = var.function_timeout_in_seconds",
        'timeout_in_seconds = "one minute"',
        ".",
        'Incorrect attribute value type: Inappropriate value for attribute "timeout_in_seconds": a number is required',
    ),
    "missing required argument": (
        "alarms.tf",
        "  is_enabled                   = true\n",
        "",
        ".",
        'Missing required argument: The argument "is_enabled" is required',
    ),
    "misspelled argument": (
        "notifications.tf",
        '  protocol       = "ORACLE_FUNCTIONS"',
        '  protocols      = "ORACLE_FUNCTIONS"',
        ".",
        'Unsupported argument: An argument named "protocols" is not expected here. Did you mean "protocol"?',
    ),
    "unknown computed attribute": (
        "outputs.tf",
        "oci_functions_function.autoscale.invoke_endpoint",
        "oci_functions_function.autoscale.invoke_url",
        ".",
        'Unsupported attribute: This object has no argument, nested block, or exported attribute named "invoke_url"',
    ),
    "unknown attribute of a computed object": (
        "network.tf",
        "service_id = data.oci_core_services.all[0].services[0].id",
        "service_id = data.oci_core_services.all[0].services[0].ocid",
        ".",
        'Unsupported attribute: This object does not have an attribute named "ocid"',
    ),
    "module input that does not exist": (
        "examples/complete/main.tf",
        "  dry_run        = var.dry_run",
        "  dry_runn       = var.dry_run",
        "examples/complete",
        'Unsupported argument: An argument named "dry_runn" is not expected here',  # found by init already
    ),
    "missing module input": (
        "examples/complete/main.tf",
        "  function_image = var.function_image\n",
        "",
        "examples/complete",
        'Missing required argument: The argument "function_image" is required',
    ),
}


@pytest.fixture(scope="session")
def validations(terraform) -> dict[str, tuple[bool, list[str]]]:
    """name -> (valid, diagnostics) for the untouched module and example and every broken copy."""
    scratch = Path(tempfile.mkdtemp(prefix="tf-broken-"))
    jobs: dict[str, Path] = {}
    pristine = copy_tree(scratch / "pristine")
    jobs["pristine module"] = pristine
    jobs["pristine example"] = pristine / "examples" / "complete"
    for index, (name, (file, old, new, directory, _)) in enumerate(BREAKS.items()):
        tree = copy_tree(scratch / f"case{index}")
        path = tree / file
        text = path.read_text()
        assert text.count(old) == 1, f"{name}: {old!r} occurs {text.count(old)} times in {file}: update the case"
        path.write_text(text.replace(old, new))
        jobs[name] = tree / directory

    def run(directory: Path) -> tuple[bool, list[str]]:
        init = terraform.init(directory)
        if init.code != 0:  # e.g. a module call with a wrong input: `terraform init` reads the module tree
            return False, [" ".join(init.text.replace("Error: ", "error: ").split())]
        _, report = terraform.validate(directory)
        return bool(report.get("valid")), format_diagnostics(report)

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = dict(zip(jobs, pool.map(run, jobs.values()), strict=True))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return results


@pytest.mark.parametrize("name", ["pristine module", "pristine example"])
def test_the_module_and_its_example_are_valid(validations, name):
    valid, diagnostics = validations[name]
    assert valid, diagnostics


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_a_broken_copy_fails_validate(validations, name):
    valid, diagnostics = validations[name]
    expected = BREAKS[name][4]
    assert not valid
    text = " ".join(" ".join(diagnostics).split())
    assert all(fragment in text for fragment in expected.split(": ", 1)), (expected, diagnostics)


def test_make_tf_validate_fails_on_a_broken_module(module_copy, edit):
    """What `make tf-validate` runs (python -m infra.tfrun validate), on a copy with a wrong type: exit 1."""
    edit(
        module_copy / "functions.tf", "timeout_in_seconds = var.function_timeout_in_seconds", 'timeout_in_seconds = "x"'
    )
    command = [sys.executable, "-m", "infra.tfrun", "validate", "--root", str(module_copy)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL validate ." in result.stdout and "a number is required" in result.stdout
