"""JSON typed into a text box: parsed, or a message that says where it broke."""

import json
from typing import Any

from django.core.exceptions import ValidationError


def parse_json(text: str, *, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).",
            code="json",
        ) from None


def is_json_schema_object(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type", "object") == "object"
