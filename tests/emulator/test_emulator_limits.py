"""OCI's documented tenancy-wide rate limits, per-call latency and the call log of the emulator's HTTP layer.

The limits run on an injected fake clock here (emulator/limits.py), so a "burst" is exact and nothing waits for
wall time; the 429s are seen through the real oci SDK with retries and the circuit breaker off.
"""

import inspect
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import oci
import pytest
from emu_helpers import DEMO, DEMO1, DEMO1_CPU, SEED, FakeClock, http, make_clients
from oci.monitoring import models as M

from emulator import Limits, Store, create_app, limits, rules, serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
TOPIC = "ocid1.onstopic.oc1.iad.demo"
DEFAULTS = {"limits": True, "latency": 0, "rates": dict(rules.RATE_LIMITS)}


@pytest.fixture(scope="module")
def limited(signer):
    """An emulator of its own whose limits run on a fake clock, and SDK clients without retries."""
    clock = FakeClock()
    store, region = Store(), Limits(clock=clock)
    url, stop = serve_in_thread(store, limits=region)
    ds, mon = make_clients(url, signer, retry_strategy=oci.retry.NoneRetryStrategy())
    yield SimpleNamespace(url=url, store=store, limits=region, clock=clock, ds=ds, mon=mon)
    stop()


@pytest.fixture
def lim(limited):
    """Fresh seed, fresh budgets and log, default settings."""
    assert http(limited.url + "/_emulator/config", "POST", DEFAULTS)[0] == 200
    assert http(limited.url + "/_emulator/reset", "POST", SEED)[0] == 200
    limited.clock.advance(10)
    return limited


def throttled(call) -> oci.exceptions.ServiceError:
    with pytest.raises(oci.exceptions.ServiceError) as err:
        call()
    assert (err.value.status, err.value.code) == (429, "TooManyRequests"), err.value
    return err.value


def low_alarm(name="md-autoscale-low-cpu-demo1"):
    return M.CreateAlarmDetails(
        display_name=name,
        compartment_id=DEMO,
        metric_compartment_id=DEMO,
        namespace="oci_datascience_modeldeploy",
        query=f'CpuUtilization[1m]{{resourceId = "{DEMO1}"}}.mean() < 20',
        severity="WARNING",
        destinations=[TOPIC],
        is_enabled=True,
    )


def summarize_details():
    now = time.time()
    return M.SummarizeMetricsDataDetails(
        namespace="oci_datascience_modeldeploy",
        query="CpuUtilization[1m].groupBy(resourceId).mean()",
        start_time=datetime.fromtimestamp(now - 600, UTC),
        end_time=datetime.fromtimestamp(now, UTC),
    )


def post_details():
    point = M.Datapoint(timestamp=datetime.fromtimestamp(time.time() - 30, UTC), value=1.0)
    metric = M.MetricDataDetails(
        namespace="my_app", compartment_id=DEMO, name="requests", dimensions={"host": "h1"}, datapoints=[point]
    )
    return M.PostMetricDataDetails(metric_data=[metric])


# -- the alarm budget ------------------------------------------------------------------------------------------------


def test_eleventh_alarm_call_in_a_second_is_429_through_the_sdk(lim):
    for _ in range(10):
        assert lim.mon.get_alarm(DEMO1_CPU).status == 200
    err = throttled(lambda: lim.mon.get_alarm(DEMO1_CPU))
    assert "10 per 1 second" in err.message and "alarm operations" in err.message
    throttled(lambda: lim.mon.list_alarms(DEMO))  # still inside the same window
    assert limits.too_many_requests(lim.limits.log) == {"GetAlarm": 1, "ListAlarms": 1}


def test_the_budget_comes_back_as_the_window_slides(lim):
    for _ in range(5):
        lim.mon.get_alarm(DEMO1_CPU)
    lim.clock.advance(0.5)
    for _ in range(5):
        lim.mon.get_alarm(DEMO1_CPU)
    throttled(lambda: lim.mon.get_alarm(DEMO1_CPU))
    lim.clock.advance(0.4999)  # the first five are still less than a second old
    throttled(lambda: lim.mon.get_alarm(DEMO1_CPU))
    lim.clock.advance(0.0001)  # now they are a second old: five calls free up, not ten
    for _ in range(5):
        assert lim.mon.get_alarm(DEMO1_CPU).status == 200
    throttled(lambda: lim.mon.get_alarm(DEMO1_CPU))
    lim.clock.advance(1)
    assert lim.mon.get_alarm(DEMO1_CPU).status == 200
    assert limits.peak_rate(lim.limits.log, accepted_only=True) == 10  # never more than 10 in any second


