"""The client against the simulator over real sockets: every event kind, streamed or not."""

import json

from playground.upstream import (
    ContentDelta,
    Finish,
    ReasoningDelta,
    ResponseStarted,
    RoleDelta,
    ToolCallDelta,
    Usage,
)

from ..helpers import collect, reasoning_of, record_of, text_of


async def test_stream_yields_started_role_content_finish_and_usage(sim_endpoint, simulator):
    events = await collect(sim_endpoint, model="simulator/chat-fast", max_tokens=12)

    started = events[0]
    assert isinstance(started, ResponseStarted)
    assert started.model == "simulator/chat-fast"
    assert started.id.startswith("chatcmpl-")
    assert events[1] == RoleDelta(0, "assistant")
    assert text_of(events).startswith("**Simulated reply** to “Hello”.")
    assert [e for e in events if isinstance(e, Finish)] == [Finish(0, "length")]
    usage = events[-1]
    assert isinstance(usage, Usage)
    assert usage.completion_tokens == 12
    assert usage.total_tokens == usage.prompt_tokens + 12
    assert record_of(simulator, started.id).outcome == "completed"


async def test_stream_and_plain_request_give_the_same_events(sim_endpoint):
    streamed = await collect(sim_endpoint, model="simulator/chat-fast", seed=7, n=2)
    whole = await collect(sim_endpoint, model="simulator/chat-fast", seed=7, n=2, stream=False)

    for choice in (0, 1):
        assert text_of(streamed, choice) == text_of(whole, choice)
        assert text_of(whole, choice)
    finishes = {e for e in streamed if isinstance(e, Finish)}
    assert finishes == {e for e in whole if isinstance(e, Finish)}
    assert {f.choice for f in finishes} == {0, 1}
    assert streamed[-1] == whole[-1]  # the same Usage
    assert isinstance(whole[0], ResponseStarted)


async def test_n_choices_arrive_interleaved(sim_endpoint):
    events = await collect(sim_endpoint, model="simulator/chat-fast", n=3, max_tokens=5)

    choices_in_order = [e.choice for e in events if isinstance(e, ContentDelta)]
    assert choices_in_order[:3] == [0, 1, 2]
    assert sorted(e.choice for e in events if isinstance(e, Finish)) == [0, 1, 2]
    assert all(text_of(events, choice) for choice in range(3))


async def test_reasoning_streams_before_the_answer(sim_endpoint):
    events = await collect(sim_endpoint, model="simulator/reasoning?tps=0")

    kinds = [type(e) for e in events if isinstance(e, ReasoningDelta | ContentDelta)]
    first_content = kinds.index(ContentDelta)
    assert first_content > 0
    assert ReasoningDelta not in kinds[first_content:]
    assert reasoning_of(events).startswith("Let me think this through.")


async def test_tool_calls_arrive_in_fragments(sim_endpoint):
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                    "required": ["city"],
                },
            },
        }
    ]
    messages = [{"role": "user", "content": "What does get_weather say for Paris?"}]
    events = await collect(
        sim_endpoint, model="simulator/chat-fast", messages=messages, tools=tools
    )

    fragments = [e for e in events if isinstance(e, ToolCallDelta)]
    assert len(fragments) > 2
    assert fragments[0].id.startswith("call_")
    assert fragments[0].name == "get_weather"
    assert all(f.id is None and f.name is None for f in fragments[1:])
    arguments = json.loads("".join(f.arguments for f in fragments))
    assert isinstance(arguments["city"], str)
    assert isinstance(arguments["days"], int)
    assert Finish(0, "tool_calls") in events
    assert text_of(events) == ""


async def test_tool_calls_from_a_plain_request(sim_endpoint):
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    events = await collect(
        sim_endpoint,
        model="simulator/chat-fast",
        tools=tools,
        tool_choice={"type": "function", "function": {"name": "lookup"}},
        stream=False,
    )

    (call,) = [e for e in events if isinstance(e, ToolCallDelta)]
    assert (call.index, call.name, json.loads(call.arguments)) == (0, "lookup", {})
    assert Finish(0, "tool_calls") in events


async def test_a_server_that_answers_a_stream_with_json_is_understood(sim_endpoint):
    """Some servers ignore stream=true; the client reads their JSON body the same way."""
    events = await collect(sim_endpoint, model="simulator/chat-fast", stream=False, seed=1)
    assert text_of(events)
    assert isinstance(events[-1], Usage)


async def test_only_a_streamed_response_says_it_streamed(sim_endpoint):
    """Tokens per second and a first token mean nothing when the answer came in one body."""
    streamed = await collect(sim_endpoint, model="simulator/chat-fast", max_tokens=3)
    whole = await collect(sim_endpoint, model="simulator/chat-fast", max_tokens=3, stream=False)
    assert (streamed[0].streamed, whole[0].streamed) == (True, False)


async def test_a_plain_choice_without_a_finish_reason_gets_none_invented(
    scripted, scripted_endpoint
):
    body = {"id": "x", "model": "m", "choices": [{"index": 0, "message": {"content": "Hi"}}]}
    scripted.script("no/finish", [json.dumps(body).encode()], content_type="application/json")
    events = await collect(scripted_endpoint, model="no/finish", stream=False)
    assert text_of(events) == "Hi"
    assert not [e for e in events if isinstance(e, Finish)]
