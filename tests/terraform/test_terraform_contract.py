"""The Terraform module agrees with the function: config keys, names, tags, alarm queries, defaults.

The function's modules are the source of truth (imported, never copied). Each check takes a parsed
module and returns its disagreements, so the same checks run on the real module (no problems) and
on a deliberately broken copy (the problems are found).
"""

from __future__ import annotations

import json
import math
import re

import pytest

from autoscaler import constants
from autoscaler.settings import PENDING_RANGE, REPEAT_RANGE, Policy, duration_seconds, load_settings, setting_keys
from infra import check_terraform as ct
from tests.terraform.parsed import Module

SAMPLE_TENANCY = "ocid1.tenancy.oc1..aaaaaaaasampletenancy"
SAMPLE_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaasamplecompartment"
SAMPLE_DEPLOYMENT = "ocid1.datasciencemodeldeployment.oc1.iad.aaaaaaaasampledeployment"
SAMPLE_IMAGE = "iad.ocir.io/namespace/md-autoscale/autoscale:0.1.0"


# --- A little HCL: literals, `optional()` defaults and the expression forms the config uses. ------


def literal(value: object) -> object:
    """A python-hcl2 literal as Python: quoted strings unquoted, recursively."""
    if isinstance(value, dict):
        return {str(ct.unquote(k)): literal(v) for k, v in ct.body_items(value)}
    if isinstance(value, list):
        return [literal(item) for item in value]
    return ct.unquote(value)


def split_top_level(text: str, separator: str = ",") -> list[str]:
    parts, depth, quoted, start = [], 0, False, 0
    for i, char in enumerate(text):
        if quoted:
            quoted = char != '"' or text[i - 1] == "\\"
        elif char == '"':
            quoted = True
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [part for part in parts if part]


def object_attributes(type_expression: str) -> dict[str, str]:
    """'${object({a = string, b = optional(number, 1)})}' -> {'a': 'string', 'b': 'optional(number, 1)'}."""
    match = re.search(r"object\(\{(.*)\}\)", type_expression.strip("${}"), re.DOTALL)
    assert match, f"not an object type: {type_expression}"
    return dict(part.split(" = ", 1) for part in split_top_level(match.group(1)))


def optional_defaults(type_expression: str) -> dict[str, object]:
    """The default of every `optional(type, default)` attribute of an object type."""
    defaults = {}
    for name, attribute in object_attributes(type_expression).items():
        if attribute.startswith("optional(") and len(args := split_top_level(attribute[len("optional(") : -1])) == 2:
            defaults[name] = json.loads(args[1])
    return defaults


def tf_string(value: object) -> str:
    """What Terraform's tostring() and string templates make of a value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def evaluate(value: object, scope: dict[str, dict]) -> str:
    """Evaluate the few expression forms the function config uses; anything else fails loudly."""
    if ct.is_literal_string(value):
        return str(ct.unquote(value))
    expression = re.fullmatch(r"\$\{(.*)\}", str(value), re.DOTALL)
    assert expression, f"cannot evaluate {value!r}"
    text = expression.group(1)
    if call := re.fullmatch(r"tostring\((.+)\)", text):
        inner = call.group(1)
        if re.fullmatch(r"[\w.]+", inner):
            return tf_string(resolve(inner, scope))
        return tf_string(arithmetic(inner, scope))
    if call := re.fullmatch(r'join\("(.*?)", (.+)\)', text):
        return call.group(1).join(tf_string(item) for item in resolve(call.group(2), scope))
    return tf_string(resolve(text, scope))


def arithmetic(text: str, scope: dict[str, dict]) -> float:
    """`var.a * 60`, `floor(var.b * 2 / 3)`: numbers, variables, + - * /, parentheses and floor() only."""
    assert re.fullmatch(r"[\w.\s*/+()-]+", text), f"extend the test's evaluator for {text!r}"
    values = {}

    def name(match):
        key = f"_{len(values)}"
        values[key] = resolve(match.group(0), scope)
        return key

    python = re.sub(r"\b(?:var|local)\.[\w.]+", name, text).replace("floor(", "_floor(")
    assert set(re.findall(r"[A-Za-z_]\w*", python)) <= {*values, "_floor"}, f"extend the evaluator for {text!r}"
    return eval(python, {"__builtins__": {}}, {**values, "_floor": math.floor})


def resolve(path: str, scope: dict[str, dict]) -> object:
    root, *names = path.split(".")
    assert root in scope and names, f"extend the test's evaluator for {path!r}"
    value = scope[root]
    for name in names:
        value = value[name]
    return value


def variable_values(module, **given) -> dict[str, object]:
    """Each variable's default (object defaults filled in from `optional()`), or the given value."""
    values = {}
    for name, body in module.variables.items():
        if name in given:
            values[name] = given[name]
        elif "default" in body:
            default = literal(body["default"])
            if isinstance(default, dict) and "object(" in str(body["type"]):
                default = {**optional_defaults(str(body["type"])), **default} if name != "deployments" else default
            values[name] = default
    return values


