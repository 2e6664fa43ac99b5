"""The offline oracle/oci provider: the types it serves, its schema as real Terraform sees it, its records.

The schema Terraform gets from the provider (`terraform providers schema -json`) must say what the
data files say about the real provider 7.19.0: every argument with its type and required/optional
flag (oci-provider-schema), every computed-only attribute, set block and timeouts block
(oci-schema-extras), and the optional+computed / list-or-set flags read from the Go source.
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from emulator import Store, serve_in_thread
from infra import check_terraform as ct
from infra.provider import schema as provider_schema
from infra.provider.types import DATA_SOURCES, RESOURCES
from infra.tfrun import copy_tree
from tests.terraform.parsed import MODULE_DIR

PLANNED: set[str] = set()  # every served resource type is used (the reconcile schedule since schedule.tf)
SCALARS = {"string": "string", "number": "number", "boolean": "bool"}


def used_types() -> tuple[set[str], set[str]]:
    resources, data = set(), set()
    for directory in ct.module_dirs(MODULE_DIR):
        for tree in ct.parse_module(directory).values():
            resources |= {rtype for rtype, _, _ in ct.labelled2(tree.get("resource", []))}
            data |= {dtype for dtype, _, _ in ct.labelled2(tree.get("data", []))}
    return resources, data


def test_every_type_the_module_and_examples_use_is_served():
    resources, data = used_types()
    assert resources <= set(RESOURCES), resources - set(RESOURCES)
    assert data <= set(DATA_SOURCES), data - set(DATA_SOURCES)
    assert set(RESOURCES) - resources <= PLANNED


@pytest.fixture(scope="session")
def served(terraform, tmp_path_factory) -> dict:
    """`terraform providers schema -json` for oracle/oci, from real Terraform talking to the provider."""
    tree = copy_tree(tmp_path_factory.mktemp("schema") / "terraform")
    assert terraform.init(tree).code == 0
    result = terraform.run(tree, "providers", "schema", "-json")
    assert result.code == 0, result.text
    return json.loads(result.out)["provider_schemas"]["registry.terraform.io/oracle/oci"]


def expected_type(declared: str, is_set: bool):
    if declared in SCALARS:
        return SCALARS[declared]
    kind, inner = declared.split("(", 1)
    return {"map": "map", "array": "set" if is_set else "list"}[kind], expected_type(inner[:-1], False)


def compare_block(got: dict, spec: dict, extras: dict, flags: dict, path: str, top: bool) -> list[str]:
    problems = []
    prefix = f"{path}." if path else ""
    attributes = got.get("attributes", {})
    for name, argument in spec.get("arguments", {}).items():
        dotted = prefix + name
        served_attribute = attributes.get(name)
        if served_attribute is None:
            problems.append(f"{dotted}: missing")
            continue
        computed = dotted in flags.get("optional_computed", []) or (top and name == "id")
        want = {
            "required": bool(argument["required"]),
            "optional": not argument["required"],
            "computed": computed and not argument["required"],
            "type": expected_type(argument["type"], dotted in flags.get("sets", [])),
        }
        have = {key: served_attribute.get(key, False) for key in ("required", "optional", "computed")}
        have["type"] = served_attribute["type"]
        have["type"] = tuple(have["type"]) if isinstance(have["type"], list) else have["type"]
        want["type"] = tuple(want["type"]) if isinstance(want["type"], tuple) else want["type"]
        if json.dumps(have, sort_keys=True, default=list) != json.dumps(want, sort_keys=True, default=list):
            problems.append(f"{dotted}: served {have}, the real provider has {want}")
    computed_only = extras.get("computed", {}) if top else extras.get("block_computed", {}).get(path, {})
    for name, cty in computed_only.items():
        if name in spec.get("arguments", {}):
            continue
        served_attribute = attributes.get(name, {})
        if not served_attribute.get("computed") or served_attribute.get("optional") or served_attribute["type"] != cty:
            problems.append(f"{prefix}{name}: computed-only {cty} served as {served_attribute}")
    declared = set(spec.get("arguments", {})) | set(computed_only)
    extra = set(attributes) - declared
    if extra:
        problems.append(f"{path or '(top)'}: attributes the real provider does not have: {sorted(extra)}")
    blocks = got.get("block_types", {})
    for name, block in spec.get("blocks", {}).items():
        dotted = prefix + name
        served_block = blocks.get(name)
        if served_block is None:
            problems.append(f"{dotted}: block missing")
            continue
        mode = "set" if dotted in extras.get("set_blocks", []) else "list"
        if served_block["nesting_mode"] != mode:
            problems.append(f"{dotted}: nesting {served_block['nesting_mode']}, the real provider has {mode}")
        if served_block.get("min_items", 0) != (1 if block["required"] else 0):
            problems.append(f"{dotted}: min_items {served_block.get('min_items', 0)}")
        if served_block.get("max_items", 0) != (0 if block["list"] else 1):
            problems.append(f"{dotted}: max_items {served_block.get('max_items', 0)}")
        problems += compare_block(served_block["block"], block, extras, flags, dotted, False)
    allowed = set(spec.get("blocks", {})) | ({"timeouts"} if top and extras.get("timeouts") else set())
    if set(blocks) - allowed:
        problems.append(f"{path or '(top)'}: blocks the real provider does not have: {sorted(set(blocks) - allowed)}")
    return problems


@pytest.mark.parametrize(
    "mode, tf_type", [("resource", t) for t in RESOURCES] + [("data", t) for t in DATA_SOURCES], ids=str
)
def test_terraform_sees_the_real_providers_schema(served, mode, tf_type):
    schema, extras, flags = provider_schema.data()
    got = served["resource_schemas" if mode == "resource" else "data_source_schemas"][tf_type]["block"]
    type_extras = extras[mode].get(tf_type, {})
    problems = compare_block(got, schema[mode][tf_type], type_extras, flags[mode].get(tf_type, {}), "", True)
    if type_extras.get("timeouts"):
        timeouts = got["block_types"].get("timeouts", {})
        if timeouts.get("nesting_mode") != "single" or set(timeouts["block"]["attributes"]) != set(
            type_extras["timeouts"]
        ):
            problems.append(f"timeouts block: {timeouts}")
    assert problems == []


def test_the_provider_block_takes_the_real_providers_arguments(served):
    _, extras, _ = provider_schema.data()
    attributes = served["provider"]["block"]["attributes"]
    assert set(attributes) == set(extras["provider"])
    assert all(a.get("optional") and not a.get("required") for a in attributes.values())


def test_the_source_flags_name_real_arguments():
    """Every path in oci-source-flags-7.19.0.json (written from the Go source) is an argument of the schema file."""
    schema, _, flags = provider_schema.data()
    missing = []
    for mode in ("resource", "data"):
        for tf_type, lists in flags[mode].items():
            for key, paths in lists.items():
                for path in paths:
                    spec = schema[mode][tf_type]
                    *blocks, name = path.split(".")
                    for block in blocks:
                        spec = spec["blocks"][block]
                    if name not in spec["arguments"] and name not in spec["blocks"]:
                        missing.append(f"{tf_type} {key} {path}")
    assert missing == []
    assert set(flags["resource"]) == set(RESOURCES) and set(flags["data"]) == set(DATA_SOURCES)


def test_records_endpoint_gives_ocids_and_keeps_attributes():
    url, stop = serve_in_thread(Store())
    try:

        def call(method, path, body=None):
            data = None if body is None else json.dumps(body).encode()
            request = urllib.request.Request(url + path, data=data, method=method)
            try:
                with urllib.request.urlopen(request) as response:
                    raw = response.read()
                    return response.status, (json.loads(raw) if raw else None)
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read() or b"null")

        status, topic = call(
            "POST", "/_emulator/records/oci_ons_notification_topic", {"name": "t", "compartment_id": "c"}
        )
        assert status == 200 and topic["id"].startswith("ocid1.onstopic.oc1.") and topic["time_created"]
        path = f"/_emulator/records/oci_ons_notification_topic/{topic['id']}"
        assert call("GET", path) == (200, topic)
        status, replaced = call("PUT", path, {"name": "u", "compartment_id": "c"})
        assert replaced == {**topic, "name": "u"}
        assert call("DELETE", path)[0] == 204
        assert call("GET", path)[0] == 404 and call("DELETE", path)[0] == 404
        status, services = call("GET", "/_emulator/records/oci_core_services")
        assert any(s["name"] == "All IAD Services In Oracle Services Network" for s in services)
    finally:
        stop()
