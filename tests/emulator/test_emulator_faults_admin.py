"""Fault injection, admin endpoints and the command line, seen through the real oci SDK."""

import re
import subprocess
import sys
import time
from pathlib import Path

import oci
import pytest
from emu_helpers import DEMO, DEMO1, DEMO1_CPU, SEED, http, make_clients

ROOT = Path(__file__).resolve().parents[2]


def fast_retries(attempts=5):
    return oci.retry.RetryStrategyBuilder(
        max_attempts=attempts,
        total_elapsed_time_seconds=10,
        retry_base_sleep_time_seconds=0.01,
        retry_max_wait_between_calls_seconds=0.05,
    ).get_retry_strategy()


@pytest.mark.parametrize(
    "status,code", [(429, "TooManyRequests"), (500, "InternalServerError"), (503, "ServiceUnavailable")]
)
def test_status_fault_answers_count_times_then_clears(mon, ds, emu, status, code):
    assert emu.admin("POST", "/faults", {"operation": "GetAlarm", "status": status, "count": 2})[0] == 200
    for _ in range(2):
        with pytest.raises(oci.exceptions.ServiceError) as err:
            mon.get_alarm(DEMO1_CPU)
        assert (err.value.status, err.value.code) == (status, code)
        assert ds.get_model_deployment(DEMO1).status == 200  # other operations are untouched
    assert mon.get_alarm(DEMO1_CPU).status == 200
    assert emu.admin("GET", "/faults")[2] == {"faults": []}
    assert [c for c in emu.store.calls if c[0] == "GetAlarm"] == [("GetAlarm", DEMO1_CPU)] * 3


def test_wildcard_fault_hits_any_operation(ds, mon, emu):
    emu.admin("POST", "/faults", {"operation": "*", "status": 503, "count": 2})
    with pytest.raises(oci.exceptions.ServiceError):
        ds.list_model_deployments(DEMO)
    with pytest.raises(oci.exceptions.ServiceError):
        mon.create_alarm({"displayName": "never created"})
    assert mon.list_alarms(DEMO).status == 200
    assert [op for op, _ in emu.store.calls] == ["ListModelDeployments", "CreateAlarm", "ListAlarms"]


def test_latency_fault_delays_count_calls(ds, emu):
    emu.admin("POST", "/faults", {"operation": "GetModelDeployment", "latency": 0.3, "count": 1})
    start = time.monotonic()
    assert ds.get_model_deployment(DEMO1).data.id == DEMO1
    assert time.monotonic() - start >= 0.3
    start = time.monotonic()
    ds.get_model_deployment(DEMO1)
    assert time.monotonic() - start < 0.25


def test_latency_beyond_the_client_timeout_is_a_timeout(server, signer, emu):
    ds, _ = make_clients(server.url, signer, timeout=(1, 0.2))
    emu.admin("POST", "/faults", {"operation": "GetModelDeployment", "latency": 0.6, "count": 1})
    with pytest.raises(oci.exceptions.RequestException) as err:
        ds.get_model_deployment(DEMO1)
    assert "timed out" in str(err.value).lower()


def test_drop_fault_is_a_connection_error_for_the_sdk(ds, emu):
    ds.get_model_deployment(DEMO1)  # a pooled keep-alive connection exists: the drop must still surface
    emu.admin("POST", "/faults", {"operation": "GetModelDeployment", "drop": True, "count": 1})
    with pytest.raises(oci.exceptions.RequestException) as err:
        ds.get_model_deployment(DEMO1)
    assert not isinstance(err.value, oci.exceptions.ServiceError)
    assert "Remote end closed connection without response" in str(err.value)
    assert ds.get_model_deployment(DEMO1).status == 200
    assert emu.store.calls.count(("GetModelDeployment", DEMO1)) == 3


def test_drop_on_update_leaves_state_untouched(ds, emu):
    emu.admin("POST", "/faults", {"operation": "UpdateModelDeployment", "drop": True})
    with pytest.raises(oci.exceptions.RequestException):
        ds.update_model_deployment(DEMO1, {"displayName": "x"})
    assert emu.store.get_model_deployment(DEMO1)[0]["displayName"] == "md-demo1"


def test_drop_after_apply_makes_an_sdk_retry_of_an_update_hit_409(server, signer, emu):
    ds, _ = make_clients(server.url, signer, retry_strategy=fast_retries())
    emu.admin("POST", "/faults", {"operation": "UpdateModelDeployment", "drop": "after"})
    with pytest.raises(oci.exceptions.ServiceError) as err:
        ds.update_model_deployment(DEMO1, {"displayName": "applied-once"})
    assert (err.value.status, err.value.code) == (409, "IncorrectState")  # the SDK's retry met its own update
    body, _ = emu.store.get_model_deployment(DEMO1)
    assert (body["displayName"], body["lifecycleState"]) == ("applied-once", "UPDATING")
    # The SDK's default checker also retries 409 IncorrectState: every one of the 5 attempts reached the service.
    assert emu.store.calls.count(("UpdateModelDeployment", DEMO1)) == 5


