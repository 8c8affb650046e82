"""Failures mapped to ErrorEvents: HTTP statuses, error bodies, transport trouble."""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from httpx_sse import SSEError

from .client import get_config
from .endpoints import Endpoint
from .events import ErrorEvent, ErrorKind


class Failed(Exception):
    """Carries an ErrorEvent out of the parsing helpers to the one place that yields it."""

    def __init__(self, event: ErrorEvent):
        super().__init__(event.message)
        self.event = event


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
    cfg = get_config()
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
