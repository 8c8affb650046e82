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


def _to_openai_dialect(body: dict[str, Any]) -> None:
    if body["stream"]:
        # OpenAI-style servers send usage in streams only when asked.
        body["stream_options"] = {"include_usage": True}
    response_format = body.get("response_format")
    if response_format and response_format.get("schema") is not None:
        # Fireworks takes {"type": "json_object", "schema": ...}; OpenAI spells it json_schema.
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": response_format["schema"]},
        }
