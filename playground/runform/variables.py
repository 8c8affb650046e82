"""Variables in messages: `{{name}}` stands for a value typed beside the conversation.

Our own small parser, on purpose: a message is never a Django or Jinja template, so `{% debug %}`,
`{{ a|safe }}` or `{{ a.b }}` in it stay text. Only `{{` + an identifier + `}}` (spaces allowed
inside the braces) is a variable; `\\{{` writes `{{` as text. Values are put in in one pass, so
a value that itself holds `{{x}}` is kept as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# An escape, or a variable: one pass over the text sees each in its place.
TOKEN = re.compile(r"\\\{\{|\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}")
ESCAPE = "\\{{"
MAX_VARIABLES = 50
# What in a message is fixed by the API, never a template: the role and a tool call's type.
NOT_TEMPLATES = frozenset({"role", "type"})


class MissingValues(Exception):
    """Variables without a value; `names` in the order they appear."""

    def __init__(self, names: list[str]):
        super().__init__(f"No value for {', '.join(names)}.")
        self.names = names


def names_in(texts: Iterable[str]) -> list[str]:
    """Each variable's name once, in the order the texts first use it."""
    found: dict[str, None] = {}
    for text in texts:
        for match in TOKEN.finditer(text):
            if match[1]:
                found.setdefault(match[1])
    return list(found)


def has_variables(text: str) -> bool:
    return any(match[1] for match in TOKEN.finditer(text))


def substitute(text: str, values: Mapping[str, str]) -> str:
    """The text with each variable's value put in and each escape made `{{`."""
    missing = [name for name in names_in([text]) if name not in values]
    if missing:
        raise MissingValues(missing)
    return TOKEN.sub(lambda match: values[match[1]] if match[1] else "{{", text)


def substitute_message(message: dict[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """A message with every text in it substituted: content, name, tool_call_id, and its tool
    calls' ids, names and arguments."""
    return {
        key: value if key in NOT_TEMPLATES else _substitute_any(value, values)
        for key, value in message.items()
    }


def _substitute_any(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return substitute(value, values)
    if isinstance(value, dict):
        return substitute_message(value, values)
    if isinstance(value, list):
        return [_substitute_any(item, values) for item in value]
    return value
