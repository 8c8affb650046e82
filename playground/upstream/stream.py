"""One chat-completion request: a request goes in, typed events come out.

Nothing raises past `stream_chat`: every failure becomes one ErrorEvent, after whatever
arrived before it. Cancelling the task that iterates it (inside `aclosing`) closes the
upstream connection at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from typing import Any

import httpx
from httpx_sse import EventSource, SSEError

from .client import get_client, get_config
from .endpoints import Endpoint
from .errors import Failed, error_from_body, http_error, transport_error
from .events import (
    ContentDelta,
    ErrorEvent,
    ErrorKind,
    Event,
    Finish,
    Note,
    ReasoningDelta,
    RoleDelta,
    ToolCallDelta,
    Usage,
)
from .parsing import chunk_events, completion_events, parse_object, response_started
from .text import EdgeText

logger = logging.getLogger(__name__)


def _headers(key: str | None, *, stream: bool = False) -> dict[str, str]:
    headers = {"Accept": "text/event-stream" if stream else "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


async def stream_chat(endpoint: Endpoint, body: dict[str, Any]) -> AsyncGenerator[Event, None]:
    """Send one chat-completion request and yield its events, streamed or not alike, with
    their text made safe at this edge (`EdgeText`)."""
    key = endpoint.api_key()
    edge = EdgeText(key)
    total = get_config().total_timeout
    deadline = asyncio.get_running_loop().time() + total
    ending: Sequence[Event]
    try:
        async with aclosing(_request_events(endpoint, body, key)) as events:
            while (event := await _next_before(deadline, total, events)) is not None:
                for safe in edge.apply(event):
                    yield safe
        ending = edge.flush()
    except Failed as failed:
        ending = edge.apply(failed.event)
    except (httpx.HTTPError, SSEError) as exc:
        ending = edge.apply(transport_error(exc, endpoint))
    except Exception as exc:  # a bug here must still end the run with a message, not a hang
        logger.exception("Unexpected failure reading from endpoint %s", endpoint.name)
        ending = edge.apply(
            ErrorEvent(ErrorKind.PROTOCOL, f"Unexpected failure: {type(exc).__name__}")
        )
    for last in ending:
        yield last


async def _next_before(deadline: float, total: float, events: AsyncIterator[Event]) -> Event | None:
    """The next event (None at the end), or Failed once the run's deadline has passed.

    The deadline bounds every wait on the upstream, so keep-alive comments or one endless line
    cannot hold a run. It is set around each wait and never across a `yield`: left open there,
    it would cancel whatever the reader happened to be awaiting.
    """
    scope = asyncio.timeout_at(deadline)
    try:
        async with scope:
            return await anext(events, None)
    except TimeoutError:
        if not scope.expired():
            raise
        message = f"The response took longer than {total:g} s in all."
        raise Failed(ErrorEvent(ErrorKind.TIMEOUT, message)) from None


async def _request_events(
    endpoint: Endpoint, body: dict[str, Any], key: str | None
) -> AsyncGenerator[Event, None]:
    streaming = bool(body.get("stream"))
    async with get_client().stream(
        "POST",
        endpoint.url("chat/completions"),
        json=body,
        headers=_headers(key, stream=streaming),
    ) as response:
        if not response.is_success:
            await response.aread()
            raise Failed(http_error(response))
        content_type = response.headers.get("content-type", "")
        if streaming and not content_type.startswith("application/json"):
            async for event in _sse_events(response):
                yield event
        else:
            # Some servers answer a streaming request with one JSON body: treat both alike.
            await response.aread()
            for event in completion_events(parse_object(response.text, "response body")):
                yield event


async def _sse_events(response: httpx.Response) -> AsyncIterator[Event]:
    started = False
    ending = _Ending()
    async for sse in EventSource(response).aiter_sse():
        if sse.data == "[DONE]":
            return
        if not sse.data:
            continue  # keep-alive comments and empty events carry nothing
        chunk = parse_object(sse.data, "event")
        if "error" in chunk:
            raise Failed(error_from_body(chunk, status=None))
        if not started:
            started = True
            yield response_started(chunk, streamed=True)
        for event in chunk_events(chunk):
            ending.see(event)
            yield event
    if not ending.complete:
        raise Failed(ErrorEvent(ErrorKind.PROTOCOL, "The stream ended without data: [DONE]."))
    yield Note(
        "The stream ended without data: [DONE], after every choice's finish reason and the"
        " usage: the answer is complete."
    )


class _Ending:
    """Whether a stream said all it had to before it ended: some servers close the body after
    the last finish reason and the usage without sending [DONE]."""

    def __init__(self) -> None:
        self.begun: set[int] = set()
        self.finished: set[int] = set()
        self.usage = False

    def see(self, event: Event) -> None:
        if isinstance(event, Usage):
            self.usage = True
        elif isinstance(event, Finish):
            self.finished.add(event.choice)
        elif isinstance(event, RoleDelta | ContentDelta | ReasoningDelta | ToolCallDelta):
            self.begun.add(event.choice)

    @property
    def complete(self) -> bool:
        return self.usage and bool(self.finished) and self.begun <= self.finished
