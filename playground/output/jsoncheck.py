"""JSON-mode answers checked against the user's own schema, in time linear in the answer.

The schema is user input and the answer is model output, so neither may choose how long a
check takes. Python's `re` backtracks (`(a+)+$` on thirty a's and a b runs for minutes) and
holds the GIL while it does, so not even a thread bounds it: every regular expression the
schema brings is run by RE2 instead, whose matching is linear. A pattern RE2 cannot run
(backreferences, lookaround) is reported, not run.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import jsonschema
import re2
from jsonschema import ValidationError
from referencing.exceptions import Unresolvable

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is reported to the user, not to stderr


class PatternNotSupported(Exception):
    def __init__(self, pattern: str):
        super().__init__(f"pattern not supported: {pattern!r} (the check runs RE2 syntax)")


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error:
        raise PatternNotSupported(pattern) from None


def regex_search(pattern: str, text: str) -> bool:
    """Whether `pattern` (RE2 syntax) matches somewhere in `text`, in linear time; raises
    PatternNotSupported for a pattern RE2 cannot run."""
    return _compiled(pattern).search(text) is not None


class _KeywordValidator(Protocol):
    """What a keyword function uses of the validator running it (jsonschema's `Validator`
    protocol leaves out `descend`)."""

    def is_type(self, instance: Any, type: str) -> bool: ...

    def descend(
        self, instance: Any, schema: Any, path: str | None = None, schema_path: str | None = None
    ) -> Iterator[ValidationError]: ...


def _pattern(
    validator: _KeywordValidator, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not regex_search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: _KeywordValidator,
    patterns: Mapping[str, Any],
    instance: Any,
    schema: Mapping[str, Any],
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if regex_search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(
    validator: _KeywordValidator, allowed: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = sorted(
        key
        for key in instance
        if key not in properties and not any(regex_search(p, key) for p in patterns)
    )
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif not allowed and extras:
        yield ValidationError(f"Additional properties are not allowed ({', '.join(extras)}).")


def _validator_for(schema: dict[str, Any]) -> Any:
    base = jsonschema.validators.validator_for(schema)
    base.check_schema(schema)
    return jsonschema.validators.extend(
        base,
        {
            "pattern": _pattern,
            "patternProperties": _pattern_properties,
            "additionalProperties": _additional_properties,
        },
    )(schema)


def _keywords(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            yield key
            yield from _keywords(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _keywords(value)


def _unchecked_reason(schema: dict[str, Any]) -> str | None:
    """jsonschema evaluates unevaluatedProperties with Python's `re` over patternProperties,
    out of reach of the RE2 keywords above: such a schema is not run at all."""
    keywords = set(_keywords(schema))
    if {"unevaluatedProperties", "patternProperties"} <= keywords:
        return "unevaluatedProperties together with patternProperties is not checked here"
    return None


def pretty_json(value: Any, indent: int | None = 2) -> str:
    """Indented JSON (one line with `indent=None`), its text as readable characters. A lone
    surrogate, which clean text can still spell as an escape, stays that escape: UTF-8 (a page,
    a frame) cannot carry it."""
    pretty = json.dumps(value, indent=indent, ensure_ascii=False)
    try:
        pretty.encode()
    except UnicodeEncodeError:
        return pretty.encode("utf-8", "backslashreplace").decode()
    return pretty


def check_json(text: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Pretty-printed JSON and a verdict: valid, not JSON, or which schema rule failed."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return {"ok": False, "pretty": text, "verdict": f"Not valid JSON: {exc}"}
    pretty = pretty_json(value)
    if not schema:
        return {"ok": True, "pretty": pretty, "verdict": "Valid JSON."}
    return {"pretty": pretty, **_schema_verdict(value, schema)}


def _schema_verdict(value: Any, schema: dict[str, Any]) -> dict[str, Any]:
    if reason := _unchecked_reason(schema):
        return {"ok": False, "verdict": f"The schema cannot be applied: {reason}."}
    try:
        error = jsonschema.exceptions.best_match(_validator_for(schema).iter_errors(value))
    except jsonschema.SchemaError as exc:
        return {"ok": False, "verdict": f"The schema is invalid: {exc.message}"}
    except (Unresolvable, RecursionError, PatternNotSupported) as exc:
        # An unresolvable or endlessly recursive $ref, or a regex RE2 cannot run: say so, the
        # answer still shows.
        return {"ok": False, "verdict": f"The schema cannot be applied: {exc}"}
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(the document)"
        return {"ok": False, "verdict": f"Fails the schema at {where}: {error.message}"}
    return {"ok": True, "verdict": "Valid JSON that matches the schema."}
