"""JSON-mode answers are checked with RE2: in linear time, with a verdict for what it cannot run."""

import json
import time

from playground.output import render_choice_html
from playground.output.jsoncheck import check_json


def verdict(value, schema) -> str:
    return check_json(json.dumps(value), schema)["verdict"]


def test_patterns_are_checked():
    schema = {
        "type": "object",
        "properties": {"id": {"type": "string", "pattern": "^[a-z]+-\\d+$"}},
    }
    assert verdict({"id": "run-42"}, schema) == "Valid JSON that matches the schema."
    assert verdict({"id": "run 42"}, schema).startswith("Fails the schema at id: 'run 42' does not")


def test_pattern_properties_and_additional_properties_use_the_same_engine():
    schema = {
        "type": "object",
        "patternProperties": {"^x-": {"type": "integer"}},
        "additionalProperties": False,
    }
    assert verdict({"x-a": 1}, schema) == "Valid JSON that matches the schema."
    assert "x-a" in verdict({"x-a": "one"}, schema)
    assert "Additional properties are not allowed (y)" in verdict({"y": 1}, schema)


def test_a_catastrophic_pattern_is_checked_in_linear_time():
    schema = {"type": "string", "pattern": "^(a+)+$"}
    started = time.monotonic()
    result = verdict("a" * 5000 + "b", schema)
    assert "does not match" in result
    assert time.monotonic() - started < 5  # Python's re would take longer than the universe


def test_a_pattern_re2_cannot_run_is_reported_not_run():
    schema = {"type": "string", "pattern": "^(a)\\1$"}
    assert verdict("aa", schema).startswith("The schema cannot be applied: pattern not supported")


def test_unevaluated_properties_beside_pattern_properties_is_not_run():
    schema = {"patternProperties": {"^(a+)+$": {}}, "unevaluatedProperties": False}
    assert "is not checked here" in verdict({"a": 1}, schema)


def test_an_answer_is_rendered_as_checked_json_or_as_sanitised_markdown():
    html = render_choice_html('{"a": 1}', {})
    assert '<p class="verdict ok">Valid JSON.</p>' in html
    assert "<script" not in render_choice_html("<script>alert(1)</script> **b**", None)
    assert "<strong>b</strong>" in render_choice_html("**b**", None)


def test_json_that_spells_a_lone_surrogate_keeps_the_escape_when_pretty_printed():
    checked = check_json('{"a": "\\ud800 é", "b": "\\u0000"}', {})
    assert checked["ok"]
    assert checked["pretty"] == '{\n  "a": "\\ud800 é",\n  "b": "\\u0000"\n}'
    checked["pretty"].encode()  # a page or a frame can carry it
