"""The periodic reconcile over stateful fakes of the OCI clients: the three holes it closes, its schedules and
forecasts, and that it is idempotent, bounded and never worse than the alarms alone.

The holes (each test below fails on the code before the reconcile: no tick existed, and the alarm path alone
leaves the state as the first half of each test shows):
1. an oversized start is never scaled in: no low alarm exists until a high alarm acted;
2. a half-done change (scaled, low alarm step failed) waits for a redelivery that may never come;
3. a regular rise costs an update of overload, and a scale-in just before it is undone by it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from autoscaler.oci_gateway import OciGateway
from autoscaler.reconcile import reconcile, tick_key
from autoscaler.tick import ReconcileRequest
from emulator.history import business_hours
from tests.conftest import DEMO, DEMO1, DEMO2, alarm_message, capacity, deployment, owned_low_alarms
from tests.service.test_service import WRITES, low_message, writes

T0 = 1_763_900_030.0  # the sample alarms' time (+30 s)
NATIVE = "ocid1.datasciencemodeldeployment.oc1.iad.native"
GONE = "ocid1.datasciencemodeldeployment.oc1.iad.gone"


def reseed(store, seed, deployment_id=DEMO1, count=None, tags=None, drop_alarms=()):
    for md in seed["modelDeployments"]:
        if md["id"] == deployment_id:
            if count is not None:
                md["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]["scalingPolicy"][
                    "instanceCount"
                ] = count
            md["freeformTags"] = {**md.get("freeformTags", {}), **(tags or {})}
    seed["alarms"] = [a for a in seed["alarms"] if a["id"] not in drop_alarms]
    seed["alarmStates"] = [s for s in seed.get("alarmStates", []) if s["alarmId"] not in drop_alarms]
    store.load(seed)


def rising(store, deployment_id=DEMO1, minutes=30, now=T0):
    """Ten days of a daily rise to 200 instance-% that starts `minutes` after now's time of day."""
    history = business_hours(DEMO, deployment_id, now, days=10, rise_in_minutes=minutes)
    store.post_service_metrics({"metricData": history})


