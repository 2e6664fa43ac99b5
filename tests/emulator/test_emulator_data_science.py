"""Data Science API of the emulator, driven by the real oci SDK."""

import copy
import datetime
import time

import oci
import pytest
from emu_helpers import DEMO, DEMO1, DEMO2, DEMO_DEPLOYMENTS, NATIVE, OTHER, http
from oci.data_science import models as M


def scale(
    count=None, ocpus=None, memory=None, shape="VM.Standard.E4.Flex", model_id="ocid1.datasciencemodel.oc1.iad.demo1"
):
    instance = None
    if ocpus is not None:
        instance = M.InstanceConfiguration(
            instance_shape_name=shape,
            model_deployment_instance_shape_config_details=M.ModelDeploymentInstanceShapeConfigDetails(
                ocpus=ocpus, memory_in_gbs=memory
            ),
        )
    policy = M.FixedSizeScalingPolicy(instance_count=count) if count is not None else None
    return M.UpdateModelDeploymentDetails(
        model_deployment_configuration_details=M.UpdateSingleModelDeploymentConfigurationDetails(
            model_configuration_details=M.UpdateModelConfigurationDetails(
                model_id=model_id, instance_configuration=instance, scaling_policy=policy
            )
        )
    )


def service_error(call):
    with pytest.raises(oci.exceptions.ServiceError) as err:
        call()
    return err.value


def test_get_deployment_parses_into_sdk_models(ds, emu):
    response = ds.get_model_deployment(DEMO1)
    md = response.data
    assert response.status == 200
    assert response.headers["etag"] == emu.store.get_model_deployment(DEMO1)[1]
    assert response.request_id
    assert (md.id, md.compartment_id, md.lifecycle_state) == (DEMO1, DEMO, "ACTIVE")
    assert isinstance(md.time_created, datetime.datetime)
    config = md.model_deployment_configuration_details
    assert isinstance(config, M.SingleModelDeploymentConfigurationDetails)
    instance = config.model_configuration_details.instance_configuration
    assert instance.instance_shape_name == "VM.Standard.E4.Flex"
    assert instance.model_deployment_instance_shape_config_details.ocpus == 1
    assert instance.model_deployment_instance_shape_config_details.memory_in_gbs == 16
    assert isinstance(config.model_configuration_details.scaling_policy, M.FixedSizeScalingPolicy)
    assert config.model_configuration_details.scaling_policy.instance_count == 1
    assert isinstance(md.model_deployment_system_data, M.InstancePoolModelDeploymentSystemData)


def test_native_autoscaling_deployment_parses(ds):
    policy = ds.get_model_deployment(NATIVE).data.model_deployment_configuration_details.model_configuration_details
    assert isinstance(policy.scaling_policy, M.AutoScalingPolicy)
    rule = policy.scaling_policy.auto_scaling_policies[0].rules[0]
    assert rule.metric_type == "CPU_UTILIZATION" and rule.scale_out_configuration.threshold == 65


def test_list_deployments_filters(ds):
    ids = [md.id for md in ds.list_model_deployments(DEMO).data]
    assert ids == DEMO_DEPLOYMENTS and ids[:3] == [DEMO1, DEMO2, NATIVE]
    assert all(isinstance(md, M.ModelDeploymentSummary) for md in ds.list_model_deployments(DEMO).data)
    assert [md.id for md in ds.list_model_deployments(DEMO, display_name="md-demo2").data] == [DEMO2]
    assert ds.list_model_deployments(DEMO, lifecycle_state="UPDATING").data == []
    assert [md.id for md in ds.list_model_deployments(OTHER).data] == ["ocid1.datasciencemodeldeployment.oc1.iad.other"]


def test_list_deployments_pages_with_list_call_get_all_results(ds, emu):
    first = ds.list_model_deployments(DEMO, limit=2)
    assert len(first.data) == 2 and first.has_next_page and first.headers["opc-next-page"] == "2"
    everything = oci.pagination.list_call_get_all_results(ds.list_model_deployments, DEMO, limit=1)
    assert [md.id for md in everything.data] == DEMO_DEPLOYMENTS
    assert [op for op, _ in emu.store.calls].count("ListModelDeployments") == 1 + len(DEMO_DEPLOYMENTS)