def render_template(template: str, values: dict[str, str]) -> str:
    """Substitute each ${expression} of a python-hcl2 string template with values[expression]."""
    text = str(ct.unquote(template))
    for expression in ct.interpolations(text):
        assert expression in values, f"the test has no sample value for ${{{expression}}}"
        text = text.replace("${" + expression + "}", values[expression])
    return text


# --- The checks ------------------------------------------------------------------------------------


def check_config_keys(module) -> list[str]:
    keys, expected = set(module.locals["function_config"]), set(setting_keys())
    if keys == expected:
        return []
    return [f"function config keys: missing {sorted(expected - keys)}, unknown {sorted(keys - expected)}"]


def check_contract_names(module) -> list[str]:
    locals_ = module.locals
    expected = {
        "namespace": constants.NAMESPACE,
        "metric_names": constants.METRIC_NAMES,
        # The high alarms Terraform creates: every signal whose query does not change with capacity.
        "high_titles": {metric: constants.HIGH_TITLE[metric] for metric in ("cpu", "mem", "gpu", "latency")},
        "owner_tags": {constants.OWNER_TAG: constants.OWNER_VALUE},
        "deployment_tag_key": constants.DEPLOYMENT_TAG,
        "override_tag_prefix": constants.OVERRIDE_TAG_PREFIX,
    }
    return [
        f"local.{name} is {literal(locals_.get(name))!r}, the function uses {value!r}"
        for name, value in expected.items()
        if literal(locals_.get(name)) != value
    ]


def check_alarm_wiring(module) -> list[str]:
    alarm = module.resource("oci_monitoring_alarm", "high")
    expected = {
        "namespace": "${local.namespace}",
        "notification_title": "${local.high_titles[each.value.metric]}",
        "freeform_tags": "${merge(local.tags, {(local.deployment_tag_key) = each.value.deployment_id})}",
        "message_format": '"RAW"',
        "destinations": ["${oci_ons_notification_topic.alarms.id}"],
    }
    problems = [
        f"alarm {key} is {alarm.get(key)!r}, expected {value!r}"
        for key, value in expected.items()
        if alarm.get(key) != value
    ]
    if module.locals.get("tags") != "${merge(var.freeform_tags, local.owner_tags)}":
        problems.append("local.tags must merge the owner tag last (it wins over user tags)")
    if '"cpu", "mem"' not in str(module.locals.get("high_alarms")):
        problems.append("local.high_alarms must create an alarm per metric cpu and mem")
    return problems


def check_high_alarm_query(module) -> list[str]:
    query = module.resource("oci_monitoring_alarm", "high")["query"]
    metric_names = literal(module.locals["metric_names"])
    problems = []
    for metric in literal(module.locals["high_titles"]):
        for threshold in (80, 72.5, 1500):
            rendered = render_template(
                query,
                {
                    "local.metric_names[each.value.metric]": metric_names[metric],
                    "each.value.deployment_id": SAMPLE_DEPLOYMENT,
                    "each.value.threshold": tf_string(threshold),
                },
            ).replace('\\"', '"')
            expected = constants.alarm_query(metric, SAMPLE_DEPLOYMENT, ">", threshold)
            if rendered != expected:
                problems.append(f"high alarm query renders {rendered!r}, alarm_query gives {expected!r}")
    return problems


def check_policy_attributes(module) -> list[str]:
    fields = set(Policy.model_fields)
    scaling = set(object_attributes(str(module.variables["scaling"]["type"])))
    deployments_type = str(module.variables["deployments"]["type"])
    overrides = set(
        object_attributes(re.search(r"overrides = optional\((object\(\{.*?\}\))", deployments_type).group(1))
    )
    return [
        f"{name} vs Policy fields: missing {sorted(fields - found)}, unknown {sorted(found - fields)}"
        for name, found in (("var.scaling", scaling), ("deployments[*].overrides", overrides))
        if found != fields
    ]


def check_scaling_defaults(module) -> list[str]:
    defaults = optional_defaults(str(module.variables["scaling"]["type"]))
    policy = Policy()
    problems = []
    for name, value in defaults.items():
        theirs = getattr(policy, name)
        if isinstance(theirs, tuple):  # list settings (ladder, prices): compare as the function parses them
            value = getattr(Policy(**{name: ",".join(value)}), name)
        if value != theirs:
            problems.append(f"var.scaling.{name} defaults to {value!r}, the function to {theirs!r}")
    return problems


def check_config_loads(module) -> list[str]:
    """The config Terraform renders from its defaults is accepted by the function as is."""
    scope = {
        "var": variable_values(
            module, tenancy_ocid=SAMPLE_TENANCY, compartment_ocid=SAMPLE_COMPARTMENT, function_image=SAMPLE_IMAGE
        ),
        # Terraform: distinct(concat([compartment_ocid], deployment compartments)) with no deployments.
        "local": {"compartment_allowlist": [SAMPLE_COMPARTMENT]},
    }
    environ = {key: evaluate(value, scope) for key, value in module.locals["function_config"].items()}
    settings = load_settings(environ)
    problems = []
    if settings.auth != "resource_principal":
        problems.append(f"AUTOSCALE_AUTH is {settings.auth!r}")
    if settings.data_science_endpoint is not None or settings.monitoring_endpoint is not None:
        problems.append("the function does not treat the blank endpoints as unset")
    if settings.compartment_allowlist != (SAMPLE_COMPARTMENT,):
        problems.append(f"allowlist parsed as {settings.compartment_allowlist!r}")
    if settings.policy != Policy():
        problems.append(f"default policy parsed as {settings.policy!r}")
    return problems


