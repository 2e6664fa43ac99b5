# A complete root module: everything the autoscaler needs, from nothing, with one apply.
# Authentication comes from ~/.oci/config (profile var.config_file_profile); see the module README.

provider "oci" {
  region              = var.region
  config_file_profile = var.config_file_profile
}

module "autoscaler" {
  source = "../.."

  tenancy_ocid     = var.tenancy_ocid
  compartment_ocid = var.compartment_ocid
  name_prefix      = var.name_prefix
  freeform_tags    = var.freeform_tags

  # Empty: the module creates a VCN with a private subnet and a service gateway.
  subnet_ids = var.subnet_ids

  function_image = var.function_image
  dry_run        = var.dry_run
  scaling        = var.scaling
  deployments    = var.deployments

  # null: the module's default (10). No deployment tag or override can go above it.
  instance_ceiling = var.instance_ceiling
}
