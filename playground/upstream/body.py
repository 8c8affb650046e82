"""The request body, built from validated parameters only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .endpoints import Flavour

# Parameters that only Fireworks understands; an OpenAI-flavoured server would reject them.
FIREWORKS_ONLY = frozenset(
    {
        "prompt_truncate_len",
        "context_length_exceeded_behavior",
        "top_k",
        "min_p",
        "repetition_penalty",
        "echo",
    }
)

ALWAYS_SENT = ("model", "messages", "stream")


def build_body(
    flavour: Flavour,
    params: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Model, messages and stream always; every other parameter only when it is set (not None),
    so the upstream's own defaults apply to the rest. `extra` (a raw JSON object the user wrote)
    is merged last."""
    body: dict[str, Any] = {key: params[key] for key in ALWAYS_SENT}
    for key, value in params.items():
        if key in ALWAYS_SENT or value is None:
            continue
        if flavour == Flavour.OPENAI and key in FIREWORKS_ONLY:
            continue
        body[key] = value
    if flavour == Flavour.OPENAI:
        _to_openai_dialect(body)
    if extra:
        body.update(extra)
    return body


def json_schema_of(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """{} in plain JSON mode, the schema when given, None outside JSON mode.

    Reads both spellings: Fireworks' {"type": "json_object", "schema": ...} and OpenAI's
    {"type": "json_schema", "json_schema": {"schema": ...}}. A schema that is not an object
    counts as none.
    """
    response_format = body.get("response_format")
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_object":
        schema = response_format.get("schema")
    elif response_format.get("type") == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
    else:
        return None
    return schema if isinstance(schema, dict) else {}


def _to_openai_dialect(body: dict[str, Any]) -> None:
    if body["stream"]:
        # OpenAI-style servers send usage in streams only when asked.
        body["stream_options"] = {"include_usage": True}
    schema = json_schema_of(body)
    if schema:
        # Fireworks takes {"type": "json_object", "schema": ...}; OpenAI spells it json_schema.
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": schema},
        }
    elif schema is not None:
        # An empty schema asks for nothing more than plain JSON mode, which OpenAI spells
        # without a `schema` key (its json_schema mode refuses an empty schema).
        body["response_format"] = {"type": "json_object"}
