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


def fired_by_low_alarm(state: dict, metric: str, name: str, value: str) -> dict | None:
    """The message of the low alarm the function created, or None when it does not exist."""
    wanted = f"{LOW_TITLE[metric]}-{DEMO1}"
    alarms = [a for a in state["alarms"] if a["displayName"] == wanted and a["lifecycleState"] == "ACTIVE"]
    if not alarms:
        return None
    body = fresh(name, value)
    body["alarmMetaData"][0]["id"] = alarms[0]["id"]
    body["alarmMetaData"][0]["query"] = alarms[0]["query"]
    return body


# (caption, how to build the message from the emulator state, seconds to let pass first)
STEPS = [
    ("load rises: CPU 92% fires the high-CPU alarm", lambda s: fresh("high_cpu.json"), 0),
    ("Notifications redelivers the same message", "again", 0),
    ("CPU still 88%: REPEAT inside the scale-up cooldown", lambda s: fresh("high_cpu_repeat.json"), 0),
    ("CPU still 88%: REPEAT after the cooldown", lambda s: fresh("high_cpu_repeat.json"), "cooldown"),
    ("memory 91% fires the high-memory alarm", lambda s: fresh("high_mem.json"), "cooldown"),
    ("CPU back to 41%: FIRING_TO_OK", lambda s: fresh("high_cpu_firing_to_ok.json"), 0),
    ("load falls: the low-CPU alarm fires", lambda s: fired_by_low_alarm(s, "cpu", "low_cpu.json", "12"), "cooldown"),
    ("low CPU repeats", lambda s: fired_by_low_alarm(s, "cpu", "low_cpu.json", "9"), "cooldown"),
    ("low CPU repeats at the floor", lambda s: fired_by_low_alarm(s, "cpu", "low_cpu.json", "6"), "cooldown"),
    ("memory 12%: the low-memory alarm fires", lambda s: fired_by_low_alarm(s, "mem", "low_mem.json", "12"), 0),
    ("low memory repeats at the bottom rung", lambda s: fired_by_low_alarm(s, "mem", "low_mem.json", "10"), "cooldown"),
]
