"""Terraform schemas of the oracle/oci 7.19.0 types we serve, generated from three data files.

- infra/oci-provider-schema-7.19.0.json.gz: every argument (required or optional, type) and
  nested block (required, at most one or a list) of every resource and data source;
- infra/oci-schema-extras-7.19.0.json.gz: the computed-only attributes with their full types,
  computed attributes inside blocks, which blocks are sets, the `timeouts` keys, the provider's
  own arguments;
- infra/provider/oci-source-flags-7.19.0.json (written by source_flags.py from the provider's Go
  source): which optional arguments are also computed, which force a new resource, which
  `array(...)` arguments are sets.

Nothing is hand-written per type: what Terraform sees is what the real provider declares (names,
types, required/optional/computed, nesting). SDKv2 adds `id` (optional + computed) to every type
and a single `timeouts` block to resources that declare timeouts; so do we.
"""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path
from typing import Any

from tf import types as tft
from tf.gen import tfplugin_pb2 as pb
from tf.schema import Attribute, Block, NestedBlock, NestMode, Schema

INFRA = Path(__file__).resolve().parents[1]
VERSION = "7.19.0"
SCHEMA_FILE = INFRA / f"oci-provider-schema-{VERSION}.json.gz"
EXTRAS_FILE = INFRA / f"oci-schema-extras-{VERSION}.json.gz"
FLAGS_FILE = Path(__file__).with_name(f"oci-source-flags-{VERSION}.json")
SENSITIVE_PROVIDER_ARGS = {"private_key", "private_key_password"}


@functools.cache
def data() -> tuple[dict, dict, dict]:
    with gzip.open(SCHEMA_FILE, "rt") as schema, gzip.open(EXTRAS_FILE, "rt") as extras:
        return json.load(schema), json.load(extras), json.loads(FLAGS_FILE.read_text())


# --- Types -------------------------------------------------------------------------------------------


class Cty(tft.TfType):
    """Any Terraform type, given as its JSON form (`"string"`, `["list", ["object", {...}]]`); values pass through."""

    def __init__(self, cty: Any):
        self.cty = cty

    def encode(self, value: Any) -> Any:
        return value

    def decode(self, value: Any) -> Any:
        return value

    def semantically_equal(self, a_decoded, b_decoded) -> bool:
        if self.cty in (["set", "string"], ["set", "number"]) and isinstance(a_decoded, list):
            return isinstance(b_decoded, list) and sorted(map(str, a_decoded)) == sorted(map(str, b_decoded))
        return a_decoded == b_decoded

    def tf_type(self) -> bytes:
        return json.dumps(self.cty, separators=(",", ":")).encode()


def cty_of_argument(declared: str, is_set: bool) -> Any:
    """The schema file's type names (`string`, `map(string)`, `array(string)`...) as Terraform types."""
    scalars = {"string": "string", "number": "number", "boolean": "bool"}
    if declared in scalars:
        return scalars[declared]
    for prefix, kind in (("map(", "map"), ("array(", "set" if is_set else "list")):
        if declared.startswith(prefix) and declared.endswith(")"):
            return [kind, cty_of_argument(declared[len(prefix) : -1], False)]
    raise ValueError(f"unknown schema type {declared!r}")


def cty_of_extra(declared: Any) -> Any:
    """The extras file's types are already Terraform's JSON form, except `bool` spelled the same: identity."""
    return declared


# --- Blocks ------------------------------------------------------------------------------------------


class _Blocks(NestedBlock):
    """A nested block whose value is a list of objects (LIST or SET nesting); tf 1.2.0 has SET only."""

    nesting = pb.Schema.NestedBlock.NestingMode.LIST

    def __init__(self, type_name: str, block: Block, min_items: int | None = None, max_items: int | None = None):
        super().__init__(type_name, NestMode.Set, block, min_items=min_items, max_items=max_items)

    def to_pb(self) -> pb.Schema.NestedBlock:
        message = super().to_pb()
        message.nesting = self.nesting
        return message

    def encode(self, value: Any) -> Any:
        return [] if value is None else value

    def decode(self, value: Any) -> Any:
        return [] if value is None else value

    def semantically_equal(self, a_decoded, b_decoded) -> bool:
        return a_decoded == b_decoded


