"""The HTTP client the upstream package sends with: one per running loop, and its settings."""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from dataclasses import dataclass

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


@dataclass(frozen=True)
class UpstreamConfig:
    pool_size: int = 100
    connect_timeout: float = 10.0
    read_timeout: float = 60.0  # the longest quiet gap between two events
    total_timeout: float = 600.0  # the whole request, streamed or not
    models_cache_seconds: float = 60.0
    # aiohttp's C parser reads a stream with about half the CPU of httpx's own transport
    # (bench/relay.py); "httpx" is the fallback.
    transport: str = "aiohttp"


_config = UpstreamConfig()
# Sends of a request that found its kept-alive connection closed under it (_AiohttpTransport).
STALE_RETRIES = 2
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
        client = _clients[loop] = new_client(_config.pool_size)
    return client


def new_client(pool_size: int = 1) -> httpx.AsyncClient:
    """A client of its own, for a request made now and then (a model list, cached): the
    loop it runs on may be a request's own (a view under a sync server), which would leave
    a shared client open when it ends."""
    limits = httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size)
    # An AiohttpTransport keeps its own pool: the client's `limits` would not reach it.
    transport = _AiohttpTransport(limits=limits) if _config.transport == "aiohttp" else None
    return httpx.AsyncClient(limits=limits, timeout=_timeout(), transport=transport)


async def close_client() -> None:
    """Close this loop's client (at shutdown, and between tests)."""
    client = _clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()


class _AiohttpTransport(AiohttpTransport):
    """httpx-aiohttp's transport, with two mends.

    A request sent on a kept-alive connection that the server closed at that very moment (an
    idle timeout: 5 s for uvicorn, and for httpx's default keep-alive alike) never reached
    it: it is sent again, as OpenAI's own client would, at most STALE_RETRIES times. One that
    failed on a new connection is not: that server is answered as it behaved.

    httpx-aiohttp 0.2.0 maps every aiohttp connection error to ConnectTimeout (its table
    matches their base class first): a refused connection or a server that hung up is put
    back as what httpx itself raises, so the page says what happened."""

    def __init__(self, *, limits: httpx.Limits):
        super().__init__(limits=limits, client=self._session)

    def _session(self) -> aiohttp.ClientSession:
        """The session httpx-aiohttp would make, and a trace of which requests reuse a
        connection. Made on the first request, inside the loop it belongs to."""
        connector = aiohttp.TCPConnector(
            limit=self.limits.max_connections or 0,
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self.ssl_context,
        )
        trace = aiohttp.TraceConfig()
        trace.on_connection_reuseconn.append(_note_reuse)
        return aiohttp.ClientSession(connector=connector, trace_configs=[trace])

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        retries = STALE_RETRIES
        while True:
            attempt = _Attempt()
            token = _attempt.set(attempt)
            try:
                return await super().handle_async_request(request)
            except httpx.ConnectTimeout as exc:
                cause = exc.__cause__
                if cause is None or isinstance(cause, asyncio.TimeoutError):
                    raise
                if isinstance(cause, aiohttp.ClientConnectorError):
                    raise httpx.ConnectError(str(cause), request=request) from cause
                if not (attempt.reused and retries):
                    raise httpx.RemoteProtocolError(str(cause), request=request) from cause
                retries -= 1
            finally:
                _attempt.reset(token)


@dataclass
class _Attempt:
    reused: bool = False  # it went out on a kept-alive connection


_attempt: contextvars.ContextVar[_Attempt | None] = contextvars.ContextVar(
    "upstream_attempt", default=None
)


async def _note_reuse(*_: object) -> None:
    """aiohttp's trace hook, called in the task that sends the request."""
    if (attempt := _attempt.get()) is not None:
        attempt.reused = True


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(
        connect=_config.connect_timeout,
        read=_config.read_timeout,
        write=_config.connect_timeout,
        pool=_config.connect_timeout,
    )
