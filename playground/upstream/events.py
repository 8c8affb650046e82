"""Typed events that the upstream client yields: nothing past the client sees raw SSE or JSON."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class ResponseStarted:
    """The first thing the upstream said: its response id and the model that answers, and
    whether the answer streams (False: it came in one body, so it has no first token)."""

    id: str
    model: str
    created: int | None = None
    streamed: bool = True


@dataclass(frozen=True, slots=True)
class RoleDelta:
    choice: int
    role: str


@dataclass(frozen=True, slots=True)
class ContentDelta:
    choice: int
    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of `reasoning_content`, which reasoning models stream before the answer."""

    choice: int
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A fragment of a tool call: id and name come once, arguments arrive in pieces."""

    choice: int
    index: int
    id: str | None
    name: str | None
    arguments: str


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One output token's log probability, with the most likely tokens at its place."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Logprobs:
    """Log probabilities of a choice's content tokens. The upstream sends them a few at a time;
    the client yields each choice's whole list once, right before the choice's Finish (or at the
    end), so they never ride in streaming frames."""

    choice: int
    tokens: tuple[TokenLogprob, ...]


@dataclass(frozen=True, slots=True)
class Finish:
    choice: int
    reason: str


@dataclass(frozen=True, slots=True)
class Note:
    """Something odd about a response that the user should know, though it is not an error."""

    message: str


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ErrorKind(StrEnum):
    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    TOO_LARGE = "too_large"
    RATE_LIMITED = "rate_limited"
    SERVER = "server_error"
    TIMEOUT = "timeout"
    CONNECT = "connect"
    DISCONNECTED = "disconnected"
    PROTOCOL = "protocol"


_TITLES = {
    ErrorKind.BAD_REQUEST: "The endpoint rejected the request",
    ErrorKind.UNAUTHORIZED: "The endpoint rejected the API key",
    ErrorKind.FORBIDDEN: "The API key may not use this",
    ErrorKind.NOT_FOUND: "Not found (unknown model or wrong base URL)",
    ErrorKind.TOO_LARGE: "The request is too large for the endpoint",
    ErrorKind.RATE_LIMITED: "Rate limited by the endpoint",
    ErrorKind.SERVER: "The endpoint had a server error",
    ErrorKind.TIMEOUT: "The endpoint timed out",
    ErrorKind.CONNECT: "Could not connect to the endpoint",
    ErrorKind.DISCONNECTED: "The endpoint dropped the connection mid-stream",
    ErrorKind.PROTOCOL: "The endpoint sent something that is not a valid response",
}

_RETRYABLE = {
    ErrorKind.RATE_LIMITED,
    ErrorKind.SERVER,
    ErrorKind.TIMEOUT,
    ErrorKind.CONNECT,
    ErrorKind.DISCONNECTED,
}


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """The one event that ends a failed request; `message` is the upstream's own words if any."""

    kind: ErrorKind
    message: str
    status: int | None = None
    retry_after: float | None = None

    @property
    def title(self) -> str:
        return _TITLES[self.kind]

    @property
    def retryable(self) -> bool:
        """Whether the same request could succeed later (rate limits, 5xx, network trouble)."""
        return self.kind in _RETRYABLE


Event = (
    ResponseStarted
    | RoleDelta
    | ContentDelta
    | ReasoningDelta
    | ToolCallDelta
    | Logprobs
    | Finish
    | Usage
    | Note
    | ErrorEvent
)
