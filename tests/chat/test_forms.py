"""One form validates the page and the socket: every parameter's bounds, types and JSON."""

import json

import pytest

from playground.chat.services import build_request
from playground.runform import bind, form_state, forms_from_state, upgrade_state

from ..helpers import form_data

pytestmark = pytest.mark.usefixtures("sim_endpoints_setting")


def errors(**fields) -> dict:
    form, formset = bind(form_data(**fields))
    form.is_valid()
    formset.is_valid()
    found = {name: list(messages) for name, messages in form.errors.items()}
    for index, row in enumerate(formset.errors):
        for name, messages in row.items():
            found[f"messages-{index}-{name}"] = list(messages)
    return found


def body(**fields) -> dict:
    form, formset = bind(form_data(**fields))
    assert form.is_valid(), form.errors
    assert formset.is_valid(), formset.errors
    return build_request(form, formset)[1]


def test_only_model_messages_and_stream_are_sent_when_nothing_else_is_set():
    assert body() == {
        "model": "simulator/chat-fast",
        "messages": [{"role": "user", "content": "Hello"}],
        "stream": True,
    }


TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
EVERY_PARAMETER = {
    "max_tokens": "50",
    "temperature": "0",
    "top_p": "0.9",
    "top_k": "40",
    "frequency_penalty": "-1.5",
    "presence_penalty": "2",
    "n": "2",
    "stop": "END\\n\nSTOP",
    "response_format": "json_object",
    "response_schema": '{"type": "object", "required": ["a"]}',
    "prompt_truncate_len": "1500",
    "context_length_exceeded_behavior": "error",
    "user": "u-1",
    "tools": json.dumps(TOOLS),
    "seed": "7",
    "min_p": "0.05",
    "repetition_penalty": "1.1",
    "logprobs": "true",
    "top_logprobs": "3",
    "tool_choice": "f",
    "reasoning_effort": "low",
    "echo": "false",
    "extra": '{"logit_bias": {"50256": -100}}',
    "stream": False,
}


def test_every_parameter_goes_into_the_body_when_set():
    sent = body(**EVERY_PARAMETER)
    assert sent == {
        "model": "simulator/chat-fast",
        "messages": [{"role": "user", "content": "Hello"}],
        "stream": False,
        "max_tokens": 50,
        "temperature": 0.0,
        "top_p": 0.9,
        "top_k": 40,
        "frequency_penalty": -1.5,
        "presence_penalty": 2.0,
        "n": 2,
        "stop": ["END\n", "STOP"],
        "response_format": {"type": "json_object", "schema": {"type": "object", "required": ["a"]}},
        "prompt_truncate_len": 1500,
        "context_length_exceeded_behavior": "error",
        "user": "u-1",
        "tools": TOOLS,
        "seed": 7,
        "min_p": 0.05,
        "repetition_penalty": 1.1,
        "logprobs": True,
        "top_logprobs": 3,
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "reasoning_effort": "low",
        "echo": False,
        "logit_bias": {"50256": -100},
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("temperature", "2.01", "Ensure this value is less than or equal to 2."),
        ("temperature", "-0.1", "Ensure this value is greater than or equal to 0."),
        ("temperature", "hot", "Enter a number."),
        ("top_p", "1.5", "Ensure this value is less than or equal to 1."),
        ("top_k", "101", "Ensure this value is less than or equal to 100."),
        ("top_k", "2.5", "Enter a whole number."),
        ("max_tokens", "0", "Ensure this value is greater than or equal to 1."),
        ("frequency_penalty", "-2.5", "Ensure this value is greater than or equal to -2."),
        ("presence_penalty", "3", "Ensure this value is less than or equal to 2."),
        ("n", "0", "Ensure this value is greater than or equal to 1."),
        ("n", "9", "n is capped at 8 on this server."),
        ("prompt_truncate_len", "0", "Ensure this value is greater than or equal to 1."),
        ("min_p", "1.2", "Ensure this value is less than or equal to 1."),
        ("repetition_penalty", "2.5", "Ensure this value is less than or equal to 2."),
        ("top_logprobs", "21", "Ensure this value is less than or equal to 20."),
        ("seed", "x", "Enter a whole number."),
        ("model", "", "This field is required."),
        ("model", "two words", "A model id has no spaces."),
        ("endpoint", "elsewhere", "Select a valid choice."),
        ("context_length_exceeded_behavior", "explode", "Select a valid choice."),
        ("reasoning_effort", "max", "Select a valid choice."),
        ("stop", "a\nb\nc\nd\ne", "At most 4 stop sequences (5 given)."),
        ("response_schema", "{oops", "The schema is not valid JSON: Expecting property name"),
        ("response_schema", '{"type": "object"}', "A schema needs response format json_object."),
        ("response_schema", "[1]", "The schema must be a JSON object."),
        ("top_logprobs", "2", "top_logprobs needs logprobs set to true."),
        ("tool_choice", "lookup", "'lookup' is not auto, none, required or a tool's name."),
        ("extra", "[1, 2]", "Extra fields must be a JSON object."),
        ("extra", '{"model": "x", "n": 2}', "Set model, n with the form, not here"),
        ("extra", '{"stream": false', "Extra fields is not valid JSON"),
    ],
)
def test_bad_values_get_a_clear_message_on_their_field(field, value, message):
    found = errors(**{field: value})
    assert any(m.startswith(message) for m in found.get(field, [])), found


