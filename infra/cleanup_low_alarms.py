"""Delete the low alarms the function created: what `terraform destroy` leaves behind.

    python -m infra.cleanup_low_alarms --compartment OCID [--dry-run] [--profile DEFAULT]
    python -m infra.cleanup_low_alarms --compartment OCID --emulator http://127.0.0.1:8765

Terraform owns the high alarms, the topic, the function and the rest; the function creates and deletes
the low alarms itself (one per deployment and metric above the floor), so they are not in Terraform's
state and `terraform destroy` does not remove them. They would stay, pointing at the deleted topic.
This lists the ACTIVE alarms of the compartment (the module's compartment_ocid: the function creates
each low alarm beside the high alarm that fired) and deletes those that are the function's low alarms:
display name `model_deployment_low_<cpu|mem|gpu|requests>-<deployment OCID>` or
`model_deployment_high_requests-<deployment OCID>` (its threshold follows the instance count) AND freeform tag
autoscale_owner = oci-md-autoscaler. Alarms it did not create are never touched. Run it after
`terraform destroy` (before, the function would create them again on the next low alarm).

Needs `inspect alarms` and `manage alarms` (DeleteAlarm) in the compartment; OCI credentials from
~/.oci/config (profile --profile), or the local emulator with --emulator.
"""

from __future__ import annotations

import argparse
import sys
import time

import oci

from autoscaler.constants import OWNER_TAG, OWNER_VALUE
from autoscaler.governor import Governor
from autoscaler.owned_alarms import owned_titles


def monitoring_client(emulator: str | None, profile: str):
    if emulator:
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        signer = oci.auth.signers.SecurityTokenSigner("cleanup", key)  # the emulator checks that requests are signed
        return oci.monitoring.MonitoringClient({"region": "us-ashburn-1"}, signer=signer, service_endpoint=emulator)
    return oci.monitoring.MonitoringClient(oci.config.from_file(profile_name=profile))


def low_alarms(client, compartment_id: str) -> list:
    """The function's ACTIVE low alarms in a compartment."""
    prefixes = tuple(f"{title}-" for title in owned_titles())  # the low alarms and the high request alarms
    alarms = oci.pagination.list_call_get_all_results(client.list_alarms, compartment_id, lifecycle_state="ACTIVE").data
    return [
        alarm
        for alarm in alarms
        if alarm.display_name.startswith(prefixes) and (alarm.freeform_tags or {}).get(OWNER_TAG) == OWNER_VALUE
    ]


# The tenancy's alarm operations share 10 per second (monitoring_client.py docstrings): a cleanup of a large fleet
# takes the same slice of that budget as the function's tick, and waits out a 429 instead of failing on it.
CLEANUP_OPS_PER_SECOND = 3
CLEANUP_DEADLINE_SECONDS = 3600


def cleanup(client, compartment_id: str, dry_run: bool = False) -> list[str]:
    """Delete (or with dry_run only list) the function's low alarms; returns their display names."""
    found = low_alarms(client, compartment_id)
    governor = Governor(CLEANUP_OPS_PER_SECOND, time.monotonic() + CLEANUP_DEADLINE_SECONDS)
    for alarm in found:
        if not dry_run:
            client.delete_alarm(alarm.id, retry_strategy=governor)
    return [alarm.display_name for alarm in found]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.cleanup_low_alarms", description=__doc__.split("\n\n")[0])
    parser.add_argument("--compartment", required=True, help="the module's compartment_ocid (where the alarms are)")
    parser.add_argument("--dry-run", action="store_true", help="list them, delete nothing")
    parser.add_argument("--profile", default="DEFAULT", help="profile of ~/.oci/config (default DEFAULT)")
    parser.add_argument("--emulator", help="URL of the local emulator instead of OCI")
    args = parser.parse_args(argv)
    names = cleanup(monitoring_client(args.emulator, args.profile), args.compartment, args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    for name in names:
        print(f"{verb} {name}")
    print(f"{len(names)} low alarm(s) {verb}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
