"""Log probabilities from the upstream: both shapes, streamed or whole, gathered per choice and
yielded once before its finish, hostile values made safe and the key taken out."""

import json
import math

import pytest

from playground.upstream import Endpoint, Finish, Logprobs, TokenLogprob
from playground.upstream.parsing import chunk_events
from playground.upstream.text import EdgeText

from ..helpers import collect, text_of
from ..hostile import chunk, pieces, sse

KEY = "fw_3ZkQ9xLmP2vR8tYw"


def entry(token, logprob=-0.5, top=()):
    return {"token": token, "logprob": logprob, "top_logprobs": list(top)}


def with_logprobs(content: str, entries: list) -> dict:
    data = chunk(content=content)
    data["choices"][0]["logprobs"] = {"content": entries}
    return data


def logprobs_of(events) -> list[Logprobs]:
    return [event for event in events if isinstance(event, Logprobs)]


async def test_streamed_logprobs_come_once_per_choice_right_before_its_finish(
    scripted, scripted_server
):
    alternatives = [{"token": " there", "logprob": -2.0}, {"token": " Hi", "logprob": -0.1}]
    script = [
        with_logprobs("Hi", [entry("Hi", -0.1)]),
        with_logprobs(" there", [entry(" there", -1.5, alternatives)]),
        chunk(finish_reason="stop"),
    ]
    scripted.script("lp/stream", sse(*script))
    endpoint = Endpoint(name="scripted", base_url=scripted_server.base_url)
    events = await collect(endpoint, model="lp/stream")

    (logprobs,) = logprobs_of(events)
    assert isinstance(events[events.index(logprobs) + 1], Finish)
    assert logprobs == Logprobs(
        0,
        (
            TokenLogprob("Hi", -0.1),
            TokenLogprob(" there", -1.5, ((" Hi", -0.1), (" there", -2.0))),  # surest first
        ),
    )
    assert text_of(events) == "Hi there"


async def test_the_older_shape_in_a_whole_body_is_read_too(scripted, scripted_server):
    logprobs = {
        "tokens": ["Par", "is"],
        "token_logprobs": [-0.01, -0.2],
        "top_logprobs": [{"Par": -0.01, "Lyon": -4.6}, None],
    }
    body = {"choices": [{"index": 0, "message": {"content": "Paris"}, "logprobs": logprobs}]}
    scripted.script("lp/old", [json.dumps(body).encode()], content_type="application/json")
    endpoint = Endpoint(name="scripted", base_url=scripted_server.base_url)
    (found,) = logprobs_of(await collect(endpoint, model="lp/old", stream=False))
    assert found.tokens == (
        TokenLogprob("Par", -0.01, (("Par", -0.01), ("Lyon", -4.6))),
        TokenLogprob("is", -0.2),
    )


def test_hostile_values_are_made_storable_or_left_out():
    edge = EdgeText(None)
    odd = [
        entry("a", float("-inf")),  # JSON has no infinity: kept as the floor
        entry("b", float("nan")),  # no number: left out
        entry("c", 3.5),  # above 0: a probability over 1, kept as 0
        entry(7, -1.0),  # not text: left out
        "not an entry",
        entry("\ud800\x00", -1.0, [{"token": "x" * 10_000, "logprob": -2}]),
    ]
    events = [*edge.apply(Logprobs(0, ())), *edge.apply(Finish(0, "stop"))]
    assert events == [Finish(0, "stop")]  # nothing gathered, nothing yielded

    parsed = [e for e in chunk_events(with_logprobs("abc", odd)) if isinstance(e, Logprobs)]
    safe = [e for event in parsed for e in edge.apply(event)] + edge.flush()
    (logprobs,) = safe
    tokens = logprobs.tokens
    assert [t.token for t in tokens] == ["a", "c", "\ufffd\ufffd"]
    assert [t.logprob for t in tokens] == [-1000.0, 0.0, -1.0]
    (alternative,) = tokens[2].top
    assert len(alternative[0]) == 201  # cut, with an ellipsis
    assert all(math.isfinite(t.logprob) for t in tokens)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13])
def test_the_key_spelled_by_tokens_is_taken_out_with_its_alternatives(size):
    text = f"My key: {KEY} ok"
    tokens = [
        TokenLogprob(piece, -0.1, ((piece, -0.1), (KEY[:9], -3.0))) for piece in pieces(text, size)
    ]
    edge = EdgeText(KEY)
    events = [*edge.apply(Logprobs(0, tuple(tokens))), *edge.apply(Finish(0, "stop"))]
    (logprobs, _finish) = events
    assert "".join(t.token for t in logprobs.tokens) == "My key: [key] ok"
    assert KEY[:8] not in repr(logprobs)
    # A token that spells part of the key loses its alternatives, which could spell the rest.
    offsets = [0]
    for piece in pieces(text, size):
        offsets.append(offsets[-1] + len(piece))
    key_at = text.index(KEY)
    for token, begin, end in zip(logprobs.tokens, offsets, offsets[1:], strict=False):
        if begin < key_at + len(KEY) and end > key_at:
            assert token.top == ()