CHECKS = [
    check_config_keys,
    check_contract_names,
    check_alarm_wiring,
    check_high_alarm_query,
    check_policy_attributes,
    check_scaling_defaults,
    check_config_loads,
]


@pytest.mark.parametrize("check", CHECKS, ids=[check.__name__ for check in CHECKS])
def test_module_agrees_with_the_function(module, check):
    assert check(module) == []


def test_a_broken_copy_disagrees(module_copy, edit):
    edit(module_copy / "main.tf", "    AUTOSCALE_DRY_RUN                     = tostring(var.dry_run)\n", "")
    edit(
        module_copy / "main.tf",
        'high_titles         = { cpu = "model_deployment_high_cpu"',
        'high_titles         = { cpu = "high_cpu"',
    )
    edit(module_copy / "alarms.tf", ".mean() > ${each.value.threshold}", ".max() > ${each.value.threshold}")
    edit(
        module_copy / "variables.tf",
        "cpu_target                  = optional(number, 70)",
        "cpu_target                  = optional(number, 65)",
    )
    broken = Module(ct.parse_module(module_copy))
    problems = [problem for check in CHECKS for problem in check(broken)]
    for expected in (
        "function config keys: missing ['AUTOSCALE_DRY_RUN']",
        "local.high_titles is",
        "high alarm query renders",
        "var.scaling.cpu_target defaults to 65",
    ):
        assert any(problem.startswith(expected) for problem in problems), (expected, problems)


# --- Smaller agreements -----------------------------------------------------------------------------


def test_override_tags_in_terraform_formats_are_read_by_the_function(module):
    """Terraform writes overrides as autoscale_<name> = tostring(value) / join(",", ladder)."""
    assert '"${local.override_tag_prefix}${name}" => tostring(value)' in module.locals["deployment_override_tags"]
    tags = {
        constants.OVERRIDE_TAG_PREFIX + "max_instances": tf_string(8.0),
        constants.OVERRIDE_TAG_PREFIX + "cpu_target": tf_string(55.5),
        constants.OVERRIDE_TAG_PREFIX + "cpu_mode": "vertical",
        constants.OVERRIDE_TAG_PREFIX + "shape_ladder": ",".join(["VM.Standard.E4.Flex:1:16", "VM.Standard2.4"]),
    }
    policy = Policy().with_overrides(tags)
    assert (policy.max_instances, policy.cpu_target, policy.cpu_mode) == (8, 55.5, "vertical")
    assert [str(shape) for shape in policy.shape_ladder] == ["VM.Standard.E4.Flex:1:16", "VM.Standard2.4"]


DURATION_SAMPLES = [
    "PT1M",
    "PT59S",
    "PT60S",
    "PT5M",
    "PT1H",
    "PT61M",
    "PT1H1S",
    "P1D",
    "P1DT1H",
    "P30D",
    "P31D",
    "PT720H",
    "PT",
    "P",
    "P1DT",
    "5M",
    "PT5m",
    "PT-5M",
    "PT1.5M",
    "",
]
DURATION_RANGES = {
    "low_alarm_pending_duration": PENDING_RANGE,
    "low_alarm_repeat_duration": REPEAT_RANGE,
    "high_alarm_pending_duration": PENDING_RANGE,
    "high_alarm_repeat_duration": REPEAT_RANGE,
}


def validation_condition(module_dir, name: str) -> str:
    """The raw `condition = ...` text of a variable's first validation block in variables.tf."""
    text = (module_dir / "variables.tf").read_text()
    block = text[text.index(f'variable "{name}" {{') :]
    return re.search(r"^\s*condition\s*=\s*(.+)$", block, re.M).group(1)


@pytest.mark.parametrize("name", sorted(DURATION_RANGES))
def test_duration_validation_is_the_range_oci_accepts(terraform, module_dir, tmp_path, name):
    """Real Terraform evaluates the validation on samples; it agrees with the function and CreateAlarmDetails."""
    condition = validation_condition(module_dir, name).replace(f"var.{name}", "v")
    samples = ", ".join(json.dumps(sample) for sample in DURATION_SAMPLES)
    (tmp_path / "main.tf").write_text("")
    result = terraform.run(tmp_path, "console", stdin=f"[for v in [{samples}] : {condition}]\n")
    assert result.code == 0, result.text
    terraform_accepts = [word == "true" for word in re.findall(r"\b(true|false)\b", result.out)]
    low, high = DURATION_RANGES[name]
    function_accepts = [(s := duration_seconds(sample)) is not None and low <= s <= high for sample in DURATION_SAMPLES]
    assert dict(zip(DURATION_SAMPLES, terraform_accepts, strict=True)) == dict(
        zip(DURATION_SAMPLES, function_accepts, strict=True)
    )
