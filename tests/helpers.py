"""Test plumbing: real servers on loopback sockets, and small readers of event lists."""

from __future__ import annotations

import asyncio
import inspect
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Self

import httpx
import uvicorn

from playground.simulator import RequestRecord, Simulator
from playground.upstream import ContentDelta, Event, ReasoningDelta

ROOT = Path(__file__).resolve().parents[1]


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


async def eventually(check: Callable[[], object | Awaitable[object]], within: float = 5.0):
    """Poll `check` (a function or a coroutine function) until it returns something true;
    returns that."""
    async with asyncio.timeout(within):
        while True:
            result = check()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
            await asyncio.sleep(0.01)


def record_of(simulator: Simulator, request_id: str) -> RequestRecord:
    return next(r for r in simulator.requests if r.id == request_id)


def text_of(events: list[Event], choice: int = 0, kind: type = ContentDelta) -> str:
    return "".join(e.text for e in events if isinstance(e, kind) and e.choice == choice)


def reasoning_of(events: list[Event], choice: int = 0) -> str:
    return text_of(events, choice, ReasoningDelta)


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
        # A backlog of 0 holds one connection: once a filler is connected, the queue is full.
        _, connected, _ = select.select([], self.fillers, [], 5)
        assert connected, "no filler connected"
        return self

    def __exit__(self, *exc) -> None:
        for sock in [*self.fillers, self.server]:
            sock.close()


class ServerProcess:
    """A server in its own process, serving on a listening socket bound here and inherited
    (`--fd N`): its port is known before it starts, and no other process can take the port in
    between, as one could with a port picked, released and then handed to the child."""

    def __init__(self, command: list[str], **env: str):
        self.command = command
        self.env = env
        self.port = 0
        self.process: subprocess.Popen | None = None
        # A file, not a pipe: a pipe nobody reads fills up and blocks the child. Closed in
        # __exit__.
        self.errors = tempfile.TemporaryFile("w+")  # noqa: SIM115

    def __enter__(self) -> Self:
        with socket.create_server(("127.0.0.1", 0)) as sock:
            self.port = sock.getsockname()[1]
            self.process = subprocess.Popen(
                [*self.command, "--fd", str(sock.fileno())],
                pass_fds=[sock.fileno()],
                cwd=ROOT,
                env={**os.environ, "PORT": str(self.port), **self.env},
                stdout=subprocess.DEVNULL,
                stderr=self.errors,
            )
        # Our copy is closed: the socket lives and dies with the child.
        try:
            wait_until(self._answers, timeout=30)
        except AssertionError:
            self.process.kill()
            self.process.wait()
        if self.process.poll() is not None:
            self.errors.seek(0)
            output = self.errors.read()
            self.errors.close()
            raise AssertionError(f"{self.command[0]} did not start: {output}")
        return self

    def _answers(self) -> bool:
        """True once the server answers HTTP (the socket accepts connections from the start,
        queued until the child serves them), or once the child has exited."""
        if self.process.poll() is not None:
            return True
        try:
            httpx.get(f"{self.url}/", timeout=1)
        except httpx.TransportError:
            return False
        return True

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.errors.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class DaphneServer(ServerProcess):
    """The real ASGI app in its own Daphne process, as `make run` serves it.

    A subprocess, not a fork: a forked child would inherit this process's event-loop-bound
    state (channel layer queues, httpx clients) from tests that ran before.
    """

    def __init__(self, **env: str):
        daphne = Path(sys.executable).with_name("daphne")
        super().__init__([str(daphne), "playground.asgi:application"], **env)


class SimulatorProcess(ServerProcess):
    """The simulator alone in its own process, as `python -m playground.simulator` runs it."""

    def __init__(self, **env: str):
        super().__init__([sys.executable, "-m", "playground.simulator"], **env)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"


def database_url(settings_dict: dict) -> str:
    """The URL of the database a test run set up, for a server in another process."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


def client_for(user):
    """A test client signed in as `user` (None: a signed-out visitor)."""
    from django.test import Client

    client = Client()
    if user is not None:
        client.force_login(user)
    return client
