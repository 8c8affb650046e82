"""Coalesces a run's deltas into frames: at once after a quiet tick, else one frame per tick.

Coalescing is also the back-pressure: pending text is one growing buffer per choice, so a
slow socket makes frames bigger, never the queue longer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from . import fragments
from .state import RunState


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
        self._last_frame = 0.0
        self.frames = 0

    def poke(self) -> None:
        """Something arrived: make sure a frame goes out within one tick."""
        self._dirty.set()

    async def run(self) -> None:
        while True:
            await self._dirty.wait()
            wait = self._last_frame + self.tick - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            await self.flush()

    async def flush(self) -> None:
        self._dirty.clear()
        html = fragments.deltas(self.state) + fragments.finished_choices(
            self.state, self.request_body
        )
        self._last_frame = time.monotonic()
        if html:
            self.frames += 1
            await self.send(html)
