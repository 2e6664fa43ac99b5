"""reconcile.schedules: the managed compartments spread over several Resource Scheduler schedules (schedule.tf).

Real Terraform plans (and once applies) a small root module that calls the module once per case (`for_each`), against
an in-process emulator; the planned values are read from `terraform show -json`. What is checked:

- the default (schedules = 1) is today's schedule: address [0], name, cron, and the body without "compartments";
- n schedules: their bodies' compartments partition the function's allowlist exactly (and the function's own
  tick parser accepts each body), their crons fire at distinct minutes staggered by interval / n, and the reconcile
  policy holds one statement per schedule, naming that schedule (after apply, when the OCIDs exist);
- every interval the variable allows gives valid 5-field crons that fire exactly once per interval;
- counts the module cannot honour fail the plan with a message that says why.
"""

from __future__ import annotations

import json
import math
import re

import pytest

from autoscaler.tick import MAX_TICK_BYTES, parse_tick
from infra.tfrun import copy_tree

INTERVALS = [5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 720, 1440]  # variables.tf: reconcile.interval_minutes
COMPARTMENT = "ocid1.compartment.oc1..autoscaler"
TODAY_BODY = '{"type":"RECONCILE","version":1}'
SCHEDULE = "oci_resource_scheduler_schedule"
# infra/terraform/README.md, "The reconcile schedules": (interval_minutes, schedules) -> the crons it shows.
README = {
    (60, 4): ["0 * * * *", "15 * * * *", "30 * * * *", "45 * * * *"],
    (20, 3): ["*/20 * * * *", "6,26,46 * * * *", "13,33,53 * * * *"],
    (360, 2): ["0 */6 * * *", "0 3,9,15,21 * * *"],
    (1440, 3): ["0 0 * * *", "0 8 * * *", "0 16 * * *"],
}

ROOT = """
terraform {
  required_providers {
    oci = { source = "oracle/oci" }
  }
}

provider "oci" {
  region = "us-ashburn-1"
}

variable "cases" {
  description = "name -> the module's reconcile object for that case."
  type        = any
}

variable "deployments" {
  description = "The module's deployments (every case gets the same)."
  type        = any
}

module "autoscaler" {
  source   = "../terraform"
  for_each = var.cases

  tenancy_ocid     = "ocid1.tenancy.oc1..test"
  compartment_ocid = "COMPARTMENT"
  name_prefix      = "t-${each.key}"
  function_image   = "iad.ocir.io/test/md-autoscale/autoscale:0.1.0"
  subnet_ids       = ["ocid1.subnet.oc1.iad.test"]
  deployments      = var.deployments
  reconcile        = each.value
}
""".replace("COMPARTMENT", COMPARTMENT)


def deployments(compartments: int, per_compartment: int = 2) -> dict:
    """Deployments in `compartments` compartments besides COMPARTMENT (no alarms: only the reconcile matters here)."""
    return {
        f"d{c}x{i}": {
            "deployment_id": f"ocid1.datasciencemodeldeployment.oc1.iad.team{c}x{i}",
            "compartment_id": f"ocid1.compartment.oc1..team{c:02d}",
            "cpu_alarm": False,
            "mem_alarm": False,
        }
        for c in range(compartments)
        for i in range(per_compartment)
    }


# --- A tiny 5-field cron validator (minute hour day-of-month month day-of-week). ---------------------------------
FIELDS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
NUMBER = "(?:0|[1-9][0-9]*)"
TERM = re.compile(rf"^(?:(?P<star>\*)|(?P<start>{NUMBER})(?:-(?P<end>{NUMBER}))?)(?:/(?P<step>{NUMBER}))?$")


