import pytest

from playground.upstream import FIREWORKS_ONLY, Flavour, build_body, json_schema_of

MESSAGES = [{"role": "user", "content": "Hi"}]
UNSET = {
    "max_tokens": None,
    "temperature": None,
    "top_k": None,
    "prompt_truncate_len": None,
    "stop": None,
    "response_format": None,
}


def params(**changes):
    return {"model": "m", "messages": MESSAGES, "stream": True, **UNSET, **changes}


def test_unset_parameters_are_not_sent():
    assert build_body(Flavour.FIREWORKS, params()) == {
        "model": "m",
        "messages": MESSAGES,
        "stream": True,
    }


def test_stream_is_always_sent_even_when_off():
    assert build_body(Flavour.FIREWORKS, params(stream=False))["stream"] is False


def test_set_parameters_are_sent_as_given_including_zero():
    body = build_body(Flavour.FIREWORKS, params(temperature=0, top_k=40, stop=["\n"]))
    assert (body["temperature"], body["top_k"], body["stop"]) == (0, 40, ["\n"])


def test_openai_flavour_leaves_out_fireworks_parameters_and_asks_for_usage():
    fireworks_only = dict.fromkeys(FIREWORKS_ONLY, 1)
    body = build_body(Flavour.OPENAI, params(temperature=0.5, **fireworks_only))
    assert not FIREWORKS_ONLY & body.keys()
    assert body["temperature"] == 0.5
    assert body["stream_options"] == {"include_usage": True}
    assert "stream_options" not in build_body(Flavour.OPENAI, params(stream=False))
    assert build_body(Flavour.FIREWORKS, params(**fireworks_only)).keys() >= FIREWORKS_ONLY


def test_a_json_schema_is_spelled_the_openai_way_for_openai_servers():
    schema = {"type": "object", "required": ["a"]}
    response_format = {"type": "json_object", "schema": schema}
    assert build_body(Flavour.OPENAI, params(response_format=response_format))[
        "response_format"
    ] == {"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}
    assert (
        build_body(Flavour.FIREWORKS, params(response_format=response_format))["response_format"]
        == response_format
    )


def test_plain_json_mode_stays_json_object_for_openai_servers():
    for response_format in ({"type": "json_object"}, {"type": "json_object", "schema": {}}):
        body = build_body(Flavour.OPENAI, params(response_format=response_format))
        assert body["response_format"] == {"type": "json_object"}


SCHEMA = {"type": "object", "required": ["a"]}


@pytest.mark.parametrize(
    ("response_format", "schema"),
    [
        (None, None),
        ("json_object", None),
        ({"type": "text"}, None),
        ({"type": "json_object"}, {}),
        ({"type": "json_object", "schema": None}, {}),
        ({"type": "json_object", "schema": SCHEMA}, SCHEMA),
        ({"type": "json_schema", "json_schema": {"name": "r", "schema": SCHEMA}}, SCHEMA),
        ({"type": "json_schema", "json_schema": {"name": "r"}}, {}),
        ({"type": "json_schema", "json_schema": "r"}, {}),
        ({"type": "json_object", "schema": True}, {}),
    ],
)
def test_the_json_schema_is_read_from_either_spelling(response_format, schema):
    assert json_schema_of({"response_format": response_format}) == schema


def test_extra_fields_are_merged_last():
    body = build_body(Flavour.FIREWORKS, params(temperature=1), extra={"logit_bias": {"1": 2}})
    assert body["logit_bias"] == {"1": 2}
    assert body["temperature"] == 1
