"""The reducer of a run: typed upstream events in, the run's whole state out.

Only `apply` and `end` change the state. What the page has been sent is an offset per part,
advanced by `take_pending`, which hands out a snapshot of what is new: the renderers are pure
functions of that snapshot, and each piece of text is kept once.
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field
from typing import Any

from playground.output.logprobs import logprobs_dict
from playground.transcripts.models import Transcript
from playground.transcripts.services import RunOutcome
from playground.upstream import (
    ContentDelta,
    ErrorEvent,
    Event,
    Finish,
    Logprobs,
    Note,
    ReasoningDelta,
    ResponseStarted,
    RoleDelta,
    TokenLogprob,
    ToolCallDelta,
    Usage,
)

# Tokens are joined into chunks of about this many characters: a string per token would cost
# ~50 bytes of overhead each (a 10 MB answer would take 100 MB), and the small objects left
# behind keep the process's memory fragmented after the run.
CHUNK = 4096


class TextBuffer:
    """Text that only grows, kept once: a few large chunks, read back by offset."""

    def __init__(self) -> None:
        self._chunks: list[str] = []
        self._starts: list[int] = []  # the offset of each chunk
        self._tail: list[str] = []  # the latest pieces, not yet joined into a chunk
        self._tail_length = 0
        self.length = 0

    def append(self, text: str) -> None:
        if not text:
            return
        self._tail.append(text)
        self._tail_length += len(text)
        self.length += len(text)
        if self._tail_length >= CHUNK:
            self._seal()

    def _seal(self) -> None:
        if self._tail:
            self._starts.append(self.length - self._tail_length)
            self._chunks.append("".join(self._tail))
            self._tail, self._tail_length = [], 0

    def slice(self, start: int, end: int | None = None) -> str:
        """The text from `start` to `end` (the end of the text when None)."""
        self._seal()
        end = self.length if end is None else min(end, self.length)
        if start >= end:
            return ""
        first = bisect.bisect_right(self._starts, start) - 1
        last = bisect.bisect_right(self._starts, end - 1) - 1
        if first == last:
            chunk, offset = self._chunks[first], self._starts[first]
            return chunk[start - offset : end - offset]  # the chunk itself when it is all of it
        parts = self._chunks[first : last + 1]
        parts[0] = parts[0][start - self._starts[first] :]
        parts[-1] = parts[-1][: end - self._starts[last]]
        return "".join(parts)

    def value(self) -> str:
        """All of the text, as one string that the buffer then keeps instead of its chunks, so
        that the outcome and the buffer share it rather than hold two copies."""
        self._seal()
        if len(self._chunks) > 1:
            self._chunks, self._starts = ["".join(self._chunks)], [0]
        return self._chunks[0] if self._chunks else ""

    def __len__(self) -> int:
        return self.length

    def __bool__(self) -> bool:
        return self.length > 0


@dataclass
class ToolCallState:
    id: str = ""
    name: str = ""
    arguments: TextBuffer = field(default_factory=TextBuffer)
    # What the page has: the id it shows, how much of the name and of the arguments.
    id_sent: str = ""
    name_sent: int = 0
    arguments_sent: int = 0

    def as_dict(self) -> dict[str, Any]:
        function = {"name": self.name, "arguments": self.arguments.value()}
        return {"id": self.id, "type": "function", "function": function}


@dataclass(frozen=True, slots=True)
class ToolCallPending:
    """What one tool call gained since the last snapshot: its box is made when `new`."""

    index: int
    new: bool
    id: str | None = None  # the call's id when it changed
    name: str = ""
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class ChoicePending:
    """What one choice gained since the last snapshot. Text comes in bounded slices: what is
    left over stays in the state for the next snapshot, and the choice finishes only once all
    of its text has been handed out."""

    index: int
    reasoning: str = ""
    content: str = ""
    content_end: int = 0  # how much of the answer the page has once it takes `content`
    tool_calls: tuple[ToolCallPending, ...] = ()
    finished: bool = False  # once, when the choice is over
    finish_reason: str | None = None  # with it: the upstream's, how the run cut it, or none
    has_tool_calls: bool = False
    logprobs: tuple[TokenLogprob, ...] = ()  # with the finished choice, when asked for


@dataclass
class ChoiceState:
    index: int
    content: TextBuffer = field(default_factory=TextBuffer)
    reasoning: TextBuffer = field(default_factory=TextBuffer)
    tool_calls: dict[int, ToolCallState] = field(default_factory=dict)
    finish_reason: str | None = None  # as the upstream said it, or how the run cut it short
    ended: bool = False  # over: finished by the upstream, or by the run's end
    logprobs: tuple[TokenLogprob, ...] = ()
    # How far the page has been given each part.
    content_sent: int = 0
    reasoning_sent: int = 0
    finish_sent: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "content": self.content.value(),
            "reasoning": self.reasoning.value(),
            "tool_calls": [self.tool_calls[key].as_dict() for key in sorted(self.tool_calls)],
            "finish_reason": self.finish_reason,
        }

    def take_pending(self, most: int) -> ChoicePending | None:
        """What is new, at most `most` characters of each text."""
        reasoning_end = min(self.reasoning.length, self.reasoning_sent + most)
        reasoning = self.reasoning.slice(self.reasoning_sent, reasoning_end)
        content_end = min(self.content.length, self.content_sent + most)
        content = self.content.slice(self.content_sent, content_end)
        self.reasoning_sent, self.content_sent = reasoning_end, content_end
        calls = tuple(p for key in sorted(self.tool_calls) if (p := self._call(key, most)))
        finished = self.ended and not self.finish_sent and not self.unsent()
        self.finish_sent = self.finish_sent or finished
        if not (reasoning or content or calls or finished):
            return None
        return ChoicePending(
            self.index,
            reasoning,
            content,
            content_end,
            calls,
            finished,
            self.finish_reason if finished else None,
            bool(self.tool_calls),
            self.logprobs if finished else (),
        )

    def _call(self, key: int, most: int) -> ToolCallPending | None:
        call = self.tool_calls[key]
        new = not (call.id_sent or call.name_sent or call.arguments_sent)
        end = min(call.arguments.length, call.arguments_sent + most)
        pending = ToolCallPending(
            key,
            new,
            call.id if call.id != call.id_sent else None,
            call.name[call.name_sent :],
            call.arguments.slice(call.arguments_sent, end),
        )
        call.id_sent, call.name_sent, call.arguments_sent = call.id, len(call.name), end
        if not new and pending.id is None and not pending.name and not pending.arguments:
            return None
        return pending

    def unsent(self) -> bool:
        """Whether text of this choice is still waiting to go to the page."""
        return (
            self.content_sent < self.content.length
            or self.reasoning_sent < self.reasoning.length
            or any(c.arguments_sent < c.arguments.length for c in self.tool_calls.values())
        )


class RunState:
    def __init__(self, n: int):
        self.n = n  # as asked: an endpoint may return fewer (`choices` holds those it returned)
        self.choices: dict[int, ChoiceState] = {}
        self.started = time.monotonic()
        self.streamed = True  # False when the answer came in one body: no first token, no speed
        self.first_token_at: float | None = None
        self.finished_at: float | None = None
        self.response_id = ""
        self.usage: Usage | None = None
        self.error: ErrorEvent | None = None
        self.notes: list[str] = []
        self.deltas = 0

    def choice(self, index: int) -> ChoiceState:
        if index not in self.choices:
            self.choices[index] = ChoiceState(index)
        return self.choices[index]

    def apply(self, event: Event) -> None:
        match event:
            case ContentDelta(choice=index, text=text):
                self._token()
                self.choice(index).content.append(text)
            case ReasoningDelta(choice=index, text=text):
                self._token()
                self.choice(index).reasoning.append(text)
            case ToolCallDelta():
                self._token()
                self._tool_fragment(event)
            case Logprobs(choice=index, tokens=tokens):
                self.choice(index).logprobs = tokens
            case RoleDelta(choice=index):
                self.choice(index)
            case Finish(choice=index, reason=reason):
                self.choice(index).finish_reason = reason
                self.choice(index).ended = True
            case Usage():
                self.usage = event
            case ResponseStarted(id=response_id, streamed=streamed):
                self.response_id = response_id
                self.streamed = streamed
            case Note(message=message):
                self.notes.append(message)
            case ErrorEvent():
                self.error = event

    def _token(self) -> None:
        self.deltas += 1
        if self.first_token_at is None:
            self.first_token_at = time.monotonic()

    def _tool_fragment(self, event: ToolCallDelta) -> None:
        call = self.choice(event.choice).tool_calls.setdefault(event.index, ToolCallState())
        if event.id:
            call.id = event.id
        if event.name:
            call.name += event.name
        call.arguments.append(event.arguments)

    def end(self, status: Transcript.Status) -> None:
        """The run is over, and so is every choice: one the upstream left without a finish
        reason keeps none; one cut short by a stop or an error finishes (and is rendered) with
        what it received, its finish reason saying how it ended."""
        if self.finished_at is not None:
            return
        self.finished_at = time.monotonic()
        for choice in self.choices.values():
            if choice.ended:
                continue
            if status == Transcript.Status.COMPLETED:
                choice.ended = True
            elif choice.content or choice.tool_calls:
                choice.ended, choice.finish_reason = True, status

    def take_pending(self, most: int) -> list[ChoicePending]:
        """What is new since the last call, choice by choice, at most `most` characters of
        each text; the offsets move past what is handed out."""
        return [p for c in self.choices.values() if (p := c.take_pending(most)) is not None]

    def drop_pending(self) -> None:
        """Nobody watches: what is new will never be sent (the outcome still holds it)."""
        for choice in self.choices.values():
            choice.content_sent, choice.reasoning_sent = (
                choice.content.length,
                choice.reasoning.length,
            )
            for call in choice.tool_calls.values():
                call.id_sent, call.name_sent = call.id, len(call.name)
                call.arguments_sent = call.arguments.length
            choice.finish_sent = choice.ended

    def has_pending(self) -> bool:
        return any(c.unsent() or (c.ended and not c.finish_sent) for c in self.choices.values())

    def timings(self) -> dict[str, Any]:
        end = self.finished_at or time.monotonic()
        first = self.first_token_at if self.streamed else None
        ttft = None if first is None else first - self.started
        tokens = self.usage.completion_tokens if self.usage else self.deltas
        generating = end - first if first else 0
        return {
            "time_to_first_token_ms": None if ttft is None else round(ttft * 1000),
            "duration_ms": round((end - self.started) * 1000),
            "tokens_per_second": round(tokens / generating, 1) if generating > 0 else None,
        }

    def outcome(self, status: Transcript.Status, end_reason: str = "") -> RunOutcome:
        error = None
        if self.error is not None:
            error = {
                "kind": str(self.error.kind),
                "title": self.error.title,
                "message": self.error.message,
                "status": self.error.status,
                "retry_after": self.error.retry_after,
            }
        usage = None
        if self.usage is not None:
            usage = {
                "prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens,
                "total_tokens": self.usage.total_tokens,
            }
        return RunOutcome(
            status=status,
            end_reason=end_reason,
            choices=[self.choices[i].as_dict() for i in sorted(self.choices)],
            response_id=self.response_id,
            usage=usage,
            error=error,
            received_tokens=self.deltas,
            logprobs=[
                logprobs_dict(index, choice.logprobs)
                for index, choice in sorted(self.choices.items())
                if choice.logprobs
            ],
            notes=list(self.notes),
            **self.timings(),
        )
