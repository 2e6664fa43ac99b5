"""A scaling story told with the sample messages in alarms/, as OCI Monitoring would send them."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from autoscaler.constants import LOW_TITLE

ALARMS = Path(__file__).resolve().parents[1] / "alarms"
DEMO1 = "ocid1.datasciencemodeldeployment.oc1.iad.demo1"


def fresh(name: str, value: str | None = None) -> dict:
    """A sample message as a new alarm event: new dedupe key and timestamp, optionally a new metric value."""
    body = json.loads((ALARMS / name).read_text())
    body["dedupeKey"] = str(uuid.uuid4())
    body["timestampEpochMillis"] = int(time.time() * 1000)
    if value is not None:
        meta = body["alarmMetaData"][0]
        meta["metricValues"] = [{next(iter(meta["metricValues"][0])): value}]
    return body


def fired_by_low_alarm(stack, metric: str, value: str) -> dict | None:
    """The low alarm the function created fires in the emulator's Monitoring: its message, as OCI sends it
    (OK_TO_FIRING, then REPEAT while it stays FIRING), or None when the alarm does not exist."""
    wanted = f"{LOW_TITLE[metric]}-{DEMO1}"
    alarms = [a for a in stack.state()["alarms"] if a["displayName"] == wanted and a["lifecycleState"] == "ACTIVE"]
    if not alarms:
        return None
    fire = {"dimensions": {"resourceId": DEMO1}, "value": float(value)}
    return stack.admin("POST", f"/_emulator/alarms/{alarms[0]['id']}/fire", fire)


def forged(stack) -> dict:
    """A well-formed message for a real alarm of ours that OCI shows quiet: what a caller with invoke rights
    but no firing alarm could send. The high-CPU alarm is first made OK in the emulator."""
    stack.admin("POST", "/_emulator/alarms/ocid1.alarm.oc1.iad.demo1highcpu/ok", {"dimensions": {"resourceId": DEMO1}})
    return fresh("high_cpu.json", "97")


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
]
