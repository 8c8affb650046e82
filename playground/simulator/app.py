"""The simulator as an ASGI app: POST /v1/chat/completions and GET /v1/models."""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from .completion import ChoiceRun
from .request import MODELS, BadRequest, Options, SimRequest, parse_request

MAX_BODY = 8 * 1024 * 1024
KEEPALIVE_EVERY = 0.05  # seconds between two keep-alive comments
# How long `keepalive_only` holds a stream: a client without a deadline of its own must not
# hold a simulator task forever.
KEEPALIVE_LIMIT = 120.0
# Generating is CPU work on the event loop: a request hands the loop back after holding it
# this long (seconds), so a long unpaced stream or whole answer never holds up the others.
TURN = 0.002
# A real pause, not sleep(0): a loop that always has a task ready never waits in its selector,
# so it hardly ever lets go of the GIL, and the thread of a sync view (every Django page)
# starves: pages waited for a whole answer (seconds) on an idle machine.
PAUSE = 0.001

# The ASGI interface, spelled out here so the simulator needs nothing but the standard library.
Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = Iterable[tuple[bytes, bytes]]


class SimulatedDisconnect(Exception):
    """Raised on purpose mid-stream: the ASGI way to make the server drop the connection."""


@dataclass
class RequestRecord:
    """What the simulator saw of one request; tests read these to see how a stream ended."""

    id: str
    model: str
    stream: bool
    n: int
    # completed | client_closed | dropped | malformed | stalled (keep-alive only, to the limit)
    outcome: str = "running"
    tokens_sent: int = 0
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None

    def end(self, outcome: str) -> None:
        self.outcome = outcome
        self.ended = time.monotonic()


