"""What would the autoscaler do to this deployment now? A read-only dry run of the decision.

    make explain MD=<deployment OCID>                       # against `make emulator` (http://127.0.0.1:8765)
    make explain MD=<deployment OCID> OCI=1                 # against OCI, credentials from ~/.oci/config
    python -m demo.explain OCID [--cpu 90] [--mem 85] [--low-cpu 10] [--low-mem 10] [--emulator URL | --oci]
                               [--gpu 95] [--low-gpu 5] [--requests 2400] [--low-requests 100] [--latency 1500]

It reads the deployment (GetModelDeployment: nothing else, nothing written), applies its
`autoscale_<setting>` tags to the configured policy (the AUTOSCALE_* environment, else the
function's defaults), and runs the function's own decision, `policy.decide`, for four alarms as if
each fired right now: high CPU, low CPU, high memory, low memory, at the values given. It prints each
decision with its reason and the low alarm the function would keep.

What it assumes, honestly: that the alarm is genuine. The function itself first checks the alarm in
OCI (it exists, is ACTIVE, names this deployment, is FIRING for it) and refuses anything else; this
skips those checks because no alarm fired. The values are the ones given (defaults 90 % high, 10 %
low), not a reading of the metric.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime

from autoscaler.constants import LOW_TITLE, show
from autoscaler.domain import Signal
from autoscaler.policy import decide, low_threshold
from autoscaler.settings import load_settings

DEFAULT_EMULATOR = "http://127.0.0.1:8765"


def _settings(emulator: str | None, compartment: str):
    environ = {key: value for key, value in os.environ.items() if key.startswith("AUTOSCALE_")}
    environ.setdefault("AUTOSCALE_COMPARTMENT_ALLOWLIST", compartment)
    if emulator:
        environ.update(
            AUTOSCALE_AUTH="emulator", AUTOSCALE_DATA_SCIENCE_ENDPOINT=emulator, AUTOSCALE_MONITORING_ENDPOINT=emulator
        )
    else:
        environ["AUTOSCALE_AUTH"] = "config_file"
    return load_settings(environ)


def _when(epoch: float | None) -> str:
    return "never" if epoch is None else datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def explain(deployment_id: str, values: dict[tuple[str, str], float], emulator: str | None) -> list[str]:
    from autoscaler.oci_gateway import OciGateway

    settings = _settings(emulator, "ocid1.compartment.oc1..explain")
    deployment = OciGateway.from_settings(settings).get_deployment(deployment_id)
    if deployment is None:
        return [f"deployment {deployment_id} not found"]
    state = deployment.state
    overrides = {k: v for k, v in deployment.tags.items() if k.startswith("autoscale_") and "_state_" not in k}
    policy = settings.policy.with_overrides(deployment.tags)
    now = time.time()
    lines = [
        f"deployment {state.id}",
        f"  {state.lifecycle_state}, {state.deployment_type}, {state.scaling_policy}: {state.capacity}",
        f"  last scale-up {_when(state.last_up)}, last scale-down {_when(state.last_down)}"
        + (f", scale-in hold {state.scale_in_hold:g} s" if state.scale_in_hold else ""),
        f"  tag overrides: {overrides or 'none'}; dry run in the function: {settings.dry_run}",
    ]
    for (metric, direction), value in values.items():
        signal = Signal(metric, direction, value, event_key="explain", alarm_time=now)
        decision = decide(state, signal, policy, now)
        after = decision.target or state.capacity
        label = f"{'high' if direction == 'up' else 'low'}-{metric} alarm fired now at {show(metric, value)}"
        lines.append(f"if the {label}: {decision.action.value} {state.capacity} -> {after}")
        lines.append(f"    because: {decision.reason}")
        if metric in LOW_TITLE:  # latency has no low alarm
            lines.append(
                f"    low {metric} alarm: {decision.low_alarm.value}"
                f" (threshold at {after}: < {show(metric, low_threshold(after, metric, policy))})"
            )
    lines.append(
        "Assumed: each alarm genuine and FIRING (the function checks that in OCI first); values as given. "
        "Read-only: one GetModelDeployment, nothing written."
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.explain", description=__doc__.split("\n\n")[0])
    parser.add_argument("deployment_id", help="model deployment OCID")
    parser.add_argument("--cpu", type=float, default=90.0, help="CPU %% of the high alarm (default 90)")
    parser.add_argument("--low-cpu", type=float, default=10.0, help="CPU %% of the low alarm (default 10)")
    parser.add_argument("--mem", type=float, default=90.0, help="memory %% of the high alarm (default 90)")
    parser.add_argument("--low-mem", type=float, default=10.0, help="memory %% of the low alarm (default 10)")
    for flag, what in (
        ("--gpu", "GPU %% of the high alarm"),
        ("--low-gpu", "GPU %% of the low alarm"),
        ("--requests", "requests per minute of the high request alarm"),
        ("--low-requests", "requests per minute of the low request alarm"),
        ("--latency", "latency in ms of the high latency alarm"),
    ):
        parser.add_argument(flag, type=float, default=None, help=f"{what} (default: not explained)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--emulator", default=DEFAULT_EMULATOR, help=f"emulator URL (default {DEFAULT_EMULATOR})")
    target.add_argument("--oci", action="store_true", help="OCI itself, credentials from ~/.oci/config")
    args = parser.parse_args(argv)
    values = {
        ("cpu", "up"): args.cpu,
        ("cpu", "down"): args.low_cpu,
        ("mem", "up"): args.mem,
        ("mem", "down"): args.low_mem,
    }
    extra = {
        ("gpu", "up"): args.gpu,
        ("gpu", "down"): args.low_gpu,
        ("requests", "up"): args.requests,
        ("requests", "down"): args.low_requests,
        ("latency", "up"): args.latency,
    }
    values.update({key: value for key, value in extra.items() if value is not None})
    print("\n".join(explain(args.deployment_id, values, None if args.oci else args.emulator)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
