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

from . import fragments
from .state import RunState

BURST = 2.0


class Relay:
    def __init__(
        self,
        state: RunState,
        send: Callable[[str], Awaitable[None]],
        request_body: dict[str, Any],
        tick: float,
    ):
        self.state = state
        self.send = send
        self.request_body = request_body
        self.tick = tick
        self._dirty = asyncio.Event()
        self._allowance = BURST
        self._refilled = time.monotonic()

    def poke(self) -> None:
        """Something arrived: make sure a frame goes out within one tick."""
        self._dirty.set()

    async def run(self) -> None:
        while True:
            await self._dirty.wait()
            self._refill()
            if self._allowance < 1:
                await asyncio.sleep((1 - self._allowance) * self.tick)
                self._refill()
            self._allowance -= 1
            await self.flush()

    def _refill(self) -> None:
        now = time.monotonic()
        if self.tick > 0:
            gained = (now - self._refilled) / self.tick
            self._allowance = min(BURST, self._allowance + gained)
        else:
            self._allowance = BURST
        self._refilled = now

    async def flush(self) -> None:
        self._dirty.clear()
        html = fragments.deltas(self.state) + fragments.finished_choices(
            self.state, self.request_body
        )
        if html:
            await self.send(html)
