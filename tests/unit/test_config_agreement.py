"""func.yaml (what `fn deploy` sets), the Terraform module's defaults and the settings defaults agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoscaler.settings import Settings, load_settings

FUNC_YAML = Path(__file__).parents[2] / "functions" / "autoscale" / "func.yaml"
PLACEHOLDERS = {"AUTOSCALE_COMPARTMENT_ALLOWLIST"}  # the user's own value, no default to agree with
ALLOWLIST = {"AUTOSCALE_COMPARTMENT_ALLOWLIST": "ocid1.compartment.oc1..demo"}


def func_yaml_config() -> dict[str, str]:
    """The `config:` map of func.yaml (flat `KEY: value` lines; no YAML library in the function's deps)."""
    lines = FUNC_YAML.read_text().splitlines()
    start = lines.index("config:") + 1
    config = {}
    for line in lines[start:]:
        if not line.startswith("  ") or line.lstrip().startswith("#"):
            if line and not line.startswith(" "):
                break
            continue
        key, _, value = line.strip().partition(": ")
        config[key] = value.strip().strip('"')
    return config


@pytest.mark.parametrize("key", sorted(set(func_yaml_config()) - PLACEHOLDERS))
def test_func_yaml_sets_the_settings_default(key):
    name = key.removeprefix("AUTOSCALE_").lower()
    configured = getattr(load_settings({**ALLOWLIST, key: func_yaml_config()[key]}), name)
    default = Settings.model_fields[name].default
    assert configured == getattr(load_settings(ALLOWLIST), name) == default, (
        f"func.yaml sets {key}={func_yaml_config()[key]!r}, the function's default is {default!r}"
    )


def test_terraform_scaling_defaults_are_the_settings_defaults():
    from infra import check_terraform as ct
    from tests.terraform.parsed import MODULE_DIR, Module
    from tests.terraform.test_terraform_contract import check_scaling_defaults

    assert check_scaling_defaults(Module(ct.parse_module(MODULE_DIR))) == []


def test_func_yaml_timeout_is_the_terraform_default():
    from infra import check_terraform as ct
    from tests.terraform.parsed import MODULE_DIR, Module

    variables = Module(ct.parse_module(MODULE_DIR)).variables
    timeout = next(line for line in FUNC_YAML.read_text().splitlines() if line.startswith("timeout:"))
    assert int(timeout.split(":")[1]) == int(variables["function_timeout_in_seconds"]["default"])
