"""Outages on every OCI call the function makes: retried within the budget, else a retryable failure,
never half-applied for good, never worse than before. Real SDK over HTTP to the emulator in a thread."""

import copy
import json

import pytest

from autoscaler.messages import parse_message
from autoscaler.oci_gateway import OciGateway
from autoscaler.service import handle_message
from autoscaler.settings import load_settings
from emulator import Faults, Store, serve_in_thread
from tests.conftest import DEMO, DEMO1, SEED, alarm_message, emulator_env
from tests.service.test_service import low_message

SCALE_UP_CALLS = ["GetAlarm", "GetModelDeployment", "UpdateModelDeployment", "ListAlarms", "CreateAlarm"]
FAULTS = {
    "429": {"status": 429},
    "500": {"status": 500},
    "503": {"status": 503},
    "drop": {"drop": True},
    "drop after applying": {"drop": "after"},
    "timeout": {"latency": 0.6},
}
TIMEOUT_SECONDS = 0.3  # below the injected latency: that call times out on the client
BUDGET_SECONDS = 2.5


@pytest.fixture(scope="module")
def emulator():
    store = Store()
    faults = Faults()
    url, stop = serve_in_thread(store, faults=faults)
    yield url, store, faults
    stop()


@pytest.fixture
def oci(emulator):
    url, store, faults = emulator
    store.load(copy.deepcopy(SEED))
    faults.clear()
    settings = load_settings(
        emulator_env(
            url,
            AUTOSCALE_RETRY_BUDGET_SECONDS=str(BUDGET_SECONDS),
            AUTOSCALE_OCI_TIMEOUT_SECONDS=str(TIMEOUT_SECONDS),
            AUTOSCALE_SCALE_DOWN_COOLDOWN_SECONDS="0",
        )
    )
    gateway = OciGateway.from_settings(settings)

    def run(message, now=1_763_900_030.0):
        return [o.as_dict() for o in handle_message(parse_message(json.dumps(message)), settings, gateway, now)]

    return run, store, faults


def count_and_low_alarms(store):
    body, _ = store.get_model_deployment(DEMO1)
    count = body["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]["scalingPolicy"]["instanceCount"]
    name = f"model_deployment_low_cpu-{DEMO1}"
    return count, len(store.list_alarms(DEMO, display_name=name))


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("operation", SCALE_UP_CALLS)
def test_a_short_burst_is_retried_away(oci, operation, fault):
    run, store, faults = oci
    faults.add({"operation": operation, "count": 2, **FAULTS[fault]})
    [outcome] = run(alarm_message("high_cpu.json"))
    assert outcome["status"] == "applied", outcome
    assert outcome["low_alarm"] in ("exists (created here or by a concurrent call)", "exists")
    assert count_and_low_alarms(store) == (2, 1)


@pytest.mark.parametrize("fault", ["503", "drop", "timeout"])
@pytest.mark.parametrize("operation", SCALE_UP_CALLS)
def test_a_long_outage_fails_for_redelivery_and_the_redelivery_converges(oci, operation, fault):
    run, store, faults = oci
    faults.add({"operation": operation, "count": 1000, **FAULTS[fault]})
    [failed] = run(alarm_message("high_cpu.json"))
    assert failed["status"] == "error"  # the handler turns this into a 502: Notifications redelivers
    count, low_alarms = count_and_low_alarms(store)
    assert count in (1, 2) and low_alarms <= 1  # never worse than before, never more than one step
    faults.clear()
    store.update_delay_seconds = 0
    [again] = run(alarm_message("high_cpu.json"))
    assert again["status"] in ("applied", "noop"), again
    assert count_and_low_alarms(store) == (2, 1)


@pytest.mark.parametrize("fault", ["503", "drop", "drop after applying"])
def test_deleting_the_low_alarm_at_the_floor_survives_faults(oci, fault):
    run, store, faults = oci
    run(alarm_message("high_cpu.json"))
    faults.add({"operation": "DeleteAlarm", "count": 2, **FAULTS[fault]})
    [outcome] = run(low_message(store, "cpu"), now=1_763_900_930.0)
    # A delete whose answer was lost and whose retry found the alarm gone cannot say it was this call's.
    lost = "absent (deleted meanwhile, here or by a concurrent call)"
    assert outcome["status"] == "applied" and outcome["low_alarm"] == (
        "deleted" if fault != "drop after applying" else lost
    )
    assert count_and_low_alarms(store) == (1, 0)
