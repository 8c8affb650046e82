"""Model output is untrusted: Markdown without raw HTML, then sanitised; images become links."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import nh3
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from referencing.exceptions import Unresolvable

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li",
    "a", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "code": {"class"}}


def _image_as_link(renderer, tokens, index, options, env) -> str:
    """An image from elsewhere could carry data out in its URL, so it is shown as a link."""
    token = tokens[index]
    alt = "".join(child.content for child in token.children or ()) or token.attrGet("src")
    return str(format_html('<a href="{}">[image: {}]</a>', token.attrGet("src") or "", alt))


_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"]
)
_markdown.add_render_rule("image", _image_as_link)


def render_markdown(text: str) -> SafeString:
    html = _markdown.render(text)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308  nh3 has just sanitised it


def json_schema_of(request_body: dict[str, Any]) -> dict[str, Any] | None:
    """{} in plain JSON mode, the schema when given, None outside JSON mode."""
    response_format = request_body.get("response_format") or {}
    if response_format.get("type") == "json_object":
        return response_format.get("schema") or {}
    if response_format.get("type") == "json_schema":
        return (response_format.get("json_schema") or {}).get("schema") or {}
    return None


def check_json(text: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Pretty-printed JSON and a verdict: valid, not JSON, or which schema rule failed."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return {"ok": False, "pretty": text, "verdict": f"Not valid JSON: {exc}"}
    pretty = json.dumps(value, indent=2, ensure_ascii=False)
    if not schema:
        return {"ok": True, "pretty": pretty, "verdict": "Valid JSON."}
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(part) for part in exc.absolute_path) or "(the document)"
        return {
            "ok": False,
            "pretty": pretty,
            "verdict": f"Fails the schema at {where}: {exc.message}",
        }
    except jsonschema.SchemaError as exc:
        return {"ok": False, "pretty": pretty, "verdict": f"The schema is invalid: {exc.message}"}
    except (Unresolvable, RecursionError) as exc:
        # An unresolvable or endlessly recursive $ref: say so, the answer still shows.
        return {"ok": False, "pretty": pretty, "verdict": f"The schema cannot be applied: {exc}"}
    return {"ok": True, "pretty": pretty, "verdict": "Valid JSON that matches the schema."}


def rendered_choices(choices: list[dict[str, Any]], request_body: dict[str, Any]) -> list[dict]:
    """A transcript's choices, each with its answer as shown (for its page and the admin)."""
    return [{**choice, "html": render_choice_html(choice, request_body)} for choice in choices]


def render_choice_html(choice: dict[str, Any], request_body: dict[str, Any]) -> SafeString:
    """A finished choice's answer as it is shown: checked JSON in JSON mode, else Markdown."""
    content = choice.get("content") or ""
    schema = json_schema_of(request_body)
    if schema is not None and content:
        checked = check_json(content, schema)
        return format_html(
            '<p class="verdict {}">{}</p><pre class="json">{}</pre>',
            "ok" if checked["ok"] else "bad",
            checked["verdict"],
            checked["pretty"],
        )
    return render_markdown(content)