class ListBlock(_Blocks):
    nesting = pb.Schema.NestedBlock.NestingMode.LIST


class SetBlock(_Blocks):
    nesting = pb.Schema.NestedBlock.NestingMode.SET

    def semantically_equal(self, a_decoded, b_decoded) -> bool:
        key = functools.partial(json.dumps, sort_keys=True, default=str)
        return sorted(map(key, a_decoded or [])) == sorted(map(key, b_decoded or []))


class SingleBlock(NestedBlock):
    """SDKv2's `timeouts`: one optional object, null when absent."""

    def __init__(self, type_name: str, block: Block):
        super().__init__(type_name, NestMode.Single, block)

    def encode(self, value: Any) -> Any:
        return value

    def decode(self, value: Any) -> Any:
        return value

    def semantically_equal(self, a_decoded, b_decoded) -> bool:
        return a_decoded == b_decoded


# --- Schemas -----------------------------------------------------------------------------------------


def _at(tree: dict, path: str) -> dict:
    """The extras' entry for a dotted block path, or {}."""
    return tree.get(path, {})


def build_block(
    spec: dict, flags: dict, extras: dict, path: str = "", *, top: bool = False
) -> tuple[list[Attribute], list[NestedBlock]]:
    prefix = f"{path}." if path else ""
    optional_computed = set(flags.get("optional_computed", ()))
    force_new = set(flags.get("force_new", ()))
    sets = set(flags.get("sets", ()))
    attributes = []
    for name, argument in sorted(spec.get("arguments", {}).items()):
        dotted = prefix + name
        required = bool(argument["required"])
        computed = dotted in optional_computed or (top and name == "id")
        attributes.append(
            Attribute(
                name,
                Cty(cty_of_argument(argument["type"], dotted in sets)),
                required=required,
                optional=not required,
                computed=computed and not required,
                requires_replace=top and dotted in force_new,
            )
        )
    computed_only = extras.get("computed", {}) if top else _at(extras.get("block_computed", {}), path)
    declared = {attribute.name for attribute in attributes}
    for name, cty in sorted(computed_only.items()):
        if name not in declared:
            attributes.append(Attribute(name, Cty(cty_of_extra(cty)), computed=True))
    blocks: list[NestedBlock] = []
    set_blocks = set(extras.get("set_blocks", ()))
    for name, block in sorted(spec.get("blocks", {}).items()):
        dotted = prefix + name
        inner_attributes, inner_blocks = build_block(block, flags, extras, dotted)
        inner = Block(attributes=inner_attributes, block_types=inner_blocks)
        limits = {"min_items": 1 if block["required"] else None, "max_items": None if block["list"] else 1}
        kind = SetBlock if dotted in set_blocks else ListBlock
        blocks.append(kind(name, inner, **limits))
    return attributes, blocks


@functools.cache
def type_schema(mode: str, tf_type: str) -> Schema:
    """The schema of a resource (`mode` "resource") or data source ("data") type."""
    schema_data, extras_data, flags_data = data()
    spec = schema_data[mode][tf_type]
    extras = extras_data[mode].get(tf_type, {})
    flags = flags_data[mode].get(tf_type, {})
    attributes, blocks = build_block(spec, flags, extras, top=True)
    if extras.get("timeouts"):
        timeout_attributes = [Attribute(key, tft.String(), optional=True) for key in sorted(extras["timeouts"])]
        blocks.append(SingleBlock("timeouts", Block(attributes=timeout_attributes)))
    return Schema(version=0, attributes=attributes, block_types=blocks)


@functools.cache
def provider_schema() -> Schema:
    _, extras, _ = data()
    attributes = [
        Attribute(name, Cty(cty), optional=True, sensitive=name in SENSITIVE_PROVIDER_ARGS)
        for name, cty in sorted(extras["provider"].items())
    ]
    return Schema(version=0, attributes=attributes)
