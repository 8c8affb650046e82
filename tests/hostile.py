"""An upstream that says exactly what a test scripts: hostile text, broken shapes, odd chunking.

The simulator generates well-formed answers; attacks and faults need an upstream that sends
whatever bytes a test chooses. A test registers a script under a model name and runs that
model against the `scripted` endpoint (fixtures in tests/conftest.py); the server is a real
HTTP server on a loopback socket, so the client, the relay and the page see real traffic.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import Any


def chunk(
    *,
    content: str | None = None,
    reasoning: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str | None = None,
    index: int = 0,
    id: str = "chatcmpl-scripted",
    usage: dict[str, int] | None = None,
) -> dict[str, Any]:
    """One `chat.completion.chunk`, with only the parts given."""
    delta: dict[str, Any] = {}
    if content is not None:
        delta["content"] = content
    if reasoning is not None:
        delta["reasoning_content"] = reasoning
    if tool_calls is not None:
        delta["tool_calls"] = tool_calls
    data: dict[str, Any] = {
        "id": id,
        "object": "chat.completion.chunk",
        "model": "scripted",
        "choices": [{"index": index, "delta": delta, "finish_reason": finish_reason}],
    }
    if usage is not None:
        data["usage"] = usage
    return data


def pieces(text: str, size: int) -> list[str]:
    """`text` cut every `size` characters, as an upstream's tokens might cut it."""
    return [text[start : start + size] for start in range(0, len(text), size)]


def sse(*events: dict[str, Any] | str, done: bool = True) -> list[bytes]:
    """Server-sent events: a dict goes as `data: <json>` (non-ASCII escaped, so a lone
    surrogate travels as `\\ud800`, as a real upstream would send it), a str as it is."""
    lines = [
        (f"data: {json.dumps(event)}\n\n" if isinstance(event, dict) else event).encode(
            "utf-8", "surrogatepass"
        )
        for event in events
    ]
    return [*lines, b"data: [DONE]\n\n"] if done else lines


def numbered(count: int) -> list[bytes]:
    """An answer of `count` numbered tokens, " 0@", " 1@" and so on, as the simulator's bench
    mode numbers them (less its time stamps)."""
    return sse(
        *(chunk(content=f" {number}@") for number in range(count)), chunk(finish_reason="stop")
    )


@dataclass
class Script:
    """What the upstream answers to one model: a status, a content type, and body parts sent
    one by one, `delay` seconds apart. With `held_after`, every answer stops after that many
    parts until the test sets `release`: a run that is still going for as long as the test
    needs, and no longer."""

    parts: list[bytes]
    status: int = 200
    content_type: str = "text/event-stream"
    delay: float = 0.0
    held_after: int | None = None
    release: threading.Event = field(default_factory=threading.Event)
    requests: list[dict[str, Any]] = field(default_factory=list)
    sent: threading.Event = field(default_factory=threading.Event)  # every part has gone


class ScriptedUpstream:
    """A chat-completions ASGI app that answers each model with its registered script."""

    def __init__(self) -> None:
        self.scripts: dict[str, Script] = {}

    def script(self, model: str, parts: list[bytes], **options: Any) -> Script:
        self.scripts[model] = Script(parts, **options)
        return self.scripts[model]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = json.loads(body or b"{}") if scope["method"] == "POST" else {}
        script = self.scripts.get(str(request.get("model")))
        if script is None:
            await _answer(send, 404, b'{"error": {"message": "no script for this model"}}')
            return
        script.requests.append(request)
        headers = [(b"content-type", script.content_type.encode())]
        await send({"type": "http.response.start", "status": script.status, "headers": headers})
        for number, part in enumerate(script.parts):
            if number == script.held_after:
                await asyncio.to_thread(script.release.wait)  # the test's thread sets it
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await asyncio.sleep(script.delay)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        script.sent.set()


async def _answer(send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
