"""A test case's automatic checks: each verdict, with its reason, on hostile input too."""

import pytest

from playground.cases.checks import Check, CheckForm, Kind, Verdict, run_check

pytestmark = pytest.mark.sqlite_only  # no database: the same on any backend


def verdict(kind: Kind, answer: str, text: str = "", *, expected=None, schema=None, **flags):
    return run_check(Check(kind, text, **flags), answer, expected=expected, schema=schema)


def test_contains_and_does_not_contain_with_and_without_case():
    assert verdict(Kind.CONTAINS, "The capital is Paris.", "Paris") == Verdict(True, "Has 'Paris'.")
    assert verdict(Kind.CONTAINS, "the capital is paris", "Paris").passed is False
    assert verdict(Kind.CONTAINS, "the capital is paris", "Paris", ignore_case=True).passed
    assert verdict(Kind.NOT_CONTAINS, "I cannot help", "cannot") == Verdict(False, "Has 'cannot'.")
    assert verdict(Kind.NOT_CONTAINS, "Sure: 42", "cannot").passed is True


def test_equals_expected_trims_and_says_when_a_row_has_none():
    assert verdict(Kind.EQUALS_EXPECTED, "  42\n", expected="42").passed is True
    assert verdict(Kind.EQUALS_EXPECTED, "41", expected="42").passed is False
    assert verdict(Kind.EQUALS_EXPECTED, "YES", expected="yes", ignore_case=True).passed
    missing = verdict(Kind.EQUALS_EXPECTED, "42", expected=None)
    assert missing == Verdict(None, 'This row has no "expected" value.')


def test_a_regex_runs_in_linear_time_on_hostile_answers():
    assert verdict(Kind.REGEX, "Order #1234 shipped", r"#\d{4}\b").passed is True
    assert verdict(Kind.REGEX, "ORDER", "order", ignore_case=True).passed is True
    # Python's re would backtrack here for minutes, holding the GIL: RE2 answers at once.
    assert verdict(Kind.REGEX, "a" * 30 + "b", r"(a+)+$").passed is False


def test_the_schema_check_is_the_json_mode_check():
    schema = {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}}
    assert verdict(Kind.SCHEMA, '{"city": "Paris"}', schema=schema).passed is True
    failed = verdict(Kind.SCHEMA, '{"town": "Paris"}', schema=schema)
    assert failed.passed is False
    assert "'city' is a required property" in failed.why
    assert verdict(Kind.SCHEMA, "Paris", schema={}).why.startswith("Not valid JSON")
    assert verdict(Kind.SCHEMA, "[1, 2]", schema=None) == Verdict(True, "Valid JSON.")


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({"kind": "contains", "text": ""}, "text", "Say what the answer contains."),
        ({"kind": "regex", "text": r"(a)\1"}, "text", "write it in RE2 syntax"),
        ({"kind": "regex", "text": "(unclosed"}, "text", "check its brackets"),
        ({"kind": "sounds_right"}, "kind", "Select a valid choice."),
    ],
)
def test_the_form_refuses_a_check_that_cannot_run_and_says_why(data, field, error):
    form = CheckForm(data)
    assert not form.is_valid()
    assert error in " ".join(form.errors[field])


def test_the_form_gives_the_check_it_describes():
    form = CheckForm({"kind": "equals_expected", "text": "left over", "ignore_case": "on"})
    assert form.is_valid(), form.errors
    check = form.check()
    assert check == Check(Kind.EQUALS_EXPECTED, "", ignore_case=True)
    assert str(check) == 'equals "expected"'
    assert str(Check(Kind.REGEX, r"\d+")) == r"matches the regular expression '\\d+'"