def test_all_alarm_operations_share_one_budget(lim):
    mon = lim.mon
    created = mon.create_alarm(low_alarm()).data
    calls = [
        lambda: mon.list_alarms(DEMO),
        lambda: mon.get_alarm(created.id),
        lambda: mon.get_alarm_history(created.id),
        lambda: mon.retrieve_dimension_states(created.id),
        lambda: mon.list_alarms_status(DEMO),
        lambda: mon.update_alarm(created.id, M.UpdateAlarmDetails(is_enabled=False)),
        lambda: mon.get_alarm(DEMO1_CPU),
        lambda: mon.list_alarms(DEMO),
        lambda: mon.delete_alarm(created.id),
    ]
    for call in calls:  # 1 + 9 = 10 alarm operations
        assert call().status in (200, 204)
    for call in (
        lambda: mon.create_alarm(low_alarm("another")),
        lambda: mon.list_alarms_status(DEMO),
        lambda: mon.retrieve_dimension_states(DEMO1_CPU),
        lambda: mon.get_alarm_history(DEMO1_CPU),
        lambda: mon.update_alarm(DEMO1_CPU, M.UpdateAlarmDetails(is_enabled=False)),
        lambda: mon.delete_alarm(DEMO1_CPU),
    ):
        throttled(call)
    assert set(limits.too_many_requests(lim.limits.log)) == {
        "CreateAlarm",
        "ListAlarmsStatus",
        "RetrieveDimensionStates",
        "GetAlarmHistory",
        "UpdateAlarm",
        "DeleteAlarm",
    }


def test_data_science_calls_are_not_throttled_and_do_not_spend_the_alarm_budget(lim):
    for _ in range(9):
        lim.mon.get_alarm(DEMO1_CPU)
    for _ in range(40):
        assert lim.ds.get_model_deployment(DEMO1).status == 200
        assert lim.ds.list_model_deployments(DEMO).status == 200
    assert lim.ds.list_model_deployment_shapes(DEMO).status == 200
    assert lim.mon.get_alarm(DEMO1_CPU).status == 200  # the 10th alarm operation
    throttled(lambda: lim.mon.get_alarm(DEMO1_CPU))
    assert lim.ds.get_model_deployment(DEMO1).status == 200


def test_summarize_metrics_data_has_its_own_budget_of_10(lim):
    for _ in range(10):
        lim.mon.get_alarm(DEMO1_CPU)
    throttled(lambda: lim.mon.get_alarm(DEMO1_CPU))
    for _ in range(10):  # the alarm budget is spent; this one is not
        assert lim.mon.summarize_metrics_data(DEMO, summarize_details()).status == 200
    throttled(lambda: lim.mon.summarize_metrics_data(DEMO, summarize_details()))
    lim.clock.advance(1)
    assert lim.mon.summarize_metrics_data(DEMO, summarize_details()).status == 200
    assert lim.mon.get_alarm(DEMO1_CPU).status == 200


def test_post_metric_data_has_its_own_budget_of_50(lim):
    for _ in range(50):
        assert lim.mon.post_metric_data(post_details()).data.failed_metrics_count == 0
    throttled(lambda: lim.mon.post_metric_data(post_details()))
    assert lim.mon.get_alarm(DEMO1_CPU).status == 200
    assert lim.mon.summarize_metrics_data(DEMO, summarize_details()).status == 200


# -- a throttled call has no effect --------------------------------------------------------------------------------


def test_a_throttled_create_alarm_creates_nothing(lim):
    before = [alarm["id"] for alarm in lim.store.dump()["alarms"]]
    for _ in range(10):
        lim.mon.list_alarms(DEMO)
    throttled(lambda: lim.mon.create_alarm(low_alarm(), opc_retry_token="token-1"))
    assert [alarm["id"] for alarm in lim.store.dump()["alarms"]] == before
    assert [op for op, _ in lim.store.calls] == ["ListAlarms"] * 10  # the store never saw it
    lim.clock.advance(1)
    created = lim.mon.create_alarm(low_alarm(), opc_retry_token="token-1").data  # the token was not spent either
    assert [alarm["id"] for alarm in lim.store.dump()["alarms"]] == [*before, created.id]


def test_a_throttled_call_does_not_consume_an_armed_fault(lim):
    assert http(lim.url + "/_emulator/faults", "POST", {"operation": "GetAlarm", "status": 503})[0] == 200
    for _ in range(10):
        lim.mon.list_alarms(DEMO)
    throttled(lambda: lim.mon.get_alarm(DEMO1_CPU))
    lim.clock.advance(1)
    with pytest.raises(oci.exceptions.ServiceError) as err:
        lim.mon.get_alarm(DEMO1_CPU)
    assert err.value.status == 503
    assert [c.status for c in lim.limits.log if c.operation == "GetAlarm"] == [429, 503]
    assert limits.too_many_requests(lim.limits.log, throttled_only=True) == {"GetAlarm": 1}


