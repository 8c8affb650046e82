"""The clients of bench/relay.py: one stream each, read to its end, every token timed.

The simulator in benchmark mode writes numbered tokens, each stamped with the time it was
written (` 12@1764123456.123456`). A reader keeps, for every token, its number, that stamp,
when it arrived and in which read (an SSE chunk, a websocket frame) it came, so that tokens
that arrived glued together can be counted.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field

import httpx
import websockets

from tests.helpers import FINAL, ack_for, appended, form_data

from .common import socket_headers

TOKEN = re.compile(r" (\d+)@(\d+\.\d+)")
# What the socket says instead of starting a run (a limit, a full process, an outage).
NOTICE = re.compile(r'<div class="error-box" role="alert">([^<]*)</div>')


def bench_model(tokens: int, tps: float) -> str:
    return f"simulator/chat?bench=1&tps={tps:g}&tokens={tokens}"


@dataclass
class Stream:
    sent: float = 0.0  # wall time the request (or the socket's form) went out
    numbers: list[int] = field(default_factory=list)
    emitted: list[float] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)
    reads: list[int] = field(default_factory=list)  # which read each token came in
    status: str = "unfinished"
    frames: int = 0  # reads that carried a token

    def take(self, text: str, read: int) -> None:
        arrived = time.time()
        found = TOKEN.findall(text)
        for number, stamp in found:
            self.numbers.append(int(number))
            self.emitted.append(float(stamp))
            self.arrived.append(arrived)
            self.reads.append(read)
        self.frames += bool(found)


async def read_sse(client: httpx.AsyncClient, url: str, model: str, stream: Stream) -> None:
    """An OpenAI-compatible SSE stream, as a program reading the upstream itself would."""
    body = {"model": model, "messages": [{"role": "user", "content": "bench"}], "stream": True}
    stream.sent = time.time()
    async with client.stream("POST", url, json=body) as response:
        if response.status_code != 200:
            stream.status = f"HTTP {response.status_code}"
            return
        rest, read = "", 0
        async for chunk in response.aiter_text():
            read += 1
            complete, _, rest = (rest + chunk).rpartition("\n")
            stream.take(complete, read)
            if "[DONE]" in complete:
                stream.status = "completed"


class Starter:
    """Holds every stream of a phase until all are ready (a page opens its socket when it
    loads, long before Run), then lets each go `offset` seconds after the common start."""

    def __init__(self, count: int):
        self.count, self.ready, self.at = count, 0, 0.0
        self.go = asyncio.Event()

    async def wait(self, offset: float) -> None:
        self.ready += 1
        self._go_when_all_ready()
        await self.go.wait()
        await asyncio.sleep(max(0.0, self.at + offset - time.monotonic()))

    def leave(self) -> None:
        """A stream that could not get ready (its socket was refused) is not waited for."""
        self.count -= 1
        self._go_when_all_ready()

    def _go_when_all_ready(self) -> None:
        if self.ready >= self.count and not self.go.is_set():
            self.at = time.monotonic() + 0.1
            self.go.set()


async def read_socket(
    url: str, cookie: str, model: str, start: Starter, offset: float, stream: Stream
) -> None:
    """The app's run socket, as the page uses it: the form out, frames in, acknowledged."""
    headers = socket_headers(url, cookie)
    try:
        connection = await websockets.connect(url, additional_headers=headers, max_size=None)
    except (OSError, TimeoutError, websockets.InvalidHandshake) as error:
        start.leave()
        stream.status = f"no socket: {type(error).__name__}"
        return
    async with connection as socket:
        await start.wait(offset)
        stream.sent = time.time()
        await socket.send(json.dumps(form_data(model=model)))
        read = 0
        async for message in socket:
            if ack := ack_for(message):
                await socket.send(json.dumps(ack))
            read += 1
            stream.take(appended(message), read)
            if final := FINAL.search(message):
                stream.status = final.group(1)
                return
            if refused := NOTICE.search(message):
                stream.status = f"refused: {refused.group(1)}"
                return
