import json
import logging
from pathlib import Path

import pytest

from autoscaler import constants
from autoscaler.domain import Shape
from autoscaler.settings import (
    DEFAULT_INSTANCE_CEILING,
    ConfigError,
    Policy,
    load_settings,
    log_unknown_tags,
    setting_keys,
    tag_warnings,
    unknown_tag_keys,
)

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


# --- Tags within bounds: the instance ceiling, unknown keys, ASCII digits ------------------------------------------

BIG = {"autoscale_max_instances": "1000000000"}


def test_no_tag_gets_a_policy_above_the_instance_ceiling():
    policy = load_settings(ALLOW).policy
    assert policy.ceiling == DEFAULT_INSTANCE_CEILING == load_settings(ALLOW).instance_ceiling
    with pytest.raises(ConfigError, match="autoscale_min_instances: 1000 is above the instance ceiling 10 .*floor"):
        policy.with_overrides({**BIG, "autoscale_min_instances": "1000"})  # what asked OCI for 1000 instances
    clamped = policy.with_overrides(BIG)  # max_instances = 1e9 meant "no limit": the most the function allows
    assert (clamped.min_instances, clamped.max_instances, clamped.ceiling) == (1, DEFAULT_INSTANCE_CEILING, 10)
    assert clamped.with_overrides(BIG) == clamped  # stays within it when applied again
    assert policy.with_overrides({"autoscale_max_instances": "10"}).max_instances == 10  # at the ceiling: as given
    with pytest.raises(ConfigError, match="autoscale_schedule: asks for 500 instances, above the instance ceiling 10"):
        policy.with_overrides({**BIG, "autoscale_schedule": "Daily=500"})


def test_the_ceiling_is_a_setting_of_the_function_that_no_tag_can_raise():
    settings = load_settings({**ALLOW, "AUTOSCALE_INSTANCE_CEILING": "50"})
    policy = settings.policy
    assert policy.with_overrides({"autoscale_max_instances": "40"}).max_instances == 40
    assert policy.with_overrides({**BIG, "autoscale_instance_ceiling": "1000000000"}).max_instances == 50
    assert settings.policy_for(BIG) == policy.with_overrides(BIG)
    assert policy.with_overrides({"autoscale_min_instances": "2"}).ceiling == 50  # the ceiling travels with it
    assert "instance_ceiling" not in Policy.model_fields  # a tag can only override a Policy field


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AUTOSCALE_MAX_INSTANCES": "11"}, "AUTOSCALE_MAX_INSTANCES 11 is above AUTOSCALE_INSTANCE_CEILING 10"),
        ({"AUTOSCALE_MAX_INSTANCES": "30", "AUTOSCALE_INSTANCE_CEILING": "20"}, "above AUTOSCALE_INSTANCE_CEILING 20"),
        ({"AUTOSCALE_INSTANCE_CEILING": "0"}, "AUTOSCALE_INSTANCE_CEILING"),
        ({"AUTOSCALE_INSTANCE_CEILING": "1001"}, "AUTOSCALE_INSTANCE_CEILING"),
        ({"AUTOSCALE_INSTANCE_CEILING": "٣٠"}, "AUTOSCALE_INSTANCE_CEILING"),
    ],
)
def test_the_configured_max_instances_stays_within_the_ceiling(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings({**ALLOW, **env})


def test_the_default_ceiling_is_within_the_limit_the_emulator_assumes():
    from emulator import rules

    assert Policy().max_instances <= DEFAULT_INSTANCE_CEILING <= rules.DEFAULT_MAX_INSTANCES


def test_no_sizing_path_goes_above_the_ceiling():
    """Decisions and the floor (schedule, forecast) stop at max_instances, which no tag lifts past the ceiling."""
    from autoscaler.domain import Action, Capacity, DeploymentState, Signal
    from autoscaler.forecast import Forecast
    from autoscaler.plan import floor
    from autoscaler.policy import decide

    tags = {**BIG, "autoscale_saturated_scale_factor": "16", "autoscale_schedule": "Daily=10"}
    policy = load_settings(ALLOW).policy.with_overrides(tags)
    assert floor(policy, 1_700_000_000.0, 7200, Forecast(1e12, "x")).count == DEFAULT_INSTANCE_CEILING
    shape = policy.shape_ladder[0]
    state = DeploymentState("md", "c", "ACTIVE", "SINGLE_MODEL", "FIXED_SIZE", Capacity(9, shape))
    decision = decide(state, Signal("cpu", "up", 100.0, "e1", 1_700_000_000.0), policy, 1_700_000_000.0)
    assert decision.action is Action.SCALE_OUT and decision.target.instance_count == DEFAULT_INSTANCE_CEILING
    at_ceiling = DeploymentState("md", "c", "ACTIVE", "SINGLE_MODEL", "FIXED_SIZE", Capacity(10, shape))
    assert decide(at_ceiling, Signal("cpu", "up", 100.0, "e2", 1_700_000_000.0), policy, 1_700_000_000.0).target is None


@pytest.mark.parametrize(
    "tags",
    [
        {"autoscale_max_instances": "٣"},  # ARABIC-INDIC DIGIT THREE
        {"autoscale_max_instances": "３"},  # FULLWIDTH DIGIT THREE
        {"autoscale_min_instances": "𝟐"},  # MATHEMATICAL BOLD DIGIT TWO
        {"autoscale_cpu_target": "٥٠"},
        {"autoscale_scale_up_cooldown_seconds": "٦٠٠"},
        {"autoscale_shape_ladder": "VM.Standard.E4.Flex:٢:32"},  # float() reads it as 2.0
        {"autoscale_prices": "VM.Standard.E4.Flex=٠.٠٢٥"},  # float() reads it as 0.025
        {"autoscale_schedule": "Daily=٣"},
        {"autoscale_schedule": "Mon ٠٨:٠٠-١٨:٠٠=2"},
        {"autoscale_time_zone": "Europe/Berlin\u00a0"},
    ],
)
def test_numbers_in_tags_are_ascii_digits_only(tags):
    with pytest.raises(ConfigError, match=f"{next(iter(tags))}: .*is not ASCII"):
        load_settings(ALLOW).policy.with_overrides(tags)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("AUTOSCALE_MAX_INSTANCES", "٣"),
        ("AUTOSCALE_SHAPE_LADDER", "VM.Standard.E4.Flex:٢:32"),
        ("AUTOSCALE_LOW_ALARM_PENDING_DURATION", "PT٥M"),
        ("AUTOSCALE_SCHEDULE", "Daily=١"),
    ],
)
def test_numbers_in_the_config_are_ascii_digits_only(key, value):
    with pytest.raises(ConfigError, match=key):
        load_settings({**ALLOW, key: value})


