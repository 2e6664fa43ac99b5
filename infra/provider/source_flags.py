"""Extract what the two schema JSON files do not say from the oracle/oci provider's Go source.

    python -m infra.provider.source_flags /path/to/terraform-provider-oci [--ref v7.19.0]

infra/oci-provider-schema-7.19.0.json.gz says required or optional, and
infra/oci-schema-extras-7.19.0.json.gz adds the computed-only attributes, set blocks and timeouts.
Neither says which optional arguments are also computed (Optional + Computed: the provider fills
them in when the configuration leaves them out), which arguments force a new resource, or whether
an `array(string)` is a list or a set. Those flags change how Terraform plans (a computed argument
left out of the configuration is no drift; a set has no order), so this script reads them from
the provider's SDKv2 schema definitions (`Schema: map[string]*schema.Schema{...}`) of the types
in TYPES and writes infra/provider/oci-source-flags-7.19.0.json. It runs by hand, once per
provider version, against a checkout (git tag) of github.com/oracle/terraform-provider-oci; the
provider itself only reads the JSON it wrote.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path

from infra.provider.types import DATA_SOURCES, RESOURCES

VERSION = "7.19.0"
OUTPUT = Path(__file__).with_name(f"oci-source-flags-{VERSION}.json")

# Terraform type -> Go file of its schema, relative to the provider repository.
SOURCES = {
    "oci_monitoring_alarm": "internal/service/monitoring/monitoring_alarm_resource.go",
    "oci_ons_notification_topic": "internal/service/ons/ons_notification_topic_resource.go",
    "oci_ons_subscription": "internal/service/ons/ons_subscription_resource.go",
    "oci_functions_application": "internal/service/functions/functions_application_resource.go",
    "oci_functions_function": "internal/service/functions/functions_function_resource.go",
    "oci_identity_dynamic_group": "internal/service/identity/identity_dynamic_group_resource.go",
    "oci_identity_policy": "internal/service/identity/identity_policy_resource.go",
    "oci_core_vcn": "internal/service/core/core_vcn_resource.go",
    "oci_core_service_gateway": "internal/service/core/core_service_gateway_resource.go",
    "oci_core_route_table": "internal/service/core/core_route_table_resource.go",
    "oci_core_security_list": "internal/service/core/core_security_list_resource.go",
    "oci_core_subnet": "internal/service/core/core_subnet_resource.go",
    "oci_logging_log_group": "internal/service/logging/logging_log_group_resource.go",
    "oci_logging_log": "internal/service/logging/logging_log_resource.go",
    "oci_resource_scheduler_schedule": "internal/service/resource_scheduler/resource_scheduler_schedule_resource.go",
    "data.oci_core_services": "internal/service/core/core_services_data_source.go",
}
# tfresource.DataSourceFiltersSchema() (internal/tfresource/filters.go): a set block, ForceNew.
FILTER_SCHEMA = '{Type: schema.TypeSet, Optional: true, ForceNew: true, Elem: &schema.Resource{Schema: map[string]*schema.Schema{"name": {Type: schema.TypeString, Required: true,}, "values": {Type: schema.TypeList, Required: true, Elem: &schema.Schema{Type: schema.TypeString},}, "regex": {Type: schema.TypeBool, Optional: true, Default: false,},},},}'  # noqa: E501

SCHEMA_MAP = "Schema: map[string]*schema.Schema{"


def _matching_brace(text: str, open_at: int) -> int:
    depth = 0
    quoted = False
    for i in range(open_at, len(text)):
        char = text[i]
        if quoted:
            quoted = char != '"' or text[i - 1] == "\\"
        elif char == '"':
            quoted = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced braces")


def _strip_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", text)


def _top_level(body: str) -> str:
    """The body with every nested {...} removed: the entry's own fields only."""
    out, depth = [], 0
    for char in body:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)


def parse_schema_map(text: str, start: int) -> dict[str, dict]:
    """Entries of the map literal whose `{` is at `start`: name -> {flags..., "nested": {...}}."""
    end = _matching_brace(text, start)
    body = text[start + 1 : end]
    entries: dict[str, dict] = {}
    position = 0
    pattern = re.compile(r'"([a-zA-Z0-9_]+)"\s*:\s*(\{|tfresource\.DataSourceFiltersSchema\(\))')
    while match := pattern.search(body, position):
        name = match.group(1)
        if match.group(2) != "{":
            entry_text = FILTER_SCHEMA
            position = match.end()
        else:
            close = _matching_brace(body, match.end() - 1)
            entry_text = body[match.end() - 1 : close + 1]
            position = close + 1
        entries[name] = parse_entry(entry_text)
    return entries


def parse_entry(entry: str) -> dict:
    own = _top_level(entry[1:-1])
    flags = {
        "type": (re.search(r"Type:\s*schema\.(Type\w+)", own) or re.search(r"Type:\s*schema\.(Type\w+)", entry)).group(
            1
        ),
        "required": bool(re.search(r"Required:\s*true", own)),
        "optional": bool(re.search(r"Optional:\s*true", own)),
        "computed": bool(re.search(r"Computed:\s*true", own)),
        "force_new": bool(re.search(r"ForceNew:\s*true", own)),
    }
    nested_at = entry.find(SCHEMA_MAP)
    if nested_at >= 0:
        flags["nested"] = parse_schema_map(entry, nested_at + len(SCHEMA_MAP) - 1)
    return flags


def resource_schema(go_source: str) -> dict[str, dict]:
    text = _strip_comments(go_source)
    at = text.find(SCHEMA_MAP)
    return parse_schema_map(text, at + len(SCHEMA_MAP) - 1)


def flags_of(entries: dict[str, dict], prefix: str = "") -> dict[str, list[str]]:
    """Dotted paths of the optional+computed arguments, the ForceNew ones and the primitive sets."""
    found: dict[str, list[str]] = {"optional_computed": [], "force_new": [], "sets": []}
    for name, entry in sorted(entries.items()):
        path = prefix + name
        if entry["optional"] and entry["computed"] and "nested" not in entry:
            found["optional_computed"].append(path)
        if entry["force_new"]:
            found["force_new"].append(path)
        if entry["type"] == "TypeSet" and "nested" not in entry:
            found["sets"].append(path)
        if "nested" in entry:
            for key, paths in flags_of(entry["nested"], path + ".").items():
                found[key].extend(paths)
    return found


def read_source(repo: Path, ref: str | None, path: str) -> str:
    if ref:
        return subprocess.run(
            [
                "git",
                "--git-dir",
                str(repo / ".git") if (repo / ".git").exists() else str(repo),
                "show",
                f"{ref}:{path}",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return (repo / path).read_text()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path, help="checkout (or bare git dir) of oracle/terraform-provider-oci")
    parser.add_argument("--ref", default=f"v{VERSION}", help="git tag to read (default v%(default)s); '' = work tree")
    args = parser.parse_args(argv)
    wanted = {**{t: "resource" for t in RESOURCES}, **{t: "data" for t in DATA_SOURCES}}
    out: dict = {
        "source": f"github.com/oracle/terraform-provider-oci {args.ref or 'work tree'}",
        "resource": {},
        "data": {},
    }
    for tf_type, mode in sorted(wanted.items()):
        key = f"data.{tf_type}" if mode == "data" else tf_type
        out[mode][tf_type] = flags_of(resource_schema(read_source(args.repo, args.ref, SOURCES[key])))
    OUTPUT.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