def test_update_goes_active_updating_active_with_work_request(ds, emu):
    etag = ds.get_model_deployment(DEMO1).headers["etag"]
    # One infrastructure group per update while ACTIVE (strict mode; see test_emulator_strict.py): the count only.
    response = ds.update_model_deployment(DEMO1, scale(count=3), if_match=etag)
    assert response.status == 202 and response.data is None
    wr_id = response.headers["opc-work-request-id"]
    md = ds.get_model_deployment(DEMO1)
    assert md.data.lifecycle_state == "UPDATING" and md.headers["etag"] != etag
    config = md.data.model_deployment_configuration_details.model_configuration_details
    assert config.scaling_policy.instance_count == 3
    assert config.instance_configuration.model_deployment_instance_shape_config_details.ocpus == 1  # omitted: stays
    assert config.bandwidth_mbps == 10  # omitted fields stay
    assert md.data.model_deployment_system_data.current_instance_count == 1  # not there yet
    emu.clock.advance(2)
    wr = ds.get_work_request(wr_id).data
    assert (wr.status, wr.operation_type) == ("IN_PROGRESS", "MODEL_DEPLOYMENT_UPDATE")
    assert wr.resources[0].identifier == DEMO1 and wr.resources[0].entity_type == "modelDeployment"
    emu.clock.advance(8)
    assert ds.get_model_deployment(DEMO1).data.lifecycle_state == "ACTIVE"
    assert ds.get_model_deployment(DEMO1).data.model_deployment_system_data.current_instance_count == 3
    wr = ds.get_work_request(wr_id).data
    assert wr.status == "SUCCEEDED" and wr.time_finished >= wr.time_accepted


def test_update_with_a_real_short_delay(ds, emu):
    emu.store.clock, emu.store.update_delay_seconds = time.monotonic, 0.2
    ds.update_model_deployment(DEMO2, scale(count=3, model_id="ocid1.datasciencemodel.oc1.iad.demo2"))
    states = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and (not states or states[-1] != "ACTIVE"):
        states.append(ds.get_model_deployment(DEMO2).data.lifecycle_state)
        time.sleep(0.02)
    assert states[0] == "UPDATING" and states[-1] == "ACTIVE"


def test_composite_update_and_wait_for_work_request(ds, emu):
    emu.store.update_delay_seconds = 0
    composite = oci.data_science.DataScienceClientCompositeOperations(ds)
    result = composite.update_model_deployment_and_wait_for_state(
        DEMO1, scale(count=2), wait_for_states=["SUCCEEDED"], waiter_kwargs={"max_wait_seconds": 5}
    )
    assert result.data.status == "SUCCEEDED"
    assert ds.get_model_deployment(DEMO1).data.model_deployment_system_data.current_instance_count == 2


def test_stale_if_match_is_412(ds, emu):
    stale = ds.get_model_deployment(DEMO1).headers["etag"]
    ds.update_model_deployment(DEMO1, scale(count=2))
    emu.clock.advance(10)
    err = service_error(lambda: ds.update_model_deployment(DEMO1, scale(count=4), if_match=stale))
    assert (err.status, err.code) == (412, "NoEtagMatch")
    config = ds.get_model_deployment(DEMO1).data.model_deployment_configuration_details.model_configuration_details
    assert config.scaling_policy.instance_count == 2


def test_update_while_updating_is_409(ds):
    ds.update_model_deployment(DEMO1, scale(count=2))
    err = service_error(lambda: ds.update_model_deployment(DEMO1, scale(count=3)))
    assert (err.status, err.code) == (409, "IncorrectState")
    assert "UPDATING" in err.message


def test_unknown_ids_are_404(ds):
    for call in (
        lambda: ds.get_model_deployment("ocid1.datasciencemodeldeployment.oc1.iad.missing"),
        lambda: ds.update_model_deployment("ocid1.datasciencemodeldeployment.oc1.iad.missing", scale(count=2)),
        lambda: ds.get_work_request("ocid1.datascienceworkrequest.oc1..missing"),
    ):
        err = service_error(call)
        assert (err.status, err.code) == (404, "NotAuthorizedOrNotFound")
        assert "missing" in err.message


def config_body(**model_config):
    model_config.setdefault("modelId", "ocid1.datasciencemodel.oc1.iad.demo1")
    return {
        "modelDeploymentConfigurationDetails": {
            "deploymentType": "SINGLE_MODEL",
            "modelConfigurationDetails": model_config,
        }
    }