@pytest.mark.parametrize(
    "tags",
    [
        {"autoscale_shape_ladder": "VM.Standard.E4.Flex:nan:32"},
        {"autoscale_shape_ladder": "VM.Standard.E4.Flex:2:inf"},
        {"autoscale_prices": "VM.Standard.E4.Flex=nan"},
        {"autoscale_prices": "VM.Standard.E4.Flex=0.025:inf"},
    ],
)
def test_ladder_and_price_numbers_are_finite(tags):
    with pytest.raises(ConfigError, match="finite"):
        load_settings(ALLOW).policy.with_overrides(tags)


def test_unknown_autoscale_tags_name_the_nearest_key_and_are_ignored():
    tags = {
        "autoscale_min_instance": "3",  # the typo of the issue
        "autoscale_manged": "false",
        "Autoscale_Max_Instances": "2",
        "autoscale_colour": "blue",
        "autoscale_dry_run": "true",  # a setting of the function, not of a deployment
        "autoscale_max_instances": "4",
        "autoscale_managed": "true",
        constants.STATE_LAST_UP_TAG: "1700000000",
        constants.OWNER_TAG: constants.OWNER_VALUE,
        "team": "ml",
    }
    assert unknown_tag_keys(tags) == [
        ("Autoscale_Max_Instances", "autoscale_max_instances"),
        ("autoscale_colour", None),
        ("autoscale_dry_run", None),
        ("autoscale_manged", "autoscale_managed"),
        ("autoscale_min_instance", "autoscale_min_instances"),
    ]
    policy = load_settings(ALLOW).policy.with_overrides(tags)  # unknown keys never fail the deployment
    assert (policy.min_instances, policy.max_instances) == (1, 4)
    assert "tag autoscale_dry_run ignored: AUTOSCALE_DRY_RUN is a setting of the function, not of a deployment" in (
        tag_warnings(tags)
    )


def test_every_tag_the_function_writes_is_known():
    written = {value for name, value in vars(constants).items() if name.endswith("_TAG")}
    assert written <= constants.FUNCTION_TAGS and unknown_tag_keys(dict.fromkeys(written, "x")) == []
    assert unknown_tag_keys({f"autoscale_{name}": "x" for name in Policy.model_fields}) == []


@pytest.fixture
def autoscaler_lines():
    """The JSON lines of the "autoscaler" logger (handler.py sets propagate=False: caplog's root handler misses it)."""
    lines: list[dict] = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(json.loads(record.getMessage()))

    logger, handler = logging.getLogger("autoscaler"), Collect(logging.DEBUG)
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)


def test_a_typo_is_logged_once_with_the_nearest_key(autoscaler_lines):
    tags = {"autoscale_min_instance": "3", "autoscale_max_instances": "4", "team": "ml"}
    reasons = log_unknown_tags(tags, "ocid1.datasciencemodeldeployment.oc1.iad.x")
    assert autoscaler_lines == [
        {
            "status": "warning",
            "reason": "unknown tag autoscale_min_instance (did you mean autoscale_min_instances?)",
            "deployment_id": "ocid1.datasciencemodeldeployment.oc1.iad.x",
        }
    ]
    assert reasons == [autoscaler_lines[0]["reason"]]
    autoscaler_lines.clear()
    log_unknown_tags({"autoscale_max_instances": "4", "autoscale_managed": "true"}, "md", ceiling=10)
    assert autoscaler_lines == []  # known keys: not a word


def test_a_clamped_max_instances_is_logged_with_the_ceiling(autoscaler_lines):
    log_unknown_tags(BIG, "md", ceiling=10, call_id="c1")
    assert autoscaler_lines == [
        {
            "call_id": "c1",
            "status": "warning",
            "reason": "tag autoscale_max_instances=1000000000 is above the instance ceiling 10 "
            "(AUTOSCALE_INSTANCE_CEILING): clamped to 10",
            "deployment_id": "md",
        }
    ]
