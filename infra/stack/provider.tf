# Resource Manager authenticates the provider itself (no keys or config file in a stack) and fills in
# `region`, `tenancy_ocid` and `compartment_ocid` ("Extend Console Pages Using Schema Documents": the
# variables that prepopulate automatically).
provider "oci" {
  region = var.region
}
