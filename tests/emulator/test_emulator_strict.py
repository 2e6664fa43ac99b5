"""The emulator refuses what OCI refuses (emulator/rules.py), seen through the real oci SDK over HTTP.

One infrastructure option group per update, the shape catalogue and Flex ranges, the instance limit, work requests
that end FAILED, the barrier fault, list parameters, alarm field ranges. Each rule's source is cited in rules.py.
"""

import copy
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import oci
import pytest
from emu_helpers import DEMO, DEMO1, DEMO1_CPU, DEMO2, DEMO_DEPLOYMENTS, OTHER, SEED, http, make_clients
from oci.data_science import models as DS
from oci.monitoring import models as MON

from emulator import rules
from emulator.sdk_fakes import FakeDataScienceClient
from emulator.store import OciError, Store

ROOT = Path(__file__).resolve().parents[2]
TOPIC = "ocid1.onstopic.oc1.iad.demo"
STREAM = "ocid1.stream.oc1.iad.demo"
TENANCY = "ocid1.tenancy.oc1..demo"
MODEL1 = "ocid1.datasciencemodel.oc1.iad.demo1"


def service_error(call):
    with pytest.raises(oci.exceptions.ServiceError) as err:
        call()
    return err.value


def update(count=None, instance=None, **model_config):
    """A raw UpdateModelDeploymentDetails body (camelCase) that changes what it is given, keeping modelId."""
    model_config.setdefault("modelId", MODEL1)
    if count is not None:
        model_config["scalingPolicy"] = {"policyType": "FIXED_SIZE", "instanceCount": count}
    if instance is not None:
        model_config["instanceConfiguration"] = instance
    return {
        "modelDeploymentConfigurationDetails": {
            "deploymentType": "SINGLE_MODEL",
            "modelConfigurationDetails": model_config,
        }
    }


def flex(ocpus, memory, shape="VM.Standard.E4.Flex", **extra):
    return {
        "instanceShapeName": shape,
        "modelDeploymentInstanceShapeConfigDetails": {"ocpus": ocpus, "memoryInGBs": memory, **extra},
    }


def model_config(ds, md_id=DEMO1):
    return ds.get_model_deployment(md_id).data.model_deployment_configuration_details.model_configuration_details


def assert_refused(ds, body, status, code, snippet, md_id=DEMO1):
    before = ds.get_model_deployment(md_id)
    err = service_error(lambda: ds.update_model_deployment(md_id, copy.deepcopy(body)))
    assert (err.status, err.code) == (status, code), err.message
    assert snippet in err.message
    after = ds.get_model_deployment(md_id)
    assert after.headers["etag"] == before.headers["etag"] and after.data.lifecycle_state == before.data.lifecycle_state
    return err


# -- 1. one infrastructure option group per update ------------------------------------------------------------------


COMBINED = {
    "compute and count": (update(count=2, instance=flex(2, 32)), "compute, instance count"),
    "model and count": (update(count=2, modelId="ocid1.datasciencemodel.oc1.iad.other"), "instance count, model"),
    "bandwidth and count": (update(count=2, bandwidthMbps=20), "instance count, load balancer"),
    "model and compute": (
        update(instance=flex(2, 32), modelId="ocid1.datasciencemodel.oc1.iad.other"),
        "compute, model",
    ),
    "logging and count": (
        {
            **update(count=2),
            "categoryLogDetails": {"access": {"logGroupId": "ocid1.loggroup.x", "logId": "ocid1.log.x"}},
        },
        "instance count, logging",
    ),
    "environment and count": (
        {
            "modelDeploymentConfigurationDetails": {
                **update(count=2)["modelDeploymentConfigurationDetails"],
                "environmentConfigurationDetails": {
                    "environmentConfigurationType": "DEFAULT",
                    "environmentVariables": {"A": "1"},
                },
            }
        },
        "instance count, environment",
    ),
}


@pytest.mark.parametrize("body,groups", COMBINED.values(), ids=COMBINED.keys())
def test_two_infrastructure_groups_in_one_update_are_400(ds, body, groups):
    err = assert_refused(ds, body, 400, "InvalidParameter", groups)
    assert "one infrastructure option group" in err.message and "ACTIVE" in err.message


def test_one_group_with_tags_and_name_is_accepted(ds, emu):
    body = {**update(count=3), "freeformTags": {"a": "b"}, "displayName": "renamed", "description": "d"}
    assert ds.update_model_deployment(DEMO1, body).status == 202
    emu.clock.advance(10)
    md = ds.get_model_deployment(DEMO1).data
    assert (md.display_name, md.freeform_tags, md.lifecycle_state) == ("renamed", {"a": "b"}, "ACTIVE")
    assert md.model_deployment_system_data.current_instance_count == 3


