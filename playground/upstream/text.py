"""Text as it leaves the client: storable, sendable, and without the endpoint's key.

Everything an upstream says is untrusted, including on a successful answer: it can hold NUL or
lone UTF-16 surrogates (valid JSON escapes, which PostgreSQL, UTF-8 and websockets refuse), and
it can echo the key it was sent. `EdgeText` makes every event's text safe once, here, so that
nothing past the client needs to know.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from .events import (
    ContentDelta,
    ErrorEvent,
    Event,
    Finish,
    Logprobs,
    ReasoningDelta,
    ResponseStarted,
    RoleDelta,
    TokenLogprob,
    ToolCallDelta,
)

KEY_MARK = "[key]"
MIN_PREFIX = 8  # a shorter piece of a key is too common in text to say anything
MAX_MESSAGE = 1000


def clean_text(text: str) -> str:
    """NUL and lone surrogates as U+FFFD (PostgreSQL refuses NUL in text and in jsonb, and a
    lone surrogate cannot be encoded as UTF-8); a valid surrogate pair becomes its character."""
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    return text


class Redactor:
    """Finds the key, and any prefix of it of MIN_PREFIX or more characters, in text."""

    def __init__(self, key: str):
        self.key = key
        self.anchor = key[:MIN_PREFIX]  # the shortest piece that counts (all of a short key)

    def whole(self, text: str) -> str:
        """A value that arrives in one piece, every match replaced."""
        return self.split(text, final=True)[0]

    def split(self, text: str, *, final: bool = False) -> tuple[str, str]:
        """`text` with every match replaced, and the tail to hold back because the text that
        comes next could make it (part of) a match. Nothing is held when `final`."""
        if self.anchor in text:
            return self._replaced(text, final)
        held = 0 if final else self._partial(text, 0)
        return (text[:-held], text[-held:]) if held else (text, "")

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where the key, or a prefix of it, is in `text`: (start, end) pairs in order."""
        anchor, key = self.anchor, self.key
        found = []
        start = 0
        while (at := text.find(anchor, start)) >= 0:
            end = at + len(anchor)
            limit = min(at + len(key), len(text))
            while end < limit and text[end] == key[end - at]:
                end += 1
            found.append((at, end))
            start = end
        return found

    def _replaced(self, text: str, final: bool) -> tuple[str, str]:
        parts: list[str] = []
        start = 0
        for at, end in self.spans(text):
            if end == len(text) and end - at < len(self.key) and not final:
                return "".join([*parts, text[start:at]]), text[at:]  # the key may go on
            parts += [text[start:at], KEY_MARK]
            start = end
        held = 0 if final else self._partial(text, start)
        return "".join([*parts, text[start : len(text) - held]]), text[len(text) - held :]

    def _partial(self, text: str, start: int) -> int:
        """The length of the longest end of `text[start:]` that begins the anchor."""
        anchor = self.anchor
        at = text.find(anchor[0], max(start, len(text) - len(anchor) + 1))
        while at >= 0:
            if anchor.startswith(text[at:]):
                return len(text) - at
            at = text.find(anchor[0], at + 1)
        return 0


def scrubbed(text: str, redactor: Redactor | None) -> str:
    """A value that arrives whole (an id, a name, a reason, a message): clean, without the key."""
    text = clean_text(text)
    return redactor.whole(text) if redactor else text


def finished_error(event: ErrorEvent, redactor: Redactor | None) -> ErrorEvent:
    """The error as it leaves the client: clean and without the key (upstreams sometimes echo
    what they were sent), then cut to a readable length, in that order so no part of a key
    survives."""
    message = scrubbed(event.message, redactor)
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + " …"
    if message == event.message:
        return event
    return ErrorEvent(event.kind, message, event.status, event.retry_after)


def safe_logprobs(tokens: list[TokenLogprob], redactor: Redactor | None) -> list[TokenLogprob]:
    """A choice's tokens made storable, and the key taken out of them as it is out of the
    content: found in the tokens' joined text, the key's characters are cut from the tokens
    that spell it, a KEY_MARK stands in the token where it begins, and those tokens lose their
    alternatives; an alternative elsewhere that holds a piece of it is scrubbed."""
    tokens = [
        TokenLogprob(clean_text(t.token), t.logprob, tuple((clean_text(a), p) for a, p in t.top))
        for t in tokens
    ]
    if redactor is None:
        return tokens
    text = "".join(t.token for t in tokens)
    spans = redactor.spans(text)
    safe: list[TokenLogprob] = []
    start = passed = 0
    for token in tokens:
        end = start + len(token.token)
        while passed < len(spans) and spans[passed][1] <= start:
            passed += 1  # the spans wholly before this token
        touching = [(a, b) for a, b in spans[passed:] if a < end]
        if touching:
            kept, at = [], start
            for a, b in touching:
                kept += [text[at:a] if a > at else "", KEY_MARK if a >= start else ""]
                at = max(at, b)
            kept.append(text[at:end] if at < end else "")
            safe.append(TokenLogprob("".join(kept), token.logprob))
        else:
            top = tuple((redactor.whole(a), p) for a, p in token.top)
            safe.append(TokenLogprob(redactor.whole(token.token), token.logprob, top))
        start = end
    return safe