def test_n_is_capped_by_the_server_setting(settings):
    settings.PLAYGROUND_MAX_N = 3
    assert "n is capped at 3 on this server." in errors(n="4")["n"]


@pytest.mark.parametrize(
    ("tools", "message"),
    [
        ("{not json", "Tools is not valid JSON: Expecting property name enclosed in double quotes"),
        ('{"type": "function"}', "Tools must be a JSON list."),
        ('[{"type": "retrieval"}]', 'Tool 1: must be an object with "type": "function".'),
        ('[{"type": "function", "function": {}}]', 'Tool 1: needs "function" with a "name".'),
        (
            '[{"type": "function", "function": {"name": "ok"}},'
            ' {"type": "function", "function": {"name": "x", "parameters": {"type": "array"}}}]',
            'Tool 2: "parameters" must be a JSON schema of type object.',
        ),
        (
            '[{"type": "function", "function": {"name": "bad name"}}]',
            "Tool 1: a function name may use only letters, digits, _ and - (64 at most).",
        ),
        (
            '[{"type": "function", "function": {"name": "f"}},'
            ' {"type": "function", "function": {"name": "f"}}]',
            "Two tools are named 'f'.",
        ),
    ],
)
def test_tools_are_checked_one_by_one(tools, message):
    assert any(m.startswith(message) for m in errors(tools=tools)["tools"])


def test_every_bad_tool_is_listed_at_once():
    tools = '[{"type": "x"}, {"type": "function", "function": {"name": "ok"}}, {}]'
    assert errors(tools=tools)["tools"] == [
        'Tool 1: must be an object with "type": "function".',
        'Tool 3: must be an object with "type": "function".',
    ]


def test_fireworks_parameters_are_refused_for_an_openai_endpoint(settings, simulator_server):
    settings.PLAYGROUND_ENDPOINTS = [
        {
            "name": "vllm",
            "label": "vLLM",
            "base_url": simulator_server.base_url,
            "flavour": "openai",
        }
    ]
    found = errors(endpoint="vllm", top_k="5", prompt_truncate_len="100", temperature="1")
    assert found["top_k"] == [
        "top_k is a Fireworks parameter; vLLM (OpenAI-style) does not take it. If this server"
        " does, put it in Extra fields."
    ]
    assert "prompt_truncate_len" in found
    assert "temperature" not in found


@pytest.mark.parametrize(
    ("messages", "field", "message"),
    [
        ([{"role": "tool", "content": "42"}], "tool_call_id", "A tool message needs the id"),
        (
            [{"role": "tool", "content": "42", "tool_call_id": "call_9"}],
            "tool_call_id",
            "No earlier assistant message made a tool call with id 'call_9'.",
        ),
        ([{"role": "user", "content": ""}], "content", "A user message needs some content."),
        (
            [{"role": "assistant", "content": ""}],
            "content",
            "An assistant message needs some content or tool calls.",
        ),
        ([{"role": "user", "content": "x", "name": "a b"}], "name", "A name may use only"),
        ([{"role": "robot", "content": "x"}], "role", "Select a valid choice."),
        (
            [{"role": "assistant", "tool_calls": "[{]"}],
            "tool_calls",
            "Tool calls is not valid JSON",
        ),
        (
            [{"role": "assistant", "tool_calls": '[{"id": "c"}]'}],
            "tool_calls",
            "Tool call 1 needs an id and a function name.",
        ),
        (
            [
                {
                    "role": "user",
                    "content": "x",
                    "tool_calls": '[{"id": "c", "function": {"name": "f"}}]',
                }
            ],
            "tool_calls",
            "Only an assistant message carries tool calls.",
        ),
    ],
)
def test_messages_are_checked_row_by_row(messages, field, message):
    found = errors(messages=messages)
    assert any(m.startswith(message) for m in found[f"messages-0-{field}"]), found


