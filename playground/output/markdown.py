"""Model output is untrusted: Markdown without raw HTML, then sanitised; images become links."""

from __future__ import annotations

from collections.abc import Sequence

import nh3
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererProtocol
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li",
    "a", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "code": {"class"}}
# A code block or a table wider than the answer scrolls inside it: focusable, so that a
# keyboard can scroll it too.
SCROLLERS = {"pre": {"tabindex": "0"}, "table": {"tabindex": "0"}}


def _image_as_link(
    renderer: RendererProtocol,
    tokens: Sequence[Token],
    index: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
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
        set_tag_attribute_values=SCROLLERS,
    )
    return mark_safe(clean)  # noqa: S308  nh3 has just sanitised it
