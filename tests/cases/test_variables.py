"""Substitution: our own parser, escapes, one pass, and every text of a message."""

import pytest

from playground.runform.variables import (
    MissingValues,
    has_variables,
    names_in,
    substitute,
    substitute_message,
)


def test_each_variable_is_put_in_wherever_it_appears():
    text = "Dear {{name}}, {{ name }} lives in {{city}}."
    assert names_in([text]) == ["name", "city"]
    assert substitute(text, {"name": "Ada", "city": "London"}) == "Dear Ada, Ada lives in London."


def test_an_escape_writes_the_braces_as_text():
    text = r"Literal \{{name}} but {{name}}; a lone \ stays, as does \{ and }}"
    assert names_in([text]) == ["name"]
    assert (
        substitute(text, {"name": "Ada"})
        == r"Literal {{name}} but Ada; a lone \ stays, as does \{ and }}"
    )
    assert not has_variables(r"\{{name}}")


@pytest.mark.parametrize(
    "text",
    [
        "{% debug %}",
        "{% load static %}{{ a|safe }}",
        "{{ a.b }} {{1x}} {{ }} {{a b}} {{",
        '{"json": {{"nested": 1}}}',
        "{# comment #}",
    ],
)
def test_template_language_is_never_run_it_stays_text(text):
    assert names_in([text]) == []
    assert substitute(text, {}) == text


def test_a_value_is_put_in_once_never_read_as_a_template():
    assert substitute("{{a}}", {"a": "{{b}} {% debug %}"}) == "{{b}} {% debug %}"


def test_a_missing_value_names_every_variable_without_one():
    with pytest.raises(MissingValues) as missing:
        substitute("{{a}} {{b}} {{a}} {{c}}", {"b": "x"})
    assert missing.value.names == ["a", "c"]
    assert str(missing.value) == "No value for a, c."


def test_names_tool_call_ids_and_arguments_are_substituted_the_role_never():
    message = {
        "role": "assistant",
        "name": "{{who}}",
        "content": None,
        "tool_calls": [
            {
                "id": "call_{{n}}",
                "type": "function",
                "function": {"name": "get_{{what}}", "arguments": '{"city": "{{city}}"}'},
            }
        ],
    }
    values = {"who": "bot", "n": "1", "what": "weather", "city": "Oslo"}
    assert substitute_message(message, values) == {
        "role": "assistant",
        "name": "bot",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
            }
        ],
    }
    tool = {"role": "tool", "tool_call_id": "call_{{n}}", "content": "Sunny in {{city}}"}
    assert substitute_message(tool, values) == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": "Sunny in Oslo",
    }