def test_a_tool_round_trip_is_a_valid_conversation():
    calls = [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    messages = [
        {"role": "system", "content": "Be brief.", "name": "rules"},
        {"role": "user", "content": "Use f"},
        {"role": "assistant", "content": "", "tool_calls": json.dumps(calls)},
        {"role": "tool", "content": "done", "tool_call_id": "call_1"},
    ]
    assert body(messages=messages)["messages"] == [
        {"role": "system", "content": "Be brief.", "name": "rules"},
        {"role": "user", "content": "Use f"},
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "content": "done", "tool_call_id": "call_1"},
    ]


def test_at_least_one_message():
    _, formset = bind(form_data(messages=[]))
    assert not formset.is_valid()
    assert formset.non_form_errors() == ["Please submit at least 1 form."]


def test_the_form_state_round_trips_every_field_exactly():
    data = form_data(
        temperature="0.7",
        stop="A\\n\nB",
        logprobs="true",
        echo="",
        stream=False,
        tools="[]",
        messages=[{"role": "system", "content": "  spaced  "}, {"role": "user", "content": "Hi"}],
    )
    form, formset = bind(data)
    state = form_state(form, formset)
    assert state["version"] == 1
    assert state["fields"]["temperature"] == "0.7"
    assert state["fields"]["stop"] == "A\\n\nB"
    assert state["fields"]["stream"] is False
    assert state["fields"]["logprobs"] == "true"
    assert state["fields"]["top_k"] == ""
    assert state["messages"][0]["content"] == "  spaced  "

    again_form, again_formset = forms_from_state(json.loads(json.dumps(state)))
    for name, value in state["fields"].items():
        shown = again_form[name].value()
        assert (shown if shown is not None else "") == value, name
    assert '<option value="true" selected>' in str(again_form["logprobs"])
    assert "checked" not in str(again_form["stream"])
    assert [row.initial for row in again_formset.forms] == state["messages"]


def test_an_older_state_opens_with_todays_fields_filled_in():
    old = {"version": 0, "fields": {"model": "m", "temperature": "1.2", "gone": "x"},
           "messages": [{"role": "user", "content": "old"}]}  # fmt: skip
    state = upgrade_state(old)
    assert state["fields"]["model"] == "m"
    assert state["fields"]["temperature"] == "1.2"
    assert state["fields"]["top_k"] == ""
    assert state["fields"]["stream"] is True
    assert "gone" not in state["fields"]
    assert state["messages"][0] == {
        "role": "user", "name": "", "content": "old", "tool_call_id": "", "tool_calls": ""
    }  # fmt: skip
    assert upgrade_state(None)["messages"] == [
        {"role": "user", "name": "", "content": "", "tool_call_id": "", "tool_calls": ""}
    ]


def test_an_openai_endpoint_takes_fireworks_parameters_through_extra(settings, simulator_server):
    settings.PLAYGROUND_ENDPOINTS = [
        {
            "name": "vllm",
            "label": "vLLM",
            "base_url": simulator_server.base_url,
            "flavour": "openai",
        }
    ]
    sent = body(endpoint="vllm", extra='{"top_k": 20, "min_p": 0.1}')
    assert (sent["top_k"], sent["min_p"]) == (20, 0.1)
    assert sent["stream_options"] == {"include_usage": True}


def test_the_extra_box_refuses_every_field_the_form_sends():
    decided = body(**EVERY_PARAMETER).keys() - {"logit_bias"} | {"stream_options"}
    for key in sorted(decided):
        assert errors(extra=json.dumps({key: 1}))["extra"] == [
            f"Set {key} with the form, not here: the form owns those fields."
        ], key


def test_the_fireworks_endpoint_keeps_top_k_on_the_form():
    assert "Set top_k with the form" in errors(extra='{"top_k": 20}')["extra"][0]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tools", "[" * 100_000, "Tools is not usable JSON"),
        ("extra", '{"seedling": ' + "9" * 5000 + "}", "Extra fields is not usable JSON"),
        ("response_schema", '{"type": 12}', "Not a valid JSON schema: 12 is not valid"),
    ],
)
def test_hostile_json_gets_a_message_not_a_crash(field, value, message):
    fields = {field: value}
    if field == "response_schema":
        fields["response_format"] = "json_object"
    assert errors(**fields)[field][0].startswith(message)


def test_a_tool_call_id_must_be_text():
    calls = '[{"id": ["x"], "type": "function", "function": {"name": "f"}}]'
    found = errors(messages=[{"role": "assistant", "tool_calls": calls}])
    assert found["messages-0-tool_calls"] == ["Tool call 1 needs an id and a function name."]


def test_an_empty_added_row_is_an_error_not_a_skipped_message():
    data = form_data(messages=[{"role": "user", "content": "Hi"}, {"role": "user"}])
    data["messages-INITIAL_FORMS"] = "1"  # what the page renders
    _, formset = bind(data)
    assert not formset.is_valid()
    assert formset.errors[1] == {"content": ["A user message needs some content."]}


