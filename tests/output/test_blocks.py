"""Markdown rendered block by block as it streams reads exactly as the whole answer rendered
at once: the live page and the transcript show one answer the same way."""

import itertools
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playground.output.blocks import Segments, render_closed
from playground.output.markdown import render_markdown


def streamed(chunks: list[str], render_after: list[bool]) -> tuple[str, int]:
    """What the relay does: the raw text in segments, a render of the closed blocks after some
    chunks, the rest rendered at the end. The HTML, and how many renders came before it."""
    segments, starts, sent, rendered, html, renders = Segments(), [], "", 0, "", 0
    for chunk, render in zip(chunks, render_after, strict=True):
        starts += segments.starts(chunk, len(sent))
        sent += chunk
        if render:
            end, part = render_closed(
                sent[rendered:], [s - rendered for s in starts if s > rendered]
            )
            if end:
                html, rendered, renders = html + part, rendered + end, renders + 1
    return html + render_markdown(sent[rendered:]), renders


CASES = {
    "paragraphs": "One *para*\ngraph.\n\nTwo.\n\n\nThree, after two blank lines.\n",
    "loose list": "- a\n\n- b\n\n  more of b\n\n- c\n\nAfter the list.\n",
    "tight then loose": "- a\n- b\n\nPara\n\n1. one\n\n2. two\n3) other list\n",
    "nested lists": "- a\n  - a1\n\n  - a2\n- b\n\n    1. deep\n\n    2. deeper\n\nEnd\n",
    "fence with blank lines": "Code:\n\n```python\nx = 1\n\n\ny = 2\n```\nAfter.\n\nMore.\n",
    "unclosed fence": "Intro\n\n~~~\nnever closed\n\nstill code\n",
    "indented code": "Para\n\n    code\n\n    more code\n\nPara again\n",
    "table": "| a | b |\n|---|---|\n| 1 | 2 |\n\n| c |\n|---|\n| 3 |\nLazy row\n\nEnd\n",
    "paragraph into table": "text\na | b\n--|--\n1 | 2\n\nafter\n",
    "setext heading": "Title\n=====\n\nSub\n---\n\nText\n\n---\n\n***\n",
    "reference links": "[foo] and [bar][foo]\n\n[foo]: http://example.com\n\n[foo]\n",
    "blockquote": "> quote\n> more\n\n> another\n\nlazy\n> q\ncontinued\n\nEnd\n",
    "crlf": "A\r\n\r\nB\r\n- x\r\n\r\n- y\r\n\r\nC\r",
    "headings": "# One\nText\n## Two\n\n### Three\n",
    "html is text": "<b>bold?</b>\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))\n",
}


@pytest.mark.parametrize("text", CASES.values(), ids=CASES.keys())
def test_rendering_as_it_streams_reads_as_the_whole(text):
    whole = render_markdown(text)
    for size in (1, 3, 7, len(text)):
        chunks = [text[i : i + size] for i in range(0, len(text), size)]
        assert streamed(chunks, [True] * len(chunks))[0] == whole, size


def test_closed_blocks_are_rendered_before_the_answer_ends():
    text = "One.\n\nTwo.\n\n- a\n- b\n\nThree.\n\nOpen"
    html, renders = streamed(list(text), [True] * len(text))
    assert html == render_markdown(text)
    # One, Two and the list, each once the next block's first line is whole; Three waits
    # for a whole line of "Open", which never comes before the end.
    assert renders == 3


def test_a_loose_list_is_not_rendered_until_it_ends():
    text = "- a\n\n- b\n\n"
    assert render_closed(text, [5])[0] == 0, "the list may go on"
    assert render_closed(text + "After\n", [5, 10])[0] == 10


LINES = st.sampled_from(
    [
        "",
        "",
        "text",
        "*em* and **strong** `code` ~~del~~",
        "[link](http://example.com) ![img](http://example.com/i.png)",
        "- item",
        "* star",
        "1. one",
        "2) two",
        "  - nested",
        "    indented",
        "  continued",
        "> quote",
        "# heading",
        "===",
        "---",
        "***",
        "```",
        "~~~",
        "```js",
        "| a | b |",
        "|---|---|",
        "a | b",
        "[ref]: http://example.com",
        "[ref] and [x][ref]",
        "<p>html</p> & < >",
        "\t\ttabbed",
    ]
)


@st.composite
def streams(draw):
    """An answer of Markdown-ish lines, cut into small chunks (sizes drawn, then repeated),
    with a render after some of them."""
    lines = draw(st.lists(LINES, min_size=2, max_size=30))
    text = draw(st.sampled_from(["\n", "\r\n"])).join(lines) + draw(st.sampled_from(["", "\n"]))
    sizes = itertools.cycle(draw(st.lists(st.integers(1, 12), min_size=1, max_size=8)))
    renders = itertools.cycle(draw(st.lists(st.booleans(), min_size=1, max_size=8)))
    chunks, start = [], 0
    while start < len(text):
        chunks.append(text[start : start + next(sizes)])
        start += len(chunks[-1])
    return text, chunks, [next(renders) for _ in chunks]


@settings(
    max_examples=1000, deadline=None, derandomize=os.environ.get("CI") == "true", database=None
)
@given(streams())
def test_any_answer_cut_anywhere_reads_as_the_whole(stream):
    text, chunks, render_after = stream
    assert streamed(chunks, render_after)[0] == render_markdown(text)
