"""Every failure becomes one ErrorEvent after whatever arrived before it; nothing raises."""

import asyncio
import json
import socket
import threading
import time

import pytest

from playground.upstream import (
    ContentDelta,
    Endpoint,
    ErrorEvent,
    ErrorKind,
    Finish,
    Note,
    ResponseStarted,
    RoleDelta,
    ToolCallDelta,
    Usage,
    stream_chat,
)

from ..helpers import (
    HELLO,
    ServedApp,
    Unresponsive,
    collect,
    record_of,
    text_of,
)
from ..hostile import chunk, sse

USAGE = {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}


def only_error(events) -> ErrorEvent:
    errors = [e for e in events if isinstance(e, ErrorEvent)]
    assert len(errors) == 1, events
    assert events[-1] is errors[0], "the error ends the events"
    return errors[0]


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, ErrorKind.BAD_REQUEST),
        (401, ErrorKind.UNAUTHORIZED),
        (403, ErrorKind.FORBIDDEN),
        (404, ErrorKind.NOT_FOUND),
        (408, ErrorKind.TIMEOUT),
        (413, ErrorKind.TOO_LARGE),
        (422, ErrorKind.BAD_REQUEST),
        (429, ErrorKind.RATE_LIMITED),
        (500, ErrorKind.SERVER),
        (502, ErrorKind.SERVER),
        (503, ErrorKind.SERVER),
    ],
)
@pytest.mark.parametrize("stream", [True, False])
async def test_http_errors_carry_status_kind_and_the_upstream_message(
    sim_endpoint, status, kind, stream
):
    events = await collect(sim_endpoint, model=f"simulator/chat?error={status}", stream=stream)

    error = only_error(events)
    assert (error.kind, error.status) == (kind, status)
    assert error.message == f"Simulated error {status} (fault injected on request)."
    assert error.retryable == (status in (408, 429) or status >= 500)
    assert error.retry_after == (2.0 if status == 429 else None)


async def test_retry_after_is_read_from_the_header(sim_endpoint):
    events = await collect(sim_endpoint, model="simulator/chat?error=429&retry_after=17")
    assert only_error(events).retry_after == 17.0


async def test_a_rejected_parameter_brings_the_upstream_explanation(sim_endpoint):
    events = await collect(sim_endpoint, model="simulator/chat", temperature=3)

    error = only_error(events)
    assert error.kind == ErrorKind.BAD_REQUEST
    assert error.message == "`temperature` must be a number between 0 and 2."


async def test_an_unknown_model_is_not_found(sim_endpoint):
    error = only_error(await collect(sim_endpoint, model="no/such-model"))
    assert (error.kind, error.status) == (ErrorKind.NOT_FOUND, 404)
    assert "no/such-model" in error.message


async def test_a_malformed_event_ends_the_stream_after_what_arrived(sim_endpoint, simulator):
    events = await collect(sim_endpoint, model="simulator/chat-fast?malformed_after=3")

    assert text_of(events) == "**Simulated reply** to"
    error = only_error(events)
    assert error.kind == ErrorKind.PROTOCOL
    assert "not JSON" in error.message
    assert record_of(simulator, events[0].id).outcome == "malformed"


async def test_a_dropped_connection_is_reported_with_the_partial_text(sim_endpoint, simulator):
    events = await collect(sim_endpoint, model="simulator/chat-fast?disconnect_after=4")

    assert text_of(events) == "**Simulated reply** to “Hello”."
    error = only_error(events)
    assert error.kind == ErrorKind.DISCONNECTED
    assert error.retryable
    assert record_of(simulator, events[0].id).outcome == "dropped"


async def test_a_complete_stream_without_done_ends_with_a_note(sim_endpoint):
    """Some servers end a stream after every finish reason and the usage, without [DONE]."""
    events = await collect(sim_endpoint, model="simulator/chat-fast?no_done=1", max_tokens=3)

    assert text_of(events) == "**Simulated reply** to"
    assert not [e for e in events if isinstance(e, ErrorEvent)]
    assert Finish(0, "length") in events
    assert isinstance(events[-2], Usage)
    assert events[-1] == Note(
        "The stream ended without data: [DONE], after every choice's finish reason and the"
        " usage: the answer is complete."
    )


@pytest.mark.parametrize(
    "ending",
    [
        [chunk(content="Hi", finish_reason="stop")],  # no usage
        [chunk(content="Hi"), {**chunk(), "choices": [], "usage": USAGE}],  # no finish reason
        [chunk(content="Hi", finish_reason="stop"), chunk(content="there", index=1)],
    ],
    ids=["no-usage", "no-finish", "one-choice-unfinished"],
)
async def test_a_cut_stream_without_done_is_an_error(scripted, scripted_endpoint, ending):
    scripted.script("cut/short", sse(*ending, done=False))
    events = await collect(scripted_endpoint, model="cut/short")

    assert text_of(events) == "Hi"
    error = only_error(events)
    assert error.kind == ErrorKind.PROTOCOL
    assert error.message == "The stream ended without data: [DONE]."
    assert not [e for e in events if isinstance(e, Note)]