def test_resending_unchanged_values_is_not_a_change(ds, emu):
    """The whole current configuration sent back with a new count: only the count changed. A cpuBaseline left out
    equals BASELINE_1_1 (ModelDeploymentInstanceShapeConfigDetails docstring)."""
    body = update(count=2, instance=flex(1, 16, cpuBaseline="BASELINE_1_1"), bandwidthMbps=10)
    assert ds.update_model_deployment(DEMO1, body).status == 202
    emu.clock.advance(10)
    body = update(count=2, instance=flex(2, 32))  # same count again, new compute: one group
    assert ds.update_model_deployment(DEMO1, body).status == 202


def test_sdk_models_built_the_way_the_function_builds_them(ds, emu):
    current = model_config(ds)
    shape = DS.ModelDeploymentInstanceShapeConfigDetails(ocpus=2.0, memory_in_gbs=32.0)
    instance = DS.InstanceConfiguration(
        instance_shape_name=current.instance_configuration.instance_shape_name,
        model_deployment_instance_shape_config_details=shape,
    )
    both = DS.UpdateModelDeploymentDetails(
        freeform_tags={"k": "v"},
        model_deployment_configuration_details=DS.UpdateSingleModelDeploymentConfigurationDetails(
            model_configuration_details=DS.UpdateModelConfigurationDetails(
                model_id=current.model_id,
                instance_configuration=instance,
                scaling_policy=DS.FixedSizeScalingPolicy(instance_count=2),
            )
        ),
    )
    assert service_error(lambda: ds.update_model_deployment(DEMO1, both)).status == 400
    both.model_deployment_configuration_details.model_configuration_details.scaling_policy = None
    assert ds.update_model_deployment(DEMO1, both).status == 202  # compute alone


def test_strict_off_takes_several_groups(ds, emu, monkeypatch):
    monkeypatch.setattr(emu.store, "strict", False)
    assert ds.update_model_deployment(DEMO1, update(count=2, instance=flex(2, 32))).status == 202
    emu.clock.advance(10)
    config = model_config(ds)
    assert config.scaling_policy.instance_count == 2
    assert config.instance_configuration.model_deployment_instance_shape_config_details.ocpus == 2


def switches(config: dict) -> dict:
    """The Store's rule switches in a /_emulator/config answer (which also carries the HTTP layer's limits)."""
    return {k: config[k] for k in ("strict", "max_instances")}


def test_admin_config_switches_strict_and_the_limit(ds, emu, monkeypatch):
    monkeypatch.setattr(emu.store, "strict", emu.store.strict)  # restored after the test
    monkeypatch.setattr(emu.store, "max_instances", emu.store.max_instances)
    assert switches(emu.admin("GET", "/config")[2]) == {"strict": True, "max_instances": rules.DEFAULT_MAX_INSTANCES}
    assert switches(emu.admin("POST", "/config", {"strict": False, "max_instances": 2})[2]) == {
        "strict": False,
        "max_instances": 2,
    }
    assert ds.update_model_deployment(DEMO1, update(count=2, instance=flex(2, 32))).status == 202
    emu.clock.advance(10)
    assert_refused(ds, update(count=3), 400, "LimitExceeded", "limit of 2")
    for bad in ({"strict": "yes"}, {"max_instances": 0}, {"other": 1}, [1]):
        assert emu.admin("POST", "/config", bad)[0] == 400


def test_needs_attention_takes_one_group_updates_too(emu, ds):
    seed = copy.deepcopy(SEED)
    seed["modelDeployments"][0]["lifecycleState"] = "NEEDS_ATTENTION"
    emu.admin("POST", "/reset", seed)
    assert_refused(ds, update(count=2, instance=flex(2, 32)), 400, "InvalidParameter", "NEEDS_ATTENTION")
    assert ds.update_model_deployment(DEMO1, update(count=2)).status == 202
    emu.clock.advance(10)
    assert ds.get_model_deployment(DEMO1).data.lifecycle_state == "ACTIVE"


def test_store_default_is_strict_and_can_be_turned_off():
    assert Store().strict is True
    store = Store.from_seed(SEED, strict=False)
    store.update_model_deployment(DEMO1, update(count=2, instance=flex(2, 32)), None)
    with pytest.raises(OciError) as err:
        Store.from_seed(SEED).update_model_deployment(DEMO1, update(count=2, instance=flex(2, 32)), None)
    assert (err.value.status, err.value.code) == (400, "InvalidParameter")