def flex(ocpus=1, memory=16, shape="VM.Standard.E4.Flex"):
    shape_config = {k: v for k, v in (("ocpus", ocpus), ("memoryInGBs", memory)) if v is not None}
    return {"instanceShapeName": shape, "modelDeploymentInstanceShapeConfigDetails": shape_config}


def without_model_id():
    body = config_body(scalingPolicy={"policyType": "FIXED_SIZE", "instanceCount": 2})
    del body["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]["modelId"]
    return body


INVALID_BODIES = {
    "unknown deploymentType": (
        {"modelDeploymentConfigurationDetails": {"deploymentType": "MODEL_GROUP"}},
        "deploymentType",
    ),
    "missing modelId": (without_model_id(), "modelId is required"),
    "instanceCount 0": (config_body(scalingPolicy={"policyType": "FIXED_SIZE", "instanceCount": 0}), "instanceCount"),
    "instanceCount string": (
        config_body(scalingPolicy={"policyType": "FIXED_SIZE", "instanceCount": "2"}),
        "instanceCount",
    ),
    "unknown policyType": (config_body(scalingPolicy={"policyType": "MAGIC"}), "policyType"),
    "Flex without shape config": (
        config_body(instanceConfiguration={"instanceShapeName": "VM.Standard.E5.Flex"}),
        "requires",
    ),
    "Flex without memory": (config_body(instanceConfiguration=flex(memory=None)), "memoryInGBs"),
    "ocpus not positive": (config_body(instanceConfiguration=flex(ocpus=0)), "ocpus must be a positive number"),
    "memory not positive": (config_body(instanceConfiguration=flex(memory=-1)), "memoryInGBs must be a positive"),
    "non-Flex with shape config": (
        config_body(instanceConfiguration=flex(shape="VM.Standard2.4")),
        "only allowed for Flex shapes",
    ),
    "unknown top-level field": ({"displayName": "x", "instanceCount": 3}, "Unknown field(s) instanceCount"),
    "unknown nested field": (config_body(instanceCount=3), "Unknown field(s) instanceCount"),
    "tags not an object": ({"freeformTags": ["a"]}, "freeformTags"),
}


@pytest.mark.parametrize("body,snippet", INVALID_BODIES.values(), ids=INVALID_BODIES.keys())
def test_invalid_update_bodies_are_400_and_change_nothing(ds, emu, body, snippet):
    before = ds.get_model_deployment(DEMO1)
    err = service_error(lambda: ds.update_model_deployment(DEMO1, copy.deepcopy(body)))
    assert (err.status, err.code) == (400, "InvalidParameter")
    assert snippet in err.message
    after = ds.get_model_deployment(DEMO1)
    assert after.headers["etag"] == before.headers["etag"] and after.data.lifecycle_state == "ACTIVE"


def test_tags_and_names_update_and_freeform_tags_replace_the_map(ds, emu):
    ds.update_model_deployment(DEMO2, M.UpdateModelDeploymentDetails(display_name="renamed", freeform_tags={"a": "b"}))
    emu.clock.advance(10)
    md = ds.get_model_deployment(DEMO2).data
    assert (md.display_name, md.freeform_tags) == ("renamed", {"a": "b"})
    assert md.model_deployment_configuration_details.model_configuration_details.scaling_policy.instance_count == 2


def test_malformed_json_is_400(emu):
    status, headers, body = http(
        f"{emu.url}/20190101/modelDeployments/{DEMO1}", "PUT", b"{not json", {"Authorization": "Signature x"}
    )
    assert status == 400 and body["code"] == "CannotParseRequest" and headers["opc-request-id"]
    assert emu.store.get_model_deployment(DEMO1)[0]["lifecycleState"] == "ACTIVE"


def test_request_without_authorization_is_401_and_not_recorded(emu):
    status, headers, body = http(f"{emu.url}/20190101/modelDeployments/{DEMO1}")
    assert status == 401 and body["code"] == "NotAuthenticated" and body["message"]
    assert headers["opc-request-id"]
    assert emu.store.calls == []


def test_unknown_path_is_oci_style_404(emu):
    status, _, body = http(f"{emu.url}/20190101/notebookSessions", headers={"Authorization": "x"})
    assert status == 404 and body["code"] == "NotFound"
