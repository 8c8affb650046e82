"""What a run has received so far, built from the upstream's typed events."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from playground.transcripts.models import Transcript
from playground.transcripts.services import RunOutcome
from playground.upstream import (
    ContentDelta,
    ErrorEvent,
    Event,
    Finish,
    ReasoningDelta,
    ResponseStarted,
    ToolCallDelta,
    Usage,
)


@dataclass
class ChoiceState:
    index: int
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    tool_calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    finish_reason: str | None = None
    # What the page has not been sent yet.
    new_content: list[str] = field(default_factory=list)
    new_reasoning: list[str] = field(default_factory=list)
    tools_changed: bool = False
    finish_unsent: bool = False

    def as_dict(self) -> dict[str, Any]:
        calls = [
            {**call, "function": {k: storable(v) for k, v in call["function"].items()}}
            for call in (self.tool_calls[key] for key in sorted(self.tool_calls))
        ]
        return {
            "index": self.index,
            "content": storable("".join(self.content)),
            "reasoning": storable("".join(self.reasoning)),
            "tool_calls": calls,
            "finish_reason": self.finish_reason,
        }


def storable(text: str) -> str:
    """Model output as PostgreSQL can store it: NUL is the one character it refuses."""
    return text.replace("\x00", "\ufffd")


class RunState:
    def __init__(self, n: int):
        self.choices = {index: ChoiceState(index) for index in range(n)}
        self.started = time.monotonic()
        self.first_token_at: float | None = None
        self.finished_at: float | None = None
        self.response_id = ""
        self.usage: Usage | None = None
        self.error: ErrorEvent | None = None
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
                self.choice(index).new_content.append(text)
            case ReasoningDelta(choice=index, text=text):
                self._token()
                self.choice(index).reasoning.append(text)
                self.choice(index).new_reasoning.append(text)
            case ToolCallDelta():
                self._token()
                self._tool_fragment(event)
            case Finish(choice=index, reason=reason):
                self.choice(index).finish_reason = reason
                self.choice(index).finish_unsent = True
            case Usage():
                self.usage = event
            case ResponseStarted(id=response_id):
                self.response_id = response_id
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
        choice.tools_changed = True

    def finish(self) -> None:
        self.finished_at = time.monotonic()

    def timings(self) -> dict[str, Any]:
        end = self.finished_at or time.monotonic()
        ttft = None if self.first_token_at is None else self.first_token_at - self.started
        tokens = self.usage.completion_tokens if self.usage else self.deltas
        generating = end - self.first_token_at if self.first_token_at else 0
        return {
            "time_to_first_token_ms": None if ttft is None else round(ttft * 1000),
            "duration_ms": round((end - self.started) * 1000),
            "tokens_per_second": round(tokens / generating, 1) if generating > 0 else None,
        }

    def outcome(self, status: Transcript.Status) -> RunOutcome:
        error = None
        if self.error is not None:
            error = {
                "kind": str(self.error.kind),
                "title": self.error.title,
                "message": storable(self.error.message),
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
            choices=[self.choices[i].as_dict() for i in sorted(self.choices)],
            response_id=self.response_id,
            usage=usage,
            error=error,
            **self.timings(),
        )
