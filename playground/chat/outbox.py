"""One socket's frames, from every run it watches, sent as one message per tick at most.

A compare's columns each have their own relay, and each relay sends up to a frame per tick:
without this a socket watching four columns would get four messages a tick. A socket that
watches one run sends its frames as they come (its relay paces them already; every extra hop
through the loop would add to the delay when it is busy). One that watches several queues
them, paced as a relay paces its run (`pace.py`: one message per tick, in short bursts): the
frames that come within one tick go out together, in order, joined under the frame bound.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable

from .frames import HEADER, joinable
from .pace import Pace

_open: weakref.WeakSet[Outbox] = weakref.WeakSet()  # those of this process's sockets


async def send_all(within: float) -> None:
    """Send every socket's waiting frames (a server that stops sends its runs' last frames
    before it closes the sockets), within `within` seconds."""
    pending = [outbox._flushing for outbox in list(_open) if outbox._flushing is not None]
    if pending and within > 0:
        await asyncio.wait(pending, timeout=within)


class Outbox:
    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        shared: Callable[[], bool],
        *,
        tick: float,
        limit: int,
    ):
        self.send = send  # numbers a message and puts it on the socket
        self.shared = shared  # whether the socket watches several runs
        self.budget = limit - HEADER
        self.frames: list[str] = []
        self._pace = Pace(tick)
        self._flushing: asyncio.Task[None] | None = None
        self.failed: BaseException | None = None  # what the last send raised, for the next put
        _open.add(self)

    def __len__(self) -> int:
        return len(self.frames)

    async def put(self, frame: str) -> None:
        if self.failed is not None:
            raise self.failed
        if not self.frames and self._flushing is None and not self.shared():
            await self.send(frame)
            return
        self.frames.append(frame)
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush(), name="socket outbox")

    def close(self) -> None:
        if self._flushing is not None:
            self._flushing.cancel()

    async def _flush(self) -> None:
        try:
            while self.frames:
                await self._pace.take()
                await asyncio.sleep(0)  # what the loop's other runs have ready joins in
                await self.send(self._message())
        except Exception as error:
            self.failed = error
            self.frames.clear()
        finally:
            self._flushing = None

    def _message(self) -> str:
        """The frames waiting, joined as far as they fit one message."""
        first = self.frames.pop(0)
        if not joinable(first):
            return first
        parts, size = [first], len(first.encode())
        while self.frames and joinable(self.frames[0]):
            more = len(self.frames[0].encode())
            if size + more > self.budget:
                break
            parts.append(self.frames.pop(0))
            size += more
        return "".join(parts)