class Simulator:
    """An offline OpenAI/Fireworks-compatible chat-completions server.

    `tps` overrides every model's pace (0: as fast as possible); `api_key`, when set, is the
    one Bearer token accepted.
    """

    def __init__(self, *, tps: float | None = None, api_key: str | None = None):
        self.tps = tps
        self.api_key = api_key
        self.requests: deque[RequestRecord] = deque(maxlen=1000)
        self.model_list_requests = 0
        # Whole answers are made one at a time: between two turns of the one being made, the
        # loop goes round at once, however many are waiting.
        self.making_whole = asyncio.Semaphore(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        method = scope["method"]
        if not self._key_accepted(scope):
            await _send_error(send, BadRequest("Invalid API key provided.", status=401))
        elif path == "/v1/models" and method == "GET":
            self.model_list_requests += 1
            await _send_json(send, 200, _model_list())
        elif path == "/v1/chat/completions" and method == "POST":
            await self._chat(scope, receive, send)
        else:
            await _send_error(send, BadRequest(f"No route for {method} {path}.", status=404))

    async def _chat(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            request = parse_request(await _read_json(receive))
        except BadRequest as error:
            await _send_error(send, error)
            return
        if self.tps is not None:
            request.spec = replace(request.spec, tps=self.tps)
        options = request.options
        if options.error:
            await _send_error(send, _injected_error(options.error), _retry_headers(options))
            return
        record = RequestRecord(request.id, request.model, request.stream, request.n)
        self.requests.append(record)
        disconnected = asyncio.ensure_future(_wait_disconnect(receive))
        try:
            if request.stream:
                await _Stream(request, record, send, disconnected).run()
            else:
                async with self.making_whole:
                    choices = await _make_whole(request, record, disconnected)
                if choices is not None:
                    await _respond_whole(request, choices, record, send, disconnected)
        finally:
            disconnected.cancel()
            if record.outcome == "running":
                record.end("client_closed")

    def _key_accepted(self, scope: Scope) -> bool:
        if self.api_key is None:
            return True
        headers = dict(scope.get("headers") or ())
        expected = f"Bearer {self.api_key}".encode()
        return hmac.compare_digest(headers.get(b"authorization", b""), expected)


class _Stream:
    """Sends one streamed completion: n choices interleaved, one step per token per choice."""

    def __init__(
        self,
        request: SimRequest,
        record: RequestRecord,
        send: Send,
        disconnected: asyncio.Future[None],
    ):
        self.request = request
        self.record = record
        self.send = send
        self.disconnected = disconnected
        self.head = {
            "id": request.id,
            "object": "chat.completion.chunk",
            "created": request.created,
            "model": request.model,
        }

    async def run(self) -> None:
        request, options = self.request, self.request.options
        await self.send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                    (b"x-request-id", request.id.encode()),
                ],
            }
        )
        choices = [ChoiceRun(request, index) for index in range(request.n)]
        await self._write([self._chunk(c.index, {"role": "assistant"}) for c in choices])
        if options.keepalive_only:
            await self._keep_alive()
            return
        if options.first_token_delay and await self._pause(options.first_token_delay):
            return
        if not await self._steps(choices):
            return
        usage = _usage(request, choices)
        tail: list[dict[str, Any] | str] = [{**self.head, "choices": [], "usage": usage}]
        if not options.no_done:
            tail.append("[DONE]")
        self.record.end("completed")
        await self._write(tail, more=False)

    async def _steps(self, choices: list[ChoiceRun]) -> bool:
        """False when the stream ended early (client gone, or a fault injected)."""
        options, tps = self.request.options, self.request.tps
        running = [(choice, iter(choice)) for choice in choices]
        started, step, turns = time.monotonic(), 0, _Turns()
        while running:
            frames = []
            for choice, pieces in list(running):
                piece = next(pieces, None)
                if piece is None:
                    running.remove((choice, pieces))
                    frames.append(self._chunk(choice.index, {}, choice.finish_reason))
                else:
                    frame = self._chunk(choice.index, self._delta(*piece))
                    if piece[0] == "content" and choice.logprobs is not None:
                        frame["choices"][0]["logprobs"] = {"content": choice.logprobs[-1:]}
                    frames.append(frame)
                    self.record.tokens_sent += 1
            if self.disconnected.done():
                return False
            await self._write(frames)
            sent = self.record.tokens_sent
            if options.malformed_after is not None and sent >= options.malformed_after:
                self.record.end("malformed")  # before the write, which the client sees at once
                await self._write(["{not json"], more=False)
                return False
            if options.disconnect_after is not None and sent >= options.disconnect_after:
                self.record.end("dropped")
                raise SimulatedDisconnect(f"simulated disconnect after {sent} tokens")
            step += 1
            delay = started + step / tps - time.monotonic() if tps and running else 0
            if delay > 0:
                if await self._pause(delay):
                    return False
            else:  # unpaced or behind its pace: the sends need not have yielded (Daphne's never do)
                await turns.take()
        return True

    async def _keep_alive(self) -> None:
        """Comments only, as a server sends while it has nothing to say, until the client goes
        or KEEPALIVE_LIMIT; then the body ends without [DONE]."""
        until = time.monotonic() + KEEPALIVE_LIMIT
        while time.monotonic() < until:
            body = {"type": "http.response.body", "body": b": keep-alive\n\n", "more_body": True}
            await self.send(body)
            if await self._pause(KEEPALIVE_EVERY):
                return
        self.record.end("stalled")
        await self._write([], more=False)

    def _delta(self, kind: str, value: Any) -> dict[str, Any]:
        if kind == "reasoning":
            return {"reasoning_content": value}
        if kind == "tool":
            call_index, call_id, name = value
            function = {"name": name, "arguments": ""}
            return {
                "tool_calls": [
                    {"index": call_index, "id": call_id, "type": "function", "function": function}
                ]
            }
        if kind == "arguments":
            call_index, fragment = value
            return {"tool_calls": [{"index": call_index, "function": {"arguments": fragment}}]}
        return {"content": value}

    def _chunk(self, index: int, delta: dict[str, Any], finish: str | None = None) -> dict:
        choice = {"index": index, "delta": delta, "finish_reason": finish}
        return {**self.head, "choices": [choice]}

    async def _write(self, frames: list[Any], more: bool = True) -> None:
        body = "".join(
            f"data: {frame if isinstance(frame, str) else json.dumps(frame)}\n\n"
            for frame in frames
        )
        await self.send({"type": "http.response.body", "body": body.encode(), "more_body": more})

    async def _pause(self, seconds: float) -> bool:
        """Sleep, waking early if the client goes; True when it went."""
        await asyncio.wait([self.disconnected], timeout=seconds)
        return self.disconnected.done()