def cron_field(text: str, low: int, high: int) -> set[int]:
    """The values one field stands for; ValueError unless it is a comma list of `*`, `N` or `N-M`, the `*` and ranges
    with an optional `/STEP` (standard Vixie cron; no names, no `?`, `L`, `#`, and no `N/STEP`)."""
    values: set[int] = set()
    for term in text.split(","):
        match = TERM.match(term)
        if not match:
            raise ValueError(f"bad term {term!r}")
        if match["star"]:
            start, end = low, high
        else:
            if match["step"] is not None and match["end"] is None:
                raise ValueError(f"{term!r}: a step needs * or a range")
            start = int(match["start"])
            end = int(match["end"]) if match["end"] is not None else start
        step = 1 if match["step"] is None else int(match["step"])
        if not (low <= start <= end <= high) or step < 1:
            raise ValueError(f"{term!r}: outside {low}-{high}, or a step below 1")
        values.update(range(start, end + 1, step))
    return values


def parse_cron(expression: str) -> list[set[int]]:
    fields = expression.split(" ")
    if len(fields) != 5 or any(not field for field in fields):
        raise ValueError(f"{expression!r}: not 5 fields separated by single spaces")
    return [cron_field(field, low, high) for field, (low, high) in zip(fields, FIELDS, strict=True)]


def daily_fire_minutes(expression: str) -> list[int]:
    """Minutes of the day the cron fires at; it must fire every day (day, month and weekday fields are `*`)."""
    minutes, hours, *days = parse_cron(expression)
    assert expression.split(" ")[2:] == ["*", "*", "*"], expression
    assert days[0] == set(range(1, 32)) and days[1] == set(range(1, 13)), expression
    return sorted(h * 60 + m for h in hours for m in minutes)


@pytest.mark.parametrize(
    "expression",
    ["0 * * * *", "*/5 * * * *", "0 */6 * * *", "7,27,47 * * * *", "30 1,7,13,19 * * *", "15-59/30 * * * *"],
)
def test_the_cron_validator_accepts_5_field_cron(expression):
    parse_cron(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "60 * * * *",
        "0 24 * * *",
        "*/0 * * * *",
        "5/15 * * * *",
        "0 * * *",
        "0 0 * * * *",
        "0  * * * *",
        "a * * * *",
        "5-1 * * * *",
        "",
    ],
)
def test_the_cron_validator_refuses_what_is_not(expression):
    with pytest.raises(ValueError):
        parse_cron(expression)


def test_the_cron_validator_expands_fire_times():
    assert daily_fire_minutes("*/20 * * * *")[:4] == [0, 20, 40, 60]
    assert daily_fire_minutes("30 1,7,13,19 * * *") == [90, 450, 810, 1170]
    assert len(daily_fire_minutes("0 */6 * * *")) == 4


# --- Real Terraform. ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def root(terraform, tmp_path_factory):
    work = tmp_path_factory.mktemp("schedules")
    copy_tree(work / "terraform")
    root = work / "root"
    root.mkdir()
    (root / "main.tf").write_text(ROOT)
    result = terraform.init(root)
    assert result.code == 0, result.text
    return root


def plan(terraform, root, emulator_url, cases: dict, compartments: int):
    """(result, plan JSON or None): `terraform plan -out` then `terraform show -json` of that plan."""
    (root / "terraform.tfvars.json").write_text(json.dumps({"cases": cases, "deployments": deployments(compartments)}))
    (root / "tfplan").unlink(missing_ok=True)
    result = terraform.run(root, "plan", "-input=false", "-no-color", "-out=tfplan", OCI_EMULATOR_URL=emulator_url)
    if result.code != 0:
        return result, None
    shown = terraform.run(root, "show", "-json", "-no-color", "tfplan")
    assert shown.code == 0, shown.text
    return result, json.loads(shown.out)


def changes(planned: dict, case: str, rtype: str, name: str) -> list[dict]:
    """The planned changes of `rtype.name` in module.autoscaler[case], in index order."""
    found = [
        change
        for change in planned["resource_changes"]
        if change["module_address"] == f'module.autoscaler["{case}"]'
        and change["type"] == rtype
        and change["name"] == name
    ]
    return sorted(found, key=lambda change: change.get("index", 0))


def schedules(planned: dict, case: str) -> list[dict]:
    return [change["change"]["after"] for change in changes(planned, case, SCHEDULE, "reconcile")]


def body(schedule: dict) -> str:
    [resource] = schedule["resources"]
    [parameter] = resource["parameters"]
    assert parameter["parameter_type"] == "BODY"
    [value] = parameter["value"]
    return value


