"""Automatic checks of a test case's answer, set per compare column: contains, does not
contain, equals the row's "expected", matches a regular expression, or is valid JSON that
matches the column's schema.

Answers are model output and patterns are user input, so neither may choose how long a check
takes: patterns run on RE2 (linear time, as the JSON-mode check does), and the schema check
is the JSON-mode one (`output/jsoncheck.py`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from django import forms

from playground.output.jsoncheck import PatternNotSupported, check_json, regex_search


class Kind(enum.StrEnum):
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    EQUALS_EXPECTED = "equals_expected"
    REGEX = "regex"
    SCHEMA = "schema"


LABELS = {
    Kind.CONTAINS: "contains",
    Kind.NOT_CONTAINS: "does not contain",
    Kind.EQUALS_EXPECTED: 'equals "expected"',
    Kind.REGEX: "matches the regular expression",
    Kind.SCHEMA: "is valid against the JSON schema",
}
NEEDS_TEXT = {Kind.CONTAINS, Kind.NOT_CONTAINS, Kind.REGEX}


@dataclass(frozen=True, slots=True)
class Check:
    kind: Kind
    text: str = ""  # what to look for (contains, does not contain) or the pattern (regex)
    ignore_case: bool = False

    def __str__(self) -> str:
        label = LABELS[self.kind]
        return f"{label} {self.text!r}" if self.kind in NEEDS_TEXT else label


@dataclass(frozen=True, slots=True)
class Verdict:
    passed: bool | None  # None: the check could not apply (no "expected" for this row)
    why: str


def run_check(
    check: Check, answer: str, *, expected: str | None, schema: dict[str, Any] | None
) -> Verdict:
    """The check's verdict on one answer (`expected`: the row's, if its table has one;
    `schema`: the column's JSON schema, {} in plain JSON mode, None outside JSON mode)."""
    match check.kind:
        case Kind.CONTAINS | Kind.NOT_CONTAINS:
            found = _fold(check.text, check) in _fold(answer, check)
            wanted = check.kind is Kind.CONTAINS
            return Verdict(found == wanted, f"{'Has' if found else 'Lacks'} {check.text!r}.")
        case Kind.EQUALS_EXPECTED:
            if expected is None:
                return Verdict(None, 'This row has no "expected" value.')
            same = _fold(answer.strip(), check) == _fold(expected.strip(), check)
            return Verdict(same, "Equals the expected value." if same else "Differs from it.")
        case Kind.REGEX:
            pattern = f"(?i){check.text}" if check.ignore_case else check.text
            matched = regex_search(pattern, answer)
            return Verdict(matched, "Matches." if matched else "Does not match.")
        case Kind.SCHEMA:
            result = check_json(answer, schema or {})
            return Verdict(bool(result["ok"]), str(result["verdict"]))


def _fold(text: str, check: Check) -> str:
    return text.casefold() if check.ignore_case else text


class CheckForm(forms.Form):
    """One column's check, as the grid's panel sends it."""

    kind = forms.ChoiceField(choices=[(kind.value, label) for kind, label in LABELS.items()])
    text = forms.CharField(max_length=1000, required=False, strip=False)
    ignore_case = forms.BooleanField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, text = data.get("kind"), data.get("text") or ""
        if kind in NEEDS_TEXT and not text:
            self.add_error("text", f"Say what the answer {LABELS[Kind(kind)]}.")
        elif kind == Kind.REGEX:
            try:
                regex_search(text, "")
            except PatternNotSupported:
                self.add_error(
                    "text",
                    "This pattern cannot run here: write it in RE2 syntax (no backreferences"
                    " or lookaround), and check its brackets.",
                )
        return data

    def check(self) -> Check:
        data = self.cleaned_data
        text = data["text"] if data["kind"] in NEEDS_TEXT else ""
        return Check(Kind(data["kind"]), text, data["ignore_case"])
