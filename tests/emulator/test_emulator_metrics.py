"""OCI Monitoring in the emulator (emulator/monitoring.py): MQL, metrics, alarm evaluation, state and history.

In-process tests drive a Store with a virtual wall clock; the API tests go through the real oci SDK over HTTP.
"""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import oci
import pytest
from emu_helpers import DEMO, DEMO1, DEMO2, OTHER, SEED, http
from oci.monitoring import models as M

from emulator.monitoring import Monitoring, UnsupportedQuery, parse_query
from emulator.sdk_fakes import FakeMonitoringClient
from emulator.store import OciError, Store

NS = "oci_datascience_modeldeploy"
T0 = 1_750_000_020.0  # 2025-06-15T15:07:00Z, a whole minute
TOPIC = "ocid1.onstopic.oc1.iad.demo"
ALARMS = Path(__file__).resolve().parents[2] / "alarms"


class Wall:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def rfc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def per_instance(op_threshold: str, md: str = DEMO1, metric: str = "CpuUtilization") -> str:
    return f'{metric}[1m]{{resourceId = "{md}"}}.mean() {op_threshold}'


def per_deployment(op_threshold: str, md: str = DEMO1, metric: str = "CpuUtilization") -> str:
    return f'{metric}[1m]{{resourceId = "{md}"}}.groupBy(resourceId).mean() {op_threshold}'


def alarm_body(query: str, name: str = "test-alarm", **extra) -> dict:
    return {
        "displayName": name,
        "compartmentId": DEMO,
        "metricCompartmentId": DEMO,
        "namespace": NS,
        "query": query,
        "severity": "CRITICAL",
        "destinations": [TOPIC],
        "isEnabled": True,
        **extra,
    }


@pytest.fixture
def world():
    """A Store with no seed, a virtual wall clock and no evaluation slack."""
    wall = Wall()
    store = Store(monitoring=Monitoring(wall_clock=wall, slack_seconds=0))

    def alarm(query, **extra):
        return store.create_alarm(alarm_body(query, **extra))[0]["id"]

    def cpu(instance: str, value: float, at: float | None = None, md: str = DEMO1, metric="CpuUtilization"):
        at = wall.now - 10 if at is None else at
        store.monitoring.post(DEMO, NS, metric, {"resourceId": md, "instanceId": instance}, [(at, value)])

    def minute(**values):
        """Advance one minute, post one datapoint per instance, evaluate: the messages."""
        wall.now += 60
        for instance, value in values.items():
            cpu(instance, value)
        return store.evaluate_alarms()

    return type("World", (), {"store": store, "wall": wall, "alarm": alarm, "cpu": cpu, "minute": minute})


def kinds(messages):
    return [m["type"] for m in messages]


# -- MQL parser --


@pytest.mark.parametrize(
    "text,fields",
    [
        (
            'CpuUtilization[1m]{resourceId = "ocid1.x"}.mean() > 80',
            {"metric": "CpuUtilization", "interval_seconds": 60, "grouping": "none", "statistic": "mean"},
        ),
        (
            'CpuUtilization[5m]{resourceId = "a", instanceId = "b"}.groupBy(resourceId).mean() >= 55.5',
            {"interval_minutes": 5, "grouping": "groupBy", "group_keys": ("resourceId",), "threshold": 55.5},
        ),
        ("CpuUtilization [1h].grouping().max() < 3", {"interval_seconds": 3600, "grouping": "grouping"}),
        ("CpuUtilization[1d].groupBy(a, b).sum() == 0", {"group_keys": ("a", "b"), "operator": "=="}),
        ("CpuUtilization[1m].percentile(0.9) != 1e2", {"percentile": 0.9, "threshold": 100.0}),
        ("CpuUtilization[1m].count() in (60, 80)", {"operator": "in", "threshold": 60, "threshold_high": 80}),
        ("CpuUtilization[1m].rate() not in (1, 2)", {"operator": "not in", "statistic": "rate"}),
        ('CpuUtilization[1m]{name =~ "ol8|inst-*"}.min() <= 20', {"operator": "<="}),
        ("CpuUtilization[1m]{faultDomain = FAULT-DOMAIN-1}.mean()", {"operator": None}),  # quotes optional
        (r'M[1m]{d = "a \"q\" b"}.max() > 1', {"equal_filters": {"d": 'a "q" b'}}),
    ],
)
def test_parser_accepts_the_documented_forms(text, fields):
    query = parse_query(text)
    for name, value in fields.items():
        assert getattr(query, name) == value, name


@pytest.mark.parametrize(
    "text,snippet",
    [
        ("", "empty"),
        ("CpuUtilization.mean() > 1", "interval"),
        ("CpuUtilization[1x].mean() > 1", "1m-60m"),
        ("CpuUtilization[61m].mean() > 1", "out of range"),
        ("CpuUtilization[1m].avg() > 1", "unknown statistic avg()"),
        ('CpuUtilization[1m]{a != "b"}.mean() > 1', "'=' or '=~'"),
        ('CpuUtilization[1m]{a = "b}.mean() > 1', "unterminated"),
        ("CpuUtilization[1m]{}.mean() > 1", "empty dimension filter"),
        ("CpuUtilization[1m].mean() >", "a number after >"),
        ("CpuUtilization[1m].mean() = 80", "condition"),
        ("CpuUtilization[1m].mean() > 80 and more", "unexpected text"),
        ("CpuUtilization[1m].percentile(90) > 1", "between 0 and 1"),
        ("CpuUtilization[1m].mean() in (80, 60)", "lower value first"),
        ("CpuUtilization[1m].mean().groupBy(resourceId) > 1", "second grouping"),
        ("CpuUtilization[1m].groupBy().mean() > 1", "dimension name"),
    ],
)
def test_parser_refuses_with_a_clear_message(text, snippet):
    with pytest.raises(ValueError) as err:
        parse_query(text)
    assert snippet in str(err.value)


