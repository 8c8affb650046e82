"""The pace of a sender of frames: a token bucket that refills one send per tick and holds at
most BURST, so a sender no faster than the tick sends as things come (jitter included), and a
faster one once per tick. The relay paces a run's frames by it, the outbox a socket's."""

from __future__ import annotations

import asyncio
import time

BURST = 2.0


class Pace:
    def __init__(self, tick: float):
        self.tick = tick
        self._allowance = BURST
        self._refilled = time.monotonic()

    async def take(self, *, wait: bool = True) -> None:
        """A send's turn: at once while the bucket holds one, else after the wait for it
        (`wait` False: at once all the same, as for a run's last frames)."""
        self._refill()
        if self._allowance < 1 and wait:
            await asyncio.sleep((1 - self._allowance) * self.tick)
            self._refill()
        self._allowance -= 1

    def _refill(self) -> None:
        now = time.monotonic()
        if self.tick > 0:
            gained = (now - self._refilled) / self.tick
            self._allowance = min(BURST, self._allowance + gained)
        else:
            self._allowance = BURST
        self._refilled = now
