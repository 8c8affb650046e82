"""What one simulated request asks for, checked as the real API checks it, and what it answers."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import parse_qsl

from .generate import (
    Sampling,
    WordSampler,
    argument_fragments,
    example_value,
    json_tokens,
    prose_tokens,
)


@dataclass(frozen=True)
class ModelSpec:
    description: str
    tps: float  # tokens per second of each choice; 0 streams as fast as it can
    reasoning: bool = False


MODELS = {
    "simulator/chat": ModelSpec("Simulated chat model, streams about 40 tokens/s", 40),
    "simulator/chat-fast": ModelSpec("Simulated chat model, streams as fast as it can", 0),
    "simulator/reasoning": ModelSpec(
        "Simulated reasoning model: reasoning_content first, then the answer", 40, True
    ),
}
ROLES = {"system", "user", "assistant", "tool"}
_ANSWER_SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}}
MAX_N = 16


class BadRequest(Exception):
    def __init__(self, message: str, *, status: int = 400, param: str | None = None):
        super().__init__(message)
        self.status = status
        self.param = param


@dataclass(frozen=True)
class Options:
    """Pacing and faults, from `model?key=value&...` or a `simulator` object in the body."""

    error: int | None = None  # answer with this HTTP status
    retry_after: float = 2.0  # sent with error=429
    first_token_delay: float = 0.0  # seconds before the first token
    tps: float | None = None  # tokens per second per choice (default: the model's)
    tokens: int | None = None  # length of a natural answer
    malformed_after: int | None = None  # send a broken event after K tokens
    disconnect_after: int | None = None  # drop the connection after K tokens
    no_done: bool = False  # end the stream without data: [DONE]
    keepalive_only: bool = False  # after the role chunk, only `: keep-alive` comments
    bench: bool = False  # numbered tokens, each carrying its emission time

    @classmethod
    def parse(cls, model: str, extra: Any) -> tuple[str, Options]:
        name, _, query = model.partition("?")
        raw: dict[str, Any] = dict(parse_qsl(query))
        if extra is not None:
            if not isinstance(extra, dict):
                raise BadRequest("`simulator` must be an object.", param="simulator")
            raw.update(extra)
        kinds = {f.name: f.type for f in fields(cls)}
        values = {}
        for key, value in raw.items():
            if key not in kinds:
                raise BadRequest(f"Unknown simulator option {key!r}.", param="simulator")
            values[key] = _coerce(key, value, kinds[key])
        return name, cls(**values)


def _coerce(key: str, value: Any, kind: str) -> Any:
    try:
        if kind == "bool":
            return value in (True, 1, "1", "true", "yes")
        number = float(value)
        if not math.isfinite(number) or number < 0:
            raise ValueError
        return int(number) if "int" in kind else number
    except (TypeError, ValueError):
        raise BadRequest(f"Simulator option {key!r} wants a number >= 0.") from None


@dataclass
class SimRequest:
    model: str
    spec: ModelSpec
    options: Options
    body: dict[str, Any]
    id: str = field(default_factory=lambda: f"chatcmpl-sim-{uuid.uuid4().hex[:24]}")
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    @property
    def n(self) -> int:
        return self.body.get("n") or 1

    @property
    def tps(self) -> float:
        return self.spec.tps if self.options.tps is None else self.options.tps

    def prompt_tokens(self) -> int:
        return sum(len(_text(m.get("content")).split()) + 4 for m in self.body["messages"])


def parse_request(body: Any) -> SimRequest:
    """Check the body as the real API would (400 with a clear message) and pick the model."""
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise BadRequest("`model` is required.", param="model")
    name, options = Options.parse(model, body.get("simulator"))
    _check_messages(body.get("messages"))
    _check_parameters(body)
    spec = MODELS.get(name)
    if spec is None:
        raise BadRequest(
            f"Model not found, inaccessible, and/or not deployed: {name}",
            status=404,
            param="model",
        )
    return SimRequest(model=name, spec=spec, options=options, body=body)


def _check_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise BadRequest("`messages` must be a non-empty list.", param="messages")
    for position, message in enumerate(messages):
        if not isinstance(message, dict):
            raise BadRequest(f"messages[{position}] must be an object.", param="messages")
        role = message.get("role")
        if role not in ROLES:
            raise BadRequest(
                f"messages[{position}].role must be one of system, user, assistant, tool;"
                f" got {role!r}.",
                param="messages",
            )


_RANGES = {
    "temperature": (0, 2),
    "top_p": (0, 1),
    "frequency_penalty": (-2, 2),
    "presence_penalty": (-2, 2),
    "min_p": (0, 1),
    "repetition_penalty": (0, 10),
}
_INTEGERS = {"max_tokens": 1, "top_k": 0, "n": 1, "prompt_truncate_len": 1, "seed": None}


def _check_parameters(body: dict[str, Any]) -> None:
    for name, (low, high) in _RANGES.items():
        value = body.get(name)
        if value is None:
            continue
        if not _is_number(value) or not low <= value <= high:
            raise BadRequest(f"`{name}` must be a number between {low} and {high}.", param=name)
    for name, low in _INTEGERS.items():
        value = body.get(name)
        if value is None:
            continue
        is_integer = isinstance(value, int) and not isinstance(value, bool)
        if not is_integer or (low is not None and value < low):
            raise BadRequest(f"`{name}` must be an integer >= {low}.", param=name)
    if (body.get("n") or 1) > MAX_N:
        raise BadRequest(f"`n` must be at most {MAX_N}.", param="n")
    stop = body.get("stop")
    if stop is not None:
        stops = [stop] if isinstance(stop, str) else stop
        if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
            raise BadRequest("`stop` must be a string or a list of strings.", param="stop")
        if len(stops) > 4:
            raise BadRequest("`stop` takes up to 4 sequences.", param="stop")
    _check_response_format(body.get("response_format"))
    _check_tools(body.get("tools"))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_response_format(response_format: Any) -> None:
    if response_format is None:
        return
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind not in ("text", "json_object", "json_schema"):
        raise BadRequest(
            "`response_format.type` must be text, json_object or json_schema.",
            param="response_format",
        )


def _check_tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise BadRequest("`tools` must be a list.", param="tools")
    for position, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not function.get("name") or tool["type"] != "function":
            raise BadRequest(f"tools[{position}] must be a function with a name.", param="tools")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


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


def _pieces(request: SimRequest, index: int) -> Iterator[Piece]:
    """The natural output of one choice; returns its finish reason."""
    body = request.body
    sampling = Sampling(
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        top_k=body.get("top_k"),
        seed=body.get("seed"),
    )
    prompt = "\n".join(_text(m.get("content")) for m in body["messages"])
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
            schema = {"type": "object", **(tool.get("parameters") or {})}
            arguments = example_value(schema, sampler)
            for fragment in argument_fragments(arguments):
                yield "arguments", (call_index, fragment)
        return "tool_calls"
    schema = _json_schema(body.get("response_format"))
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
        return f"The tool answered: {_text(last.get('content'))[:120]}"
    words = _text(last.get("content")).split()
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
    asked = _text(body["messages"][-1].get("content")).lower()
    named = [
        f
        for f in functions
        if f["name"].lower() in asked or f["name"].lower().replace("_", " ") in asked
    ]
    if not named and choice in ("required", "any"):
        return functions[:1]
    return named


def _json_schema(response_format: Any) -> dict[str, Any] | None:
    """{} for plain JSON mode, the schema when one is given, None when not in JSON mode."""
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_object":
        return response_format.get("schema") or {}
    if response_format.get("type") == "json_schema":
        return (response_format.get("json_schema") or {}).get("schema") or {}
    return None