async def test_nothing_listening_is_a_connect_error(refused_port):
    endpoint = Endpoint(name="gone", base_url=f"http://127.0.0.1:{refused_port}/v1")
    error = only_error(await collect(endpoint, model="m"))
    assert error.kind == ErrorKind.CONNECT
    assert endpoint.base_url in error.message


async def test_a_server_that_hangs_up_before_answering_is_a_dropped_connection():
    """Not a timeout: aiohttp's transport reports this as its connection error, which
    httpx-aiohttp alone maps to ConnectTimeout."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        endpoint = Endpoint(name="rude", base_url=f"http://127.0.0.1:{server.getsockname()[1]}/v1")
        hang_up = threading.Thread(target=lambda: server.accept()[0].close())
        hang_up.start()
        error = only_error(await collect(endpoint, model="m"))
        hang_up.join()
    assert error.kind == ErrorKind.DISCONNECTED


async def test_a_connect_timeout(upstream_config):
    upstream_config(connect_timeout=0.3)
    with Unresponsive() as server:
        endpoint = Endpoint(name="stuck", base_url=f"http://127.0.0.1:{server.port}/v1")
        error = only_error(await collect(endpoint, model="m"))
    assert error.kind == ErrorKind.TIMEOUT
    assert error.message == f"No connection to {endpoint.base_url} within 0.3 s."


async def test_a_slow_first_token_past_the_read_timeout(sim_endpoint, upstream_config):
    upstream_config(read_timeout=0.3)
    events = await collect(sim_endpoint, model="simulator/chat?first_token_delay=3")

    assert isinstance(events[0], ResponseStarted)  # the role chunk came at once
    error = only_error(events)
    assert (error.kind, error.message) == (ErrorKind.TIMEOUT, "Nothing arrived for 0.3 s.")


async def test_the_whole_request_has_a_deadline(sim_endpoint, upstream_config):
    upstream_config(total_timeout=0.3)
    events = await collect(sim_endpoint, model="simulator/chat?tps=20&tokens=200")

    assert 0 < len(text_of(events).split()) < 20
    error = only_error(events)
    assert error.kind == ErrorKind.TIMEOUT
    assert error.message == "The response took longer than 0.3 s in all."


async def outcome_of(record) -> str:
    """The simulator's verdict on a request, once the connection's end has reached it."""
    for _ in range(200):
        if record.outcome != "running":
            break
        await asyncio.sleep(0.01)
    return record.outcome


async def test_keep_alive_comments_alone_end_at_the_deadline(
    sim_endpoint, simulator, upstream_config
):
    # Comments every 0.05 s keep the read timeout from ever firing: only the total deadline
    # can end this stream.
    upstream_config(total_timeout=1.0, read_timeout=0.3)
    started = time.monotonic()
    events = await collect(sim_endpoint, model="simulator/chat?keepalive_only=1")
    elapsed = time.monotonic() - started

    assert isinstance(events[0], ResponseStarted)
    assert events[1] == RoleDelta(0, "assistant")
    error = only_error(events)
    assert (error.kind, error.message) == (
        ErrorKind.TIMEOUT,
        "The response took longer than 1 s in all.",
    )
    assert 1.0 <= elapsed < 3.0
    record = record_of(simulator, events[0].id)
    assert await outcome_of(record) == "client_closed"
    assert record.tokens_sent == 0


async def test_a_whole_response_has_the_same_deadline(sim_endpoint, simulator, upstream_config):
    upstream_config(total_timeout=0.3)
    started = time.monotonic()
    events = await collect(sim_endpoint, model="simulator/chat?first_token_delay=5", stream=False)
    elapsed = time.monotonic() - started

    assert events == [ErrorEvent(ErrorKind.TIMEOUT, "The response took longer than 0.3 s in all.")]
    assert 0.3 <= elapsed < 2.0
    assert await outcome_of(simulator.requests[-1]) == "client_closed"


async def test_cancelling_the_reader_closes_the_upstream_connection(sim_endpoint, simulator):
    seen: list = []
    first_token = asyncio.Event()

    async def read():
        async for event in stream_chat(
            sim_endpoint, {"model": "simulator/chat?tps=20", "messages": HELLO, "stream": True}
        ):
            seen.append(event)
            if isinstance(event, ContentDelta):
                first_token.set()

    task = asyncio.create_task(read())
    await asyncio.wait_for(first_token.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    record = record_of(simulator, seen[0].id)
    assert await outcome_of(record) == "client_closed"
    assert record.tokens_sent < 10


async def _error_app(scope, receive, send):
    """Answers 200 with a body that is not an event stream, or a mid-stream error event."""
    if scope["type"] != "http":
        return
    await receive()
    path = scope["path"]
    if path.endswith("/html/chat/completions"):
        headers, body = [(b"content-type", b"text/html")], b"<html>login</html>"
    elif "/odd/" in path or "/list/" in path:
        headers = [(b"content-type", b"text/event-stream")]
        delta = (
            b'{"content": [{"type": "text", "text": "Hi"}]}'
            if "/list/" in path
            else b'{"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f",'
            b' "arguments": {"city": "Oslo"}}}]}'
        )
        body = (
            b'data: {"id": "x", "model": "m", "choices": [{"index": 0, "delta": '
            + delta
            + b"}]}\n\n"
            b'data: {"id": "x", "choices": [], "usage": {"prompt_tokens": -5,'
            b' "completion_tokens": 99999999999999}}\n\ndata: [DONE]\n\n'
        )
    else:
        headers = [(b"content-type", b"text/event-stream")]
        body = (
            b'data: {"id": "x", "model": "m", "choices": [{"index": 0, "delta": '
            b'{"content": "Hi"}}]}\n\n'
            b'data: {"error": {"message": "overloaded", "code": 503}}\n\n'
        )
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def error_server():
    with ServedApp(_error_app) as served:
        yield served


async def test_a_page_that_is_not_an_event_stream(error_server):
    endpoint = Endpoint(name="odd", base_url=f"http://127.0.0.1:{error_server.port}/html")
    error = only_error(await collect(endpoint, model="m"))
    assert error.kind == ErrorKind.PROTOCOL
    assert "text/html" in error.message


async def test_an_error_event_inside_the_stream(error_server):
    endpoint = Endpoint(name="odd", base_url=f"http://127.0.0.1:{error_server.port}/sse")
    events = await collect(endpoint, model="m")
    assert text_of(events) == "Hi"
    error = only_error(events)
    assert (error.kind, error.status, error.message) == (ErrorKind.SERVER, 503, "overloaded")


async def test_odd_types_from_an_upstream_are_made_safe(error_server):
    endpoint = Endpoint(name="odd", base_url=f"http://127.0.0.1:{error_server.port}/odd")
    events = await collect(endpoint, model="m")
    (call,) = [e for e in events if isinstance(e, ToolCallDelta)]
    assert json.loads(call.arguments) == {"city": "Oslo"}
    assert events[-1] == Usage(0, 2**31 - 1, 2**31 - 1)


async def test_content_that_is_not_text_is_a_protocol_error(error_server):
    endpoint = Endpoint(name="odd", base_url=f"http://127.0.0.1:{error_server.port}/list")
    error = only_error(await collect(endpoint, model="m"))
    assert (error.kind, error.message) == (
        ErrorKind.PROTOCOL,
        "`content` in a response is not text.",
    )


class IdleTimeoutRace:
    """A server whose idle timeout strikes as a kept-alive connection's next request comes: it
    answers the first request on each connection (keep-alive) and closes the connection when
    another one arrives on it, unanswered."""

    def __init__(self):
        self.connections = 0
        self.answered: list[int] = []  # the connection each answered request came on
        self.dropped: list[int] = []  # those on which a request was hung up on

    async def __aenter__(self) -> Endpoint:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return Endpoint(name="idle", base_url=f"http://127.0.0.1:{port}/v1")

    async def __aexit__(self, *exc) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = self.connections = self.connections + 1
        head = (await reader.readuntil(b"\r\n\r\n")).lower()
        await reader.readexactly(int(head.split(b"content-length:")[1].split(b"\r\n")[0]))
        body = b"".join(sse(chunk(content="Hi"), chunk(finish_reason="stop")))
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: keep-alive\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        self.answered.append(connection)
        if await reader.read(1):  # the next request on this connection
            self.dropped.append(connection)
        writer.close()


async def test_a_request_on_a_kept_alive_connection_closed_under_it_goes_again():
    """It never reached the server: it is sent again, on a new connection, and the page never
    hears of it. (One hung up on over a new connection is the server's answer: see
    test_a_server_that_hangs_up_before_answering_is_a_dropped_connection.)"""
    race = IdleTimeoutRace()
    async with race as endpoint:
        first = await collect(endpoint, model="m")
        second = await collect(endpoint, model="m")
    assert text_of(first) == text_of(second) == "Hi"
    assert not [e for e in second if isinstance(e, ErrorEvent)]
    assert (race.answered, race.dropped) == ([1, 2], [1])