@pytest.mark.parametrize(
    "text",
    [
        'CpuUtilization[1m]{resourceId = "x"}.groupBy(resourceId).absent()',
        "CpuUtilization[1m].absent(20h)",
        "(CpuUtilization[1m].mean() > 80).grouping().sum() > 1",
    ],
)
def test_documented_but_unevaluated_mql_is_accepted_by_create_alarm(world, text):
    with pytest.raises(UnsupportedQuery):
        parse_query(text)
    alarm_id = world.alarm(text)
    assert world.store.evaluate_alarms() == []  # not evaluated
    assert world.store.get_alarm(alarm_id)[0]["query"] == text


def test_expression_is_the_metric_values_key():
    assert parse_query(per_instance("> 80")).expression == "CpuUtilization[1m].mean()"
    assert parse_query(per_deployment("> 80")).expression == "CpuUtilization[1m].groupBy(resourceId).mean()"


# -- evaluation: streams per instance, per deployment, one for all --


def test_unevenly_loaded_instances(world):
    hot_instance = world.alarm(per_instance("> 75"), name="per-instance")
    deployment_75 = world.alarm(per_deployment("> 75"), name="per-deployment-75")
    deployment_55 = world.alarm(per_deployment("> 55"), name="per-deployment-55")
    messages = world.minute(i1=90, i2=30)
    by_alarm = {m["alarmMetaData"][0]["id"]: m for m in messages}
    assert set(by_alarm) == {hot_instance, deployment_55}  # the deployment's mean is 60: not > 75
    meta = by_alarm[hot_instance]["alarmMetaData"][0]
    assert meta["dimensions"] == [{"resourceId": DEMO1, "instanceId": "i1"}]
    assert meta["metricValues"] == [{"CpuUtilization[1m].mean()": "90.00"}] and meta["totalMetricsFiring"] == 1
    meta = by_alarm[deployment_55]["alarmMetaData"][0]
    assert meta["dimensions"] == [{"resourceId": DEMO1}]
    assert meta["metricValues"] == [{"CpuUtilization[1m].groupBy(resourceId).mean()": "60.00"}]
    assert world.store.monitoring.status_of(deployment_75) == "OK"
    assert world.store.monitoring.status_of(hot_instance, {"resourceId": DEMO1, "instanceId": "i2"}) == "OK"


def test_grouping_aggregates_every_stream_into_one_without_dimensions(world):
    everything = world.alarm("CpuUtilization[1m].grouping().max() > 85")
    world.cpu("j1", 88, at=T0 + 50, md=DEMO2)
    [message] = world.minute(i1=20)
    meta = message["alarmMetaData"][0]
    assert meta["id"] == everything and meta["dimensions"] == [{}]
    assert meta["metricValues"] == [{"CpuUtilization[1m].grouping().max()": "88.00"}]


def test_filters_and_metric_names_select_the_streams(world):
    world.alarm(per_instance("> 50", md=DEMO2))
    world.alarm(per_instance("> 50", metric="MemoryUtilization"))
    world.alarm('CpuUtilization[1m]{instanceId =~ "i1|k*"}.max() > 50', name="fuzzy")
    world.cpu("k7", 99, at=T0 + 50, md=DEMO2)
    messages = world.minute(i1=60, i2=99)
    assert len(messages) == 2
    fuzzy = next(m for m in messages if m["title"] == "fuzzy")["alarmMetaData"][0]
    assert fuzzy["dimensions"] == [{"resourceId": DEMO1, "instanceId": "i1"}, {"resourceId": DEMO2, "instanceId": "k7"}]
    assert fuzzy["metricValues"] == [{"CpuUtilization[1m].max()": "60.00"}, {"CpuUtilization[1m].max()": "99.00"}]


def test_grouped_message_lists_every_firing_stream_split_sends_one_each(world):
    grouped = world.alarm(per_instance("> 75"), name="grouped")
    split = world.alarm(per_instance("> 75"), name="split", isNotificationsPerMetricDimensionEnabled=True)
    messages = world.minute(i1=90, i2=80, i3=10)
    [group] = [m for m in messages if m["alarmMetaData"][0]["id"] == grouped]
    assert group["notificationType"] == "Grouped messages across metric streams"
    meta = group["alarmMetaData"][0]
    assert meta["totalMetricsFiring"] == 2
    assert [d["instanceId"] for d in meta["dimensions"]] == ["i1", "i2"]
    assert meta["metricValues"] == [{"CpuUtilization[1m].mean()": "90.00"}, {"CpuUtilization[1m].mean()": "80.00"}]
    singles = [m for m in messages if m["alarmMetaData"][0]["id"] == split]
    assert [m["notificationType"] for m in singles] == ["Split messages per metric stream"] * 2
    assert [m["alarmMetaData"][0]["dimensions"][0]["instanceId"] for m in singles] == ["i1", "i2"]
    assert len({m["dedupeKey"] for m in singles}) == 2 and group["dedupeKey"] not in {m["dedupeKey"] for m in singles}
    # Split: a third stream fires on its own; grouped: the alarm already fires, the stream joins the next REPEAT.
    messages = world.minute(i1=90, i2=80, i3=95)
    assert [(m["title"], m["type"]) for m in messages] == [("split", "OK_TO_FIRING")]
    assert messages[0]["alarmMetaData"][0]["dimensions"] == [{"resourceId": DEMO1, "instanceId": "i3"}]


