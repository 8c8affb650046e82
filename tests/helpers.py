"""Test plumbing: real servers on loopback sockets, what the page sends, a real websocket,
and small readers of event lists and frames. The benchmarks use it too."""

from __future__ import annotations

import asyncio
import html
import inspect
import json
import os
import re
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
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from playground.runform import MESSAGE_FIELDS, RunForm, bind
from playground.simulator import RequestRecord, Simulator
from playground.upstream import ContentDelta, Endpoint, Event, ReasoningDelta, stream_chat

ROOT = Path(__file__).resolve().parents[1]
FINAL = re.compile(r'class="status (completed|stopped|error)" id="run-status"')
HELLO = [{"role": "user", "content": "Hello"}]


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


def endpoints_for_tests(simulator_server: ServedApp, scripted_server: ServedApp) -> list[dict]:
    """The endpoints the app under test offers: the test simulator, and the scripted upstream
    (a real, not simulated, endpoint to the app)."""
    return [
        {
            "name": "simulator",
            "label": "Simulator",
            "base_url": simulator_server.base_url,
            "simulated": True,
        },
        {"name": "scripted", "label": "Scripted upstream", "base_url": scripted_server.base_url},
    ]


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


async def collect(endpoint: Endpoint, **body) -> list[Event]:
    """Every event of one request: a streamed "Hello" unless `body` says otherwise."""
    body = {"messages": HELLO, "stream": True, **body}
    return [event async for event in stream_chat(endpoint, body)]


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


def free_port() -> int:
    """A loopback port free a moment ago (for a server started elsewhere, which must bind it
    itself; ServerProcess hands its child the bound socket instead)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """A server in its own process, serving on a listening socket bound here and inherited
    (`--fd N`): its port is known before it starts, and no other process can take the port in
    between, as one could with a port picked, released and then handed to the child."""

    def __init__(self, command: list[str], cwd: Path = ROOT, **env: str):
        self.command = command
        self.cwd = cwd  # the checkout it runs (a benchmark may run another one)
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
                cwd=self.cwd,
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

    def __init__(self, *options: str, cwd: Path = ROOT, **env: str):
        command = [sys.executable, "-m", "playground.launch", *options]
        # Runs left by a test end with its sockets, unless the test says otherwise.
        super().__init__(command, cwd, **{"PLAYGROUND_ORPHAN_GRACE": "0", **env})


class SimulatorProcess(ServerProcess):
    """The simulator alone in its own process, as `python -m playground.simulator` runs it."""

    def __init__(self, *options: str, **env: str):
        super().__init__([sys.executable, "-m", "playground.simulator", *options], **env)

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


def session_cookie(user) -> str:
    return client_for(user).cookies["sessionid"].value


def form_data(messages=None, **fields) -> dict:
    """What the page sends: every field (blank when unset), the formset's rows and counts."""
    data = dict.fromkeys(RunForm.base_fields, "")
    data.update(action="run", endpoint="simulator", model="simulator/chat-fast", stream=True)
    data.update(fields)
    messages = messages if messages is not None else [{"role": "user", "content": "Hello"}]
    data.update(
        {
            "messages-TOTAL_FORMS": str(len(messages)),
            "messages-INITIAL_FORMS": "0",
            "messages-MIN_NUM_FORMS": "1",
            "messages-MAX_NUM_FORMS": "500",
        }
    )
    for index, message in enumerate(messages):
        for name in MESSAGE_FIELDS:
            data[f"messages-{index}-{name}"] = message.get(name, "")
    if data["stream"] is False:
        del data["stream"]  # an unticked checkbox sends nothing
    return data


def compare_data(*columns: dict, messages=None, **shared) -> dict:
    """What the page sends for a compare: the first column's fields as the form's own, each
    other's with its prefix (`k1-model`), and the number of columns."""
    data = form_data(messages, **{**shared, **columns[0]}, columns=str(len(columns)))
    for column, fields in enumerate(columns[1:], start=1):
        own = form_data(**{**shared, **fields})
        data.update({f"k{column}-{name}": own[name] for name in RunForm.base_fields if name in own})
    return data


def column_final(column: int) -> re.Pattern:
    """The frame that ends one column of a compare, its status in group 1."""
    return re.compile(rf'class="status (completed|stopped|error)" id="k{column}-run-status"')


async def spec_of(**fields):
    """A run's spec from the page's fields (form_data), for a test that starts runs through
    the registry without a socket."""
    from playground.chat.services import run_spec  # imports models: see Socket.connect

    def valid_spec():
        form, formset = bind(form_data(**fields))
        assert form.is_valid() & formset.is_valid(), (form.errors, formset.errors)
        return run_spec(form, formset)

    return await database_sync_to_async(valid_spec)()