# -- 2. shapes -------------------------------------------------------------------------------------------------------


def test_list_model_deployment_shapes(ds, emu):
    response = ds.list_model_deployment_shapes(DEMO)
    shapes = {s.name: s for s in response.data}
    assert all(isinstance(s, DS.ModelDeploymentShapeSummary) for s in response.data)
    assert set(shapes) == set(rules.DEFAULT_SHAPES)
    assert (shapes["VM.Standard2.4"].core_count, shapes["VM.Standard2.4"].memory_in_gbs) == (4, 60)
    assert shapes["VM.GPU.A10.1"].shape_series == "NVIDIA_GPU"
    everything = oci.pagination.list_call_get_all_results(ds.list_model_deployment_shapes, DEMO, limit=5)
    assert len(everything.data) == len(rules.DEFAULT_SHAPES)
    assert service_error(lambda: ds.list_model_deployment_shapes(DEMO, limit=101)).status == 400
    assert http(f"{emu.url}/20190101/modelDeploymentShapes", headers={"Authorization": "x"})[0] == 400


def test_seed_shapes_are_valid():
    for md in SEED["modelDeployments"]:
        ic = md["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]["instanceConfiguration"]
        rules.check_shape(rules.DEFAULT_SHAPES, ic, md["id"])


BAD_SHAPES = {
    "unknown name": (update(instance={"instanceShapeName": "VM.Standard1.1"}), "not a model deployment shape"),
    "unknown Flex": (update(instance=flex(1, 16, shape="VM.Standard.E9.Flex")), "not a model deployment shape"),
    "E4 65 OCPUs": (update(instance=flex(65, 1024)), "ocpus for VM.Standard.E4.Flex must be between 1 and 64"),
    "E4 0.5 OCPU": (update(instance=flex(0.5, 8)), "between 1 and 64"),
    "E4 1025 GB": (update(instance=flex(64, 1025)), "between 6 and 1024 GB"),
    "E4 5 GB": (update(instance=flex(1, 5)), "between 6 and 1024 GB"),
    "E4 65 GB per OCPU": (update(instance=flex(1, 65)), "6-64 GB per OCPU"),
    "E4 under 6 GB per OCPU": (update(instance=flex(4, 20)), "24-256 GB for 4 OCPUs"),
    "Standard3 33 OCPUs": (update(instance=flex(33, 256, shape="VM.Standard3.Flex")), "between 1 and 32"),
    "Optimized3 300 GB": (update(instance=flex(8, 300, shape="VM.Optimized3.Flex")), "between 6 and 256 GB"),
    "cpuBaseline": (update(instance=flex(1, 16, cpuBaseline="BASELINE_1_4")), "BASELINE_1_8, BASELINE_1_2"),
}


@pytest.mark.parametrize("body,snippet", BAD_SHAPES.values(), ids=BAD_SHAPES.keys())
def test_shapes_outside_the_catalogue_or_ranges_are_400(ds, body, snippet):
    assert_refused(ds, body, 400, "InvalidParameter", snippet)


@pytest.mark.parametrize(
    "instance",
    [
        flex(64, 1024),
        flex(1, 6),
        flex(1, 64),
        flex(2, 12.5, cpuBaseline="BASELINE_1_2"),
        flex(94, 1049, shape="VM.Standard.E5.Flex"),
        {"instanceShapeName": "VM.GPU.A10.2"},
        {"instanceShapeName": "VM.Standard2.16"},
    ],
)
def test_shapes_within_range_are_accepted(ds, instance):
    assert ds.update_model_deployment(DEMO1, update(instance=instance)).status == 202


def test_a_custom_shape_catalogue():
    shapes = {"VM.Custom.Flex": {**rules.DEFAULT_SHAPES["VM.Standard.E4.Flex"], "shapeSeries": "GENERIC"}}
    store = Store.from_seed(SEED, shapes=shapes)
    store.update_model_deployment(DEMO1, update(instance=flex(2, 32, shape="VM.Custom.Flex")), None)
    with pytest.raises(OciError) as err:
        store.update_model_deployment(DEMO2, update(instance=flex(4, 64), modelId=SEED_MODEL2), None)
    assert "not a model deployment shape" in err.value.message  # E4.Flex is not in this catalogue
    assert [s["name"] for s in store.list_model_deployment_shapes(DEMO)] == ["VM.Custom.Flex"]


SEED_MODEL2 = SEED["modelDeployments"][1]["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]["modelId"]


def test_an_unchanged_unknown_shape_does_not_block_a_count_change():
    seed = copy.deepcopy(SEED)
    ic = seed["modelDeployments"][0]["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]
    ic["instanceConfiguration"] = {"instanceShapeName": "VM.Legacy.1"}
    store = Store.from_seed(seed)
    store.update_model_deployment(DEMO1, update(count=2), None)  # the shape is not being changed


# -- 3. instance-count limit -----------------------------------------------------------------------------------------


def test_instance_count_above_the_limit_is_400_limit_exceeded(ds, emu):
    err = assert_refused(ds, update(count=rules.DEFAULT_MAX_INSTANCES + 1), 400, "LimitExceeded", "limit of 10")
    assert "requested 11" in err.message
    assert ds.update_model_deployment(DEMO1, update(count=rules.DEFAULT_MAX_INSTANCES)).status == 202


def test_autoscaling_maximum_counts_against_the_limit(ds):
    policy = {
        "policyType": "AUTOSCALING",
        "autoScalingPolicies": [
            {
                "autoScalingPolicyType": "THRESHOLD",
                "minimumInstanceCount": 1,
                "maximumInstanceCount": 12,
                "initialInstanceCount": 1,
                "rules": [],
            }
        ],
    }
    body = update()
    body["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]["scalingPolicy"] = policy
    assert_refused(ds, body, 400, "LimitExceeded", "requested 12")


def test_limit_is_configurable_and_can_be_off():
    store = Store.from_seed(SEED, max_instances=3)
    with pytest.raises(OciError) as err:
        store.update_model_deployment(DEMO1, update(count=4), None)
    assert (err.value.status, err.value.code) == (400, "LimitExceeded")
    Store.from_seed(SEED, max_instances=None).update_model_deployment(DEMO1, update(count=500), None)


def test_command_line_strict_and_limit_flags(signer):
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", "--update-delay", "0", "--no-strict", "--max-instances", "3"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline().strip()
        match = re.fullmatch(r"emulator listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, (line, process.stderr.read() if process.poll() is not None else "")
        assert switches(http(match.group(1) + "/_emulator/config")[2]) == {"strict": False, "max_instances": 3}
        ds, _ = make_clients(match.group(1), signer)
        assert ds.update_model_deployment(DEMO1, update(count=3, instance=flex(2, 32))).status == 202
        assert service_error(lambda: ds.update_model_deployment(DEMO2, update(count=4, modelId=SEED_MODEL2))).code == (
            "LimitExceeded"
        )
    finally:
        process.terminate()
        process.wait(timeout=5)


# -- 4. work requests that end FAILED --------------------------------------------------------------------------------


def wr_fault(**spec):
    return {"operation": "UpdateModelDeployment", "work_request": "FAILED", **spec}


def test_failed_update_reverts_configuration_and_tags(ds, emu):
    assert emu.admin("POST", "/faults", wr_fault(outcome="revert", revert_tags=True, count=1))[0] == 200
    listed = emu.admin("GET", "/faults")[2]["faults"]
    assert listed == [
        wr_fault(deployment_id=None, count=1, outcome="revert", revert_tags=True, message=listed[0]["message"])
    ]
    response = ds.update_model_deployment(DEMO1, {**update(count=3), "freeformTags": {"autoscale_x": "1"}})
    wr_id = response.headers["opc-work-request-id"]
    assert emu.admin("GET", "/faults")[2] == {"faults": []}  # consumed by the accepted update
    emu.clock.advance(2)
    assert ds.get_work_request(wr_id).data.status == "IN_PROGRESS"
    assert ds.list_work_request_errors(wr_id).data == []
    assert ds.get_model_deployment(DEMO1).data.lifecycle_state == "UPDATING"
    emu.clock.advance(8)
    wr = ds.get_work_request(wr_id).data
    assert wr.status == "FAILED" and wr.time_finished >= wr.time_started and wr.percent_complete == 100.0
    errors = ds.list_work_request_errors(wr_id).data
    assert len(errors) == 1 and isinstance(errors[0], DS.WorkRequestError) and errors[0].code and errors[0].message
    md = ds.get_model_deployment(DEMO1).data
    assert md.lifecycle_state == "ACTIVE" and md.freeform_tags == {}
    assert md.model_deployment_configuration_details.model_configuration_details.scaling_policy.instance_count == 1
    assert md.model_deployment_system_data.current_instance_count == 1
    assert md.lifecycle_details.startswith("Update failed")
    next_wr = ds.update_model_deployment(DEMO1, update(count=3)).headers["opc-work-request-id"]  # not armed again
    emu.clock.advance(10)
    assert ds.get_work_request(next_wr).data.status == "SUCCEEDED"
    assert model_config(ds).scaling_policy.instance_count == 3


def test_failed_update_can_keep_the_new_tags(ds, emu):
    emu.admin("POST", "/faults", wr_fault(revert_tags=False))
    ds.update_model_deployment(DEMO1, {**update(count=3), "freeformTags": {"autoscale_x": "1"}})
    emu.clock.advance(10)
    md = ds.get_model_deployment(DEMO1).data
    assert md.freeform_tags == {"autoscale_x": "1"} and md.lifecycle_state == "ACTIVE"
    assert md.model_deployment_configuration_details.model_configuration_details.scaling_policy.instance_count == 1


def test_failed_update_to_needs_attention(ds, emu):
    emu.admin("POST", "/faults", wr_fault(outcome="needs_attention"))
    wr_id = ds.update_model_deployment(DEMO1, update(instance=flex(2, 32))).headers["opc-work-request-id"]
    emu.clock.advance(10)
    assert ds.get_work_request(wr_id).data.status == "FAILED"
    md = ds.get_model_deployment(DEMO1).data
    assert md.lifecycle_state == "NEEDS_ATTENTION"
    assert model_config(ds).instance_configuration.model_deployment_instance_shape_config_details.ocpus == 1
    ds.update_model_deployment(DEMO1, update(instance=flex(2, 32)))  # NEEDS_ATTENTION takes updates
    emu.clock.advance(10)
    assert ds.get_model_deployment(DEMO1).data.lifecycle_state == "ACTIVE"


def test_failures_aimed_at_one_deployment_and_refused_updates_do_not_count(ds, emu):
    emu.admin("POST", "/faults", wr_fault(count=2, deployment_id=DEMO2))
    demo1_wr = ds.update_model_deployment(DEMO1, update(count=2)).headers["opc-work-request-id"]
    statuses = []
    for count in (3, 4, 3):
        wr_id = ds.update_model_deployment(DEMO2, update(count=count, modelId=SEED_MODEL2)).headers[
            "opc-work-request-id"
        ]
        service_error(lambda: ds.update_model_deployment(DEMO2, update(count=5, modelId=SEED_MODEL2)))  # 409: busy
        emu.clock.advance(10)
        statuses.append(ds.get_work_request(wr_id).data.status)
    assert statuses == ["FAILED", "FAILED", "SUCCEEDED"]
    assert ds.get_work_request(demo1_wr).data.status == "SUCCEEDED"


def test_work_request_faults_clear_with_delete_and_reset(emu):
    emu.admin("POST", "/faults", wr_fault(count=3))
    assert emu.admin("DELETE", "/faults")[2] == {"faults": []}
    emu.admin("POST", "/faults", wr_fault(count=3))
    emu.admin("POST", "/reset", SEED)
    assert emu.admin("GET", "/faults")[2] == {"faults": []}


@pytest.mark.parametrize(
    "spec",
    [
        wr_fault(outcome="explode"),
        wr_fault(revert_tags="yes"),
        wr_fault(count=0),
        {"operation": "UpdateModelDeployment", "work_request": "SUCCEEDED"},
        {"operation": "GetAlarm", "work_request": "FAILED"},
        wr_fault(status=503),
    ],
)
def test_bad_work_request_faults_are_rejected(emu, spec):
    status, _, body = emu.admin("POST", "/faults", spec)
    assert status == 400 and body["code"] == "InvalidParameter"
    assert emu.admin("GET", "/faults")[2] == {"faults": []}


def test_in_process_fake_client_work_requests():
    store = Store.from_seed(SEED, update_delay_seconds=0)
    store.fail_next_updates(count=1, deployment_id=DEMO1, outcome="revert", revert_tags=False)
    ds = FakeDataScienceClient(store)
    wr_id = ds.update_model_deployment(DEMO1, update(count=2)).headers["opc-work-request-id"]
    wr = ds.get_work_request(wr_id).data
    assert isinstance(wr, DS.WorkRequest) and wr.status == "FAILED"
    assert [e.code for e in ds.list_work_request_errors(wr_id).data] == ["InternalError"]
    assert {s.name for s in ds.list_model_deployment_shapes(DEMO).data} == set(rules.DEFAULT_SHAPES)
    assert store.update_failures() == []


# -- 5. barrier ------------------------------------------------------------------------------------------------------


def alarm(**overrides):
    fields = {
        "display_name": "strict-test",
        "compartment_id": OTHER,
        "metric_compartment_id": OTHER,
        "namespace": "oci_datascience_modeldeploy",
        "query": f'CpuUtilization[1m]{{resourceId = "{DEMO1}"}}.mean() < 20',
        "severity": "WARNING",
        "destinations": [TOPIC],
        "is_enabled": True,
    }
    fields.update(overrides)
    return MON.CreateAlarmDetails(**fields)


def test_barrier_holds_two_listers_until_both_listed_then_both_create(server, signer, emu):
    assert emu.admin("POST", "/faults", {"operation": "ListAlarms", "barrier": 2, "count": 2, "timeout": 10})[0] == 200
    assert emu.admin("GET", "/faults")[2]["faults"] == [
        {"operation": "ListAlarms", "count": 2, "barrier": 2, "timeout": 10}
    ]
    listed, returned = {}, {}

    def function_process(name):
        _, mon = make_clients(server.url, signer)  # each thread its own client, as two function instances
        names = [a.display_name for a in mon.list_alarms(OTHER).data]
        returned[name] = time.monotonic()
        listed[name] = names
        if "shared" not in names:
            mon.create_alarm(alarm(display_name="shared"))

    first = threading.Thread(target=function_process, args=("first",))
    first.start()
    deadline = time.monotonic() + 5
    while ("ListAlarms", "") not in emu.store.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert emu.store.calls.count(("ListAlarms", "")) == 1 and "first" not in returned  # applied, then held
    second_started = time.monotonic()
    second = threading.Thread(target=function_process, args=("second",))
    second.start()
    first.join(5)
    second.join(5)
    assert returned["first"] >= second_started
    assert listed["first"] == listed["second"] and "shared" not in listed["first"]
    assert len(emu.store.list_alarms(OTHER, display_name="shared")) == 2  # the race, played deterministically
    assert emu.admin("GET", "/faults")[2] == {"faults": []}


def test_barrier_timeout_releases_a_lone_request(mon, emu):
    emu.admin("POST", "/faults", {"operation": "ListAlarms", "barrier": 2, "count": 1, "timeout": 0.3})
    start = time.monotonic()
    assert mon.list_alarms(DEMO).status == 200
    assert 0.3 <= time.monotonic() - start < 3
    start = time.monotonic()
    mon.list_alarms(DEMO)
    assert time.monotonic() - start < 0.25


def test_barrier_and_a_status_fault_on_the_same_operation(mon, emu):
    emu.admin("POST", "/faults", {"operation": "GetAlarm", "barrier": 2, "count": 1, "timeout": 0.2})
    emu.admin("POST", "/faults", {"operation": "GetAlarm", "status": 503})
    assert service_error(lambda: mon.get_alarm(DEMO1_CPU)).status == 503  # answered at once, barrier untouched
    start = time.monotonic()
    assert mon.get_alarm(DEMO1_CPU).status == 200
    assert time.monotonic() - start >= 0.2


@pytest.mark.parametrize(
    "spec",
    [
        {"operation": "ListAlarms", "barrier": 1},
        {"operation": "ListAlarms", "barrier": True},
        {"operation": "ListAlarms", "barrier": 2, "timeout": 0},
        {"operation": "ListAlarms", "barrier": 2, "status": 503},
    ],
)
def test_bad_barrier_specs_are_rejected(emu, spec):
    status, _, body = emu.admin("POST", "/faults", spec)
    assert status == 400 and body["code"] == "InvalidParameter"


# -- 6. list filters and limits --------------------------------------------------------------------------------------


def test_list_limits_are_bounded(ds, mon):
    assert len(ds.list_model_deployments(DEMO, limit=100).data) == len(DEMO_DEPLOYMENTS)
    assert len(mon.list_alarms(DEMO, limit=1000).data) > 0
    for call in (
        lambda: ds.list_model_deployments(DEMO, limit=101),
        lambda: ds.list_model_deployments(DEMO, limit=0),
        lambda: mon.list_alarms(DEMO, limit=1001),
        lambda: mon.list_alarms(DEMO, limit=0),
    ):
        err = service_error(call)
        assert (err.status, err.code) == (400, "InvalidParameter") and "limit" in err.message


def test_list_model_deployments_filters(ds):
    assert [md.id for md in ds.list_model_deployments(DEMO, id=DEMO2).data] == [DEMO2]
    assert len(ds.list_model_deployments(DEMO, project_id="ocid1.datascienceproject.oc1.iad.demo").data) == len(
        DEMO_DEPLOYMENTS
    )
    assert ds.list_model_deployments(DEMO, project_id="ocid1.datascienceproject.oc1.iad.nope").data == []
    assert len(ds.list_model_deployments(DEMO, created_by="ocid1.user.oc1..demo").data) == len(DEMO_DEPLOYMENTS)
    err = service_error(lambda: ds.list_model_deployments(DEMO, display_name="md-demo1", lifecycle_state="ACTIVE"))
    assert (err.status, err.code) == (400, "InvalidParameter") and "Only one parameter" in err.message


def test_list_model_deployments_two_filters_when_not_strict(ds, emu, monkeypatch):
    monkeypatch.setattr(emu.store, "strict", False)
    assert [
        md.id for md in ds.list_model_deployments(DEMO, display_name="md-demo1", lifecycle_state="ACTIVE").data
    ] == [DEMO1]


def test_list_model_deployments_sorting(ds, emu):
    seed = copy.deepcopy(SEED)
    for md, created in zip(
        seed["modelDeployments"],
        ("2025-01-02", "2025-01-03", "2025-01-01", "2025-01-04", "2025-01-05", "2025-01-06"),
        strict=True,
    ):
        md["timeCreated"] = f"{created}T10:00:00.000Z"
    emu.admin("POST", "/reset", seed)
    by_time = [md.display_name for md in ds.list_model_deployments(DEMO, sort_by="timeCreated").data]
    assert by_time == ["md-req1", "md-gpu1", "md-demo2", "md-demo1", "md-native"]  # descending by default (docstring)
    by_time_asc = [
        md.display_name for md in ds.list_model_deployments(DEMO, sort_by="timeCreated", sort_order="ASC").data
    ]
    assert by_time_asc == by_time[::-1]
    by_name = [md.display_name for md in ds.list_model_deployments(DEMO, sort_by="displayName").data]
    assert by_name == ["md-demo1", "md-demo2", "md-gpu1", "md-native", "md-req1"]  # ascending by default
    by_name_desc = [
        md.display_name for md in ds.list_model_deployments(DEMO, sort_by="displayName", sort_order="DESC").data
    ]
    assert by_name_desc == by_name[::-1]
    auth = {"Authorization": "x"}
    for query in ("sortBy=size", "sortOrder=UP", "lifecycleState=SLEEPING"):
        status, _, body = http(f"{emu.url}/20190101/modelDeployments?compartmentId={DEMO}&{query}", headers=auth)
        assert status == 400 and body["code"] == "InvalidParameter"


def test_list_alarms_sorting_and_states(mon, emu):
    for name, severity in (("b", "INFO"), ("c", "CRITICAL"), ("a", "WARNING")):
        mon.create_alarm(alarm(display_name=name, severity=severity))
    names = [a.display_name for a in mon.list_alarms(OTHER, sort_by="displayName").data]
    assert names == sorted(names) and names[0] == "a"
    assert [a.display_name for a in mon.list_alarms(OTHER, sort_by="displayName", sort_order="DESC").data] == names[
        ::-1
    ]
    severities = [a.severity for a in mon.list_alarms(OTHER, sort_by="severity", sort_order="ASC").data]
    assert severities == sorted(severities)
    doomed = mon.list_alarms(OTHER, display_name="a").data[0].id
    mon.delete_alarm(doomed)
    assert doomed not in [a.id for a in mon.list_alarms(OTHER).data]  # ACTIVE only when no state is given
    assert [a.id for a in mon.list_alarms(OTHER, lifecycle_state="DELETED").data] == [doomed]
    for query in ("sortBy=query", "sortOrder=UP", "lifecycleState=FIRING", "compartmentIdInSubtree=maybe"):
        status, _, body = http(
            f"{emu.url}/20180401/alarms?compartmentId={OTHER}&{query}", headers={"Authorization": "x"}
        )
        assert status == 400 and body["code"] == "InvalidParameter"


def test_list_alarms_compartment_subtree_needs_the_tenancy(mon):
    err = service_error(lambda: mon.list_alarms(DEMO, compartment_id_in_subtree=True))
    assert (err.status, err.code) == (400, "InvalidParameter") and "tenancy" in err.message
    everything = mon.list_alarms(TENANCY, compartment_id_in_subtree=True).data
    assert {a.compartment_id for a in everything} == {DEMO, OTHER}
    assert mon.list_alarms(TENANCY).data == []


# -- 7. alarm field ranges -------------------------------------------------------------------------------------------


BAD_ALARMS = {
    "pending 30 s": ({"pending_duration": "PT30S"}, "pendingDuration must be between PT1M and PT1H"),
    "pending 2 h": ({"pending_duration": "PT2H"}, "pendingDuration must be between PT1M and PT1H"),
    "pending not ISO": ({"pending_duration": "5 minutes"}, "ISO 8601"),
    "repeat 30 s": (
        {"repeat_notification_duration": "PT30S"},
        "repeatNotificationDuration must be between PT1M and P30D",
    ),
    "repeat 31 d": ({"repeat_notification_duration": "P31D"}, "repeatNotificationDuration"),
    "slack 2 min": ({"evaluation_slack_duration": "PT2M"}, "evaluationSlackDuration must be between PT3M and PT2H"),
    "slack 3 h": ({"evaluation_slack_duration": "PT3H"}, "evaluationSlackDuration"),
    "resolution 5m": ({"resolution": "5m"}, "resolution must be 1m"),
    "display name 256": ({"display_name": "x" * 256}, "displayName must be 1 to 255"),
    "body 1001": ({"body": "x" * 1001}, "body must be 1 to 1000"),
    "title 256": ({"notification_title": "x" * 256}, "notificationTitle must be 1 to 255"),
    "two topics": ({"destinations": [TOPIC, TOPIC + "2"]}, "one destination per service"),
    "not a topic": ({"destinations": ["ocid1.queue.oc1..x"]}, "not a Notifications topic"),
    "severity": ({"severity": "LOUD"}, "severity"),
    "notification version": ({"notification_version": "2"}, "notificationVersion"),
    "resource group": ({"resource_group": "1-group"}, "resourceGroup"),
    "metric subtree": ({"metric_compartment_id_in_subtree": True}, "metricCompartmentIdInSubtree"),
    "override pending": (
        {"overrides": [MON.AlarmOverride(pending_duration="PT2H", severity="INFO", rule_name="o1")]},
        "overrides[0].pendingDuration",
    ),
}


@pytest.mark.parametrize("overrides,snippet", BAD_ALARMS.values(), ids=BAD_ALARMS.keys())
def test_alarm_fields_out_of_range_are_400_on_create(mon, overrides, snippet):
    before = len(mon.list_alarms(OTHER).data)
    err = service_error(lambda: mon.create_alarm(alarm(**overrides)))
    assert (err.status, err.code) == (400, "InvalidParameter") and snippet in err.message, err.message
    assert len(mon.list_alarms(OTHER).data) == before


def test_enum_the_sdk_would_refuse_client_side_is_400_too(mon):
    body = {**mon.base_client.sanitize_for_serialization(alarm()), "messageFormat": "HTML"}
    err = service_error(lambda: mon.create_alarm(body))
    assert (err.status, err.code) == (400, "InvalidParameter") and "messageFormat" in err.message


def test_alarm_field_edges_are_accepted(mon):
    created = mon.create_alarm(
        alarm(
            pending_duration="PT1H",
            repeat_notification_duration="P30D",
            evaluation_slack_duration="PT2H",
            resolution="1m",
            display_name="x" * 255,
            body="x" * 1000,
            destinations=[TOPIC, STREAM],
            notification_version="1.X",
            resource_group="fleet-1.$a_b",
        )
    ).data
    assert created.lifecycle_state == "ACTIVE"
    mon.create_alarm(
        alarm(pending_duration="PT1M", repeat_notification_duration="PT1M", evaluation_slack_duration="PT3M")
    )
    mon.create_alarm(alarm(metric_compartment_id=TENANCY, metric_compartment_id_in_subtree=True))


@pytest.mark.parametrize("overrides,snippet", list(BAD_ALARMS.values())[:12], ids=list(BAD_ALARMS)[:12])
def test_alarm_fields_out_of_range_are_400_on_update(mon, overrides, snippet):
    before = mon.get_alarm(DEMO1_CPU)
    err = service_error(lambda: mon.update_alarm(DEMO1_CPU, MON.UpdateAlarmDetails(**overrides)))
    assert (err.status, err.code) == (400, "InvalidParameter") and snippet in err.message, err.message
    assert mon.get_alarm(DEMO1_CPU).headers["etag"] == before.headers["etag"]


def test_duration_parser():
    assert [rules.duration_seconds(d) for d in ("PT1M", "PT1H", "P30D", "PT90S", "P1W", "P1DT1H")] == [
        60,
        3600,
        2592000,
        90,
        604800,
        90000,
    ]
    assert [rules.duration_seconds(d) for d in ("P", "PT", "1M", "PT-1M", "P1DT", None, 5)] == [None] * 7
