import json
from pathlib import Path

import pytest

from autoscaler.messages import MAX_BODY_BYTES, Rejected, parse_message

ALARMS = Path(__file__).parents[2] / "alarms"


def sample(name: str) -> dict:
    return json.loads((ALARMS / name).read_text())


def test_real_shaped_message_parses_with_numbers():
    message = parse_message((ALARMS / "high_cpu.json").read_bytes())
    assert message.title == "model_deployment_high_cpu" and message.type == "OK_TO_FIRING"
    [target] = message.targets()
    assert target.deployment_id == "ocid1.datasciencemodeldeployment.oc1.iad.demo1"
    assert target.observed == pytest.approx(92.3)


def test_multi_deployment_message_names_each_deployment_with_its_value():
    targets = parse_message((ALARMS / "multi_deployment_high_cpu.json").read_bytes()).targets()
    assert [(t.deployment_id[-5:], t.observed) for t in targets] == [("demo1", 85.0), ("demo2", 97.5)]


def test_unknown_fields_are_ignored():
    body = sample("high_cpu.json") | {"newField": {"x": 1}}
    body["alarmMetaData"][0]["somethingNew"] = [1, 2]
    assert parse_message(json.dumps(body)).title == "model_deployment_high_cpu"


def test_redelivery_has_the_same_event_key_and_a_repeat_does_not():
    first = parse_message(json.dumps(sample("high_cpu.json")))
    again = parse_message(json.dumps(sample("high_cpu.json")))
    repeat = parse_message(json.dumps(sample("high_cpu_repeat.json")))
    assert first.event_key == again.event_key != repeat.event_key


@pytest.mark.parametrize(
    ("file", "reason"),
    [
        ("malformed_not_json.json", "not JSON"),
        ("malformed_unknown_title.json", "unknown alarm title"),
        ("malformed_missing_fields.json", "dedupeKey: Field required"),
        ("malformed_metric_value.json", "not a finite number"),
        ("malformed_foreign_resource.json", "resourceId"),
    ],
)
def test_malformed_samples_are_rejected_precisely(file, reason):
    with pytest.raises(Rejected, match=reason):
        parse_message((ALARMS / file).read_bytes())


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty body"),
        (None, "empty body"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[]", "JSON list"),
        (b"42", "JSON int"),
        (b"[" * 5000 + b"]" * 5000, "nested too deeply|JSON list"),
        (b" " * (MAX_BODY_BYTES + 1), "byte limit"),
    ],
)
def test_bodies_that_are_not_alarm_messages(body, reason):
    with pytest.raises(Rejected, match=reason):
        parse_message(body)


def test_field_level_problems_are_named():
    body = sample("high_cpu.json")
    body["timestampEpochMillis"] = "yesterday"
    body["alarmMetaData"][0]["namespace"] = "oci_computeagent"
    with pytest.raises(Rejected) as error:
        parse_message(json.dumps(body))
    assert "timestampEpochMillis" in str(error.value) and "oci_computeagent" in str(error.value)


def test_dimension_count_is_bounded():
    body = sample("high_cpu.json")
    body["alarmMetaData"][0]["dimensions"] *= 101
    with pytest.raises(Rejected, match="dimensions"):
        parse_message(json.dumps(body))


def test_a_body_with_a_utf8_byte_order_mark_is_accepted():
    raw = (ALARMS / "high_cpu.json").read_bytes()
    assert parse_message(b"\xef\xbb\xbf" + raw).title == "model_deployment_high_cpu"
    assert parse_message("\ufeff" + raw.decode()).title == "model_deployment_high_cpu"


def test_the_instance_of_a_per_instance_stream_is_kept():
    [target] = parse_message((ALARMS / "high_cpu_per_instance.json").read_bytes()).targets()
    assert target.instance_id == "ocid1.datasciencemodeldeploymentinstance.oc1.iad.demo1a"
    [target] = parse_message((ALARMS / "high_cpu.json").read_bytes()).targets()
    assert target.instance_id is None
