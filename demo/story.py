"""A scaling story told with the sample messages in alarms/, as OCI Monitoring would send them."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from pathlib import Path

from autoscaler.constants import LOW_TITLE

ALARMS = Path(__file__).resolve().parents[1] / "alarms"
DEMO1 = "ocid1.datasciencemodeldeployment.oc1.iad.demo1"
GPU1 = "ocid1.datasciencemodeldeployment.oc1.iad.gpu1"  # VM.GPU.A10.1, tag autoscale_signals = gpu,latency
REQ1 = "ocid1.datasciencemodeldeployment.oc1.iad.req1"  # 2 x E4.Flex, signals requests,latency at 600/min each


def fresh(name: str, value: str | None = None) -> dict:
    """A sample message as a new alarm event: new dedupe key and timestamp, optionally a new metric value."""
    body = json.loads((ALARMS / name).read_text())
    body["dedupeKey"] = str(uuid.uuid4())
    body["timestampEpochMillis"] = int(time.time() * 1000)
    if value is not None:
        meta = body["alarmMetaData"][0]
        meta["metricValues"] = [{next(iter(meta["metricValues"][0])): value}]
    return body


def fired_by_low_alarm(stack, metric: str, value: str, deployment: str = DEMO1) -> dict | None:
    """The low alarm the function created fires in the emulator's Monitoring: its message, as OCI sends it
    (OK_TO_FIRING, then REPEAT while it stays FIRING), or None when the alarm does not exist."""
    wanted = f"{LOW_TITLE[metric]}-{deployment}"
    alarms = [a for a in stack.state()["alarms"] if a["displayName"] == wanted and a["lifecycleState"] == "ACTIVE"]
    if not alarms:
        return None
    fire = {"dimensions": {"resourceId": deployment}, "value": float(value)}
    return stack.admin("POST", f"/_emulator/alarms/{alarms[0]['id']}/fire", fire)


def forged(stack) -> dict:
    """A well-formed message for a real alarm of ours that OCI shows quiet: what a caller with invoke rights
    but no firing alarm could send. The high-CPU alarm is first made OK in the emulator."""
    stack.admin("POST", "/_emulator/alarms/ocid1.alarm.oc1.iad.demo1highcpu/ok", {"dimensions": {"resourceId": DEMO1}})
    return fresh("high_cpu.json", "97")


RECONCILE = {"type": "RECONCILE", "version": 1}  # the body the Resource Scheduler sends every hour
DEMO = "ocid1.compartment.oc1..demo"
DEMO2 = "ocid1.datasciencemodeldeployment.oc1.iad.demo2"


def tick_with_history(stack) -> dict:
    """Ten days of demo2's CPU history in the emulator (it rises every day 30 minutes from now), then a tick."""
    from emulator.history import business_hours

    history = business_hours(DEMO, DEMO2, time.time(), days=10, rise_in_minutes=30)
    stack.admin("POST", "/_emulator/metrics", {"metricData": history})
    return RECONCILE


def delete_by_hand(stack, alarm_id: str) -> None:
    """DeleteAlarm as a person with the Console would (the emulator wants a signed request: any signature)."""
    request = urllib.request.Request(f"{stack.emulator_url}/20180401/alarms/{alarm_id}", method="DELETE")
    request.add_header("Authorization", 'Signature keyId="someone"')
    urllib.request.urlopen(request, timeout=10).close()


def drift(stack) -> dict | None:
    """Someone deletes a low alarm the autoscaler owns (demo2's low-memory alarm); then the next tick."""
    owned = [
        a
        for a in stack.state()["alarms"]
        if a["lifecycleState"] == "ACTIVE" and a["displayName"] == f"{LOW_TITLE['mem']}-{DEMO2}"
    ]
    for alarm in owned:
        delete_by_hand(stack, alarm["id"])
    return RECONCILE if owned else None


