"""What a simulated model answers: each choice's output, token by token."""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from typing import Any

from playground.upstream import json_schema_of

from .generate import (
    Sampling,
    WordSampler,
    argument_fragments,
    example_value,
    json_tokens,
    prose_tokens,
    seeded_rng,
    token_logprob,
)
from .request import SimRequest, message_text

_ANSWER_SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}}

# A piece is one token of output: ("reasoning" | "content", text),
# ("tool", (call index, id, name)) or ("arguments", (call index, fragment)).
Piece = tuple[str, Any]


class ChoiceRun:
    """One choice's output, token by token, honouring max_tokens and stop sequences."""

    def __init__(self, request: SimRequest, index: int):
        self.index = index
        self.finish_reason = "stop"
        self.tokens = 0
        self.content = ""
        self.reasoning = ""
        self.tool_calls: list[dict[str, Any]] = []
        self._request = request
        # Log probabilities of the content tokens, when asked for: the last is the newest.
        self.logprobs: list[dict[str, Any]] | None = None
        if request.body.get("logprobs") is True:
            self.logprobs = []
            self._rng = seeded_rng(request.body.get("seed"), f"{index}/logprobs")
            self._top = request.body.get("top_logprobs") or 0
        self._max_tokens = request.body.get("max_tokens")
        stop = request.body.get("stop") or []
        self._stops = [stop] if isinstance(stop, str) else stop

    def __iter__(self) -> Iterator[Piece]:
        pieces = _pieces(self._request, self.index)
        while True:
            if self._max_tokens is not None and self.tokens >= self._max_tokens:
                self.finish_reason = "length"
                return
            try:
                kind, value = next(pieces)
            except StopIteration as done:
                self.finish_reason = done.value
                return
            self.tokens += 1
            if kind == "content" and self._stops:
                value, stopped = self._cut_at_stop(value)
                if stopped:
                    self._record(kind, value)
                    yield kind, value
                    return
            self._record(kind, value)
            yield kind, value

    def _cut_at_stop(self, piece: str) -> tuple[str, bool]:
        text = self.content + piece
        ends = []
        for stop in self._stops:
            found = text.find(stop, max(0, len(self.content) - len(stop) + 1))
            if found != -1:
                ends.append(found + len(stop))
        if not ends:
            return piece, False
        # Fireworks keeps the stop sequence in the returned text.
        return text[: min(ends)][len(self.content) :], True

    def _record(self, kind: str, value: Any) -> None:
        if kind == "content":
            self.content += value
            if self.logprobs is not None:
                self.logprobs.append(token_logprob(value, self._rng, self._top))
        elif kind == "reasoning":
            self.reasoning += value
        elif kind == "tool":
            _, call_id, name = value
            self.tool_calls.append(
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
            )
        elif kind == "arguments":
            call_index, fragment = value
            self.tool_calls[call_index]["function"]["arguments"] += fragment


def _pieces(request: SimRequest, index: int) -> Generator[Piece, None, str]:
    """The natural output of one choice; returns its finish reason."""
    body = request.body
    sampling = Sampling(
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        top_k=body.get("top_k"),
        seed=body.get("seed"),
    )
    prompt = "\n".join(message_text(m.get("content")) for m in body["messages"])
    sampler = WordSampler(prompt, sampling, index)
    count = request.options.tokens or sampler.rng.randint(40, 90)
    if request.options.bench:
        for number in range(count):
            # Generated lazily, so the stamp is taken right before the token is written.
            yield "content", f" {number}@{time.time():.6f}"
        return "stop"
    if request.spec.reasoning:
        thinking = prose_tokens(sampler, sampler.rng.randint(12, 24), "Let me think this through.")
        for token in thinking:
            yield "reasoning", token
    tools = _called_tools(body)
    if tools:
        for call_index, tool in enumerate(tools):
            call_id = f"call_{sampler.rng.getrandbits(64):016x}"
            yield "tool", (call_index, call_id, tool["name"])
            # Arguments are always a JSON object, whatever the schema leaves out.
            parameters = {"type": "object", **(tool.get("parameters") or {})}
            arguments = example_value(parameters, sampler)
            for fragment in argument_fragments(arguments):
                yield "arguments", (call_index, fragment)
        return "tool_calls"
    schema = json_schema_of(body)
    if schema is not None:
        value = example_value(schema or _ANSWER_SCHEMA, sampler)
        for token in json_tokens(value):
            yield "content", token
        return "stop"
    for token in prose_tokens(sampler, count, _opening(body["messages"])):
        yield "content", token
    return "stop"


def _opening(messages: list[dict[str, Any]]) -> str:
    last = messages[-1]
    if last.get("role") == "tool":
        return f"The tool answered: {message_text(last.get('content'))[:120]}"
    words = message_text(last.get("content")).split()
    snippet = " ".join(words[:8]) + (" …" if len(words) > 8 else "")
    return f"**Simulated reply** to “{snippet}”." if snippet else "**Simulated reply**."


def _called_tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The functions the conversation asks for: forced by tool_choice, or named by the user."""
    functions = [t["function"] for t in body.get("tools") or ()]
    choice = body.get("tool_choice")
    if not functions or choice == "none" or body["messages"][-1].get("role") != "user":
        return []
    if isinstance(choice, dict):
        wanted = (choice.get("function") or {}).get("name")
        return [f for f in functions if f["name"] == wanted]
    asked = message_text(body["messages"][-1].get("content")).lower()
    named = [
        f
        for f in functions
        if f["name"].lower() in asked or f["name"].lower().replace("_", " ") in asked
    ]
    if not named and choice in ("required", "any"):
        return functions[:1]
    return named