def allowlist(planned: dict, case: str) -> list[str]:
    """The allowlist the function enforces: AUTOSCALE_COMPARTMENT_ALLOWLIST of the planned function."""
    [function] = changes(planned, case, "oci_functions_function", "autoscale")
    return function["change"]["after"]["config"]["AUTOSCALE_COMPARTMENT_ALLOWLIST"].split(",")


def test_the_default_is_todays_single_schedule(terraform, root, emulator_url):
    """schedules = 1 (the default): the same address, name, description, cron and body as before the attribute."""
    result, planned = plan(terraform, root, emulator_url, {"default": {}, "daily": {"interval_minutes": 1440}}, 3)
    assert result.code == 0, result.text
    [change] = changes(planned, "default", SCHEDULE, "reconcile")
    assert change["index"] == 0 and change["address"].endswith(f"{SCHEDULE}.reconcile[0]")
    [schedule] = schedules(planned, "default")
    assert body(schedule) == TODAY_BODY and "compartments" not in json.loads(body(schedule))
    assert schedule["recurrence_details"] == "0 * * * *"
    assert schedule["display_name"] == "t-default-reconcile"
    description = "Invokes the model deployment autoscaler's reconcile every 60 minutes (t-default)."
    assert schedule["description"] == description
    assert [s["recurrence_details"] for s in schedules(planned, "daily")] == ["0 0 * * *"]
    [policy] = changes(planned, "default", "oci_identity_policy", "reconcile")
    assert policy["change"]["after_unknown"]["statements"] == [True]  # one statement, naming the new schedule's OCID


def test_three_schedules_partition_the_allowlist_and_are_staggered(terraform, root, emulator_url):
    result, planned = plan(terraform, root, emulator_url, {"three": {"schedules": 3}}, 6)  # 7 compartments
    assert result.code == 0, result.text
    planned_schedules = schedules(planned, "three")
    assert len(planned_schedules) == 3
    assert [c["index"] for c in changes(planned, "three", SCHEDULE, "reconcile")] == [0, 1, 2]

    groups = [json.loads(body(s))["compartments"] for s in planned_schedules]
    compartments = allowlist(planned, "three")
    assert len(compartments) == 7 and COMPARTMENT in compartments
    assert sorted(c for group in groups for c in group) == sorted(compartments)  # every one, exactly once
    assert sorted(map(len, groups)) == [2, 2, 3]  # round-robin: sizes differ by at most one
    assert groups == [sorted(compartments)[i::3] for i in range(3)]  # deterministic: sorted, dealt round-robin
    for schedule in planned_schedules:
        assert len(body(schedule)) <= MAX_TICK_BYTES
        request = parse_tick(body(schedule))  # what the function makes of it: a valid reconcile request
        assert request is not None and request.type == "RECONCILE" and request.version == 1
        assert set(request.compartments) <= set(compartments)

    crons = [s["recurrence_details"] for s in planned_schedules]
    assert crons == ["0 * * * *", "20 * * * *", "40 * * * *"]
    firsts = [daily_fire_minutes(cron)[0] for cron in crons]
    assert firsts == [0, 20, 40] and len(set(firsts)) == 3
    assert [s["display_name"] for s in planned_schedules] == [f"t-three-reconcile-{i}of3" for i in (1, 2, 3)]

    [policy] = changes(planned, "three", "oci_identity_policy", "reconcile")
    assert policy["change"]["after_unknown"]["statements"] == [True, True, True]