def test_message_shape_matches_the_alarm_message(world):
    world.alarm(per_instance("> 75"), name="md-high", notificationTitle="model_deployment_high_cpu", body="hot")
    [message] = world.minute(i1=92.3)
    sample = json.loads((ALARMS / "high_cpu.json").read_text())
    assert set(message) == set(sample) and set(message["alarmMetaData"][0]) == set(sample["alarmMetaData"][0])
    assert (message["title"], message["body"], message["severity"]) == ("model_deployment_high_cpu", "hot", "CRITICAL")
    assert message["timestampEpochMillis"] == int(world.wall.now * 1000)
    assert message["timestamp"] == "2025-06-15T15:08:00.000Z"
    assert message["alarmMetaData"][0]["alarmSummary"].startswith('Alarm "model_deployment_high_cpu" is in a "FIRING"')


# -- pending, repeat, FIRING_TO_OK, slack, cadence --


def test_pending_repeat_and_firing_to_ok(world):
    alarm_id = world.alarm(per_deployment("> 75"), pendingDuration="PT3M", repeatNotificationDuration="PT2M")
    assert world.minute(i1=90) == [] and world.minute(i1=90) == []
    assert world.minute(i1=60) == []  # the breaching run restarts
    assert world.minute(i1=90) == [] and world.minute(i1=90) == []
    [fired] = world.minute(i1=90)  # the third breaching minute in a row
    assert fired["type"] == "OK_TO_FIRING"
    assert world.minute(i1=90) == []
    [repeat] = world.minute(i1=90)
    assert repeat["type"] == "REPEAT" and repeat["dedupeKey"] == fired["dedupeKey"]
    [cleared] = world.minute(i1=50)  # clear for the most recent minute: OK at once
    assert cleared["type"] == "FIRING_TO_OK" and cleared["dedupeKey"] == fired["dedupeKey"]
    meta = cleared["alarmMetaData"][0]
    assert (meta["status"], meta["totalMetricsFiring"], meta["metricValues"]) == (
        "OK",
        0,
        [{"CpuUtilization[1m].groupBy(resourceId).mean()": "50.00"}],
    )
    for _ in range(2):
        world.minute(i1=90)
    [again] = world.minute(i1=90)
    assert again["type"] == "OK_TO_FIRING" and again["dedupeKey"] != fired["dedupeKey"]  # a new episode
    assert world.store.monitoring.status_of(alarm_id) == "FIRING"


def test_split_repeat_is_per_stream(world):
    world.alarm(per_instance("> 75"), repeatNotificationDuration="PT1M", isNotificationsPerMetricDimensionEnabled=True)
    assert kinds(world.minute(i1=90)) == ["OK_TO_FIRING"]
    assert kinds(world.minute(i1=90, i2=99)) == ["REPEAT", "OK_TO_FIRING"]
    assert kinds(world.minute(i1=10, i2=99)) == ["FIRING_TO_OK", "REPEAT"]


def test_slack_delays_the_evaluated_window(world):
    world.store.monitoring.slack_seconds = None  # each alarm's own: default PT3M
    default = world.alarm(per_deployment("> 75"), name="default-slack")
    late = world.alarm(per_deployment("> 75"), name="slack-5m", evaluationSlackDuration="PT5M")
    fired = {}
    for minute in range(1, 8):
        for message in world.minute(i1=90):
            fired[message["alarmMetaData"][0]["id"]] = minute
    # Data from minute 1 on; the window ending at now - 3 min first holds it at minute 4, now - 5 min at minute 6.
    assert fired == {default: 4, late: 6}
    world.store.monitoring.slack_seconds = 0  # the override for every alarm (what the benchmark passes)
    quick = world.alarm(per_deployment("> 75"), name="quick")
    assert [m["alarmMetaData"][0]["id"] for m in world.minute(i1=90)] == [quick]


def test_evaluation_runs_once_a_minute_and_catches_up(world):
    world.alarm(per_deployment("> 75"), pendingDuration="PT3M")
    world.minute(i1=90)
    assert world.store.evaluate_alarms(world.wall.now + 30) == []  # less than a minute later: nothing
    for step in (60, 120, 180):
        world.cpu("i1", 90, at=world.wall.now + step - 5)
    world.wall.now += 180  # three minutes later in one call: three evaluations, the second fires (3rd in a row)
    assert kinds(world.store.evaluate_alarms()) == ["OK_TO_FIRING"]


def test_disabled_deleted_and_no_data(world):
    disabled = world.alarm(per_deployment("> 75"), isEnabled=False)
    deleted = world.alarm(per_deployment("> 75"))
    world.store.delete_alarm(deleted, None)
    assert world.minute(i1=90) == []
    kept = world.alarm(per_deployment("> 75"), repeatNotificationDuration="PT1M")
    assert kinds(world.minute(i1=90)) == ["OK_TO_FIRING"]
    assert world.minute() == [] and world.minute() == []  # no data: the state holds, no REPEAT, no OK
    assert kinds(world.minute(i1=90)) == ["REPEAT"]
    assert world.store.monitoring.status_of(kept) == "FIRING" and world.store.monitoring.status_of(disabled) == "OK"


