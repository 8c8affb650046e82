"""The simulator's wire format, checked by a client no one here wrote: the openai SDK."""

import json

import jsonschema
import openai
import pytest

from playground.simulator import MODELS

HELLO = [{"role": "user", "content": "Tell the team about streaming"}]


@pytest.fixture
def client(simulator_server):
    return openai.OpenAI(base_url=simulator_server.base_url, api_key="unused", max_retries=0)


def test_streams_n_choices_with_role_first_and_usage_last(client):
    stream = client.chat.completions.create(
        model="simulator/chat-fast", messages=HELLO, n=2, max_tokens=10, stream=True
    )
    chunks = list(stream)

    texts, finishes, roles = {0: "", 1: ""}, {}, {}
    for chunk in chunks:
        assert chunk.object == "chat.completion.chunk"
        assert chunk.model == "simulator/chat-fast"
        for choice in chunk.choices:
            if choice.delta.role:
                roles.setdefault(choice.index, choice.delta.role)
                assert texts[choice.index] == "", "the role comes before any content"
            texts[choice.index] += choice.delta.content or ""
            if choice.finish_reason:
                finishes[choice.index] = choice.finish_reason
    assert roles == {0: "assistant", 1: "assistant"}
    assert finishes == {0: "length", 1: "length"}
    assert all(texts.values())
    assert len({chunk.id for chunk in chunks}) == 1
    assert chunks[-1].usage.completion_tokens == 20
    assert chunks[-1].usage.total_tokens == chunks[-1].usage.prompt_tokens + 20


def test_a_plain_request(client):
    response = client.chat.completions.create(model="simulator/chat-fast", messages=HELLO)
    choice = response.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content.startswith("**Simulated reply**")
    assert choice.finish_reason == "stop"
    assert response.usage.completion_tokens > 0


def test_tool_calls_stream_in_fragments(client):
    tools = [
        {
            "type": "function",
            "function": {
                "name": "search_docs",
                "parameters": {
                    "type": "object",
                    "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
                    "required": ["query", "limit"],
                },
            },
        }
    ]
    messages = [{"role": "user", "content": "Please search docs for pagination"}]
    stream = client.chat.completions.create(
        model="simulator/chat-fast", messages=messages, tools=tools, stream=True
    )

    calls: dict[int, dict] = {}
    finish = None
    for chunk in stream:
        for choice in chunk.choices:
            for call in choice.delta.tool_calls or ():
                entry = calls.setdefault(call.index, {"id": None, "name": None, "arguments": ""})
                entry["id"] = entry["id"] or call.id
                if call.function.name:
                    entry["name"] = call.function.name
                entry["arguments"] += call.function.arguments or ""
            finish = choice.finish_reason or finish
    assert finish == "tool_calls"
    assert calls[0]["id"].startswith("call_")
    assert calls[0]["name"] == "search_docs"
    assert set(json.loads(calls[0]["arguments"])) == {"query", "limit"}


def test_a_tool_result_gets_an_answer_that_uses_it(client):
    messages = [
        {"role": "user", "content": "What is the weather? Use get_weather"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21 C"},
    ]
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    response = client.chat.completions.create(
        model="simulator/chat-fast", messages=messages, tools=tools
    )
    assert response.choices[0].finish_reason == "stop"
    assert response.choices[0].message.content.startswith("The tool answered: Sunny, 21 C")


def test_reasoning_content_comes_first(client):
    stream = client.chat.completions.create(
        model="simulator/reasoning",
        messages=HELLO,
        stream=True,
        extra_body={"simulator": {"tps": 0}},
    )
    order = []
    for chunk in stream:
        for choice in chunk.choices:
            extra = choice.delta.model_extra or {}
            if extra.get("reasoning_content"):
                order.append("reasoning")
            if choice.delta.content:
                order.append("content")
    assert order[0] == "reasoning"
    assert "content" in order
    assert "reasoning" not in order[order.index("content") :]


@pytest.mark.parametrize(
    ("create", "error", "message"),
    [
        ({"model": "simulator/chat?error=429"}, openai.RateLimitError, "Simulated error 429"),
        ({"model": "simulator/chat?error=401"}, openai.AuthenticationError, "Simulated error"),
        ({"model": "simulator/chat?error=503"}, openai.InternalServerError, "Simulated error"),
        ({"model": "unknown/model"}, openai.NotFoundError, "Model not found"),
        ({"temperature": 2.5}, openai.BadRequestError, "`temperature` must be a number"),
    ],
)
@pytest.mark.parametrize("stream", [True, False])
def test_errors_have_the_api_shape(client, create, error, message, stream):
    arguments = {"model": "simulator/chat-fast", "messages": HELLO, "stream": stream, **create}
    with pytest.raises(error) as caught:
        client.chat.completions.create(**arguments)
    assert caught.value.body["message"].startswith(message)
    assert caught.value.body["type"] == caught.value.type


def test_json_mode_with_a_schema_gives_valid_json_with_the_required_keys(client):
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "score": {"type": "number"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "mood": {"enum": ["happy", "sad"]},
        },
        "required": ["title", "score", "tags", "mood"],
    }
    response = client.chat.completions.create(
        model="simulator/chat-fast",
        messages=HELLO,
        response_format={"type": "json_object", "schema": schema},
    )
    value = json.loads(response.choices[0].message.content)
    jsonschema.validate(value, schema)


def test_json_mode_without_a_schema_gives_a_json_object(client):
    response = client.chat.completions.create(
        model="simulator/chat-fast", messages=HELLO, response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(response.choices[0].message.content), dict)


def test_models_are_listed_and_labelled_simulated(client):
    models = list(client.models.list())
    assert sorted(m.id for m in models) == sorted(MODELS)
    assert all(m.model_extra["simulated"] is True for m in models)