# (caption, how to build the message from the running stack, seconds to let pass first)
STEPS = [
    ("load rises: CPU 92% (the deployment's mean) fires the high-CPU alarm", lambda s: fresh("high_cpu.json"), 0),
    ("Notifications redelivers the same message", "again", 0),
    ("CPU still 88%: REPEAT inside the scale-up cooldown", lambda s: fresh("high_cpu_repeat.json"), 0),
    ("CPU still 88%: REPEAT after the cooldown", lambda s: fresh("high_cpu_repeat.json"), "cooldown"),
    ("memory 91% fires the high-memory alarm", lambda s: fresh("high_mem.json"), "cooldown"),
    ("CPU back to 41%: FIRING_TO_OK", lambda s: fresh("high_cpu_firing_to_ok.json"), 0),
    ("load falls: the low-CPU alarm fires", lambda s: fired_by_low_alarm(s, "cpu", "12"), "cooldown"),
    ("low CPU repeats", lambda s: fired_by_low_alarm(s, "cpu", "9"), "cooldown"),
    ("low CPU repeats at the floor", lambda s: fired_by_low_alarm(s, "cpu", "6"), "cooldown"),
    ("memory 12%: the low-memory alarm fires", lambda s: fired_by_low_alarm(s, "mem", "12"), 0),
    ("low memory repeats at the bottom rung", lambda s: fired_by_low_alarm(s, "mem", "10"), "cooldown"),
    (
        "a user-written per-instance alarm (2022 form): one hot instance at 97%",
        lambda s: fresh("high_cpu_per_instance.json"),
        "cooldown",
    ),
    ("a value no utilization can have: 250%", lambda s: fresh("high_cpu.json", "250"), 0),
    ("a forged message for a real alarm that OCI shows quiet", forged, 0),
    ("gpu1 (an LLM on VM.GPU.A10.1): GPU 93.5% fires its high-GPU alarm", lambda s: fresh("high_gpu.json"), 0),
    ("gpu1 still slow: latency 1450 ms over its 1000 ms objective", lambda s: fresh("high_latency.json"), "cooldown"),
    ("req1 (request-bound): 2100 requests/min at 600 per instance", lambda s: fresh("high_requests.json"), 0),
    (
        "req1's rate falls to 900/min: the low request alarm the function rewrote fires",
        lambda s: fired_by_low_alarm(s, "requests", "900", REQ1),
        "cooldown",
    ),
    ("the hourly reconcile tick: demo2's own history rises every day 30 minutes from now", tick_with_history, 0),
    ("someone deletes demo2's low-memory alarm by hand; the next tick puts it back", drift, 0),
]


OTHER = "ocid1.datasciencemodeldeployment.oc1.iad.other"  # 1 x E4.Flex 1 OCPU, never managed by the function
BACKTEST_CAPTION = "before enabling it on md-other: a backtest of its last day (`make backtest MD=...`, read-only)"


def backtest(stack, out: Path) -> list[str]:
    """A day of md-other's per-instance history, generated by the simulator from a daily wave that peaks near what its
    one instance serves, posted into the emulator's Monitoring; then the backtest reads it back as it would read
    OCI and replays it. Returns the lines to print."""
    from autoscaler.domain import Capacity
    from bench import backtest as bt
    from bench import traces
    from bench.seed_history import seed_emulator
    from bench.sim import LADDER

    wave = traces.family("diurnal", 0, days=1)
    wave = traces.Trace("md-other", "a daily wave", wave.cpu / 3.1, wave.base_gb, params=wave.params)
    end = time.time() - bt.INGESTION_SLACK_SECONDS
    seed_emulator(stack.emulator_url, OTHER, "ocid1.compartment.oc1..other", wave, Capacity(1, LADDER[0]), end)
    result = bt.backtest(bt.connect(stack.emulator_url, {}), OTHER, days=1)
    summary, _ = bt.write(result, out)
    table = [line for line in bt.summary(result).splitlines() if line.startswith("| ")]
    censored = int(result.recon.censored.sum())
    return [
        *table,
        f"censored minutes: {censored} (an instance at 100 % shows only a lower bound of the demand)",
        f"written: {summary.relative_to(ALARMS.parent)} and timeline.png ({result.seconds['total']:.1f} s)",
    ]
