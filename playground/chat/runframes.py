"""The atoms of a streaming run's frames, each an out-of-band swap into one choice's box
(`chat/partials/choice_box.html`). Every id starts with the run's `prefix`: "" for a run of its
own, `k<column>-` for a compare's column, so that columns never write into each other's boxes.

A choice's raw answer goes into segments (`#cN-text-S`), each piece once; its rendered blocks
are appended to `#cN-view`. Among the segments, the last `<i class="cut">` hides those before
it (they are rendered above), so the page shows the rendered blocks, then the raw text of
the block still open; a toggle shows the raw text whole. Tool calls have a box each, whose
name and arguments are appended as they come.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string

from playground.output.logprobs import logprob_pieces, logprobs_dict

from .frames import HEADER, Atom, html_atoms, text_atoms
from .state import ChoicePending, ToolCallPending

SHOWN_FINISH_REASON = 200  # characters of a finish reason the page shows (an upstream says it)


def reasoning(prefix: str, pending: ChoicePending, limit: int) -> Iterator[Atom]:
    return text_atoms(f"{prefix}c{pending.index}-reasoning", pending.reasoning, limit)


def raw(
    prefix: str, index: int, pieces: Iterable[tuple[bool, int, str]], limit: int
) -> Iterator[Atom]:
    """Pieces of the answer as (whether it opens a new segment, the segment, the text)."""
    text = f"{prefix}c{index}-text"
    for opens, segment, piece in pieces:
        if opens:
            yield Atom.of(
                f'<div hx-swap-oob="beforeend:#{text}"><span id="{text}-{segment}"></span></div>'
            )
        yield from text_atoms(f"{text}-{segment}", piece, limit)


def tool_calls(prefix: str, pending: ChoicePending, limit: int) -> Iterator[Atom]:
    for call in pending.tool_calls:
        box = f"{prefix}c{pending.index}-tool-{call.index}"
        if call.new:
            context = {"p": prefix, "index": pending.index, "box": box}
            yield Atom.of(render_to_string("chat/partials/tool_call.html", context))
        if call.id is not None:
            yield from text_atoms(f"{box}-id", call.id, limit, swap="innerHTML")
        yield from text_atoms(f"{box}-name", call.name, limit)
        yield from text_atoms(f"{box}-args", call.arguments, limit)


def rendered(prefix: str, index: int, html: str, limit: int, render: int) -> Iterator[Atom]:
    """Rendered blocks appended to the choice's view; raises Unsplittable at once."""
    box = f"{prefix}c{index}"
    return html_atoms(f"{box}-view", html, limit, ids=f"{box}-r{render}-")


def hide_raw_before(prefix: str, index: int, segment: int) -> Iterator[Atom]:
    target = f"{prefix}c{index}-text-{segment}"
    yield Atom.of(f'<div hx-swap-oob="beforebegin:#{target}"><i class="cut"></i></div>')


def hide_raw_all(prefix: str, index: int) -> Iterator[Atom]:
    target = f"{prefix}c{index}-text"
    yield Atom.of(f'<div hx-swap-oob="beforeend:#{target}"><i class="cut"></i></div>')


def show_raw(prefix: str, index: int) -> Iterator[Atom]:
    """Rendering gave up: the raw text is shown whole (the toggle, ticked)."""
    context = {"p": prefix, "index": index, "raw": True, "oob": True}
    yield Atom.of(render_to_string("chat/partials/raw_toggle.html", context))


def finished(prefix: str, pending: ChoicePending, note: str, limit: int) -> Iterator[Atom]:
    """The choice's finish reason and its actions. Continue and "Add tool results" read the
    answer and the calls from the page, where they already are."""
    reason = pending.finish_reason or ""
    context = {
        "p": prefix,
        "index": pending.index,
        "reason": reason[:SHOWN_FINISH_REASON],  # blank: the upstream gave none
        "cut_short": len(reason) > SHOWN_FINISH_REASON,
        "note": note,
        "has_tool_calls": pending.has_tool_calls,
    }
    yield Atom.of(render_to_string("chat/partials/choice_done.html", context))