def hhmm(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M")


# --- hole 1: an oversized start ----------------------------------------------------------------------------------


def test_an_oversized_start_gets_its_low_alarm_and_is_shed_by_it(tick, run, store, seed):
    reseed(store, seed, count=4)
    assert owned_low_alarms(store, "cpu") == []  # Terraform creates only high alarms: nothing would ever scale in
    outcome = tick()[DEMO1]
    # A create with a retry token cannot tell whether this tick made the alarm: "ensured", not "repaired".
    assert (
        outcome["status"] == "ensured"
        and outcome["alarms"]["model_deployment_low_cpu"] == "exists (created here or by a concurrent call)"
    )
    [low] = owned_low_alarms(store, "cpu")
    assert low["query"].endswith("< 47")  # floor(70 x 3/4 x 0.9): one step down still runs at <= 63 %
    [shed] = run(low_message(store, "cpu"), now=T0 + 60)  # the low alarm fires on the idle deployment
    assert shed["status"] == "applied" and shed["action"] == "scale_in" and capacity(store)[0] == 3


# --- hole 2: a half-done change ----------------------------------------------------------------------------------


def test_a_change_whose_low_alarm_step_failed_is_finished_by_the_next_tick(tick, run, store, fake_oci):
    [first] = run(alarm_message("high_cpu.json"))  # creates the clients
    assert first["status"] == "applied"
    # The next change lands, its low alarm step fails (an outage of CreateAlarm after the old one was removed).
    store.delete_alarm(owned_low_alarms(store, "cpu")[0]["id"], None)
    fake_oci["monitoring"].fail_next("CreateAlarm", 503)
    [half] = run(alarm_message("high_cpu_repeat.json"), now=T0 + 800)
    assert half["status"] == "error" and capacity(store)[0] == 3 and owned_low_alarms(store, "cpu") == []
    outcome = tick(now=T0 + 900)[DEMO1]
    # A create with a retry token cannot tell whether this tick made the alarm: "ensured", not "repaired".
    assert (
        outcome["status"] == "ensured"
        and outcome["alarms"]["model_deployment_low_cpu"] == "exists (created here or by a concurrent call)"
    )
    [low] = owned_low_alarms(store, "cpu")
    assert low["query"].endswith("< 42")  # the threshold of the capacity that landed (3)


def test_a_low_alarm_deleted_by_hand_comes_back_and_a_wrong_threshold_is_corrected(tick, run, store):
    run(alarm_message("high_cpu.json"))
    [low] = owned_low_alarms(store, "cpu")
    store.delete_alarm(low["id"], None)
    assert tick(now=T0 + 60)[DEMO1]["alarms"] == {
        "model_deployment_low_cpu": "exists (created here or by a concurrent call)"
    }
    [low] = owned_low_alarms(store, "cpu")
    store.update_alarm(low["id"], {"query": low["query"].replace("< 31", "< 5")}, None)
    assert tick(now=T0 + 120)[DEMO1]["alarms"] == {"model_deployment_low_cpu": "exists, threshold now 31%"}
    calls = len(store.calls)
    assert tick(now=T0 + 180)[DEMO1]["status"] == "noop"  # converged: no call beyond the listings
    assert {c[0] for c in store.calls[calls:]} == {"ListModelDeployments", "ListAlarms", "SummarizeMetricsData"}


def test_a_low_alarm_deleted_again_and_again_at_one_capacity_always_comes_back(tick, run, store):
    """Each recreate at the same capacity derives the same retry tokens, and OCI answers a used token with the alarm
    it made, even if deleted since (tokens live 24 h): the third time both derived tokens are spent."""
    run(alarm_message("high_cpu.json"))
    for attempt in range(1, 5):
        [low] = owned_low_alarms(store, "cpu")
        store.delete_alarm(low["id"], None)
        outcome = tick(now=T0 + 60 * attempt)[DEMO1]
        assert outcome["status"] == "ensured" and outcome["alarms"] == {
            "model_deployment_low_cpu": "exists (created here or by a concurrent call)"
        }
        assert len(owned_low_alarms(store, "cpu")) == 1


def test_a_failed_update_is_reported_and_its_alarms_follow_the_capacity_oci_kept(tick, store, seed):
    reseed(store, seed, count=2, tags={"autoscale_state_target": "3 x VM.Standard.E4.Flex:1:16"})
    outcome = tick()[DEMO1]
    assert "never took effect" in outcome["reason"]
    [low] = owned_low_alarms(store, "cpu")
    assert low["query"].endswith("< 31")  # 2 instances, not the 3 that failed


# --- hole 3: a workload with a pattern ---------------------------------------------------------------------------


def test_a_daily_rise_is_met_ahead_of_time(tick, store):
    rising(store, minutes=30)
    outcome = tick()[DEMO1]
    assert outcome["status"] == "applied" and outcome["action"] == "scale_out"
    assert capacity(store)[0] == 3  # ceil(200 / 70): sized at the 70 % target
    assert outcome["floor"] == 3 and "daily pattern" in outcome["forecast"]
    assert owned_low_alarms(store, "cpu") == []  # at its floor: nothing to scale in until the rise has passed
    tags = deployment(store)["freeformTags"]
    assert tick_key(T0, 3600) in tags["autoscale_state_events"]


def test_a_scale_in_just_before_a_regular_rise_waits(tick, run, store, seed):
    reseed(store, seed, count=3)
    tick()  # creates the low alarm of the oversized start
    rising(store, minutes=40, now=T0 + 600)
    [held] = run(low_message(store, "cpu"), now=T0 + 600)
    assert held["status"] == "noop" and capacity(store)[0] == 3
    assert "already at min_instances (3)" in held["reason"] and "floor 3 instances (daily pattern" in held["reason"]
    assert owned_low_alarms(store, "cpu") == []  # removed at the floor


def test_without_a_pattern_the_forecast_stays_out_and_says_so(tick, run, store, seed):
    reseed(store, seed, count=3)
    outcome = tick()[DEMO1]
    assert outcome["forecast"] == "stays out: no CPU history" and outcome["floor"] == 1
    [shed] = run(low_message(store, "cpu"), now=T0 + 600)
    assert shed["action"] == "scale_in" and capacity(store)[0] == 2  # the reactive rules alone


def test_predict_false_turns_the_forecast_off(tick, store, seed):
    reseed(store, seed, tags={"autoscale_predict": "false"})
    rising(store)
    outcome = tick()[DEMO1]
    assert outcome["status"] == "noop" and outcome["forecast"] == "" and capacity(store)[0] == 1


# --- schedules ---------------------------------------------------------------------------------------------------


def test_a_schedule_raises_ahead_of_its_window_and_holds_scale_in_inside_it(tick, run, store, seed):
    window = f"Daily {hhmm(T0 + 3000)}-{hhmm(T0 + 3000 + 4 * 3600)}=3"  # opens in 50 min: within 60 + 15 min
    reseed(store, seed, tags={"autoscale_schedule": window})
    outcome = tick()[DEMO1]
    assert outcome["status"] == "applied" and capacity(store)[0] == 3
    assert outcome["schedule"].startswith(f"'{window}' from")
    # Inside the window a scale-up adds to the floor; the low alarm it creates cannot take it below the floor.
    [up] = run(alarm_message("high_cpu_repeat.json"), now=T0 + 3600)
    assert up["status"] == "applied" and capacity(store)[0] >= 4
    [down] = run(low_message(store, "cpu"), now=T0 + 3600 + 700)
    assert down["action"] == "scale_in" and capacity(store)[0] == 3  # 4 -> 3: down to the floor, not below
    assert owned_low_alarms(store, "cpu") == [] and "floor 3 instances (schedule" in down["reason"]
    outcome = tick(now=T0 + 3600 + 1400)[DEMO1]
    assert outcome["floor"] == 3 and outcome["status"] == "noop"


def test_a_global_schedule_applies_to_every_managed_deployment(tick, store):
    window = f"Daily {hhmm(T0 + 600)}-{hhmm(T0 + 4000)}=2"
    outcomes = tick(AUTOSCALE_SCHEDULE=window)
    assert outcomes[DEMO1]["status"] == "applied" and capacity(store, DEMO1)[0] == 2
    assert outcomes[DEMO2]["status"] != "applied" and capacity(store, DEMO2)[0] == 2  # already there
    assert outcomes[NATIVE]["status"] == "noop" and "AUTOSCALING" in outcomes[NATIVE]["reason"]  # never fought


# --- what the autoscaler manages --------------------------------------------------------------------------------


def test_owned_alarms_of_a_deleted_deployment_are_removed(tick, run, store, fake_oci):
    run(alarm_message("high_cpu.json"))
    [low] = owned_low_alarms(store, "cpu")
    details = {k: v for k, v in store.get_alarm(low["id"])[0].items() if k in CREATE_FIELDS}
    details.update(displayName=f"model_deployment_low_cpu-{GONE}", freeformTags={**details["freeformTags"]})
    details["freeformTags"]["autoscale_deployment"] = GONE
    details["query"] = details["query"].replace(DEMO1, GONE)
    store.create_alarm(details)
    outcome = tick()[GONE]
    assert outcome["status"] == "repaired" and outcome["alarms"] == {f"model_deployment_low_cpu-{GONE}": "deleted"}
    assert "deployment deleted" in outcome["reason"]
    assert owned_low_alarms(store, "cpu", GONE) == [] and len(owned_low_alarms(store, "cpu")) == 1  # demo1's stays


CREATE_FIELDS = {
    "displayName", "compartmentId", "metricCompartmentId", "namespace", "query", "severity", "destinations",
    "isEnabled", "pendingDuration", "repeatNotificationDuration", "notificationTitle", "messageFormat", "body",
    "freeformTags", "isNotificationsPerMetricDimensionEnabled",
}  # fmt: skip


def test_an_opted_out_deployment_is_left_alone_by_ticks_and_alarms(tick, run, store, seed):
    run(alarm_message("high_cpu.json"))
    body = deployment(store)
    seed["modelDeployments"] = [{**body, "freeformTags": {**body["freeformTags"], "autoscale_managed": "false"}}] + [
        md for md in seed["modelDeployments"] if md["id"] != DEMO1
    ]
    seed["alarms"] = store.dump()["alarms"]
    store.load(seed)
    before = capacity(store)
    outcome = tick(AUTOSCALE_SCHEDULE=f"Daily {hhmm(T0 + 60)}-{hhmm(T0 + 600)}=4")[DEMO1]
    assert outcome["status"] == "repaired" and "opted out" in outcome["reason"]
    assert owned_low_alarms(store, "cpu") == [] and capacity(store) == before  # its own alarms go, nothing else
    [refused] = run(alarm_message("high_cpu_repeat.json"), now=T0 + 900)
    assert refused["status"] == "refused" and "opted out" in refused["reason"]


def test_an_opted_in_deployment_without_a_high_alarm_is_managed(tick, store, seed):
    reseed(
        store,
        seed,
        DEMO2,
        count=3,
        tags={"autoscale_managed": "true"},
        drop_alarms={f"ocid1.alarm.oc1.iad.{name}" for name in ("demo2highcpu", "demo2highmem", "demoallhighcpu")},
    )
    outcome = tick()[DEMO2]
    assert outcome["alarms"]["model_deployment_low_cpu"] == "exists (created here or by a concurrent call)"
    [low] = owned_low_alarms(store, "cpu", DEMO2)
    assert store.get_alarm(low["id"])[0]["destinations"] == ["ocid1.onstopic.oc1.iad.demo"]  # the autoscaler's topic


def test_a_bad_managed_tag_is_refused_by_name(tick, store, seed):
    reseed(store, seed, tags={"autoscale_managed": "yes"})
    outcome = tick()[DEMO1]
    assert outcome["status"] == "refused" and "autoscale_managed='yes' must be true or false" in outcome["reason"]


def test_compartments_outside_the_allowlist_are_refused(tick):
    request = ReconcileRequest(type="RECONCILE", compartments=["ocid1.compartment.oc1..elsewhere"])
    outcomes = tick(request=request)
    assert outcomes[None]["status"] == "refused" and "not in the allowlist" in outcomes[None]["reason"]
    assert set(outcomes) == {None}  # nothing else was looked at


# --- reliability ------------------------------------------------------------------------------------------------


def test_a_tick_is_idempotent(tick, store):
    rising(store)
    first = tick()
    calls = len(store.calls)
    second = tick(now=T0 + 5)
    assert first[DEMO1]["status"] == "applied" and second[DEMO1]["status"] == "noop"
    assert [c for c in store.calls[calls:] if c[0] in WRITES] == []
    assert {c[0] for c in store.calls[calls:]} <= {"ListModelDeployments", "ListAlarms", "SummarizeMetricsData"}


def test_concurrent_ticks_change_a_deployment_at_most_once(fake_oci, env, store):
    rising(store)
    settings = env()
    gateways = [OciGateway.from_settings(settings) for _ in range(2)]
    results = []
    threads = [threading.Thread(target=lambda g=g: results.append(reconcile(None, settings, g, T0))) for g in gateways]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    updates = [c for c in store.calls if c == ("UpdateModelDeployment", DEMO1)]
    assert len(updates) == 1 and capacity(store)[0] == 3
    statuses = sorted(o.status for outcomes in results for o in outcomes if o.deployment_id == DEMO1)
    assert statuses in (["applied", "noop"], ["applied", "conflict"])  # the other saw it done, or mid-change


def test_a_stale_listing_never_overwrites_a_concurrent_change(tick, run, store, fake_oci, monkeypatch):
    rising(store)
    listed = OciGateway.list_deployments

    def then_an_alarm_acts(self, compartment):
        found = listed(self, compartment)
        run(alarm_message("high_cpu.json"))  # 1 -> 2 between the listing and the tick's update
        return found

    monkeypatch.setattr(OciGateway, "list_deployments", then_an_alarm_acts)
    outcome = tick()[DEMO1]
    assert outcome["status"] == "conflict" and capacity(store)[0] == 2


def test_one_failing_deployment_does_not_stop_the_others(tick, store, fake_oci):
    tick()  # create the clients
    fake_oci["data_science"].fail_next("GetModelDeployment", 500)
    outcomes = tick(now=T0 + 60, AUTOSCALE_SCHEDULE=f"Daily {hhmm(T0 + 600)}-{hhmm(T0 + 4000)}=3")
    statuses = sorted(outcomes[d]["status"] for d in (DEMO1, DEMO2))
    assert statuses == ["applied", "error"]
    assert "InternalServerError" in next(o["reason"] for o in outcomes.values() if o["status"] == "error")


def test_dry_run_decides_and_writes_nothing(tick, store, seed):
    reseed(store, seed, count=4)
    rising(store, DEMO2)
    outcomes = tick(AUTOSCALE_DRY_RUN="true")
    assert outcomes[DEMO1]["status"] == "dry_run"
    assert outcomes[DEMO1]["alarms"] == {"model_deployment_low_cpu": "would converge"}
    assert outcomes[DEMO2]["after"].startswith("3 x")
    assert writes(store) == []


def test_a_spent_budget_defers_the_rest_to_the_next_tick(tick, store, seed, monkeypatch):
    reseed(store, seed, count=4)
    monkeypatch.setattr("autoscaler.reconcile.time.monotonic", iter([0.0] + [1e9] * 1000).__next__)
    outcome = tick()[DEMO1]
    assert outcome["status"] == "deferred" and writes(store) == []