def test_the_in_process_store_never_throttles(lim):
    for _ in range(10):
        lim.mon.get_alarm(DEMO1_CPU)
    throttled(lambda: lim.mon.get_alarm(DEMO1_CPU))
    for _ in range(100):  # the simulator's path: straight into the Store, on its own clock
        lim.store.get_alarm(DEMO1_CPU)
        lim.store.list_alarms(DEMO)
    assert len(lim.limits.log) == 11  # the HTTP log only has HTTP calls
    store = Store.from_seed(SEED)  # and a Store alone has no limits at all
    for _ in range(100):
        store.get_alarm(DEMO1_CPU)


def test_limits_off_means_no_429_but_the_log_still_counts(lim):
    assert http(lim.url + "/_emulator/config", "POST", {"limits": False})[2]["limits"] is False
    for _ in range(30):
        assert lim.mon.get_alarm(DEMO1_CPU).status == 200
    for _ in range(12):
        assert lim.mon.summarize_metrics_data(DEMO, summarize_details()).status == 200
    assert limits.peak_rate(lim.limits.log) == 30  # the demand, what OCI would have refused 20 of
    assert limits.peak_rate(lim.limits.log, ["SummarizeMetricsData"]) == 12
    assert limits.too_many_requests(lim.limits.log) == {}
    http(lim.url + "/_emulator/config", "POST", {"limits": True})  # calls made while off spent no budget
    for _ in range(10):
        assert lim.mon.get_alarm(DEMO1_CPU).status == 200
    throttled(lambda: lim.mon.get_alarm(DEMO1_CPU))


def test_the_default_session_server_does_not_throttle(mon, emu):
    for _ in range(25):
        assert mon.get_alarm(DEMO1_CPU).status == 200
    assert emu.admin("GET", "/config")[2]["limits"] is False


def test_rates_are_configurable(lim):
    config = http(lim.url + "/_emulator/config", "POST", {"rates": {"alarms": 3}})[2]
    assert config["rates"] == {**rules.RATE_LIMITS, "alarms": 3} and config["strict"] is True
    for _ in range(3):
        lim.mon.get_alarm(DEMO1_CPU)
    assert "limited to 3 per" in throttled(lambda: lim.mon.get_alarm(DEMO1_CPU)).message
    http(lim.url + "/_emulator/config", "POST", {"rates": {"alarms": None}})  # None: unlimited
    for _ in range(20):
        lim.mon.get_alarm(DEMO1_CPU)


@pytest.mark.parametrize(
    "bad",
    [
        {"limits": "yes"},
        {"latency": -1},
        {"latency": [0.3, 0.1]},
        {"latency": [0.1, 0.2, 0.3]},
        {"rates": {"alarms": 0}},
        {"rates": {"DataScience": 5}},
        {"rates": [10]},
        {"latency": 0.1, "strict": "no"},
    ],
)
def test_bad_limits_config_is_refused_and_changes_nothing(lim, bad):
    status, _, body = http(lim.url + "/_emulator/config", "POST", bad)
    assert (status, body["code"]) == (400, "InvalidParameter")
    assert {k: v for k, v in http(lim.url + "/_emulator/config")[2].items() if k in DEFAULTS} == DEFAULTS


# -- latency ---------------------------------------------------------------------------------------------------------


def test_latency_delays_every_call(lim):
    http(lim.url + "/_emulator/config", "POST", {"latency": 0.2})
    start = time.monotonic()
    lim.ds.get_model_deployment(DEMO1)
    assert time.monotonic() - start >= 0.2
    http(lim.url + "/_emulator/config", "POST", {"latency": [0.1, 0.15]})
    start = time.monotonic()
    lim.mon.get_alarm(DEMO1_CPU)
    assert time.monotonic() - start >= 0.1
    assert http(lim.url + "/_emulator/config")[2]["latency"] == [0.1, 0.15]


def test_latency_can_be_given_to_serve_in_thread(signer):
    url, stop = serve_in_thread(Store.from_seed(SEED), latency=0.15)
    try:
        ds, _ = make_clients(url, signer)
        start = time.monotonic()
        ds.get_model_deployment(DEMO1)
        assert time.monotonic() - start >= 0.15
        assert http(url + "/_emulator/config")[2]["latency"] == 0.15
    finally:
        stop()