class Page:
    """A watcher that is not a socket: what a run sends it, kept (and, at once, acknowledged)."""

    unacked = 0

    def __init__(self):
        self.frames: list[str] = []

    async def stalled(self) -> None:
        raise AssertionError("a page that acknowledges everything never stalls")

    async def send_html(self, html: str) -> None:
        self.frames.append(html)

    def streamed(self, target: str = "c0-text") -> str:
        return "".join(appended(frame, target) for frame in self.frames)


def appended(frame: str, target: str = "c0-text") -> str:
    """The text one frame appends to one box (or to its segments, `#<target>-N`) while
    streaming, unescaped as the browser shows it."""
    swap = rf"(?:beforeend|innerHTML):#{re.escape(target)}(?:-\d+)?"
    pattern = rf'<div hx-swap-oob="{swap}">([^<]*)</div>'
    return "".join(html.unescape(text) for text in re.findall(pattern, frame))


FRAME = re.compile(r"<!--frame (\d+)( ack)?-->")


def ack_for(frame: str) -> dict | None:
    """What the page answers to a frame that asks for an acknowledgement."""
    match = FRAME.match(frame)
    return {"action": "ack", "seq": int(match.group(1))} if match and match.group(2) else None


class Socket:
    """A real websocket into the whole ASGI stack (origin check, session auth, consumer)."""

    def __init__(
        self,
        user=None,
        origin: bytes | None = b"http://127.0.0.1:8000",
        host: bytes = b"127.0.0.1:8000",
        headers: tuple[tuple[bytes, bytes], ...] = (),
        cookie: str = "",
        acks: bool = True,
    ):
        self.user = user
        self.acks = acks  # acknowledge frames as the page does
        self.origin = origin
        self.headers = [(b"host", host), *headers]
        self.cookie = cookie  # a session made earlier (say, before the database was locked)
        self.communicator: WebsocketCommunicator | None = None
        self.frames: list[str] = []

    async def connect(self):
        # Imported here, as it sets Django up: the benchmarks import this module before they
        # have chosen their database.
        from playground.asgi import application

        headers = [*self.headers, *([(b"origin", self.origin)] if self.origin else [])]
        if self.user is not None and not self.cookie:
            self.cookie = await database_sync_to_async(session_cookie)(self.user)
        if self.cookie:
            headers.append((b"cookie", f"sessionid={self.cookie}".encode()))
        self.communicator = WebsocketCommunicator(application, "/ws/run/", headers=headers)
        return await self.communicator.connect(timeout=5)

    async def send(self, data: dict) -> None:
        await self.communicator.send_to(text_data=json.dumps(data))

    async def receive(self, within: float = 10) -> str:
        frame = await self.communicator.receive_from(timeout=within)
        self.frames.append(frame)
        if self.acks and (ack := ack_for(frame)):
            await self.send(ack)
        return frame

    async def until(self, pattern: str, within: float = 15) -> str:
        """Frames until one contains `pattern`; returns that frame."""
        async with asyncio.timeout(within):
            while True:
                frame = await self.receive(within=within)
                if re.search(pattern, frame):
                    return frame

    async def run(self, data: dict, within: float = 15) -> str:
        """Send a run and read every frame up to its final status; returns that status."""
        await self.send(data)
        frame = await self.until(FINAL.pattern, within)
        return FINAL.search(frame).group(1)

    async def close(self) -> None:
        await self.communicator.disconnect()

    def streamed(self, target: str = "c0-text") -> str:
        """The text appended to one box while streaming, unescaped as the browser shows it."""
        return "".join(appended(frame, target) for frame in self.frames)

    def delta_frames(self) -> list[str]:
        return [frame for frame in self.frames if 'hx-swap-oob="beforeend:' in frame]


async def ended_transcript(pk: int | None = None, within: float = 10):
    """The transcript (`pk`, or the only one) once its run has ended: a socket that closes
    does not wait for its run's ending, so a test waits for the row instead."""
    from playground.transcripts.models import Transcript

    rows = Transcript.objects.all() if pk is None else Transcript.objects.filter(pk=pk)
    async with asyncio.timeout(within):
        while True:
            row = await database_sync_to_async(rows.get)()
            if row.status != "running":
                return row
            await asyncio.sleep(0.02)  # the row is in another thread's database: poll it


def body_of(response) -> bytes:
    """A response's whole body, a streamed one too: read as Daphne reads it, from its async
    iterator when it has one (its reads then run on this thread, in its transaction)."""
    if not response.streaming:
        return response.content
    if not response.is_async:
        return b"".join(response.streaming_content)

    async def read() -> bytes:
        return b"".join([part async for part in response.streaming_content])

    return async_to_sync(read)()
