"""JSON typed into a text box: parsed, or a message that says where it broke."""

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError


def parse_json(text: str, *, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).",
            code="json",
        ) from None
    except (ValueError, RecursionError) as exc:  # a 5000-digit number, nesting too deep
        raise ValidationError(f"{what} is not usable JSON: {exc}.", code="json") from None


class JSONTextField(forms.CharField):
    """A text box holding JSON of one kind (an object or a list); cleans to the parsed value,
    None when blank."""

    KINDS = {dict: "a JSON object", list: "a JSON list"}

    def __init__(self, *, what: str, kind: type, **kwargs):
        self.what = what
        self.kind = kind
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if not text:
            return None
        data = parse_json(text, what=self.what)
        if not isinstance(data, self.kind):
            raise ValidationError(f"{self.what} must be {self.KINDS[self.kind]}.", code="kind")
        return data


def is_json_schema_object(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type", "object") == "object"