def logprobs(prefix: str, pending: ChoicePending, limit: int) -> Iterator[Atom]:
    """A finished choice's tokens tinted by probability: the box, then the tokens appended in
    pieces under the bound. Never while the choice streams (each token's HTML is some 100
    bytes, with its alternatives)."""
    if not pending.logprobs:
        return
    choice = f"{prefix}c{pending.index}"
    tokens = f"{choice}-lp"
    box = render_to_string("partials/logprobs.html", {"tokens": "", "tokens_id": tokens})
    yield Atom.of(f'<div hx-swap-oob="beforeend:#{choice}">{box}</div>')
    opening, closing = f'<div hx-swap-oob="beforeend:#{tokens}">', "</div>"
    room = limit - HEADER - len(opening) - len(closing)
    content = logprobs_dict(pending.index, pending.logprobs)["content"]
    for piece in logprob_pieces(content, room):
        yield Atom.of(f"{opening}{piece}{closing}")


def rate(prefix: str, tokens: int, per_second: float) -> Iterator[Atom]:
    """The run bar's (or the column's) live figures while a run streams."""
    yield Atom.of(
        f'<output id="{prefix}run-rate" class="hint" hx-swap-oob="true">{tokens:,} tokens ·'
        f" {per_second:,.1f} tokens/s</output>"
    )


@dataclass(frozen=True, slots=True)
class Shown:
    """One choice as the page has it, to draw it again on a page that was not there: all of
    its text so far as one piece (`finished` when the page has its end too), how far the
    answer is rendered, and the raw segments the run's next frames may still address."""

    pending: ChoicePending
    rendered: int = 0
    marks: tuple[tuple[int, int], ...] = ()  # (offset, segment), in order
    cut: int | None = None  # the segment the raw text is shown from (see relay.ChoiceView)

    def pieces(self) -> Iterator[tuple[bool, int, str]]:
        """The raw answer for `raw`: what no frame addresses any more in segment 0, then
        each addressable segment, made with its own id."""
        content = self.pending.content
        bounds = [(0, 0), *[(o, s) for o, s in self.marks if s != 0], (len(content), 0)]
        for (start, segment), (end, _) in itertools.pairwise(bounds):
            yield segment != 0, segment, content[start:end]


def finished_choice(choice: dict[str, Any]) -> Shown:
    """A finished choice of a transcript, as its run's last frames left it."""
    calls = tuple(
        ToolCallPending(
            n, True, call["id"], call["function"]["name"], call["function"]["arguments"]
        )
        for n, call in enumerate(choice.get("tool_calls") or [])
    )
    content = choice.get("content") or ""
    pending = ChoicePending(
        choice["index"],
        choice.get("reasoning") or "",
        content,
        len(content),
        calls,
        finished=True,
        finish_reason=choice.get("finish_reason"),
        has_tool_calls=bool(calls),
    )
    return Shown(pending, rendered=len(content))


def draw(shown: Shown, html: str | None, note: str, limit: int, prefix: str = "") -> Iterator[Atom]:
    """A choice as the page would have shown it live, in its run's place (`prefix`): its text
    once, its tool calls, its answer rendered so far (`html`; None: shown raw, `note` says
    why), its end if it came. The rendered blocks take ids of their own (render 0), which no
    live render uses."""
    pending, index = shown.pending, shown.pending.index
    yield from reasoning(prefix, pending, limit)
    yield from raw(prefix, index, shown.pieces(), limit)
    yield from tool_calls(prefix, pending, limit)
    if html is None:
        yield from show_raw(prefix, index)
    elif html:
        yield from rendered(prefix, index, html, limit, render=0)
        if pending.finished:
            yield from hide_raw_all(prefix, index)
        elif shown.cut is not None:
            yield from hide_raw_before(prefix, index, shown.cut)
    if pending.finished:
        yield from finished(prefix, pending, note, limit)
        yield from logprobs(prefix, pending, limit)
