# Optional network: only when no subnet_ids are given. One private subnet (no public IPs) whose
# only route is a service gateway to all services in the Oracle Services Network, enough for the
# function to reach the Data Science and Monitoring APIs.

locals {
  create_vcn = length(var.subnet_ids) == 0
  subnet_ids = local.create_vcn ? [oci_core_subnet.private[0].id] : var.subnet_ids
}

data "oci_core_services" "all" {
  count = local.create_vcn ? 1 : 0

  filter {
    name   = "name"
    values = ["All .* Services In Oracle Services Network"]
    regex  = true
  }
}

resource "oci_core_vcn" "this" {
  count = local.create_vcn ? 1 : 0

  compartment_id = var.compartment_ocid
  cidr_blocks    = [var.vcn_cidr_block]
  display_name   = "${var.name_prefix}-vcn"
  freeform_tags  = local.tags
  defined_tags   = var.defined_tags
}

resource "oci_core_service_gateway" "this" {
  count = local.create_vcn ? 1 : 0

  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.this[0].id
  display_name   = "${var.name_prefix}-sgw"
  freeform_tags  = local.tags
  defined_tags   = var.defined_tags

  services {
    service_id = data.oci_core_services.all[0].services[0].id
  }
}

resource "oci_core_route_table" "private" {
  count = local.create_vcn ? 1 : 0

  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.this[0].id
  display_name   = "${var.name_prefix}-private"
  freeform_tags  = local.tags
  defined_tags   = var.defined_tags

  route_rules {
    destination       = data.oci_core_services.all[0].services[0].cidr_block
    destination_type  = "SERVICE_CIDR_BLOCK"
    network_entity_id = oci_core_service_gateway.this[0].id
  }
}

resource "oci_core_security_list" "private" {
  count = local.create_vcn ? 1 : 0

  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.this[0].id
  display_name   = "${var.name_prefix}-private"
  freeform_tags  = local.tags
  defined_tags   = var.defined_tags

  # Egress to Oracle services only; no ingress rules (the function is invoked by the service).
  egress_security_rules {
    destination      = data.oci_core_services.all[0].services[0].cidr_block
    destination_type = "SERVICE_CIDR_BLOCK"
    protocol         = "6"
    description      = "HTTPS to Oracle services (Data Science, Monitoring, Notifications)"

    tcp_options {
      min = 443
      max = 443
    }
  }
}

resource "oci_core_subnet" "private" {
  count = local.create_vcn ? 1 : 0

  compartment_id             = var.compartment_ocid
  vcn_id                     = oci_core_vcn.this[0].id
  cidr_block                 = var.subnet_cidr_block
  display_name               = "${var.name_prefix}-private"
  prohibit_public_ip_on_vnic = true
  route_table_id             = oci_core_route_table.private[0].id
  security_list_ids          = [oci_core_security_list.private[0].id]
  freeform_tags              = local.tags
  defined_tags               = var.defined_tags
}
