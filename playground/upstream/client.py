"""The HTTP client the upstream package sends with: one per running loop, and its settings."""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class UpstreamConfig:
    pool_size: int = 100
    connect_timeout: float = 10.0
    read_timeout: float = 60.0  # the longest quiet gap between two events
    total_timeout: float = 600.0  # the whole request, streamed or not
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
