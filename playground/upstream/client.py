"""Async client for the chat-completions API: a request goes in, typed events come out.

Nothing raises past `stream_chat`: every failure becomes one ErrorEvent, after whatever
arrived before it. Cancelling the task that iterates it (inside `aclosing`) closes the
upstream connection at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from httpx_sse import EventSource, SSEError

from .endpoints import Endpoint
from .events import (
    ContentDelta,
    ErrorEvent,
    ErrorKind,
    Event,
    Finish,
    ReasoningDelta,
    ResponseStarted,
    RoleDelta,
    ToolCallDelta,
    Usage,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UpstreamConfig:
    pool_size: int = 100
    connect_timeout: float = 10.0
    read_timeout: float = 60.0  # the longest quiet gap between two events
    total_timeout: float = 600.0  # the whole request, checked between events
    models_cache_seconds: float = 60.0


_config = UpstreamConfig()
# An AsyncClient belongs to the loop it was first used on, so there is one per running loop.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def configure(config: UpstreamConfig) -> None:
    """Set pool size and timeouts; clients made after this use them."""
    global _config
    _config = config


def get_config() -> UpstreamConfig:
    return _config


def get_client() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        client = httpx.AsyncClient(
            limits=httpx.Limits(
                max_connections=_config.pool_size,
                max_keepalive_connections=_config.pool_size,
            ),
            timeout=_timeout(),
        )
        _clients[loop] = client
    return client


async def close_client() -> None:
    """Close this loop's client (at shutdown, and between tests)."""
    client = _clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(
        connect=_config.connect_timeout,
        read=_config.read_timeout,
        write=_config.connect_timeout,
        pool=_config.connect_timeout,
    )


class _Failed(Exception):
    """Carries an ErrorEvent out of the parsing helpers to the one place that yields it."""

    def __init__(self, event: ErrorEvent):
        super().__init__(event.message)
        self.event = event


