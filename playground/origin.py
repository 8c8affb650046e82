"""The websocket's Origin check: only a page of this site itself may open a socket.

Channels' AllowedHostsOriginValidator compares the Origin's host only, so a page served from
another port (or over http beside https) of the same host could open a signed-in member's
socket with their cookie, run prompts and read the answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from asgiref.compatibility import guarantee_single_callable
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

if TYPE_CHECKING:  # types-channels' names, as its own OriginValidator is typed
    from asgiref.typing import ASGI3Application, ASGIReceiveCallable, ASGISendCallable
    from channels.consumer import _ChannelScope
    from channels.utils import _ChannelApplication


class SameOriginValidator:
    """Lets a websocket through only from its own origin, else closes it before accepting."""

    def __init__(self, application: _ChannelApplication) -> None:
        self.application: ASGI3Application = guarantee_single_callable(application)

    async def __call__(
        self, scope: _ChannelScope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            await WebsocketDenier()(scope, receive, send)
            return
        await self.application(scope, receive, send)


def origin_allowed(scope: _ChannelScope) -> bool:
    """The Origin is scheme://host[:port] of this very request, or a CSRF-trusted origin.

    The request's host is its Host header, which must be one of ALLOWED_HOSTS; its scheme is
    what Django's `request.scheme` would say (SECURE_PROXY_SSL_HEADER when the proxy sent it,
    else the socket's own: ws is http, wss is https).
    """
    headers = {
        name.decode("latin1").lower(): value.decode("latin1") for name, value in scope["headers"]
    }
    origin, host = headers.get("origin"), headers.get("host", "")
    if origin is None:
        return False
    if _trusted(origin):
        return True
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, _allowed_hosts()):
        return False
    return _same_origin(origin, f"{_scheme(scope, headers)}://{host}")


def _scheme(scope: _ChannelScope, headers: Mapping[str, str]) -> str:
    if settings.SECURE_PROXY_SSL_HEADER:
        meta_name, secure_value = settings.SECURE_PROXY_SSL_HEADER
        header = meta_name.removeprefix("HTTP_").lower().replace("_", "-")
        if header in headers:
            return "https" if headers[header].split(",", 1)[0].strip() == secure_value else "http"
    return "https" if scope.get("scheme") == "wss" else "http"


def _allowed_hosts() -> list[str]:
    """As Django's request.get_host() takes them."""
    if settings.DEBUG and not settings.ALLOWED_HOSTS:
        return [".localhost", "127.0.0.1", "[::1]"]
    return list(settings.ALLOWED_HOSTS)


def _same_origin(origin: str, expected: str) -> bool:
    key = _origin_key(origin)
    return key is not None and key == _origin_key(expected)


def _origin_key(origin: str) -> tuple[str, str, int] | None:
    """Scheme, host and port, the port filled in when left out (a browser leaves 80 and 443)."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _trusted(origin: str) -> bool:
    """As Django's CSRF check reads CSRF_TRUSTED_ORIGINS: exact, or `scheme://*.domain`."""
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    patterns = [urlsplit(trusted) for trusted in settings.CSRF_TRUSTED_ORIGINS if "*" in trusted]
    return any(
        parts.scheme == pattern.scheme and is_same_domain(parts.netloc, pattern.netloc.lstrip("*"))
        for pattern in patterns
    )
