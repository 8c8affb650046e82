"""The client against a hostile upstream on a real socket: whatever text it sends, in any field,
comes out storable, sendable and without the endpoint's key."""

import json

import pytest

from playground.upstream import (
    Endpoint,
    ErrorEvent,
    ErrorKind,
    Finish,
    ResponseStarted,
    RoleDelta,
    ToolCallDelta,
)

from ..helpers import collect, reasoning_of, text_of
from ..hostile import chunk, pieces, sse

KEY = "fw_3ZkQ9xLmP2vR8tYw"
AROUND = "Your key is «{}», keep it secret. "
BAD = "\ud800\x00"  # travels as the JSON escapes \ud800 and \u0000


@pytest.fixture
def keyed(scripted_server, monkeypatch) -> Endpoint:
    monkeypatch.setenv("SCRIPTED_TEST_KEY", KEY)
    return Endpoint(name="scripted", base_url=scripted_server.base_url, key_env="SCRIPTED_TEST_KEY")


def everything(events) -> str:
    return repr(events)


async def test_every_field_of_a_stream_leaves_the_client_clean_and_without_the_key(scripted, keyed):
    call = {"index": 0, "id": f"c{BAD}{KEY}", "function": {"name": f"f{BAD}", "arguments": ""}}
    script = [
        {**chunk(content=f"a{BAD}", id=KEY), "model": f"m{BAD}"},
        *[chunk(reasoning=piece) for piece in pieces(AROUND.format(KEY), 3)],
        chunk(tool_calls=[call]),
        *[chunk(tool_calls=[{"index": 0, "function": {"arguments": p}}]) for p in KEY],
        chunk(content=KEY[:9], finish_reason=f"stop{BAD}"),
    ]
    scripted.script("every/field", sse(*script))
    events = await collect(keyed, model="every/field")
    assert events[0] == ResponseStarted("[key]", "m\ufffd\ufffd")
    assert text_of(events) == "a\ufffd\ufffd[key]"
    assert reasoning_of(events) == AROUND.format("[key]")
    calls = [e for e in events if isinstance(e, ToolCallDelta)]
    assert calls[0].id == "c\ufffd\ufffd[key]"
    assert "".join(c.name or "" for c in calls) == "f\ufffd\ufffd"
    assert "".join(c.arguments for c in calls) == "[key]"
    assert events[-1] == Finish(0, "stop\ufffd\ufffd")
    assert KEY[:8] not in everything(events)


async def test_a_whole_body_and_an_error_leave_the_client_clean_and_without_the_key(
    scripted, keyed
):
    body = {"id": KEY, "choices": [{"index": 0, "message": {"content": f"{KEY}{BAD}"}}]}
    scripted.script("whole/body", [json.dumps(body).encode()], content_type="application/json")
    scripted.script("fails/late", sse(chunk(content="ok fw_3Z"), {"error": {"message": KEY + BAD}}))
    whole = await collect(keyed, model="whole/body", stream=False)
    failed = await collect(keyed, model="fails/late")
    assert text_of(whole) == "[key]\ufffd\ufffd"
    assert text_of(failed) == "ok fw_3Z"
    assert failed[-1] == ErrorEvent(ErrorKind.SERVER, "[key]\ufffd\ufffd")
    assert KEY[:8] not in everything(whole + failed)


async def test_a_role_or_finish_reason_that_is_not_text_arrives_as_text(scripted, keyed):
    odd = chunk(finish_reason=7)
    odd["choices"][0]["delta"]["role"] = 1
    scripted.script("odd/types", sse(odd))
    events = await collect(keyed, model="odd/types")
    assert [e for e in events if isinstance(e, RoleDelta | Finish)] == [
        RoleDelta(0, "1"),
        Finish(0, "7"),
    ]