def test_reset_after_missing_data_when_configured(world):
    world.store.monitoring.reset_after_seconds = 180
    alarm_id = world.alarm(per_instance("> 75"))
    world.minute(i1=90, i2=90)
    world.minute(i2=90)
    world.minute(i2=90)
    [reset] = world.minute(i2=10)  # i1 silent for 3 minutes: dropped; i2 clears; the last stream clears: FIRING_TO_OK
    assert reset["type"] == "FIRING_TO_OK"
    assert [d["instanceId"] for d in reset["alarmMetaData"][0]["dimensions"]] == ["i2", "i1"]
    assert world.store.retrieve_dimension_states(alarm_id)[0]["items"][0]["dimensions"]["instanceId"] == "i2"


@pytest.mark.parametrize(
    "statistic,expected",
    [("mean()", 28.0), ("max()", 70.0), ("min()", 10.0), ("sum()", 140.0), ("count()", 5.0), ("percentile(0.5)", 10)],
)
def test_statistics_weigh_datapoint_counts(world, statistic, expected):
    query = parse_query(f"CpuUtilization[1m].grouping().{statistic}")
    world.store.monitoring.post(DEMO, NS, "CpuUtilization", {"a": "1"}, [(T0 - 30, 10, 3), (T0 - 20, 70, 1)])
    world.store.monitoring.post(DEMO, NS, "CpuUtilization", {"a": "2"}, [(T0 - 10, 40)])
    world.store.monitoring.post(DEMO, NS, "CpuUtilization", {"a": "3"}, [(T0 - 70, 1000)])  # outside the window
    [(dims, value)] = world.store.monitoring.stream_values(DEMO, NS, query, T0).values()
    assert dims == {} and value == pytest.approx(expected)


def test_rate_is_per_second_and_adds_streams(world):
    query = parse_query("CpuUtilization[5m].grouping().rate()")
    world.store.monitoring.post(DEMO, NS, "CpuUtilization", {"a": "1"}, [(T0 - 200, 0), (T0 - 100, 50)])
    world.store.monitoring.post(DEMO, NS, "CpuUtilization", {"a": "2"}, [(T0 - 100, 10), (T0, 20)])
    [(_, value)] = world.store.monitoring.stream_values(DEMO, NS, query, T0).values()
    assert value == pytest.approx(0.5 + 0.1)


# -- state set by hand, seed --


def test_fire_and_ok_by_hand(world):
    alarm_id = world.alarm(per_deployment("> 75"), notificationTitle="model_deployment_high_cpu")
    fired = world.store.fire_alarm(alarm_id, {"resourceId": DEMO1}, 92.3)
    assert fired["type"] == "OK_TO_FIRING" and fired["timestampEpochMillis"] == int(T0 * 1000)
    assert fired["alarmMetaData"][0]["metricValues"] == [{"CpuUtilization[1m].groupBy(resourceId).mean()": "92.30"}]
    again = world.store.fire_alarm(alarm_id, {"resourceId": DEMO1}, 95, timestamp_epoch_millis=int(T0 * 1000) + 60000)
    assert again["type"] == "REPEAT" and again["dedupeKey"] == fired["dedupeKey"]
    cleared = world.store.clear_alarm(alarm_id, {"resourceId": DEMO1}, 40)
    assert cleared["type"] == "FIRING_TO_OK" and cleared["alarmMetaData"][0]["status"] == "OK"
    with pytest.raises(OciError) as err:
        world.store.clear_alarm(alarm_id, {"resourceId": DEMO1})
    assert (err.value.status, err.value.code) == (409, "IncorrectState")
    for dims in ({"resourceId": DEMO2}, {"resourceId": DEMO1, "instanceId": "x"}, {}):
        with pytest.raises(OciError) as err:
            world.store.fire_alarm(alarm_id, dims, 90)  # not a stream of this query
        assert err.value.status == 400
    with pytest.raises(OciError) as err:
        world.store.fire_alarm("ocid1.alarm.oc1..nope", {"resourceId": DEMO1}, 90)
    assert err.value.status == 404


def test_seed_starts_the_high_alarms_firing_and_round_trips():
    store = Store.from_seed(SEED)
    firing, _ = store.list_alarms_status(DEMO, status="FIRING")
    high = {a["id"] for a in SEED["alarms"] if a["compartmentId"] == DEMO and "high" in a["id"].rsplit(".", 1)[-1]}
    assert {a["id"] for a in firing} == high and high
    assert {a["timestampTriggered"] for a in firing} == {"2025-01-01T00:00:00.000Z"}
    demo1_cpu = "ocid1.alarm.oc1.iad.demo1highcpu"
    [item] = store.retrieve_dimension_states(demo1_cpu)[0]["items"]
    assert (item["status"], item["dimensions"]["resourceId"]) == ("FIRING", DEMO1)
    dumped = store.dump()
    assert len(dumped["alarmStates"]) == len(SEED["alarmStates"])
    assert Store.from_seed(dumped).dump() == dumped


def test_low_alarms_created_later_start_ok():
    store = Store.from_seed(SEED)
    alarm_id = store.create_alarm(alarm_body(per_deployment("< 20"), name="low"))[0]["id"]
    assert store.monitoring.status_of(alarm_id) == "OK"
    assert store.retrieve_dimension_states(alarm_id)[0]["items"] == []


def deployment_of(meta):
    return meta["dimensions"][0]["resourceId"]