def test_sdk_retry_strategy_survives_a_503_burst_and_a_drop(server, signer, emu):
    ds, mon = make_clients(server.url, signer, retry_strategy=fast_retries())
    emu.admin("POST", "/faults", {"operation": "UpdateModelDeployment", "status": 503, "count": 2})
    emu.admin("POST", "/faults", {"operation": "UpdateModelDeployment", "drop": True, "count": 1})
    response = ds.update_model_deployment(DEMO1, {"displayName": "after-retries"})
    assert response.status == 202
    assert emu.store.calls.count(("UpdateModelDeployment", DEMO1)) == 4
    assert emu.store.get_model_deployment(DEMO1)[0]["displayName"] == "after-retries"
    emu.admin("POST", "/faults", {"operation": "ListAlarms", "status": 429, "count": 10})
    with pytest.raises(oci.exceptions.ServiceError) as err:
        mon.list_alarms(DEMO)  # 5 attempts, all throttled
    assert err.value.status == 429
    assert emu.admin("GET", "/faults")[2]["faults"][0]["count"] == 5


def test_injected_errors_count_as_transient_for_the_sdk_circuit_breaker(server, signer, emu):
    breaker = oci.circuit_breaker.CircuitBreakerStrategy(failure_threshold=3, name=f"emulator-test-{time.time()}")
    ds, mon = make_clients(server.url, signer, circuit_breaker_strategy=breaker)
    emu.admin("POST", "/faults", {"operation": "GetModelDeployment", "status": 500, "count": 3})
    for _ in range(3):
        with pytest.raises(oci.exceptions.ServiceError):
            ds.get_model_deployment(DEMO1)
    emu.store.calls.clear()
    with pytest.raises(Exception, match="OPEN") as err:
        mon.get_alarm(DEMO1_CPU)  # another service's client with the same breaker: refused without a request
    assert not isinstance(err.value, oci.exceptions.ServiceError)
    assert emu.store.calls == []


@pytest.mark.parametrize(
    "spec",
    [
        {"status": 503},
        {"operation": "GetAlarm", "status": 418},
        {"operation": "GetAlarm"},
        {"operation": "GetAlarm", "status": 503, "drop": True},
        {"operation": "GetAlarm", "latency": -1},
        {"operation": "GetAlarm", "status": 503, "count": 0},
        {"operation": "GetAlarm", "drop": False},
        {"operation": "GetAlarm", "drop": "before"},
    ],
)
def test_bad_fault_specs_are_rejected(emu, spec):
    status, _, body = emu.admin("POST", "/faults", spec)
    assert status == 400 and body["code"] == "InvalidParameter"
    assert emu.admin("GET", "/faults")[2] == {"faults": []}


def test_delete_faults_clears_them(mon, emu):
    emu.admin("POST", "/faults", {"operation": "GetAlarm", "status": 503, "count": 5})
    assert emu.admin("DELETE", "/faults")[2] == {"faults": []}
    assert mon.get_alarm(DEMO1_CPU).status == 200


def test_calls_endpoint_lists_operations_in_order(ds, mon, emu):
    ds.get_model_deployment(DEMO1)
    mon.list_alarms(DEMO)
    assert emu.admin("GET", "/calls")[2] == [
        {"operation": "GetModelDeployment", "id": DEMO1},
        {"operation": "ListAlarms", "id": ""},
    ]


def test_state_and_reset(mon, emu):
    response = mon.update_alarm(DEMO1_CPU, oci.monitoring.models.UpdateAlarmDetails(is_enabled=False))
    status, _, state = emu.admin("GET", "/state")
    alarm = next(a for a in state["alarms"] if a["id"] == DEMO1_CPU)
    assert status == 200 and alarm["isEnabled"] is False and alarm["etag"] == response.headers["etag"]
    small_seed = {"modelDeployments": [{**SEED["modelDeployments"][0], "etag": "seed-etag"}], "alarms": []}
    emu.admin("POST", "/faults", {"operation": "*", "status": 503})
    status, _, state = emu.admin("POST", "/reset", small_seed)
    assert status == 200 and [md["etag"] for md in state["modelDeployments"]] == ["seed-etag"]
    assert state["alarms"] == [] and emu.store.calls == []
    assert emu.admin("GET", "/faults")[2] == {"faults": []}
    assert mon.list_alarms(DEMO).data == []
    assert emu.admin("POST", "/reset", b"[not a seed")[0] == 400


def test_command_line_starts_fast_and_serves(signer):
    start = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", "--update-delay", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline().strip()
        match = re.fullmatch(r"emulator listening on (http://127\.0\.0\.1:(\d+))", line)
        assert match, (line, process.stderr.read() if process.poll() is not None else "")
        assert time.monotonic() - start < 5
        ds, _ = make_clients(match.group(1), signer)
        assert ds.get_model_deployment(DEMO1).data.lifecycle_state == "ACTIVE"
        status, _, state = http(match.group(1) + "/_emulator/state")
        assert status == 200 and len(state["modelDeployments"]) == len(SEED["modelDeployments"])
    finally:
        process.terminate()
        process.wait(timeout=5)