def test_json_booleans_from_a_socket_client_are_understood():
    sent = body(logprobs=True, echo=False, stream=True)
    assert (sent["logprobs"], sent["echo"], sent["stream"]) == (True, False, True)


# Per-request bounds: what one run may ask, each a setting.


def test_max_tokens_is_capped_per_endpoint(settings):
    settings.PLAYGROUND_MAX_TOKENS = 100
    assert errors(max_tokens="101")["max_tokens"] == ["max_tokens is capped at 100 on Simulator."]
    settings.PLAYGROUND_ENDPOINTS[0]["max_tokens"] = 2000  # the endpoint's own cap
    assert "max_tokens" not in errors(max_tokens="2000")
    assert errors(max_tokens="2001")["max_tokens"] == [
        "max_tokens is capped at 2,000 on Simulator."
    ]


def test_max_tokens_times_n_is_bounded_with_a_blank_max_tokens_at_the_cap(settings):
    settings.PLAYGROUND_MAX_RUN_TOKENS = 1000
    settings.PLAYGROUND_MAX_TOKENS = 400
    assert errors(max_tokens="300", n="4")["max_tokens"] == [
        "max_tokens × n is 1,200 (300 × 4); the most on this server is 1,000:"
        " lower max_tokens or n."
    ]
    assert errors(n="3")["max_tokens"] == [
        "max_tokens × n is 1,200 (400 × 3: a blank max_tokens counts as the cap of Simulator);"
        " the most on this server is 1,000: lower max_tokens or n."
    ]
    assert errors(max_tokens="250", n="4") == {}


def test_the_run_reserves_max_tokens_times_n(settings):
    settings.PLAYGROUND_MAX_TOKENS = 400
    for fields, most in [({}, 400), ({"n": "3"}, 1200), ({"max_tokens": "30", "n": "2"}, 60)]:
        form, _ = bind(form_data(**fields))
        assert form.is_valid(), form.errors
        assert form.most_tokens() == most, fields


def test_the_length_cannot_be_set_past_max_tokens_through_extra():
    assert errors(extra='{"max_completion_tokens": 100000}')["extra"] == [
        "Set the length with max_tokens, not max_completion_tokens here: the server counts"
        " each run's tokens by max_tokens."
    ]


def test_the_number_of_messages_is_bounded(settings):
    settings.PLAYGROUND_MAX_MESSAGES = 3
    _, formset = bind(form_data(messages=[{"role": "user", "content": "Hi"}] * 4))
    assert not formset.is_valid()
    assert formset.non_form_errors() == ["A run takes at most 3 messages on this server."]
    _, formset = bind(form_data(messages=[{"role": "user", "content": "Hi"}] * 3))
    assert formset.is_valid()


def test_a_forged_message_count_builds_no_more_rows_than_the_bound(settings):
    settings.PLAYGROUND_MAX_MESSAGES = 3
    data = {**form_data(), "messages-TOTAL_FORMS": "100000"}
    _, formset = bind(data)
    assert not formset.is_valid()
    assert len(formset.forms) == 3


def test_each_message_is_bounded_with_its_tool_calls(settings):
    settings.PLAYGROUND_MAX_MESSAGE_CHARS = 100
    assert errors(messages=[{"role": "user", "content": "x" * 101}])["messages-0-content"] == [
        "This message is 101 characters long; the most on this server is 100."
    ]
    calls = json.dumps([{"id": "c", "type": "function", "function": {"name": "f"}}])
    message = {"role": "assistant", "content": "x" * (101 - len(calls)), "tool_calls": calls}
    assert errors(messages=[message])["messages-0-content"] == [
        "This message is 101 characters long with its tool calls; the most on this server is 100."
    ]
    assert errors(messages=[{"role": "user", "content": "x" * 100}]) == {}


def test_all_messages_together_are_bounded(settings):
    settings.PLAYGROUND_MAX_CONVERSATION_CHARS = 250
    messages = [{"role": "user", "content": "x" * 100}] * 3
    _, formset = bind(form_data(messages=messages))
    assert not formset.is_valid()
    assert formset.non_form_errors() == [
        "The messages are 300 characters long in all; the most on this server is 250."
    ]
    assert errors(messages=messages[:2]) == {}


def test_the_tools_are_bounded_before_they_are_parsed(settings):
    settings.PLAYGROUND_MAX_TOOLS_CHARS = 100
    tools = json.dumps(TOOLS * 3)
    assert errors(tools=tools)["tools"] == [
        f"Tools is {len(tools)} characters long; the most on this server is 100."
    ]
    assert errors(tools="[" * 101)["tools"][0].startswith("Tools is 101 characters long")
    assert "tools" not in errors(tools=json.dumps(TOOLS))