@pytest.mark.parametrize("name", sorted(p.name for p in ALARMS.glob("*.json") if not p.name.startswith("malformed")))
def test_sample_messages_against_the_seed(name):
    """A sample for a seeded alarm names a deployment OCI shows FIRING, except the spoofed wrong deployment and the
    low request alarm (the function's own, seeded OK: a message for it is refused as not firing)."""
    message = json.loads((ALARMS / name).read_text())
    meta = message["alarmMetaData"][0]
    alarm = next((a for a in SEED["alarms"] if a["id"] == meta["id"]), None)
    if alarm is None:
        pytest.skip(f"{meta['id']} is not in the seed (created later, or spoofed)")
    store = Store.from_seed(SEED)
    for deployment in {d["resourceId"] for d in meta["dimensions"]}:
        statuses, _ = store.list_alarms_status(alarm["compartmentId"], resource_id=deployment, status="FIRING")
        shown = alarm["id"] in {a["id"] for a in statuses}
        assert shown == (name not in ("spoofed_wrong_deployment.json", "low_requests.json")), deployment


@pytest.mark.parametrize(
    "entry,snippet",
    [
        ({"alarmId": "ocid1.alarm.oc1.iad.nope"}, "unknown alarm"),
        ({"dimensions": {"resourceId": DEMO2}}, "do not match"),
        ({"status": "PENDING"}, "FIRING or OK"),
        ({"timestamp": "yesterday"}, "RFC 3339"),
    ],
)
def test_bad_alarm_states_in_a_seed_are_refused(entry, snippet):
    seed = copy.deepcopy(SEED)
    seed["alarmStates"] = [{**SEED["alarmStates"][0], **entry}]
    with pytest.raises(ValueError) as err:
        Store.from_seed(seed)
    assert snippet in str(err.value)


def test_history_keeps_transitions_and_filters(world):
    alarm_id = world.alarm(per_deployment("> 75"))
    world.minute(i1=90)
    world.minute(i1=10)
    world.minute(i1=90)
    body, token = world.store.get_alarm_history(alarm_id)
    assert token is None and body["alarmId"] == alarm_id and body["isEnabled"] is True
    summaries = [e["summary"] for e in body["entries"]]  # newest first
    assert summaries == [
        "The alarm state is FIRING",
        "State transitioned from OK to Firing",
        "The alarm state is OK",
        "State transitioned from Firing to OK",
        "The alarm state is FIRING",
        "State transitioned from OK to Firing",
    ]
    transitions, _ = world.store.get_alarm_history(alarm_id, "STATE_TRANSITION_HISTORY")
    assert all("timestampTriggered" in e for e in transitions["entries"]) and len(transitions["entries"]) == 3
    states, _ = world.store.get_alarm_history(alarm_id, "STATE_HISTORY")
    assert all("timestampTriggered" not in e for e in states["entries"])
    window, _ = world.store.get_alarm_history(alarm_id, None, rfc(T0 + 120), rfc(T0 + 180))
    assert [e["summary"] for e in window["entries"]] == summaries[2:4]
    page, token = world.store.get_alarm_history(alarm_id, limit=4)
    rest, last = world.store.get_alarm_history(alarm_id, page=token, limit=4)
    assert (len(page["entries"]), token, len(rest["entries"]), last) == (4, "4", 2, None)
    assert world.store.get_alarm_history(alarm_id, "RULE_HISTORY")[0]["entries"] == []


# -- the API through the real SDK over HTTP --


@pytest.fixture
def wall(emu):
    """The HTTP emulator's monitoring on a virtual wall clock, no slack; restored afterwards."""
    monitoring = emu.store.monitoring
    saved = monitoring.wall_clock, monitoring.slack_seconds
    clock = Wall()
    monitoring.wall_clock, monitoring.slack_seconds = clock, 0
    yield clock
    monitoring.wall_clock, monitoring.slack_seconds = saved


def service_error(call):
    with pytest.raises(oci.exceptions.ServiceError) as err:
        call()
    return err.value


def metric(name="requests", dims=None, points=((T0 - 50, 1.0),), namespace="my_app", **extra):
    return M.MetricDataDetails(
        namespace=namespace,
        compartment_id=DEMO,
        name=name,
        dimensions=dims or {"host": "h1"},
        datapoints=[M.Datapoint(timestamp=datetime.fromtimestamp(t, UTC), value=v) for t, v in points],
        **extra,
    )


def test_post_and_summarize_through_the_sdk(mon, wall):
    points = [(T0 - 290 + 60 * i, v) for i, v in enumerate((10, 20, 30, 40, 50))]
    posted = mon.post_metric_data(
        M.PostMetricDataDetails(
            metric_data=[metric(points=points), metric(dims={"host": "h2"}, points=[(T0 - 50, 100)])]
        )
    )
    assert (posted.status, posted.data.failed_metrics_count, posted.data.failed_metrics) == (200, 0, [])
    details = M.SummarizeMetricsDataDetails(
        namespace="my_app",
        query="requests[1m].groupBy(host).max()",
        start_time=datetime.fromtimestamp(T0 - 600, UTC),
        end_time=datetime.fromtimestamp(T0 + 60, UTC),
    )
    data = mon.summarize_metrics_data(DEMO, details).data
    assert [d.dimensions for d in data] == [{"host": "h1"}, {"host": "h2"}]
    assert all(isinstance(d, M.MetricData) and d.resolution == "1m" and d.name == "requests" for d in data)
    assert [p.value for p in data[0].aggregated_datapoints] == [10, 20, 30, 40, 50]
    assert data[0].aggregated_datapoints[0].timestamp == datetime.fromtimestamp(T0 - 240, UTC)
    details.query = "requests[5m].grouping().mean()"  # 5-minute windows every minute, each labeled by its end
    [total] = mon.summarize_metrics_data(DEMO, details).data
    assert total.dimensions == {} and len(total.aggregated_datapoints) == 5
    assert total.aggregated_datapoints[-1].value == pytest.approx((10 + 20 + 30 + 40 + 50 + 100) / 6)
    details.query = "requests[1m].max() > 35"
    assert [len(d.aggregated_datapoints) for d in mon.summarize_metrics_data(DEMO, details).data] == [2, 1]
    assert mon.summarize_metrics_data(OTHER, details).data == []


