"""ListWorkRequests of the emulator (the tick measures a deployment's update time with it), driven by the real SDK,
and its timings on the Store's clock."""

import oci
import pytest
from emu_helpers import DEMO, DEMO1, DEMO2, SEED
from oci.data_science import models as M

from emulator.monitoring import Monitoring
from emulator.store import OciError, Store

EPOCH = 1_763_900_000.0
MODELS = {DEMO1: "ocid1.datasciencemodel.oc1.iad.demo1", DEMO2: "ocid1.datasciencemodel.oc1.iad.demo2"}


def scale_body(count: int, deployment_id: str = DEMO1) -> dict:
    """An UpdateModelDeploymentDetails that changes the instance count only, as REST JSON."""
    model = {"modelId": MODELS[deployment_id], "scalingPolicy": {"policyType": "FIXED_SIZE", "instanceCount": count}}
    return {
        "modelDeploymentConfigurationDetails": {"deploymentType": "SINGLE_MODEL", "modelConfigurationDetails": model}
    }


def scale(count: int, deployment_id: str = DEMO1) -> M.UpdateModelDeploymentDetails:
    """The same as SDK models."""
    return M.UpdateModelDeploymentDetails(
        model_deployment_configuration_details=M.UpdateSingleModelDeploymentConfigurationDetails(
            model_configuration_details=M.UpdateModelConfigurationDetails(
                model_id=MODELS[deployment_id], scaling_policy=M.FixedSizeScalingPolicy(instance_count=count)
            )
        )
    )


def test_list_work_requests_by_resource(ds, emu):
    first = ds.update_model_deployment(DEMO1, scale(2)).headers["opc-work-request-id"]
    other = ds.update_model_deployment(DEMO2, scale(2, DEMO2)).headers["opc-work-request-id"]
    emu.clock.advance(2)
    [running] = ds.list_work_requests(DEMO, resource_id=DEMO1).data
    assert isinstance(running, M.WorkRequestSummary) and running.id == first
    assert (running.status, running.time_finished) == ("IN_PROGRESS", None)
    emu.clock.advance(8)  # the update delay (10 s) has passed
    second = ds.update_model_deployment(DEMO1, scale(3)).headers["opc-work-request-id"]

    listed = ds.list_work_requests(DEMO, resource_id=DEMO1, sort_by="timeAccepted", sort_order="DESC").data
    assert [w.id for w in listed] == [second, first]  # newest first; DEMO2's is not DEMO1's
    done = listed[1]
    assert done.operation_type == M.WorkRequestSummary.OPERATION_TYPE_MODEL_DEPLOYMENT_UPDATE
    assert done.status == "SUCCEEDED" and done.compartment_id == DEMO and done.percent_complete == 100.0
    [resource] = done.resources
    assert (resource.entity_type, resource.identifier, resource.action_type) == ("modelDeployment", DEMO1, "UPDATED")
    assert (done.time_finished - done.time_accepted).total_seconds() == 10.0  # the Store's clock, not the wall's
    assert done.time_started == done.time_accepted
    assert listed[0].status == "ACCEPTED" and listed[0].time_started is None

    everything = ds.list_work_requests(DEMO).data
    assert {w.id for w in everything} == {first, second, other}
    assert [w.id for w in ds.list_work_requests(DEMO, resource_id=DEMO1, status="SUCCEEDED").data] == [first]
    assert ds.list_work_requests(DEMO, resource_id=DEMO1, operation_type="MODEL_DEPLOYMENT_CREATE").data == []
    assert ds.list_work_requests("ocid1.compartment.oc1..other", resource_id=DEMO1).data == []
    page = ds.list_work_requests(DEMO, resource_id=DEMO1, limit=1)
    assert [w.id for w in page.data] == [second] and page.next_page
    assert [w.id for w in ds.list_work_requests(DEMO, resource_id=DEMO1, page=page.next_page).data] == [first]
    assert [op for op, _ in emu.store.calls].count("ListWorkRequests") == 8


def test_work_request_timings_follow_the_store_s_clock():
    """The benchmark gives the Store and its Monitoring one virtual epoch clock: work requests are stamped on it."""

    class Clock:
        now = EPOCH

        def __call__(self):
            return self.now

    clock = Clock()
    store = Store.from_seed(SEED, update_delay_seconds=120, clock=clock, monitoring=Monitoring(wall_clock=clock))
    wr_id = store.update_model_deployment(DEMO1, scale_body(2), None)
    clock.now += 120
    [summary] = store.list_work_requests(DEMO, resource_id=DEMO1)
    assert summary["id"] == wr_id and summary["status"] == "SUCCEEDED"
    assert (summary["timeAccepted"], summary["timeFinished"]) == (
        "2025-11-23T12:13:20.000Z",
        "2025-11-23T12:15:20.000Z",
    )
    assert store.get_work_request(wr_id)["timeFinished"] == summary["timeFinished"]


@pytest.mark.parametrize(("field", "value"), [("status", "DONE"), ("sort_by", "timeFinished"), ("sort_order", "UP")])
def test_list_work_requests_refuses_values_the_api_does_not_know(field, value):
    store = Store.from_seed(SEED)
    with pytest.raises(OciError) as error:
        store.list_work_requests(DEMO, **{field: value})
    assert error.value.status == 400


def test_the_in_process_fake_client_lists_work_requests():
    from emulator.sdk_fakes import FakeDataScienceClient

    store = Store.from_seed(SEED)
    ds = FakeDataScienceClient(store)
    wr_id = store.update_model_deployment(DEMO1, scale_body(2), None)
    [summary] = ds.list_work_requests(DEMO, resource_id=DEMO1, limit=5).data
    assert isinstance(summary, oci.data_science.models.WorkRequestSummary) and summary.id == wr_id
    with pytest.raises(ValueError):
        ds.list_work_requests(DEMO, resource=DEMO1)  # an argument the SDK does not take
