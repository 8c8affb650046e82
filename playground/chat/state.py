"""The reducer of a run: typed upstream events in, the run's whole state out.

Only `apply` and `end` change the state. What the page has been sent is an offset per part,
advanced by `take_pending`, which hands out a snapshot of what is new: the renderers are pure
functions of that snapshot, and each piece of text is kept once.
"""

from __future__ import annotations

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


@dataclass(frozen=True, slots=True)
class ChoicePending:
    """What one choice gained since the last snapshot."""

    index: int
    reasoning: str = ""
    content: str = ""
    tool_calls: list[dict[str, Any]] | None = None  # all of them, when any changed
    finished: dict[str, Any] | None = None  # the whole choice, once it is over
    logprobs: tuple[TokenLogprob, ...] = ()  # with the finished choice, when asked for


@dataclass
class ChoiceState:
    index: int
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    tool_calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    finish_reason: str | None = None  # as the upstream said it, or how the run cut it short
    ended: bool = False  # over: finished by the upstream, or by the run's end
    logprobs: tuple[TokenLogprob, ...] = ()
    # How far the page has been given each part (pieces of text, tool-call changes, finish).
    content_sent: int = 0
    reasoning_sent: int = 0
    tools_version: int = 0
    tools_sent: int = 0
    finish_sent: bool = False

    def as_dict(self) -> dict[str, Any]:
        calls = [
            {**call, "function": dict(call["function"])}  # a copy: the snapshot must not change
            for call in (self.tool_calls[key] for key in sorted(self.tool_calls))
        ]
        return {
            "index": self.index,
            "content": "".join(self.content),
            "reasoning": "".join(self.reasoning),
            "tool_calls": calls,
            "finish_reason": self.finish_reason,
        }

    def take_pending(self) -> ChoicePending | None:
        reasoning = "".join(self.reasoning[self.reasoning_sent :])
        content = "".join(self.content[self.content_sent :])
        self.reasoning_sent, self.content_sent = len(self.reasoning), len(self.content)
        tool_calls = None
        if self.tools_sent != self.tools_version:
            tool_calls = self.as_dict()["tool_calls"]
            self.tools_sent = self.tools_version
        finished = None
        if self.ended and not self.finish_sent:
            finished = self.as_dict()
            self.finish_sent = True
        if not (reasoning or content or tool_calls is not None or finished is not None):
            return None
        logprobs = self.logprobs if finished is not None else ()
        return ChoicePending(self.index, reasoning, content, tool_calls, finished, logprobs)


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
        choice = self.choice(event.choice)
        call = choice.tool_calls.setdefault(
            event.index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
        )
        if event.id:
            call["id"] = event.id
        if event.name:
            call["function"]["name"] += event.name
        call["function"]["arguments"] += event.arguments
        choice.tools_version += 1

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

    def take_pending(self) -> list[ChoicePending]:
        """What is new since the last call, choice by choice; the offsets move past it."""
        return [p for c in self.choices.values() if (p := c.take_pending()) is not None]

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