def _headers(key: str | None, *, stream: bool = False) -> dict[str, str]:
    headers = {"Accept": "text/event-stream" if stream else "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


async def stream_chat(endpoint: Endpoint, body: dict[str, Any]) -> AsyncIterator[Event]:
    """Send one chat-completion request and yield its events, streamed or not alike."""
    key = endpoint.api_key()
    try:
        async for event in _request_events(endpoint, body, key):
            yield event
    except _Failed as failed:
        yield finished_error(failed.event, key)
    except (httpx.HTTPError, SSEError) as exc:
        yield finished_error(transport_error(exc, endpoint), key)
    except Exception as exc:  # a bug here must still end the run with a message, not a hang
        logger.exception("Unexpected failure reading from endpoint %s", endpoint.name)
        yield ErrorEvent(ErrorKind.PROTOCOL, f"Unexpected failure: {type(exc).__name__}")


async def _request_events(
    endpoint: Endpoint, body: dict[str, Any], key: str | None
) -> AsyncIterator[Event]:
    deadline = time.monotonic() + _config.total_timeout
    streaming = bool(body.get("stream"))
    async with get_client().stream(
        "POST",
        endpoint.url("chat/completions"),
        json=body,
        headers=_headers(key, stream=streaming),
    ) as response:
        if not response.is_success:
            await response.aread()
            raise _Failed(http_error(response))
        content_type = response.headers.get("content-type", "")
        if streaming and not content_type.startswith("application/json"):
            async for event in _sse_events(response, deadline):
                yield event
        else:
            # Some servers answer a streaming request with one JSON body: treat both alike.
            await response.aread()
            for event in completion_events(_parse_json(response.text, "response body")):
                yield event


async def _sse_events(response: httpx.Response, deadline: float) -> AsyncIterator[Event]:
    started = False
    async for sse in EventSource(response).aiter_sse():
        if sse.data == "[DONE]":
            return
        if not sse.data:
            continue  # keep-alive comments and empty events carry nothing
        chunk = _parse_json(sse.data, "event")
        if "error" in chunk:
            raise _Failed(error_from_body(chunk, status=None))
        if not started:
            started = True
            yield _started(chunk)
        for event in chunk_events(chunk):
            yield event
        if time.monotonic() > deadline:
            raise _Failed(
                ErrorEvent(
                    ErrorKind.TIMEOUT,
                    f"The response took longer than {_config.total_timeout:g} s in all.",
                )
            )
    raise _Failed(ErrorEvent(ErrorKind.PROTOCOL, "The stream ended without data: [DONE]."))


def _parse_json(text: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise _Failed(
            ErrorEvent(ErrorKind.PROTOCOL, f"Malformed {what} (not JSON): {text!r}")
        ) from None
    if not isinstance(data, dict):
        raise _Failed(ErrorEvent(ErrorKind.PROTOCOL, f"Malformed {what}: not a JSON object."))
    return data


def _started(data: dict[str, Any]) -> ResponseStarted:
    return ResponseStarted(
        id=str(data.get("id") or ""),
        model=str(data.get("model") or ""),
        created=data.get("created") if isinstance(data.get("created"), int) else None,
    )


def chunk_events(chunk: dict[str, Any]) -> Iterator[Event]:
    """The events in one `chat.completion.chunk`."""
    try:
        for choice in chunk.get("choices") or ():
            index = int(choice.get("index") or 0)
            delta = choice.get("delta") or {}
            if delta.get("role"):
                yield RoleDelta(index, delta["role"])
            if reasoning := _text(delta.get("reasoning_content"), "reasoning_content"):
                yield ReasoningDelta(index, reasoning)
            if content := _text(delta.get("content"), "content"):
                yield ContentDelta(index, content)
            for call in delta.get("tool_calls") or ():
                yield _tool_call(index, call)
            if choice.get("finish_reason"):
                yield Finish(index, choice["finish_reason"])
        if chunk.get("usage"):
            yield _usage(chunk["usage"])
    except (AttributeError, TypeError, ValueError, KeyError) as exc:
        raise _Failed(
            ErrorEvent(ErrorKind.PROTOCOL, f"Unexpected shape in a stream event ({exc}).")
        ) from None


def completion_events(data: dict[str, Any]) -> Iterator[Event]:
    """The same events as a stream would give, from a non-streaming `chat.completion` body."""
    yield _started(data)
    try:
        for choice in data.get("choices") or ():
            index = int(choice.get("index") or 0)
            message = choice.get("message") or {}
            yield RoleDelta(index, message.get("role") or "assistant")
            if reasoning := _text(message.get("reasoning_content"), "reasoning_content"):
                yield ReasoningDelta(index, reasoning)
            if content := _text(message.get("content"), "content"):
                yield ContentDelta(index, content)
            for position, call in enumerate(message.get("tool_calls") or ()):
                yield _tool_call(index, {"index": position, **call})
            yield Finish(index, choice.get("finish_reason") or "stop")
        if data.get("usage"):
            yield _usage(data["usage"])
    except (AttributeError, TypeError, ValueError, KeyError) as exc:
        raise _Failed(
            ErrorEvent(ErrorKind.PROTOCOL, f"Unexpected shape in the response ({exc}).")
        ) from None


def _text(value: Any, what: str) -> str:
    if value is None or isinstance(value, str):
        return value or ""
    raise _Failed(ErrorEvent(ErrorKind.PROTOCOL, f"`{what}` in a response is not text."))


def _tool_call(choice: int, call: dict[str, Any]) -> ToolCallDelta:
    function = call.get("function") or {}
    arguments = function.get("arguments") or ""
    if isinstance(arguments, dict | list):
        arguments = json.dumps(arguments)  # some servers send the object, not its JSON text
    call_id, name = call.get("id"), function.get("name")
    return ToolCallDelta(
        choice=choice,
        index=int(call.get("index") or 0),
        id=None if call_id is None else _text(call_id, "tool_calls.id"),
        name=None if name is None else _text(name, "tool_calls.function.name"),
        arguments=_text(arguments, "tool_calls.function.arguments"),
    )


MAX_COUNT = 2**31 - 1


def _count(value: Any) -> int:
    """A token count as a database column can hold it, whatever the upstream sent."""
    return min(max(int(value or 0), 0), MAX_COUNT)


def _usage(usage: dict[str, Any]) -> Usage:
    prompt = _count(usage.get("prompt_tokens"))
    completion = _count(usage.get("completion_tokens"))
    return Usage(prompt, completion, _count(usage.get("total_tokens") or prompt + completion))


_STATUS_KINDS = {
    401: ErrorKind.UNAUTHORIZED,
    403: ErrorKind.FORBIDDEN,
    404: ErrorKind.NOT_FOUND,
    408: ErrorKind.TIMEOUT,
    413: ErrorKind.TOO_LARGE,
    429: ErrorKind.RATE_LIMITED,
}


def http_error(response: httpx.Response) -> ErrorEvent:
    """A non-2xx answer, with the upstream's own message and Retry-After."""
    try:
        data = json.loads(response.text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        event = error_from_body(data, status=response.status_code)
    else:
        text = response.text.strip() or response.reason_phrase
        event = ErrorEvent(_kind(response.status_code), text, status=response.status_code)
    retry_after = _retry_after(response.headers.get("retry-after"))
    if retry_after is None:
        return event
    return ErrorEvent(event.kind, event.message, event.status, retry_after)


def error_from_body(data: dict[str, Any], *, status: int | None) -> ErrorEvent:
    error = data.get("error", data)
    if isinstance(error, dict):
        message = error.get("message") or error.get("detail") or json.dumps(error)
        status = status or _int_or_none(error.get("code"))
    else:
        message = str(error)
    return ErrorEvent(_kind(status), str(message), status=status)


def _kind(status: int | None) -> ErrorKind:
    if status is None or status >= 500:
        return ErrorKind.SERVER
    return _STATUS_KINDS.get(status, ErrorKind.BAD_REQUEST)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and 400 <= value <= 599 else None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def transport_error(exc: Exception, endpoint: Endpoint) -> ErrorEvent:
    """A failure below HTTP: no connection, a timeout, a dropped stream."""
    cfg = _config
    match exc:
        case SSEError():
            return ErrorEvent(ErrorKind.PROTOCOL, f"Not an event stream: {exc}")
        case httpx.ConnectTimeout() | httpx.PoolTimeout():
            message = f"No connection to {endpoint.base_url} within {cfg.connect_timeout:g} s."
        case httpx.ReadTimeout():
            message = f"Nothing arrived for {cfg.read_timeout:g} s."
        case httpx.TimeoutException():
            message = f"Sending the request took longer than {cfg.connect_timeout:g} s."
        case httpx.ConnectError():
            return ErrorEvent(ErrorKind.CONNECT, f"{endpoint.base_url}: {exc}")
        case httpx.RemoteProtocolError() | httpx.ReadError():
            return ErrorEvent(ErrorKind.DISCONNECTED, f"The connection closed early ({exc}).")
        case _:
            return ErrorEvent(ErrorKind.PROTOCOL, f"{type(exc).__name__}: {exc}")
    return ErrorEvent(ErrorKind.TIMEOUT, message)


MAX_MESSAGE = 1000


def finished_error(event: ErrorEvent, key: str | None) -> ErrorEvent:
    """The error as it leaves the client: without the key (upstreams sometimes echo what they
    were sent), then cut to a readable length, in that order so no part of a key survives."""
    message = event.message.replace(key, "[key]") if key else event.message
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + " …"
    if message == event.message:
        return event
    return ErrorEvent(event.kind, message, event.status, event.retry_after)
