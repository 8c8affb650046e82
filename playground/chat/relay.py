"""Coalesces a run's deltas into frames: a token after a quiet spell goes out at once, a burst
goes out as one frame per tick, never one frame per token at high rates.

The pacing is a token bucket of frames (`pace.py`): a stream that is no faster than the tick
is sent as it arrives (jitter included), and a faster one is cut into one frame per tick.
Coalescing is not back-pressure by itself
(under Daphne a send returns at once, and Twisted buffers what the client has not read): the
relay takes text from the state only while the watchers have room in their acknowledgement
window (`room`), so text a slow client has not taken waits in the state, where it is kept
anyway, never in a queue of frames.

Each piece of text goes out once. Markdown is rendered block by block (`output/blocks.py`),
off the loop and at most RENDERS_PER_SECOND times a second per choice, each time what closed
within the next BLOCK_MAX characters. A block longer than that stays raw until the choice ends
(and so does what follows it: the page hides rendered text up to one point only); then the
rest is rendered, unless it is over FINAL_MAX.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from playground.output.blocks import Segments
from playground.output.offloop import render_choice, render_closed_blocks

from . import observe, runframes
from .frames import Atom, Unsplittable, pack
from .pace import Pace
from .state import ChoicePending, RunState

RENDERS_PER_SECOND = 4
BLOCK_MAX = 64 * 1024  # characters: a longer block stays raw until its choice ends
FINAL_MAX = 1024 * 1024  # characters left to render at the end past which they stay raw
RATE_EVERY = 0.25  # seconds between two updates of the run bar's live rate


class ChoiceView:
    """How far one choice's answer is rendered on the page, and where its raw segments are."""

    def __init__(self, index: int):
        self.index = index
        self.segments = Segments()
        self.segment = 0  # the raw segment new text goes into (#cN-text-S)
        self.starts: dict[int, int] = {}  # offset in the answer -> the segment beginning there
        self.rendered = 0  # the answer is rendered up to here; the page hides the raw before
        self.cut: int | None = None  # the segment the page shows the raw text from
        self.sent = 0  # the page has the raw answer up to here
        self.renders = 0  # numbers the ids of cut elements: unique per render
        self.next_render = 0.0
        self.tried = 0  # the last render looked at the answer up to here
        self.long_block = False  # a block over BLOCK_MAX: no more renders until the end
        self.raw = False  # rendering gave up: the page shows the raw text, with `note`
        self.note = ""

    def wants_render(self, now: float) -> bool:
        """Whether a render is due: new text may have closed a block, and one may go now."""
        return (
            not (self.raw or self.long_block)
            and self.sent > self.tried
            and now >= self.next_render
            and any(self.rendered < start <= self.rendered + BLOCK_MAX for start in self.starts)
        )


