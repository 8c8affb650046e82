"""How a model's answer is shown: Markdown sanitised, or JSON checked against its schema.

Shared by the live page, the transcript page and the admin, so all three show one answer
the same way. Everything here is a pure function of plain data (no model instances), so the
run socket can call it on a worker thread.
"""

from __future__ import annotations

from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString

from playground.upstream import json_schema_of

from .jsoncheck import check_json
from .logprobs import render_logprobs
from .markdown import render_markdown


def render_choice_html(content: str, schema: dict[str, Any] | None) -> SafeString:
    """A finished choice's answer as shown: checked JSON in JSON mode, else Markdown."""
    if schema is not None and content:
        checked = check_json(content, schema)
        return format_html(
            '<p class="verdict {}">{}</p><pre class="json">{}</pre>',
            "ok" if checked["ok"] else "bad",
            checked["verdict"],
            checked["pretty"],
        )
    return render_markdown(content)


def rendered_choices(
    choices: list[dict[str, Any]],
    request_body: dict[str, Any],
    logprobs: list[dict[str, Any]] | None = None,
) -> list[dict]:
    """A transcript's choices, each with its answer as shown (for its page and the admin),
    and its tokens' log probabilities when the run asked for them."""
    schema = json_schema_of(request_body)
    tokens = {entry.get("index"): entry.get("content") or [] for entry in logprobs or ()}
    return [
        {
            **choice,
            "html": render_choice_html(choice.get("content") or "", schema),
            "logprobs_html": render_logprobs(tokens.get(choice.get("index"), [])),
        }
        for choice in choices
    ]
