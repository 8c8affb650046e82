"""What a socket is sent, read and checked before the consumer acts on it.

The page sends one JSON object per frame: an `action` and the form's fields, flat (text,
numbers, true/false, or a list of them for a repeated name), plus the `HEADERS` object htmx
adds. Anything else, from a broken page or a hand-made client, is refused here with a message
the page can show, so that no handler ever sees a shape it does not expect.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

NOT_AN_OBJECT = "The message was not a JSON object."
UNREADABLE = "The message could not be read: it nests too deeply or has a number too long."
_SCALARS = (str, int, float, bool, type(None))
_KINDS = {dict: "an object", list: "a list", bool: "true/false", int: "a number", float: "a number"}
_SHOWN = 40  # characters of a bad value quoted back: enough to recognise it, never the whole


class BadMessage(Exception):
    """A frame the socket cannot act on; its text is what the page is told."""


def read_message(text: str | None, actions: Collection[str]) -> tuple[str, dict[str, Any]]:
    """The action and the fields of one frame, or BadMessage saying what is wrong with it."""
    try:
        data = json.loads(text or "")
    except json.JSONDecodeError:
        raise BadMessage(NOT_AN_OBJECT) from None
    except (ValueError, RecursionError):  # a number of over 4,300 digits; nesting too deep
        raise BadMessage(UNREADABLE) from None
    if not isinstance(data, dict):
        raise BadMessage(NOT_AN_OBJECT)
    action = data.get("action")
    if action is None:
        raise BadMessage(f"The message names no action: send one of {', '.join(actions)}.")
    if not isinstance(action, str):
        raise BadMessage(
            f"The action must be a name, not {_KINDS[type(action)]}: send one of"
            f" {', '.join(actions)}."
        )
    if action not in actions:
        raise BadMessage(f"Unknown action {_quoted(action)}: send one of {', '.join(actions)}.")
    for name, value in data.items():
        if name != "HEADERS" and not _flat(value):
            raise BadMessage(
                f"The field {_quoted(name)} holds {_KINDS[type(value)]}: a field must be text,"
                " a number, true/false, null or a list of those."
            )
    return action, data


def _flat(value: Any) -> bool:
    if isinstance(value, list):
        return all(isinstance(item, _SCALARS) for item in value)
    return isinstance(value, _SCALARS)


def _quoted(text: str) -> str:
    """A name as the page is told of it: quoted and cut short (repr escapes NUL and lone
    surrogates, which the frame could not carry)."""
    return repr(text[:_SHOWN]) + ("…" if len(text) > _SHOWN else "")