def test_latency_is_also_a_limits_setting():
    assert Limits(latency=[0.1, 0.2]).delay() >= 0.1
    assert Limits().delay() == 0
    with pytest.raises(ValueError):
        Limits(latency=-0.1)
    app = create_app(Store(), limits=Limits(clock=FakeClock()), latency=0.3)
    assert app.state.limits.latency == 0.3 and app.state.limits.enabled
    assert create_app(Store()).state.limits.enabled is False
    assert create_app(Store(), limits=True).state.limits.enabled is True


# -- the call log --------------------------------------------------------------------------------------------------


def test_the_log_records_every_call_with_its_status(lim):
    start = lim.clock()
    lim.mon.get_alarm(DEMO1_CPU)
    with pytest.raises(oci.exceptions.ServiceError):
        lim.mon.get_alarm("ocid1.alarm.oc1.iad.nope")
    lim.ds.get_model_deployment(DEMO1)
    for _ in range(8):  # with the two GetAlarm (a 404 counts too): 10 alarm operations
        lim.mon.list_alarms(DEMO)
    throttled(lambda: lim.mon.list_alarms(DEMO))
    assert http(lim.url + "/20180401/alarms/" + DEMO1_CPU)[0] == 401  # no signature: logged, not counted
    log = lim.limits.log
    assert [(c.operation, c.status, c.throttled) for c in log] == [
        ("GetAlarm", 200, False),
        ("GetAlarm", 404, False),
        ("GetModelDeployment", 200, False),
        *[("ListAlarms", 200, False)] * 8,
        ("ListAlarms", 429, True),
        ("GetAlarm", 401, False),
    ]
    assert all(c.time == start for c in log)  # the fake clock did not move

    status, _, body = http(lim.url + "/_emulator/limits?detail=1&since=11")
    assert status == 200 and body["limits"] is True and body["window"] == 1.0
    assert body["calls"] == [
        {"time": start, "operation": "ListAlarms", "status": 429, "throttled": True, "client": ""},
        {"time": start, "operation": "GetAlarm", "status": 401, "throttled": False, "client": ""},
    ]
    assert body["groups"]["alarms"] == sorted(rules.ALARM_OPERATIONS)
    assert body["summary"] == {
        "calls": 13,
        "too_many_requests": {"ListAlarms": 1},
        "throttled": {"ListAlarms": 1},
        "peak": {"alarms": 12, "SummarizeMetricsData": 0, "PostMetricData": 0},
        "peak_accepted": {"alarms": 10, "SummarizeMetricsData": 0, "PostMetricData": 0},
    }
    assert "calls" not in http(lim.url + "/_emulator/limits")[2]
    assert http(lim.url + "/_emulator/limits", "DELETE")[2]["summary"]["calls"] == 0
    assert lim.limits.log == [] and lim.mon.list_alarms(DEMO).status == 200  # DELETE also frees the budget


def test_the_log_names_the_client_from_the_user_agent(lim, signer):
    """The function sets the SDK's additional_user_agent to oci-md-autoscaler/<role>: the log tells tick from alarm."""
    tick = oci.monitoring.MonitoringClient(
        {"additional_user_agent": "oci-md-autoscaler/tick"},
        signer=signer,
        service_endpoint=lim.url,
        retry_strategy=oci.retry.NoneRetryStrategy(),
        circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
    )
    tick.get_alarm(DEMO1_CPU)
    lim.mon.get_alarm(DEMO1_CPU)
    assert [(c.operation, c.client) for c in lim.limits.log] == [("GetAlarm", "tick"), ("GetAlarm", "")]


def test_a_dropped_connection_is_logged_without_a_status(lim):
    http(lim.url + "/_emulator/faults", "POST", {"operation": "GetModelDeployment", "drop": True})
    with pytest.raises(oci.exceptions.RequestException):
        lim.ds.get_model_deployment(DEMO1)
    assert [(c.operation, c.status) for c in lim.limits.log] == [("GetModelDeployment", None)]


def test_reset_forgets_the_log_and_the_spent_budget(lim):
    for _ in range(10):
        lim.mon.get_alarm(DEMO1_CPU)
    throttled(lambda: lim.mon.get_alarm(DEMO1_CPU))
    http(lim.url + "/_emulator/reset", "POST", SEED)
    assert lim.limits.log == []
    assert lim.mon.get_alarm(DEMO1_CPU).status == 200


