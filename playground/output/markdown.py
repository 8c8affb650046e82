"""Model output is untrusted: Markdown without raw HTML, then sanitised; images become links.

An answer is rendered block by block while it streams (`blocks.py`), and that must read
the same as rendering it whole: reference definitions are not recognised, since one defined
below a link would change how text above it reads, after that text was shown.
"""

from __future__ import annotations

import re
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


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False})
    return md.enable(["table", "strikethrough"]).disable("reference")


_markdown = _parser()
_markdown.add_render_rule("image", _image_as_link)
# The same block rules without inline parsing: where the blocks of a text are, cheaply.
_blocks = _parser().disable("inline")
_LINE_END = re.compile(r"\r\n?|\n")


def block_starts(text: str) -> list[int]:
    """Where the top-level blocks of a growing text begin, but the first: before each of them,
    everything is closed blocks that more text cannot change (the last block may yet grow: a
    paragraph can become a heading or a table, a list can go on after a blank line). Only
    complete lines are read."""
    complete = _complete_lines(text)
    tokens = _blocks.parse(complete)
    lines = [t.map[0] for t in tokens if t.level == 0 and t.nesting >= 0 and t.map]
    return [_line_offset(complete, line) for line in lines if line > 0]


def _complete_lines(text: str) -> str:
    """The text up to its last line break ("\r" at the very end may yet be "\r\n")."""
    end = max(text.rfind("\n"), text.rfind("\r", 0, len(text) - 1)) + 1
    return text[:end]


def _line_offset(text: str, line: int) -> int:
    """Where line number `line` begins, counting line breaks as markdown-it does."""
    if line == 0:
        return 0
    for count, match in enumerate(_LINE_END.finditer(text), start=1):
        if count == line:
            return match.end()
    return len(text)


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
