from pathlib import Path

import pytest

from autoscaler.domain import Shape
from autoscaler.settings import ConfigError, load_settings, setting_keys

ALLOW = {"AUTOSCALE_COMPARTMENT_ALLOWLIST": "ocid1.compartment.oc1..aaaa"}


def test_defaults_keep_the_2022_routing():
    settings = load_settings(ALLOW)
    assert settings.policy.cpu_mode == "horizontal"
    assert settings.policy.mem_mode == "vertical"
    assert settings.dry_run is False
    assert settings.auth == "resource_principal"
    assert settings.compartment_allowlist == ("ocid1.compartment.oc1..aaaa",)


def test_ladder_parses_fixed_and_flex_rungs():
    settings = load_settings({**ALLOW, "AUTOSCALE_SHAPE_LADDER": "VM.Standard2.4, VM.Standard.E4.Flex:2:32"})
    assert settings.shape_ladder == (
        Shape(name="VM.Standard2.4"),
        Shape(name="VM.Standard.E4.Flex", ocpus=2, memory_gbs=32),
    )


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({}, "AUTOSCALE_COMPARTMENT_ALLOWLIST"),
        ({"AUTOSCALE_COMPARTMENT_ALLOWLIST": "not-an-ocid"}, "AUTOSCALE_COMPARTMENT_ALLOWLIST"),
        ({**ALLOW, "AUTOSCALE_MAX_INSTANCES": "many"}, "AUTOSCALE_MAX_INSTANCES"),
        ({**ALLOW, "AUTOSCALE_MIN_INSTANCES": "0"}, "AUTOSCALE_MIN_INSTANCES"),
        ({**ALLOW, "AUTOSCALE_SHAPE_LADDER": ""}, "AUTOSCALE_SHAPE_LADDER"),
        ({**ALLOW, "AUTOSCALE_SHAPE_LADDER": "VM.Standard.E4.Flex:2"}, "AUTOSCALE_SHAPE_LADDER"),
        ({**ALLOW, "AUTOSCALE_SHAPE_LADDER": "A:1:x"}, "AUTOSCALE_SHAPE_LADDER"),
        ({**ALLOW, "AUTOSCALE_SHAPE_LADDER": "A,A"}, "AUTOSCALE_SHAPE_LADDER"),
        ({**ALLOW, "AUTOSCALE_CPU_MODE": "diagonal"}, "AUTOSCALE_CPU_MODE"),
        ({**ALLOW, "AUTOSCALE_CPU_TARGET": "150"}, "AUTOSCALE_CPU_TARGET"),
        ({**ALLOW, "AUTOSCALE_DRY_RUN": "maybe"}, "AUTOSCALE_DRY_RUN"),
        ({**ALLOW, "AUTOSCALE_LOW_ALARM_PENDING_DURATION": "5 minutes"}, "AUTOSCALE_LOW_ALARM_PENDING_DURATION"),
        ({**ALLOW, "AUTOSCALE_AUTH": "emulator"}, "auth=emulator needs"),
        ({**ALLOW, "AUTOSCALE_MIN_INSTANCES": "5"}, "max_instances must be >= min_instances"),
        ({**ALLOW, "AUTOSCALE_CPU_LOW_THRESHOLD": "70"}, "cpu_low_threshold must be below cpu_target"),
    ],
)
def test_invalid_config_names_the_key(env, key):
    with pytest.raises(ConfigError, match=key):
        load_settings(env)


def test_blank_endpoints_mean_the_real_oci():
    settings = load_settings({**ALLOW, "AUTOSCALE_DATA_SCIENCE_ENDPOINT": "", "AUTOSCALE_MONITORING_ENDPOINT": " "})
    assert settings.data_science_endpoint is None and settings.monitoring_endpoint is None


def test_deployment_tags_override_the_policy_only():
    policy = load_settings(ALLOW).policy
    tags = {"autoscale_max_instances": "8", "autoscale_cpu_mode": "vertical", "team": "ml", "autoscale_dry_run": "true"}
    overridden = policy.with_overrides(tags)
    assert overridden.max_instances == 8 and overridden.cpu_mode == "vertical"
    assert policy.max_instances == 4  # the base policy is untouched
    assert not hasattr(overridden, "dry_run")  # global settings cannot be overridden from a tag


@pytest.mark.parametrize(
    "tags", [{"autoscale_max_instances": "lots"}, {"autoscale_min_instances": "9"}, {"autoscale_shape_ladder": ""}]
)
def test_invalid_override_names_the_tag(tags):
    with pytest.raises(ConfigError, match="autoscale_"):
        load_settings(ALLOW).policy.with_overrides(tags)


def test_setting_keys_cover_every_field():
    keys = setting_keys()
    assert "AUTOSCALE_COMPARTMENT_ALLOWLIST" in keys and "AUTOSCALE_SHAPE_LADDER" in keys
    assert all(key.startswith("AUTOSCALE_") and key.isupper() for key in keys)


def test_readme_documents_every_setting():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert [key for key in setting_keys() if f"| `{key}` |" not in readme] == []


@pytest.mark.parametrize(
    ("key", "value", "ok"),
    [
        ("AUTOSCALE_LOW_ALARM_PENDING_DURATION", "PT1M", True),
        ("AUTOSCALE_LOW_ALARM_PENDING_DURATION", "PT1H", True),
        ("AUTOSCALE_LOW_ALARM_PENDING_DURATION", "PT2H", False),  # CreateAlarmDetails: maximum PT1H
        ("AUTOSCALE_LOW_ALARM_PENDING_DURATION", "PT30S", False),  # minimum PT1M
        ("AUTOSCALE_LOW_ALARM_REPEAT_DURATION", "P30D", True),
        ("AUTOSCALE_LOW_ALARM_REPEAT_DURATION", "P1DT2H", True),
        ("AUTOSCALE_LOW_ALARM_REPEAT_DURATION", "P31D", False),  # maximum P30D
        ("AUTOSCALE_LOW_ALARM_REPEAT_DURATION", "PT30S", False),
        ("AUTOSCALE_LOW_ALARM_REPEAT_DURATION", "PT", False),
    ],
)
def test_alarm_durations_are_held_to_the_range_oci_accepts(key, value, ok):
    environ = {"AUTOSCALE_COMPARTMENT_ALLOWLIST": "ocid1.compartment.oc1..demo", key: value}
    if ok:
        load_settings(environ)
    else:
        with pytest.raises(ConfigError, match=key):
            load_settings(environ)
