"""Coalesces a run's deltas into frames: a token after a quiet spell goes out at once, a burst
goes out as one frame per tick, never one frame per token at high rates.

The pacing is a token bucket of frames: it refills one frame per tick and holds at most
BURST, so a stream that is no faster than the tick is sent as it arrives (jitter included),
and a faster one is cut into one frame per tick. Coalescing is also the back-pressure: the
pending text is one growing buffer per choice, so a slow socket makes frames bigger, never the
queue longer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from playground.output.offloop import render_choice

from . import fragments
from .state import RunState

BURST = 2.0


class Relay:
    def __init__(
        self,
        state: RunState,
        send: Callable[[str], Awaitable[None]],
        *,
        schema: dict[str, Any] | None,
        tick: float,
        render_timeout: float,
    ):
        self.state = state
        self.send = send
        self.schema = schema
        self.tick = tick
        self.render_timeout = render_timeout
        self._dirty = asyncio.Event()
        self._closing = False
        self._allowance = BURST
        self._refilled = time.monotonic()

    def poke(self) -> None:
        """Something arrived: make sure a frame goes out within one tick."""
        self._dirty.set()

    def close(self) -> None:
        """Send what is left at once, then stop: `run` returns after its last frame."""
        self._closing = True
        self._dirty.set()

    async def run(self) -> None:
        while not self._closing:
            await self._dirty.wait()
            self._refill()
            if self._allowance < 1 and not self._closing:
                await asyncio.sleep((1 - self._allowance) * self.tick)
                self._refill()
            self._allowance -= 1
            await self._flush()
        await self._flush()

    def _refill(self) -> None:
        now = time.monotonic()
        if self.tick > 0:
            gained = (now - self._refilled) / self.tick
            self._allowance = min(BURST, self._allowance + gained)
        else:
            self._allowance = BURST
        self._refilled = now

    async def _flush(self) -> None:
        self._dirty.clear()
        pending = self.state.take_pending()
        if not pending:
            return
        html = fragments.deltas(pending)
        for choice in pending:
            if choice.finished is not None:
                rendered = await render_choice(
                    choice.finished["content"], self.schema, limit=self.render_timeout
                )
                html += fragments.choice_done(choice.finished, rendered)
        await self.send(html)
