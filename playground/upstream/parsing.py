"""Response bodies and stream chunks read into typed events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .errors import Failed
from .events import (
    ContentDelta,
    ErrorEvent,
    ErrorKind,
    Event,
    Finish,
    Logprobs,
    ReasoningDelta,
    ResponseStarted,
    RoleDelta,
    TokenLogprob,
    ToolCallDelta,
    Usage,
)

MAX_TOP = 20  # the API's own bound on top_logprobs
MAX_TOKEN_CHARS = 200  # a token longer than this is a hostile upstream's, shown cut


def parse_object(text: str, what: str) -> dict[str, Any]:
    """A JSON object, or Failed saying that `what` is malformed."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise Failed(
            ErrorEvent(ErrorKind.PROTOCOL, f"Malformed {what} (not JSON): {text!r}")
        ) from None
    if not isinstance(data, dict):
        raise Failed(ErrorEvent(ErrorKind.PROTOCOL, f"Malformed {what}: not a JSON object."))
    return data


def response_started(data: dict[str, Any], *, streamed: bool) -> ResponseStarted:
    return ResponseStarted(
        id=str(data.get("id") or ""),
        model=str(data.get("model") or ""),
        created=data.get("created") if isinstance(data.get("created"), int) else None,
        streamed=streamed,
    )


def chunk_events(chunk: dict[str, Any]) -> Iterator[Event]:
    """The events in one `chat.completion.chunk`."""
    try:
        for choice in chunk.get("choices") or ():
            index = int(choice.get("index") or 0)
            delta = choice.get("delta") or {}
            if delta.get("role"):
                yield RoleDelta(index, str(delta["role"]))
            if reasoning := _text(delta.get("reasoning_content"), "reasoning_content"):
                yield ReasoningDelta(index, reasoning)
            if content := _text(delta.get("content"), "content"):
                yield ContentDelta(index, content)
            for call in delta.get("tool_calls") or ():
                yield _tool_call(index, call)
            if logprobs := _logprobs(index, choice.get("logprobs")):
                yield logprobs
            if choice.get("finish_reason"):
                yield Finish(index, str(choice["finish_reason"]))
        if chunk.get("usage"):
            yield _usage(chunk["usage"])
    except (AttributeError, TypeError, ValueError, KeyError) as exc:
        raise Failed(
            ErrorEvent(ErrorKind.PROTOCOL, f"Unexpected shape in a stream event ({exc}).")
        ) from None


def completion_events(data: dict[str, Any]) -> Iterator[Event]:
    """The same events as a stream would give, from a non-streaming `chat.completion` body."""
    yield response_started(data, streamed=False)
    try:
        for choice in data.get("choices") or ():
            index = int(choice.get("index") or 0)
            message = choice.get("message") or {}
            yield RoleDelta(index, str(message.get("role") or "assistant"))
            if reasoning := _text(message.get("reasoning_content"), "reasoning_content"):
                yield ReasoningDelta(index, reasoning)
            if content := _text(message.get("content"), "content"):
                yield ContentDelta(index, content)
            for position, call in enumerate(message.get("tool_calls") or ()):
                yield _tool_call(index, {"index": position, **call})
            if logprobs := _logprobs(index, choice.get("logprobs")):
                yield logprobs
            if choice.get("finish_reason"):  # none given is shown as none, never invented
                yield Finish(index, str(choice["finish_reason"]))
        if data.get("usage"):
            yield _usage(data["usage"])
    except (AttributeError, TypeError, ValueError, KeyError) as exc:
        raise Failed(
            ErrorEvent(ErrorKind.PROTOCOL, f"Unexpected shape in the response ({exc}).")
        ) from None


def _text(value: Any, what: str) -> str:
    if value is None or isinstance(value, str):
        return value or ""
    raise Failed(ErrorEvent(ErrorKind.PROTOCOL, f"`{what}` in a response is not text."))


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


def _logprobs(choice: int, value: Any) -> Logprobs | None:
    """Both shapes: `{"content": [{"token", "logprob", "top_logprobs": [...]}]}` (chat) and
    the older `{"tokens", "token_logprobs", "top_logprobs": [{token: logprob}]}`. Log
    probabilities are extra: an entry in neither shape is left out, never fails the answer."""
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("content"), list):
        pairs = (
            (entry.get("token"), entry.get("logprob"), _top_list(entry.get("top_logprobs")))
            for entry in value["content"]
            if isinstance(entry, dict)
        )
    elif isinstance(value.get("tokens"), list):
        logprobs = value.get("token_logprobs")
        tops = value.get("top_logprobs")
        pairs = (
            (token, _at(logprobs, i), _top_dict(_at(tops, i)))
            for i, token in enumerate(value["tokens"])
        )
    else:
        return None
    tokens = tuple(
        TokenLogprob(_token(token), number, top)
        for token, logprob, top in pairs
        if isinstance(token, str) and (number := _logprob(logprob)) is not None
    )
    return Logprobs(choice, tokens) if tokens else None


def _at(values: Any, index: int) -> Any:
    return values[index] if isinstance(values, list) and index < len(values) else None


def _top_list(entries: Any) -> tuple[tuple[str, float], ...]:
    if not isinstance(entries, list):
        return ()
    pairs = ((e.get("token"), e.get("logprob")) for e in entries[:MAX_TOP] if isinstance(e, dict))
    return _top(pairs)


def _top_dict(entries: Any) -> tuple[tuple[str, float], ...]:
    return _top(list(entries.items())[:MAX_TOP]) if isinstance(entries, dict) else ()


def _top(pairs: Any) -> tuple[tuple[str, float], ...]:
    top = [
        (_token(token), number)
        for token, logprob in pairs
        if isinstance(token, str) and (number := _logprob(logprob)) is not None
    ]
    return tuple(sorted(top, key=lambda pair: -pair[1]))


def _token(token: str) -> str:
    return token if len(token) <= MAX_TOKEN_CHARS else token[:MAX_TOKEN_CHARS] + "…"


LOGPROB_FLOOR = -1000.0  # what -inf (or less) is kept as: JSON has no infinity


def _logprob(value: Any) -> float | None:
    """A log probability as JSON can hold it: at most 0, at least the floor; None for NaN or
    what is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return min(max(float(value), LOGPROB_FLOOR), 0.0)


MAX_COUNT = 2**31 - 1


def _count(value: Any) -> int:
    """A token count as a database column can hold it, whatever the upstream sent."""
    return min(max(int(value or 0), 0), MAX_COUNT)


def _usage(usage: dict[str, Any]) -> Usage:
    prompt = _count(usage.get("prompt_tokens"))
    completion = _count(usage.get("completion_tokens"))
    return Usage(prompt, completion, _count(usage.get("total_tokens") or prompt + completion))