def test_post_metric_data_validation(mon, wall):
    reserved = metric(namespace="oci_datascience_modeldeploy")
    stale = metric(points=[(T0 - 3 * 3600, 1)])
    response = mon.post_metric_data(M.PostMetricDataDetails(metric_data=[metric(), reserved, stale]))
    assert response.data.failed_metrics_count == 2
    assert "reserved prefixes" in response.data.failed_metrics[0].message
    assert "two hours" in response.data.failed_metrics[1].message
    err = service_error(lambda: mon.post_metric_data(M.PostMetricDataDetails(metric_data=[reserved])))
    assert (err.status, err.code) == (400, "InvalidParameter")
    atomic = M.PostMetricDataDetails(metric_data=[metric(), stale], batch_atomicity="ATOMIC")
    assert service_error(lambda: mon.post_metric_data(atomic)).status == 400
    many = [metric(dims={"host": f"h{i}"}) for i in range(51)]
    assert (
        "limit is 50" in service_error(lambda: mon.post_metric_data(M.PostMetricDataDetails(metric_data=many))).message
    )


@pytest.mark.parametrize(
    "change,snippet",
    [
        ({"query": "requests[1m].avg()"}, "unknown statistic"),
        ({"query": "requests[1m].mean()", "resolution": "5m"}, "less than the query interval"),
        ({"start_time": datetime.fromtimestamp(T0 - 8 * 86400, UTC)}, "exceeds 7 days"),
        ({"start_time": datetime.fromtimestamp(T0 + 60, UTC)}, "after startTime"),
        ({"resolution": "90m"}, "out of range"),
    ],
)
def test_summarize_refuses_documented_limits(mon, wall, change, snippet):
    fields = {"namespace": "my_app", "query": "requests[1h].mean()", "end_time": datetime.fromtimestamp(T0, UTC)}
    fields.update(change)
    err = service_error(lambda: mon.summarize_metrics_data(DEMO, M.SummarizeMetricsDataDetails(**fields)))
    assert (err.status, err.code) == (400, "InvalidParameter") and snippet in err.message


def test_summarize_datapoint_limit(emu, wall, mon):
    emu.store.monitoring.post(DEMO, "my_app", "requests", {"host": "h"}, [(T0 - 86400 * 6, 1), (T0 - 10, 1)])
    for i in range(14):
        emu.store.monitoring.post(DEMO, "my_app", "requests", {"host": f"x{i}"}, [(T0 - 10, 1)])
    details = M.SummarizeMetricsDataDetails(
        namespace="my_app",
        query="requests[1m].max()",
        start_time=datetime.fromtimestamp(T0 - 86400 * 7 + 60, UTC),
        end_time=datetime.fromtimestamp(T0, UTC),
    )
    assert "100000" in service_error(lambda: mon.summarize_metrics_data(DEMO, details)).message


def test_metrics_from_the_service_drive_alarms_over_http(emu, wall, mon):
    alarm_id = mon.create_alarm(M.CreateAlarmDetails(**_sdk_alarm(per_deployment("> 55")))).data.id
    body = {
        "metricData": [
            {
                "namespace": NS,
                "compartmentId": DEMO,
                "name": "CpuUtilization",
                "dimensions": {"resourceId": DEMO1, "instanceId": instance},
                "datapoints": [{"timestamp": rfc(T0 - 20), "value": value}],
            }
            for instance, value in (("i1", 90), ("i2", 30))
        ]
    }
    assert emu.admin("POST", "/metrics", body)[2] == {"failedMetricsCount": 0, "failedMetrics": []}
    status, _, messages = emu.admin("POST", "/evaluate", {"now": T0})
    assert status == 200
    by_alarm = {(m["alarmMetaData"][0]["id"], m["type"]): m for m in messages}
    ours = by_alarm[(alarm_id, "OK_TO_FIRING")]["alarmMetaData"][0]
    assert ours["metricValues"] == [{"CpuUtilization[1m].groupBy(resourceId).mean()": "60.00"}]
    # The seed's high alarm of demo1 (FIRING since 2025) sees a mean of 60, not > 80: it clears.
    assert ("ocid1.alarm.oc1.iad.demo1highcpu", "FIRING_TO_OK") in by_alarm
    assert emu.admin("POST", "/evaluate", {"now": T0 + 10})[2] == []
    assert emu.admin("POST", "/evaluate", {"now": "soon"})[0] == 400


def _sdk_alarm(query: str, **extra) -> dict:
    fields = {
        "display_name": "sdk-alarm",
        "compartment_id": DEMO,
        "metric_compartment_id": DEMO,
        "namespace": NS,
        "query": query,
        "severity": "WARNING",
        "destinations": [TOPIC],
        "is_enabled": True,
    }
    fields.update(extra)
    return fields


