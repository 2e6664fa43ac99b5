terraform {
  # 1.5: check blocks and optional() object attributes with defaults.
  required_version = ">= 1.5.0"

  required_providers {
    oci = {
      source = "oracle/oci"
      # Written and schema-checked against oracle/oci 7.19.0.
      version = ">= 7.0.0, < 8.0.0"
    }
  }
}