# A streamed field of a choice: (choice, part, tool call index); a part is the delta's class,
# or a tool call's "name" or "arguments".
Part = type[ContentDelta] | type[ReasoningDelta] | str
Slot = tuple[int, Part, int]


def _high_surrogate(char: str) -> bool:
    return "\ud800" <= char <= "\udbff"


class EdgeText:
    """Every event of one response made safe as it leaves the client.

    Streamed text (content, reasoning, a tool call's name and arguments) is checked on each
    field's accumulated text: a field's tail that could begin the key (at most len(key) - 1
    characters, usually none) is held back until that field's next piece, its choice's finish,
    or the end, so a key cut into pieces of any size is still caught. A high surrogate at the
    end of a piece waits for the low one that may begin the next.
    """

    def __init__(self, key: str | None):
        self.redactor = Redactor(key) if key else None
        self.held: dict[Slot, str] = {}
        self.logprobs: dict[int, list[TokenLogprob]] = {}  # per choice, until it finishes

    def apply(self, event: Event) -> Sequence[Event]:
        """What to yield for one event from the upstream."""
        if type(event) is ContentDelta or type(event) is ReasoningDelta:  # nearly every event
            text = self._piece(event.choice, type(event), 0, event.text)
            if text is event.text:
                return (event,)
            return (type(event)(event.choice, text),) if text else ()
        match event:
            case ToolCallDelta():
                return (self._tool_call(event),)
            case Logprobs(choice=choice, tokens=tokens):
                self.logprobs.setdefault(choice, []).extend(tokens)
                return ()
            case Finish(choice=choice, reason=reason):
                return [*self.flush(choice), Finish(choice, self._whole(reason))]
            case ResponseStarted(id=response_id, model=model):
                return (replace(event, id=self._whole(response_id), model=self._whole(model)),)
            case RoleDelta(choice=choice, role=role):
                return (RoleDelta(choice, self._whole(role)),)
            case ErrorEvent():
                return [*self.flush(), finished_error(event, self.redactor)]
        return (event,)

    def flush(self, choice: int | None = None) -> list[Event]:
        """Everything held back, for one choice or all, as events (log probabilities last)."""
        events: list[Event] = []
        calls: dict[tuple[int, int], dict[str, str]] = {}
        for slot in [slot for slot in self.held if choice is None or slot[0] == choice]:
            text = self._whole(self.held.pop(slot))
            index, part, call = slot
            if isinstance(part, str):
                calls.setdefault((index, call), {})[part] = text
            else:
                events.append(part(index, text))
        events += [
            ToolCallDelta(index, call, None, parts.get("name"), parts.get("arguments", ""))
            for (index, call), parts in calls.items()
        ]
        for index in [index for index in self.logprobs if choice is None or index == choice]:
            if tokens := safe_logprobs(self.logprobs.pop(index), self.redactor):
                events.append(Logprobs(index, tuple(tokens)))
        return events

    def _tool_call(self, event: ToolCallDelta) -> ToolCallDelta:
        choice, index = event.choice, event.index
        name = None if event.name is None else self._piece(choice, "name", index, event.name)
        arguments = self._piece(choice, "arguments", index, event.arguments)
        call_id = None if event.id is None else self._whole(event.id)
        if (call_id, name, arguments) == (event.id, event.name, event.arguments):
            return event
        return ToolCallDelta(choice, index, call_id, name, arguments)

    def _piece(self, choice: int, part: Part, index: int, text: str) -> str:
        """What of a field's new piece can go out now; the rest is held for its next piece."""
        if self.held and (held := self.held.pop((choice, part, index), "")):
            text = held + text
        if not text:
            return text
        waiting = ""
        if not text.isascii():
            if _high_surrogate(text[-1]):
                text, waiting = text[:-1], text[-1]
            text = clean_text(text)
        elif "\x00" in text:
            text = text.replace("\x00", "\ufffd")
        if self.redactor is not None:
            text, kept = self.redactor.split(text)
            waiting = kept + waiting
        if waiting:
            self.held[(choice, part, index)] = waiting
        return text

    def _whole(self, text: str) -> str:
        return scrubbed(text, self.redactor)
