"""What a page that starts watching a run mid-way is sent first: the run as the page would have
shown it so far. It is taken in the same synchronous step as the page joins the run's
watchers, between two of the relay's batches (`RunSession.watch`), so the run's next frame
follows it with nothing missing and nothing twice. Taking it only copies what the page was
sent; drawing it (rendering the answers so far, off the loop) comes after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from playground.output.offloop import render_choice
from playground.transcripts.models import Transcript

from . import fragments, runframes
from .frames import Unsplittable, pack
from .relay import FINAL_MAX, ChoiceView, Relay
from .services import Place
from .state import ChoicePending, ChoiceState, RunState, ToolCallPending


@dataclass(frozen=True, slots=True)
class ChoiceSnapshot:
    shown: runframes.Shown
    gave_up: str | None = None  # the relay shows this choice raw, and says why


@dataclass(frozen=True, slots=True)
class Snapshot:
    transcript: Transcript | None  # None: the page was sent nothing yet
    n: int
    schema: dict[str, Any] | None
    choices: tuple[ChoiceSnapshot, ...] = ()


def take(
    transcript: Transcript | None,
    state: RunState,
    relay: Relay | None,
    schema: dict[str, Any] | None,
) -> Snapshot:
    """What the page was sent of the run, copied (never a frame's worth still on its way)."""
    if transcript is None:
        return Snapshot(None, state.n, schema)
    views = relay.views if relay is not None else {}
    choices = tuple(
        _choice(state.choices[index], views.get(index) or ChoiceView(index))
        for index in sorted(state.choices)
    )
    return Snapshot(transcript, state.n, schema, choices)


def _choice(choice: ChoiceState, view: ChoiceView) -> ChoiceSnapshot:
    calls = tuple(
        ToolCallPending(
            key,
            True,
            call.id_sent or None,
            call.name[: call.name_sent],
            call.arguments.slice(0, call.arguments_sent),
        )
        for key, call in sorted(choice.tool_calls.items())
        if call.id_sent or call.name_sent or call.arguments_sent
    )
    done = choice.finish_sent
    pending = ChoicePending(
        choice.index,
        choice.reasoning.slice(0, choice.reasoning_sent),
        choice.content.slice(0, choice.content_sent),
        choice.content_sent,
        calls,
        finished=done,
        finish_reason=choice.finish_reason if done else None,
        has_tool_calls=bool(choice.tool_calls),
        logprobs=choice.logprobs if done else (),
    )
    marks = tuple(sorted((offset, segment) for segment, offset in _segments(view).items()))
    shown = runframes.Shown(pending, view.rendered, marks, view.cut)
    return ChoiceSnapshot(shown, view.note if view.raw else None)


def _segments(view: ChoiceView) -> dict[int, int]:
    """The raw segments a frame may still address, by number: the one shown from, and those
    after it (the relay forgets where segments before the rendered text began)."""
    segments = {segment: offset for offset, segment in view.starts.items()}
    if view.cut is not None:
        segments[view.cut] = view.rendered
    return segments


async def draw(snapshot: Snapshot, place: Place = fragments.SINGLE) -> list[str]:
    """The snapshot's frames, in order, each under the bound, into the run's `place`."""
    if snapshot.transcript is None:
        return []
    frames = [fragments.started(snapshot.transcript, snapshot.n, place)]
    for choice in snapshot.choices:
        frames += await choice_frames(choice.shown, snapshot.schema, choice.gave_up, place.prefix)
    return frames


async def choice_frames(
    shown: runframes.Shown,
    schema: dict[str, Any] | None,
    gave_up: str | None = None,
    prefix: str = "",
) -> list[str]:
    """One choice drawn, its answer rendered as far as the relay had (or as it ended)."""
    limit = settings.PLAYGROUND_FRAME_BYTES
    html, note = (None, gave_up) if gave_up is not None else await _rendered(shown, schema)
    try:
        return list(pack(runframes.draw(shown, html, note, limit, prefix), limit))
    except Unsplittable:
        note = "This answer cannot be sent formatted: it is shown as sent."
        return list(pack(runframes.draw(shown, None, note, limit, prefix), limit))


async def _rendered(
    shown: runframes.Shown, schema: dict[str, Any] | None
) -> tuple[str | None, str]:
    """The answer rendered as far as the page has it rendered, or None and why not (as a
    live run would say it)."""
    content = shown.pending.content[: shown.rendered]
    if not content:
        return "", ""
    if schema is None and len(content) > FINAL_MAX:
        return None, "This answer is too long to format here: it is shown as sent."
    html = await render_choice(content, schema, limit=settings.PLAYGROUND_RENDER_TIMEOUT)
    if html is None:
        return None, "Formatting took too long: the answer is shown as sent."
    return html, ""