class _Turns:
    """Hands the event loop back once this request has held it for TURN seconds."""

    def __init__(self) -> None:
        self.since = time.monotonic()

    async def take(self) -> bool:
        """True when it did hand the loop back."""
        if time.monotonic() - self.since < TURN:
            return False
        await asyncio.sleep(PAUSE)
        self.since = time.monotonic()
        return True


async def _make_whole(
    request: SimRequest, record: RequestRecord, disconnected: asyncio.Future[None]
) -> list[ChoiceRun] | None:
    """Every choice's whole output; None when the client went away meanwhile."""
    choices = [ChoiceRun(request, index) for index in range(request.n)]
    turns = _Turns()
    for choice in choices:
        for _ in choice:
            record.tokens_sent += 1
            if await turns.take() and disconnected.done():
                return None
    return None if disconnected.done() else choices


async def _respond_whole(
    request: SimRequest,
    choices: list[ChoiceRun],
    record: RequestRecord,
    send: Send,
    disconnected: asyncio.Future[None],
) -> None:
    options = request.options
    tokens = max((choice.tokens for choice in choices), default=0)
    wait = options.first_token_delay + (tokens / request.tps if request.tps else 0)
    if wait:
        await asyncio.wait([disconnected], timeout=wait)
        if disconnected.done():
            return
    body = {
        "id": request.id,
        "object": "chat.completion",
        "created": request.created,
        "model": request.model,
        "choices": [_whole_choice(choice) for choice in choices],
        "usage": _usage(request, choices),
    }
    record.end("completed")
    await _send_json(send, 200, body)


def _whole_choice(choice: ChoiceRun) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": choice.content or None}
    if choice.reasoning:
        message["reasoning_content"] = choice.reasoning
    if choice.tool_calls:
        message["tool_calls"] = choice.tool_calls
    whole = {"index": choice.index, "message": message, "finish_reason": choice.finish_reason}
    if choice.logprobs is not None:
        whole["logprobs"] = {"content": choice.logprobs}
    return whole


def _usage(request: SimRequest, choices: list[ChoiceRun]) -> dict[str, int]:
    prompt = request.prompt_tokens()
    completion = sum(choice.tokens for choice in choices)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _model_list() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {
                "id": name,
                "object": "model",
                "created": 0,
                "owned_by": "simulator",
                "simulated": True,
                "description": spec.description,
            }
            for name, spec in MODELS.items()
        ],
    }


_ERROR_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


def _injected_error(status: int) -> BadRequest:
    if not 400 <= status <= 599:
        return BadRequest(f"Simulator option error must be an HTTP error status, not {status}.")
    return BadRequest(f"Simulated error {status} (fault injected on request).", status=status)


def _retry_headers(options: Options) -> list[tuple[bytes, bytes]]:
    if options.error != 429:
        return []
    return [(b"retry-after", f"{options.retry_after:g}".encode())]


async def _send_error(send: Send, error: BadRequest, headers: Headers = ()) -> None:
    if error.status >= 500:
        kind = "server_error"
    else:
        kind = _ERROR_TYPES.get(error.status, "invalid_request_error")
    body = {
        "error": {
            "object": "error",
            "type": kind,
            "code": kind,
            "param": error.param,
            "message": str(error),
        }
    }
    await _send_json(send, error.status, body, headers)


async def _send_json(send: Send, status: int, data: Any, headers: Headers = ()) -> None:
    body = json.dumps(data).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _read_json(receive: Receive) -> Any:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BadRequest("The client went away while sending the request.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise BadRequest("The request body is too large.", status=413)
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    try:
        return json.loads(b"".join(chunks))
    except ValueError:
        raise BadRequest("The request body is not valid JSON.") from None


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
