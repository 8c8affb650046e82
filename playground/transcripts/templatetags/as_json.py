"""`{{ value|as_json }}`: a value from a request body shown as the JSON it was sent as, not as
Python's repr (single quotes, True, None)."""

from typing import Any

from django import template

from playground.output.jsoncheck import pretty_json

register = template.Library()


@register.filter
def as_json(value: Any, indent: bool = False) -> str:
    """One line, or indented with `|as_json:True`."""
    return pretty_json(value, indent=2 if indent else None)
