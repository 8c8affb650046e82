"""A server told to stop (SIGTERM, on every deploy) drains its runs before it goes.

Under Daphne, Twisted owns SIGTERM: it calls its "before shutdown" triggers, waits for the
Deferreds they return, and only then stops. Daphne's own trigger cancels every consumer at
once; that leaves the runs alone (each is a task of its own) and the sockets open. So the
drain, within PLAYGROUND_SHUTDOWN_GRACE: the registry ends each run with what arrived
(interrupted: the server restarted) and sends its last frame, which leaves the sockets'
outboxes; then every websocket is closed
with 1012, and the pages' answers awaited, so that the last frame and the close reach them.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, cast

from autobahn.twisted.websocket import WebSocketServerProtocol
from django.conf import settings
from twisted.internet.defer import Deferred

from playground.upstream import close_client

from . import outbox, rundb
from .registry import get_registry

if TYPE_CHECKING:
    from twisted.internet.base import ReactorBase

# Service Restart: the page's ws extension reconnects after it (it does not after 1001).
SERVICE_RESTART = 1012
# Of the grace, what is kept for the sockets' closing handshakes, at most.
CLOSING = 1.0


def drain_before_shutdown() -> None:
    """Register the drain with the reactor Daphne runs (the launcher calls this as the reactor
    starts: playground.launch)."""
    _reactor().addSystemEventTrigger("before", "shutdown", _drain_now)


def _reactor() -> ReactorBase:
    from twisted.internet import reactor

    # Typed as zope interfaces, whose methods mypy reads as taking no self.
    return cast("ReactorBase", reactor)


def _drain_now() -> Deferred[None]:
    # Twisted calls its triggers on the loop it runs, so the registry drained is that loop's.
    return Deferred.fromFuture(asyncio.ensure_future(_drain()))


async def _drain() -> None:
    loop = asyncio.get_running_loop()
    grace = settings.PLAYGROUND_SHUTDOWN_GRACE
    deadline = loop.time() + grace
    await get_registry().drain(within=grace - min(CLOSING, grace / 4))
    await outbox.send_all(within=deadline - loop.time())
    await asyncio.gather(
        _close_websockets(within=deadline - loop.time()),
        rundb.close(within=deadline - loop.time()),
        close_client(),  # aiohttp's pool says so at exit when it was left open
    )


async def _close_websockets(within: float) -> None:
    """Close every open websocket with 1012 and wait (`within` seconds at most) for the pages
    to answer. Not through ASGI: autobahn refuses a close code from the application other
    than 1000 or 3000-4999, so the close frame is sent on Daphne's protocols directly."""
    sockets = [p for p in map(_protocol_of, _reactor().getReaders()) if p is not None]
    for socket in sockets:
        socket.sendCloseFrame(code=SERVICE_RESTART, isReply=False)
    loop = asyncio.get_running_loop()
    closed = [socket.is_closed.asFuture(loop) for socket in sockets]
    if closed:
        await asyncio.wait(closed, timeout=max(within, 0))


def _protocol_of(reader: Any) -> WebSocketServerProtocol | None:
    """The open websocket a connection of the reactor carries (behind TLS too), if any."""
    protocol = getattr(reader, "protocol", None)
    protocol = getattr(protocol, "wrappedProtocol", protocol)
    if isinstance(protocol, WebSocketServerProtocol) and protocol.state == protocol.STATE_OPEN:
        return protocol
    return None
