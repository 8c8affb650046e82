"""The run socket's handshake, when the database is down."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.typing import ASGIReceiveCallable, ASGISendCallable, ASGISendEvent

from . import fragments
from .rundb import OUTAGE

DATABASE_DOWN = "The database is not answering: the page reconnects by itself when it is back."


class DatabaseDownNotice:
    """Channels' AuthMiddleware reads the session and the user as a socket opens, before any
    consumer: with the database down, that would refuse the socket with a 500 and no word.
    The page is told instead: the socket is accepted, the notice sent, and the error raised
    again, so that the server closes the socket with 1011, which the page reconnects after
    (through Daphne an application may only close with 1000 or 3000-4999)."""

    def __init__(self, app: Callable[..., Awaitable[Any]]):
        self.app = app

    async def __call__(
        self, scope: dict, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        accepted = False

        async def sending(message: ASGISendEvent) -> None:
            nonlocal accepted
            accepted = accepted or message["type"] == "websocket.accept"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except OUTAGE:
            if not accepted:
                await receive()  # the handshake's websocket.connect, which nobody took
                await send({"type": "websocket.accept", "subprotocol": None, "headers": []})
                text = fragments.notice(DATABASE_DOWN)
                await send({"type": "websocket.send", "bytes": None, "text": text})
            raise