@pytest.mark.parametrize(
    "query,snippet",
    [
        ("CpuUtilization[1m].avg() > 80", "unknown statistic avg()"),
        ("CpuUtilization[1m]{resourceId = x}.mean() > ", "a number after >"),
        ("CpuUtilization[1m].mean()", "trigger rule"),
        ("CpuUtilization[1 m].mean() > 1", "interval '1'"),
    ],
)
def test_create_and_update_alarm_check_the_query(mon, query, snippet):
    err = service_error(lambda: mon.create_alarm(M.CreateAlarmDetails(**_sdk_alarm(query))))
    assert (err.status, err.code) == (400, "InvalidParameter") and snippet in err.message
    alarm_id = mon.create_alarm(M.CreateAlarmDetails(**_sdk_alarm(per_instance("> 80")))).data.id
    err = service_error(lambda: mon.update_alarm(alarm_id, M.UpdateAlarmDetails(query=query)))
    assert err.status == 400 and snippet in err.message
    assert mon.get_alarm(alarm_id).data.query == per_instance("> 80")


def test_create_alarm_refuses_a_blank_namespace(mon):
    err = service_error(
        lambda: mon.create_alarm(M.CreateAlarmDetails(**_sdk_alarm(per_instance("> 1"), namespace=" ")))
    )
    assert err.status == 400 and "namespace" in err.message


def test_fire_ok_history_and_states_through_the_sdk(emu, wall, mon):
    alarm_id = mon.create_alarm(
        M.CreateAlarmDetails(**_sdk_alarm(per_instance("> 80"), is_notifications_per_metric_dimension_enabled=True))
    ).data.id
    hot = {"resourceId": DEMO1, "instanceId": "i1"}
    status, _, fired = emu.admin("POST", f"/alarms/{alarm_id}/fire", {"dimensions": hot, "value": 92.3})
    assert status == 200 and fired["type"] == "OK_TO_FIRING"
    assert fired["notificationType"] == "Split messages per metric stream"
    assert fired["alarmMetaData"][0]["dimensions"] == [hot]
    other = {"resourceId": DEMO1, "instanceId": "i2"}
    later = int((T0 + 60) * 1000)
    emu.admin("POST", f"/alarms/{alarm_id}/fire", {"dimensions": other, "value": 85, "timestampEpochMillis": later})
    wall.now = T0 + 120
    status, _, ok = emu.admin("POST", f"/alarms/{alarm_id}/ok", {"dimensions": hot, "value": 20})
    assert status == 200 and ok["type"] == "FIRING_TO_OK" and ok["dedupeKey"] == fired["dedupeKey"]
    assert emu.admin("POST", f"/alarms/{alarm_id}/ok", {"dimensions": hot})[0] == 409
    assert emu.admin("POST", f"/alarms/{alarm_id}/fire", {"value": 1})[0] == 400
    assert emu.admin("POST", f"/alarms/{alarm_id}/fire", {"dimensions": {"resourceId": DEMO2}})[0] == 400
    assert emu.admin("POST", "/alarms/ocid1.alarm.oc1..nope/fire", {"dimensions": hot})[0] == 404

    states = mon.retrieve_dimension_states(alarm_id).data  # no body: every stream
    assert isinstance(states, M.AlarmDimensionStatesCollection) and states.is_notifications_per_metric_dimension_enabled
    assert [(i.dimensions["instanceId"], i.status, i.rule_name) for i in states.items] == [
        ("i1", "OK", "BASE"),
        ("i2", "FIRING", "BASE"),
    ]
    assert states.items[1].timestamp == datetime.fromtimestamp(T0 + 60, UTC)
    only = M.RetrieveDimensionStatesDetails(dimension_filters=other)
    assert [
        i.status for i in mon.retrieve_dimension_states(alarm_id, retrieve_dimension_states_details=only).data.items
    ] == ["FIRING"]
    partial = M.RetrieveDimensionStatesDetails(dimension_filters={"resourceId": DEMO1})  # exact set only
    assert mon.retrieve_dimension_states(alarm_id, retrieve_dimension_states_details=partial).data.items == []
    firing = M.RetrieveDimensionStatesDetails(status="FIRING")
    page = mon.retrieve_dimension_states(alarm_id, retrieve_dimension_states_details=firing, limit=1)
    assert len(page.data.items) == 1 and page.next_page is None
    first = mon.retrieve_dimension_states(alarm_id, limit=1)
    assert first.next_page == "1" and len(mon.retrieve_dimension_states(alarm_id, page="1").data.items) == 1

    history = mon.get_alarm_history(alarm_id).data
    assert isinstance(history, M.AlarmHistoryCollection) and history.alarm_id == alarm_id
    assert [e.summary for e in history.entries] == ["The alarm state is FIRING", "State transitioned from OK to Firing"]
    assert history.entries[1].timestamp_triggered == datetime.fromtimestamp(T0, UTC)
    transitions = mon.get_alarm_history(alarm_id, alarm_historytype="STATE_TRANSITION_HISTORY").data.entries
    assert len(transitions) == 1
    before = mon.get_alarm_history(alarm_id, timestamp_less_than=datetime.fromtimestamp(T0, UTC)).data.entries
    assert before == []
    since = mon.get_alarm_history(alarm_id, timestamp_greater_than_or_equal_to=datetime.fromtimestamp(T0, UTC))
    assert len(since.data.entries) == 2
    first = mon.get_alarm_history(alarm_id, limit=1)  # (the SDK's list_call_get_all_results wants .items, not .entries)
    assert len(first.data.entries) == 1 and first.next_page == "1"
    second = mon.get_alarm_history(alarm_id, limit=1, page=first.next_page)
    assert second.data.entries[0].summary == "State transitioned from OK to Firing" and second.next_page is None
    err = service_error(lambda: mon.get_alarm_history("ocid1.alarm.oc1..nope"))
    assert err.status == 404
    status, _, raw = http(emu.url + f"/20180401/alarms/{alarm_id}/history?alarmHistorytype=NOPE")
    assert status == 401  # the REST API wants a signature before anything else


