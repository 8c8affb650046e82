"""Test plumbing: real servers on loopback sockets, and small readers of event lists."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import uvicorn

from playground.simulator import RequestRecord, Simulator
from playground.upstream import ContentDelta, Event, ReasoningDelta


class ServedApp:
    """An ASGI app on a real loopback socket, served by uvicorn in a background thread."""

    def __init__(self, app):
        self.app = app
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.port = 0

    def __enter__(self) -> ServedApp:
        self.thread.start()
        wait_until(lambda: self.server.started, timeout=10)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def wait_until(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {predicate}")
        time.sleep(0.01)


def record_of(simulator: Simulator, request_id: str) -> RequestRecord:
    return next(r for r in simulator.requests if r.id == request_id)


def text_of(events: list[Event], choice: int = 0, kind: type = ContentDelta) -> str:
    return "".join(e.text for e in events if isinstance(e, kind) and e.choice == choice)


def reasoning_of(events: list[Event], choice: int = 0) -> str:
    return text_of(events, choice, ReasoningDelta)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Unresponsive:
    """A listening socket whose accept queue is full, so a connect attempt hangs."""

    def __enter__(self) -> Unresponsive:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(0)
        self.port = self.server.getsockname()[1]
        self.fillers = []
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(filler)
        time.sleep(0.1)
        return self

    def __exit__(self, *exc) -> None:
        for sock in [*self.fillers, self.server]:
            sock.close()