def test_applied_the_policy_names_each_schedule(terraform, root, emulator_url):
    """After apply the OCIDs exist: one statement per schedule, each naming that schedule as the principal."""
    (root / "terraform.tfvars.json").write_text(
        json.dumps({"cases": {"applied": {"schedules": 3}}, "deployments": deployments(4)})
    )
    result = terraform.run(root, "apply", "-input=false", "-no-color", "-auto-approve", OCI_EMULATOR_URL=emulator_url)
    assert result.code == 0, result.text
    shown = terraform.run(root, "show", "-json", "-no-color")
    assert shown.code == 0, shown.text
    state = json.loads(shown.out)["values"]["root_module"]["child_modules"]
    [resources] = [m["resources"] for m in state if m["address"] == 'module.autoscaler["applied"]']
    ids = [r["values"]["id"] for r in sorted(resources, key=lambda r: r.get("index", 0)) if r["type"] == SCHEDULE]
    [policy] = [r["values"] for r in resources if r["type"] == "oci_identity_policy" and r["name"] == "reconcile"]
    assert len(ids) == 3 and len(set(ids)) == 3
    assert policy["statements"] == [
        f"Allow any-user to manage functions-family in compartment id {COMPARTMENT} where all "
        f"{{request.principal.type = 'resourceschedule', request.principal.id = '{schedule_id}'}}"
        for schedule_id in ids
    ]
    url = {"OCI_EMULATOR_URL": emulator_url}
    again = terraform.run(root, "plan", "-input=false", "-no-color", "-detailed-exitcode", **url)
    assert again.code == 0, again.text  # converged: no diff after apply
    destroyed = terraform.run(root, "destroy", "-input=false", "-no-color", "-auto-approve", **url)
    assert destroyed.code == 0, destroyed.text


def test_every_interval_gives_valid_staggered_crons(terraform, root, emulator_url):
    """Each interval the variable allows, with 1 schedule, 2, and as many as allowed (7 compartments, at most the
    interval): valid 5-field crons, each firing exactly every interval from its offset floor(i * interval / n),
    at minutes no other schedule of the case uses."""
    cases = {f"{interval}m{count}": {"interval_minutes": interval, "schedules": count} for interval, count in README}
    for interval in INTERVALS:
        for count in sorted({1, 2, min(interval, 7)}):
            cases[f"{interval}m{count}"] = {"interval_minutes": interval, "schedules": count}
    result, planned = plan(terraform, root, emulator_url, cases, 6)
    assert result.code == 0, result.text
    for case, spec in cases.items():
        interval, count = spec["interval_minutes"], spec["schedules"]
        crons = [s["recurrence_details"] for s in schedules(planned, case)]
        assert len(crons) == count, case
        taken: set[int] = set()
        for i, cron in enumerate(crons):
            fires = daily_fire_minutes(cron)  # raises on an invalid expression
            offset = math.floor(i * interval / count)
            assert fires == list(range(offset, 1440, interval)), (case, i, cron)
            assert taken.isdisjoint(fires), (case, cron)
            taken.update(fires)
        if (interval, count) in README:
            assert crons == README[interval, count], case
        if count == 1:  # today's expressions
            assert crons == [
                {60: "0 * * * *", 1440: "0 0 * * *"}.get(
                    interval, f"*/{interval} * * * *" if interval < 60 else f"0 */{interval // 60} * * *"
                )
            ], case
        else:
            assert [json.loads(body(s))["compartments"] for s in schedules(planned, case)] == [
                sorted(allowlist(planned, case))[i::count] for i in range(count)
            ], case


def test_more_schedules_than_compartments_fail_the_plan(terraform, root, emulator_url):
    """A schedule reconciles whole compartments: 3 schedules over 2 compartments is refused, not quietly 2."""
    result, _ = plan(terraform, root, emulator_url, {"many": {"schedules": 3}}, 1)  # COMPARTMENT + team00
    assert result.code == 1
    error = " ".join(result.err.split())
    assert "reconcile.schedules = 3 is more than the 2 compartment(s) the function manages" in error, error


@pytest.mark.parametrize(
    "reconcile",
    [
        {"schedules": 0},
        {"schedules": 1.5},
        {"schedules": 51, "interval_minutes": 1440},  # above 50: one policy's statements
        {"schedules": 6, "interval_minutes": 5},  # above the interval: two schedules would share a minute
    ],
)
def test_a_schedule_count_out_of_range_fails_the_plan(terraform, root, emulator_url, reconcile):
    result, _ = plan(terraform, root, emulator_url, {"bad": reconcile}, 6)
    assert result.code == 1
    assert "reconcile.schedules must be a whole number from 1 to 50" in " ".join(result.err.split()), result.text