def test_list_alarms_status_through_the_sdk(emu, wall, mon):
    everything = oci.pagination.list_call_get_all_results(mon.list_alarms_status, DEMO, limit=2).data
    assert all(isinstance(a, M.AlarmStatusSummary) for a in everything)
    assert len(everything) == sum(a["compartmentId"] == DEMO for a in SEED["alarms"])
    firing = mon.list_alarms_status(DEMO, status="FIRING").data
    assert {a.id for a in firing} == {s["alarmId"] for s in SEED["alarmStates"] if s["alarmId"] != _other_alarm()}
    for_demo2 = mon.list_alarms_status(DEMO, resource_id=DEMO2, status="FIRING").data
    assert {a.id for a in for_demo2} == {
        "ocid1.alarm.oc1.iad.demo2highcpu",
        "ocid1.alarm.oc1.iad.demo2highmem",
        "ocid1.alarm.oc1.iad.demoallhighcpu",
    }
    assert all(a.status == "FIRING" and a.rule_name == "BASE" for a in for_demo2)
    emu.store.clear_alarm("ocid1.alarm.oc1.iad.demoallhighcpu", {"resourceId": DEMO2})
    for_demo2 = mon.list_alarms_status(DEMO, resource_id=DEMO2, status="FIRING").data
    assert "ocid1.alarm.oc1.iad.demoallhighcpu" not in {a.id for a in for_demo2}
    assert mon.list_alarms_status(DEMO, display_name="md-autoscale-high-cpu-all").data[0].status == "FIRING"
    ordered = mon.list_alarms_status(DEMO, sort_by="displayName", sort_order="DESC").data
    assert [a.display_name for a in ordered] == sorted((a.display_name for a in ordered), reverse=True)
    assert [a.id for a in mon.list_alarms_status(OTHER).data] == [_other_alarm()]
    err = service_error(lambda: mon.list_alarms_status(DEMO, compartment_id_in_subtree=True))
    assert err.status == 400


def _other_alarm() -> str:
    return "ocid1.alarm.oc1.iad.otherhighcpu"


def test_raw_rest_shapes(emu, wall):
    """Query parameters and bodies as the REST API names them, without the SDK's client-side checks."""

    def call(method, path, body=None):
        return http(emu.url + "/20180401" + path, method, body, headers={"authorization": "Signature test"})

    status, headers, body = call("GET", "/alarms/ocid1.alarm.oc1.iad.demo1highcpu/history?alarmHistorytype=NOPE")
    assert (status, body["code"]) == (400, "InvalidParameter") and "alarmHistorytype" in body["message"]
    assert call("GET", f"/alarms/status?compartmentId={DEMO}&status=PENDING")[0] == 400
    assert call("GET", "/alarms/status")[0] == 400  # compartmentId is required
    states = "/alarms/ocid1.alarm.oc1.iad.demo1highcpu/actions/retrieveDimensionStates"
    assert call("POST", states, {"x": 1})[0] == 400
    assert call("POST", states, b"{not json")[0] == 400
    status, _, body = call("POST", states + "?limit=1")
    assert status == 200 and len(body["items"]) == 1
    status, _, body = call("POST", f"/metrics/actions/summarizeMetricsData?compartmentId={DEMO}", {"query": "x"})
    assert status == 400 and "namespace" in body["message"]
    assert call("GET", "/alarms/status?compartmentId=x&compartmentIdInSubtree=maybe")[0] == 400


# -- in-process SDK fakes --


def test_sdk_fakes_speak_sdk_models():
    store = Store.from_seed(SEED, monitoring=Monitoring(wall_clock=Wall(), slack_seconds=0))
    fake = FakeMonitoringClient(store)
    alarm_id = "ocid1.alarm.oc1.iad.demo1highcpu"
    states = fake.retrieve_dimension_states(alarm_id).data
    assert isinstance(states, M.AlarmDimensionStatesCollection) and states.items[0].status == "FIRING"
    filtered = fake.retrieve_dimension_states(
        alarm_id, retrieve_dimension_states_details=M.RetrieveDimensionStatesDetails(status="OK")
    )
    assert filtered.data.items == []
    assert fake.get_alarm_history(alarm_id, alarm_historytype="STATE_HISTORY").data.alarm_id == alarm_id
    firing = fake.list_alarms_status(DEMO, status="FIRING", limit=2)
    assert len(firing.data) == 2 and firing.next_page == "2"
    assert isinstance(firing.data[0], M.AlarmStatusSummary)
    posted = fake.post_metric_data(M.PostMetricDataDetails(metric_data=[metric()]))
    assert posted.data.failed_metrics_count == 0
    end = datetime.fromtimestamp(T0 + 60, UTC)
    details = M.SummarizeMetricsDataDetails(namespace="my_app", query="requests[1m].sum()", end_time=end)
    [data] = fake.summarize_metrics_data(DEMO, details).data
    assert isinstance(data, M.MetricData) and data.aggregated_datapoints[0].value == 1.0
    with pytest.raises(ValueError, match="unknown kwargs"):
        fake.get_alarm_history(alarm_id, history_type="STATE_HISTORY")
    with pytest.raises(oci.exceptions.ServiceError) as err:
        fake.get_alarm_history("ocid1.alarm.oc1..nope")
    assert err.value.status == 404
    assert ("RetrieveDimensionStates", alarm_id) in store.calls and ("PostMetricData", "") in store.calls