class Relay:
    def __init__(
        self,
        state: RunState,
        send: Callable[[str], Awaitable[None]],
        room: Callable[[], Awaitable[bool]],
        *,
        batch: asyncio.Lock,
        schema: dict[str, Any] | None,
        tick: float,
        render_timeout: float,
        frame_bytes: int,
        prefix: str = "",
    ):
        self.state = state
        self.prefix = prefix  # the ids of this run's boxes start with it (runframes.py)
        self.send = send
        self.room = room  # waits until the watchers can take another frame; False: none left
        # Held from taking text to sending its last frame: a page that starts watching waits
        # for it, so that its snapshot holds what was sent, and nothing still on the way.
        self.batch = batch
        self.schema = schema
        self.render_timeout = render_timeout
        self.frame_bytes = frame_bytes
        self.views: dict[int, ChoiceView] = {}
        self._dirty = asyncio.Event()
        self._closing = False
        self._pace = Pace(tick)
        self._wake: asyncio.TimerHandle | None = None
        self._waiting_since: float | None = None  # when the oldest text not yet sent came
        self._next_rate = 0.0

    def poke(self) -> None:
        """Something arrived: make sure a frame goes out within one tick."""
        if self._waiting_since is None:
            self._waiting_since = time.monotonic()
        self._dirty.set()

    def close(self) -> None:
        """Send what is left at once, then stop: `run` returns after its last frame."""
        self._closing = True
        self._dirty.set()

    async def run(self) -> None:
        try:
            while not self._closing:
                await self._dirty.wait()
                await self._pace.take(wait=not self._closing)
                await self._flush()
            while self.state.has_pending():
                await self._flush()
        finally:
            if self._wake is not None:
                self._wake.cancel()

    async def _flush(self) -> None:
        watched = await self.room()  # text not taken now stays in the state, coalescing
        self._dirty.clear()
        if not watched:
            self.state.drop_pending()
            return
        async with self.batch:
            await self._send_new()
        if self.state.has_pending():
            self._dirty.set()  # what is left waits on, its wait counted from its arrival
        else:
            self._waiting_since = None
        self._schedule_render()

    async def _send_new(self) -> None:
        pending = {p.index: p for p in self.state.take_pending(self.frame_bytes)}
        now = time.monotonic()
        due = [i for i, view in self.views.items() if view.wants_render(now)]
        parts = [
            await self._choice(self._view(index), pending.get(index), now)
            for index in sorted({*pending, *due})
        ]
        if pending:
            parts.append(self._rate(now))
        sent = False
        for frame in pack(itertools.chain.from_iterable(parts), self.frame_bytes):
            await self.room()
            await self.send(frame)
            sent = True
        if sent and self._waiting_since is not None:
            observe.ADDED_DELAY.observe(time.monotonic() - self._waiting_since)

    def _rate(self, now: float) -> Iterator[Atom]:
        """Tokens so far and their pace, for the run bar, a few times a second at most."""
        first = self.state.first_token_at
        if first is None or now <= first or now < self._next_rate:
            return iter(())
        self._next_rate = now + RATE_EVERY
        return runframes.rate(self.prefix, self.state.deltas, self.state.deltas / (now - first))

    def _view(self, index: int) -> ChoiceView:
        if index not in self.views:
            self.views[index] = ChoiceView(index)
        return self.views[index]

    async def _choice(
        self, view: ChoiceView, pending: ChoicePending | None, now: float
    ) -> Iterator[Atom]:
        """One choice's atoms: its new raw text, the blocks that closed, its end."""
        atoms: list[Iterator[Atom]] = []
        if pending is not None:
            atoms.append(runframes.reasoning(self.prefix, pending, self.frame_bytes))
            atoms.append(self._raw(view, pending))
            atoms.append(runframes.tool_calls(self.prefix, pending, self.frame_bytes))
        if pending is not None and pending.finished:
            atoms.append(await self._rest(view))
            atoms.append(runframes.finished(self.prefix, pending, view.note, self.frame_bytes))
            atoms.append(runframes.logprobs(self.prefix, pending, self.frame_bytes))
        elif self.schema is None and view.wants_render(now):
            atoms.append(await self._blocks(view, now))
        return itertools.chain.from_iterable(atoms)

    def _raw(self, view: ChoiceView, pending: ChoicePending) -> Iterator[Atom]:
        """The new text, each piece in the segment it belongs to. The view is brought up to
        date now; the atoms are made as they are sent."""
        start = pending.content_end - len(pending.content)
        cuts = [] if self.schema is not None else view.segments.starts(pending.content, start)
        pieces = []
        for low, high in itertools.pairwise([start, *cuts, pending.content_end]):
            if low in cuts:
                view.segment += 1
                view.starts[low] = view.segment
            pieces.append((low in cuts, view.segment, pending.content[low - start : high - start]))
        view.sent = pending.content_end
        return runframes.raw(self.prefix, view.index, pieces, self.frame_bytes)

    async def _blocks(self, view: ChoiceView, now: float) -> Iterator[Atom]:
        """The blocks that closed since the last render, rendered and appended, and the raw
        segments they were made of hidden."""
        view.next_render, view.tried = now + 1 / RENDERS_PER_SECOND, view.sent
        end = min(view.sent, view.rendered + BLOCK_MAX)
        text = self.state.choices[view.index].content.slice(view.rendered, end)
        starts = [start - view.rendered for start in view.starts if start > view.rendered]
        rendered = await render_closed_blocks(text, starts, limit=self.render_timeout)
        if rendered is None:
            return self._give_up(view, "Formatting took too long")
        length, html = rendered
        if not length:
            view.long_block = end < view.sent  # a block longer than BLOCK_MAX
            return iter(())
        view.rendered += length
        segment = view.cut = view.starts[view.rendered]
        view.starts = {s: n for s, n in view.starts.items() if s > view.rendered}
        hide = runframes.hide_raw_before(self.prefix, view.index, segment)
        return self._rendered(view, html, hide)

    async def _rest(self, view: ChoiceView) -> Iterator[Atom]:
        """At the choice's end: the rest of its answer rendered (in JSON mode, all of it,
        checked and pretty-printed) and its raw text hidden."""
        content = self.state.choices[view.index].content
        if view.raw or view.rendered == content.length:
            return iter(())
        if self.schema is None and content.length - view.rendered > FINAL_MAX:
            return self._give_up(view, "The rest of this answer is too long to format here")
        text = content.slice(view.rendered) if self.schema is None else content.value()
        html = await render_choice(text, self.schema, limit=self.render_timeout)
        if html is None:
            return self._give_up(view, "Formatting took too long")
        view.rendered = content.length
        return self._rendered(view, html, runframes.hide_raw_all(self.prefix, view.index))

    def _rendered(self, view: ChoiceView, html: str, hide: Iterator[Atom]) -> Iterator[Atom]:
        view.renders += 1
        try:
            atoms = runframes.rendered(
                self.prefix, view.index, html, self.frame_bytes, view.renders
            )
        except Unsplittable:
            return self._give_up(view, "This answer cannot be sent formatted")
        return itertools.chain(atoms, hide)

    def _give_up(self, view: ChoiceView, why: str) -> Iterator[Atom]:
        """Show the raw text from now on, with a note saying why."""
        view.raw = True
        view.note = f"{why}: the answer is shown as sent."
        return runframes.show_raw(self.prefix, view.index)

    def _schedule_render(self) -> None:
        """A block that closed while renders were held back is rendered when they may go."""
        if self._wake is not None or self._closing or self.schema is not None:
            return
        waiting = [v.next_render for v in self.views.values() if v.wants_render(float("inf"))]
        if waiting:
            delay = max(0.0, min(waiting) - time.monotonic())
            self._wake = asyncio.get_running_loop().call_later(delay, self._woken)

    def _woken(self) -> None:
        self._wake = None
        self.poke()