def test_peak_rate_and_too_many_requests_helpers():
    log = [
        limits.Call(0.0, "GetAlarm", 200),
        limits.Call(0.5, "ListAlarms", 200),
        limits.Call(0.9, "GetModelDeployment", 200),
        limits.Call(0.99, "CreateAlarm", 429, True),
        limits.Call(1.0, "GetAlarm", 200),  # (0, 1]: the call at 0.0 is out of this window
        limits.Call(1.4, "SummarizeMetricsData", 429),  # an injected fault, not the limits
        {"time": 1.6, "operation": "DeleteAlarm", "status": 204, "throttled": False},  # as GET /_emulator/limits
    ]
    assert limits.peak_rate(log) == 3
    assert limits.peak_rate(log, accepted_only=True) == 2
    assert limits.peak_rate(log, operations=None) == 5  # (0.4, 1.4]
    assert limits.peak_rate(log, window=2.0) == 5
    assert limits.peak_rate([]) == 0
    assert limits.too_many_requests(log) == {"CreateAlarm": 1, "SummarizeMetricsData": 1}
    assert limits.too_many_requests(log, throttled_only=True) == {"CreateAlarm": 1}


# -- the command line ------------------------------------------------------------------------------------------------


def start_cli(*args):
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", "--update-delay", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline().strip()
    match = re.fullmatch(r"emulator listening on (http://127\.0\.0\.1:\d+)", line)
    if not match:
        process.kill()
        pytest.fail(f"{line!r} {process.stderr.read()}")
    return process, match.group(1)


def test_command_line_limits_flag_throttles(signer):
    process, url = start_cli("--limits")
    try:
        assert {k: v for k, v in http(url + "/_emulator/config")[2].items() if k in DEFAULTS} == DEFAULTS
        _, mon = make_clients(url, signer, retry_strategy=oci.retry.NoneRetryStrategy())
        statuses = []
        for _ in range(30):  # far faster than 10 per second on any machine that runs this suite
            try:
                statuses.append(mon.get_alarm(DEMO1_CPU).status)
            except oci.exceptions.ServiceError as err:
                statuses.append(err.status)
        assert 429 in statuses and statuses[:10] == [200] * 10
        summary = http(url + "/_emulator/limits")[2]["summary"]
        assert summary["peak_accepted"]["alarms"] <= 10 and summary["throttled"]["GetAlarm"] == statuses.count(429)
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_command_line_default_is_no_limits_and_takes_a_latency(signer):
    process, url = start_cli("--latency", "0.05", "0.1")
    try:
        config = http(url + "/_emulator/config")[2]
        assert (config["limits"], config["latency"]) == (False, [0.05, 0.1])
        _, mon = make_clients(url, signer)
        for _ in range(15):
            assert mon.get_alarm(DEMO1_CPU).status == 200
        assert http(url + "/_emulator/limits")[2]["summary"]["calls"] == 15  # logged all the same
    finally:
        process.terminate()
        process.wait(timeout=5)
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "--latency", "1", "2", "3"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 2 and "--latency" in result.stderr


# -- the sources -----------------------------------------------------------------------------------------------------

ALARM_SENTENCE = (
    "Monitoring might throttle this call to reject an otherwise valid request when the total rate of alarm "
    "operations exceeds 10 requests, or transactions, per second (TPS) for a given tenancy."
)


def _method(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def _doc(client, operation: str) -> str:
    return " ".join(inspect.getdoc(getattr(client, _method(operation))).split())


def test_the_limits_are_the_ones_the_sdk_documents():
    """rules.py cites the oci SDK's docstrings: check them against the installed SDK."""
    served = {route.name for route in create_app(Store()).routes if getattr(route, "name", "")[:1].isupper()}
    monitoring = {op for op in served if hasattr(oci.monitoring.MonitoringClient, _method(op))}
    data_science = served - monitoring
    assert {"CreateAlarm", "SummarizeMetricsData", "GetModelDeployment"} <= served
    alarm_ops = {op for op in monitoring if ALARM_SENTENCE in _doc(oci.monitoring.MonitoringClient, op)}
    assert alarm_ops == rules.ALARM_OPERATIONS
    for op, rate in (("SummarizeMetricsData", 10), ("PostMetricData", 50)):
        text = f"Transactions Per Second (TPS) per-tenancy limit for this operation: {rate}."
        assert text in _doc(oci.monitoring.MonitoringClient, op) and rules.RATE_LIMITS[op] == rate
    assert monitoring - rules.ALARM_OPERATIONS == {"SummarizeMetricsData", "PostMetricData"}
    assert rules.RATE_LIMITS["alarms"] == 10
    source = inspect.getsource(oci.data_science.DataScienceClient)
    assert not re.search(r"\bTPS\b", source) and not re.search(r"throttl|per second|rate limit", source, re.I)
    assert all(rules.rate_limit_group(op) is None for op in data_science)
