"""What one simulated request asks for, checked as the real API checks it."""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import parse_qsl


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
MAX_N = 16
MAX_TOKENS = 20_000
# The most each numeric option may ask for: the simulator serves whoever reaches it, and a
# knob without a bound is a way to make it work (or wait) without end.
OPTION_LIMITS = {
    "retry_after": 600.0,
    "first_token_delay": 60.0,
    "tps": 5_000.0,  # 0: unpaced
    "tokens": MAX_TOKENS,
    "malformed_after": MAX_TOKENS,
    "disconnect_after": MAX_TOKENS,
}


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
        # Annotations are strings here (`from __future__ import annotations`).
        kinds = {f.name: str(f.type) for f in fields(cls)}
        values = {}
        for key, value in raw.items():
            if key not in kinds:
                raise BadRequest(f"Unknown simulator option {key!r}.", param="simulator")
            values[key] = _coerce(key, value, kinds[key])
        return name, cls(**values)


def _coerce(key: str, value: Any, kind: str) -> Any:
    if kind == "bool":
        return value in (True, 1, "1", "true", "yes")
    high = OPTION_LIMITS.get(key, math.inf)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and 0 <= number <= high):
        wanted = f"from 0 to {high:g}" if high < math.inf else ">= 0"
        raise BadRequest(f"Simulator option {key!r} wants a number {wanted}.", param="simulator")
    return int(number) if "int" in kind else number


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
        return sum(len(message_text(m.get("content")).split()) + 4 for m in self.body["messages"])


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
    for name, least in _INTEGERS.items():
        value = body.get(name)
        if value is None:
            continue
        is_integer = isinstance(value, int) and not isinstance(value, bool)
        if not is_integer or (least is not None and value < least):
            raise BadRequest(f"`{name}` must be an integer >= {least}.", param=name)
    if (body.get("n") or 1) > MAX_N:
        raise BadRequest(f"`n` must be at most {MAX_N}.", param="n")
    stop = body.get("stop")
    if stop is not None:
        stops = [stop] if isinstance(stop, str) else stop
        if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
            raise BadRequest("`stop` must be a string or a list of strings.", param="stop")
        if len(stops) > 4:
            raise BadRequest("`stop` takes up to 4 sequences.", param="stop")
    _check_logprobs(body)
    _check_response_format(body.get("response_format"))
    _check_tools(body.get("tools"))


MAX_TOP_LOGPROBS = 20


def _check_logprobs(body: dict[str, Any]) -> None:
    logprobs, top = body.get("logprobs"), body.get("top_logprobs")
    if logprobs is not None and not isinstance(logprobs, bool):
        raise BadRequest("`logprobs` must be true or false.", param="logprobs")
    if top is None:
        return
    if isinstance(top, bool) or not isinstance(top, int) or not 0 <= top <= MAX_TOP_LOGPROBS:
        raise BadRequest(
            f"`top_logprobs` must be an integer from 0 to {MAX_TOP_LOGPROBS}.",
            param="top_logprobs",
        )
    if logprobs is not True:
        raise BadRequest("`top_logprobs` needs `logprobs` set to true.", param="top_logprobs")


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


def message_text(content: Any) -> str:
    """The text of a message's content, a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""
