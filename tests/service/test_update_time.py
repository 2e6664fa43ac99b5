"""The update time is OCI's, not a guess (issue 21, item 4): the tick reads each deployment's work requests after a
change of ours has finished (ListWorkRequests, the deployment as resource), records how long the update took in the
deployment's state tags, and the cooldowns count from the update's end. The alarm path reads no work request.

The emulator's updates take `update_delay_seconds` on its clock; the tests move that clock as OCI's time passes.
"""

from __future__ import annotations

from autoscaler.oci_gateway import OciGateway
from tests.conftest import DEMO, DEMO1, alarm_message, capacity, deployment
from tests.service.test_reconcile import reseed
from tests.service.test_service import low_message

T0 = 1_763_900_030.0
UP, DOWN, FOR = "autoscale_state_update_up_seconds", "autoscale_state_update_down_seconds", "autoscale_state_update_for"


class Clock:
    def __init__(self, now: float = 5000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def slow_updates(store, seconds: float = 120) -> Clock:
    """Every update (UPDATING -> ACTIVE, its work request) takes `seconds` on a clock the test moves."""
    clock = Clock()
    store.clock, store.update_delay_seconds = clock, seconds
    return clock


def operations(store, since: int = 0) -> list[str]:
    return [operation for operation, _ in list(store.calls)[since:]]


def test_the_tick_measures_a_scale_out_and_the_up_cooldown_counts_from_its_end(run, tick, store):
    clock = slow_updates(store, 120)
    [out] = run(alarm_message("high_cpu.json"), now=T0)
    assert out["status"] == "applied" and capacity(store)[0] == 2
    clock.now += 120  # the update ends
    since = len(store.calls)
    outcome = tick(now=T0 + 300)[DEMO1]
    assert operations(store, since).count("ListWorkRequests") == 1  # one read for the deployment, this tick
    assert outcome["update_time"].startswith("our scale-up's update took 120 s (work request ocid1.")
    assert outcome["update_time"].endswith("recorded (was the setting's 900 s)")
    tags = deployment(store)["freeformTags"]
    assert tags[UP] == "120" and tags[FOR] == f"{T0:.3f}" and DOWN not in tags
    clock.now += 120  # recording is an update too (tags only)

    since = len(store.calls)
    assert tick(now=T0 + 360)[DEMO1]["update_time"] == ""  # this change is measured: not read again
    assert "ListWorkRequests" not in operations(store, since)

    # The wait ends at the later of the setting's 720 s from the change and 300 s of fresh readings after the update's
    # end: 120 + 300 s here, so the setting rules.
    [held] = run(alarm_message("high_cpu_repeat.json"), now=T0 + 710)
    assert held["status"] == "noop" and "up cooldown: 10 s left (our scale-up's update took 120 s" in held["reason"]
    [again] = run(alarm_message("high_cpu_repeat.json"), now=T0 + 840)
    assert again["status"] == "applied" and capacity(store)[0] == 3
    assert deployment(store)["freeformTags"][UP] == "120"  # the alarm path's update keeps the measurement


def test_the_second_scale_in_waits_for_the_measured_update_then_a_cooldown(run, tick, store, seed):
    reseed(store, seed, count=4)
    tick(now=T0)  # the oversized start gets its low alarm
    clock = slow_updates(store, 120)
    [first] = run(low_message(store, "cpu"), now=T0 + 60)
    assert first["action"] == "scale_in" and capacity(store)[0] == 3
    clock.now += 120
    outcome = tick(now=T0 + 400)[DEMO1]
    assert outcome["update_time"].startswith("our scale-in's update took 120 s")
    assert deployment(store)["freeformTags"][DOWN] == "120"
    clock.now += 120
    # The update (120 s, not the setting's 900), then the 600 s cooldown of the smaller capacity's own readings.
    [early] = run(low_message(store, "cpu", timestampEpochMillis=1_763_900_001_000), now=T0 + 60 + 719)
    assert early["status"] == "noop" and "down cooldown: 1 s left (our scale-in's update took 120 s" in early["reason"]
    [second] = run(low_message(store, "cpu", timestampEpochMillis=1_763_900_002_000), now=T0 + 60 + 720)
    assert second["action"] == "scale_in" and capacity(store)[0] == 2


def test_without_a_work_request_the_setting_stands_in_and_nothing_is_written(tick, run, store, seed):
    # A change of ours (its tags) whose work request OCI no longer lists (or the emulator never made).
    reseed(store, seed, count=2, tags={"autoscale_state_last_down": f"{T0 - 100:.3f}"})
    since = len(store.calls)
    outcome = tick(now=T0)[DEMO1]
    assert outcome["update_time"] == "no finished update in its work requests; the setting's 900 s stands in"
    assert operations(store, since).count("ListWorkRequests") == 1
    assert "UpdateModelDeployment" not in operations(store, since)
    assert {UP, DOWN, FOR}.isdisjoint(deployment(store)["freeformTags"])


def test_a_measurement_within_the_hysteresis_is_not_rewritten_and_the_window_closes(run, tick, store):
    clock = slow_updates(store, 120)
    run(alarm_message("high_cpu.json"), now=T0)
    clock.now += 120
    tick(now=T0 + 300)
    clock.now += 120
    store.update_delay_seconds = 150
    [out] = run(alarm_message("high_cpu_repeat.json"), now=T0 + 840)  # the next scale-out, 150 s this time
    assert out["status"] == "applied"
    clock.now += 150
    since = len(store.calls)
    outcome = tick(now=T0 + 1000)[DEMO1]
    assert outcome["update_time"].startswith("our scale-up's update took 150 s")
    assert outcome["update_time"].endswith("the recorded 120 s stands")  # 30 s off: under a minute, not written
    assert "UpdateModelDeployment" not in operations(store, since)
    since = len(store.calls)
    tick(now=T0 + 840 + 3600 + 2 * 120 + 1)  # past the window: one interval plus twice the update time
    assert "ListWorkRequests" not in operations(store, since)


def test_a_failed_latest_update_measures_nothing(run, tick, store, fake_oci):
    clock = slow_updates(store, 120)
    run(alarm_message("high_cpu.json"), now=T0)
    clock.now += 120
    store.fail_next_updates(outcome="revert", revert_tags=False)
    [failing] = run(alarm_message("high_cpu_repeat.json"), now=T0 + 720)  # accepted, then fails: rolled back
    assert failing["status"] == "applied"
    clock.now += 120
    gateway = OciGateway(fake_oci["data_science"], fake_oci["monitoring"])
    assert gateway.latest_update(DEMO, DEMO1) is None  # the latest update FAILED: it measures nothing
    since = len(store.calls)
    outcome = tick(now=T0 + 900)[DEMO1]
    assert "never took effect" in outcome["reason"] and outcome["update_time"] == ""  # not even read
    assert "ListWorkRequests" not in operations(store, since)


def test_the_alarm_path_reads_no_work_request(run, store, seed):
    measured = {UP: "120", DOWN: "60", FOR: f"{T0 - 4000:.3f}", "autoscale_state_last_up": f"{T0 - 4000:.3f}"}
    reseed(store, seed, tags=measured)
    run(alarm_message("high_cpu.json"), now=T0)  # a scale-out
    run(alarm_message("high_cpu_repeat.json"), now=T0 + 60)  # a no-op in cooldown
    run(low_message(store, "cpu"), now=T0 + 3600)  # a scale-in
    ops = operations(store)
    assert ops.count("UpdateModelDeployment") == 2
    assert not {"ListWorkRequests", "GetWorkRequest"} & set(ops)


def test_after_a_long_measured_update_the_up_cooldown_ends_a_fresh_reading_after_it(run, tick, store):
    clock = slow_updates(store, 600)
    [out] = run(alarm_message("high_cpu.json"), now=T0)
    assert out["status"] == "applied" and capacity(store)[0] == 2
    clock.now += 600  # the update ends
    tick(now=T0 + 660)
    assert deployment(store)["freeformTags"][UP] == "600"
    clock.now += 600  # the tags-only record ends too
    [held] = run(alarm_message("high_cpu_repeat.json"), now=T0 + 720)
    assert held["status"] == "noop" and "up cooldown: 180 s left" in held["reason"]  # 600 + 300 s from the change
    [again] = run(alarm_message("high_cpu_repeat.json"), now=T0 + 900)
    assert again["status"] == "applied" and capacity(store)[0] == 3
