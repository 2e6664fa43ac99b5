"""`make demo`: the emulator plus the real function under fdk, replaying a scaling story."""

from __future__ import annotations

import sys
import time

from demo.stack import ROOT, Stack
from demo.story import BACKTEST_CAPTION, DEMO1, DEMO2, STEPS, backtest

COOLDOWN_SECONDS = 3  # the demo shortens the cooldowns so the story fits in half a minute
UPDATE_DELAY_SECONDS = 1.0


def describe(state: dict, deployment_id: str = DEMO1) -> str:
    [deployment] = [d for d in state["modelDeployments"] if d["id"] == deployment_id]
    model = deployment["modelDeploymentConfigurationDetails"]["modelConfigurationDetails"]
    shape = model["instanceConfiguration"]
    config = shape.get("modelDeploymentInstanceShapeConfigDetails") or {}
    sizing = f" {config['ocpus']:g} OCPU/{config['memoryInGBs']:g} GB" if config else ""
    alarms = sorted(
        a["notificationTitle"].replace("model_deployment_", "")
        for a in state["alarms"]
        if a["lifecycleState"] == "ACTIVE" and deployment_id in a["query"]
    )
    count, name = model["scalingPolicy"]["instanceCount"], deployment_id.rsplit(".", 1)[-1]
    return (
        f"    {name}: {count} x {shape['instanceShapeName']}{sizing} [{deployment['lifecycleState']}]"
        f"  alarms: {', '.join(alarms)}"
    )


def _deployment_of(message) -> str:
    """The deployment a message names (the demo's steps name one each), else demo1."""
    if isinstance(message, dict) and message.get("type") == "RECONCILE":
        return DEMO2  # the demo's ticks change demo2
    metas = message.get("alarmMetaData") if isinstance(message, dict) else None
    try:
        return metas[0]["dimensions"][0]["resourceId"]
    except (TypeError, LookupError):
        return DEMO1


def wait_until_active(stack: Stack) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = stack.state()
        if all(d["lifecycleState"] != "UPDATING" for d in state["modelDeployments"]):
            return
        time.sleep(0.2)


def main() -> int:
    started = time.monotonic()
    config = {
        "AUTOSCALE_SCALE_UP_COOLDOWN_SECONDS": str(COOLDOWN_SECONDS),
        "AUTOSCALE_SCALE_DOWN_COOLDOWN_SECONDS": str(COOLDOWN_SECONDS),
        # Every step waits for the update to finish, so no reading is ever the old capacity's (policy._cooldown_left).
        "AUTOSCALE_UPDATE_SECONDS": "0",
    }
    print("Starting the OCI emulator and the autoscale function (fdk, http-stream on a unix socket)...")
    with Stack(update_delay=UPDATE_DELAY_SECONDS, **config) as stack:
        print(f"  emulator {stack.emulator_url}, function socket {stack.socket}")
        print(f"  cooldowns shortened to {COOLDOWN_SECONDS} s, deployment updates take {UPDATE_DELAY_SECONDS} s\n")
        print("Before:\n" + describe(stack.state()))
        last = None
        for number, (caption, build, wait) in enumerate(STEPS, 1):
            if wait == "cooldown":
                time.sleep(COOLDOWN_SECONDS)
            wait_until_active(stack)
            message = last if build == "again" else build(stack)
            print(f"\n{number:>2}. {caption}")
            if message is None:
                print("    (the alarm no longer exists, so OCI would not send it)")
                continue
            status, body = stack.invoke(message)
            last = message
            outcomes = body.get("outcomes", [body]) if isinstance(body, dict) else [{"reason": body}]
            for outcome in outcomes:
                if outcome.get("title") == "reconcile" and outcome.get("status") == "noop":
                    continue  # a tick reports every managed deployment: show what it changed
                who = f"{outcome['deployment_id'].rsplit('.', 1)[-1]} " if outcome.get("title") == "reconcile" else ""
                print(f"    HTTP {status} {who}{outcome.get('status')}: {outcome.get('reason')}")
                if outcome.get("low_alarm"):
                    print(f"    low alarm: {outcome['low_alarm']}")
                if outcome.get("title") == "reconcile" and outcome.get("alarms"):
                    print(f"    owned alarms: {outcome['alarms']}")
            if isinstance(body, dict) and body.get("counts"):
                print(f"    tick: {body['counts']} in {body['duration_ms']:.0f} ms")
                for title, state in (outcome.get("owned_alarms") or {}).items():
                    print(f"    {title.removeprefix('model_deployment_')} alarm: {state}")
            wait_until_active(stack)
            print(describe(stack.state(), _deployment_of(message)))
        status, body = stack.invoke(b"{not json")
        print(
            f"\n{len(STEPS) + 1:>2}. a malformed payload\n    HTTP {status} {body.get('status')}: {body.get('reason')}"
        )
        print(f"\n{len(STEPS) + 2:>2}. {BACKTEST_CAPTION}")
        for line in backtest(stack, ROOT / "run" / "backtest"):
            print(f"    {line}")
    print(f"\nDone in {time.monotonic() - started:.1f} s; emulator and function stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
