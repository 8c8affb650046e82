"""One form validates page and socket: the variables' boxes, their errors, the request sent."""

import pytest

from playground.cases.table import Table
from playground.chat import fragments
from playground.chat.services import build_request
from playground.presets.services import preset_create
from playground.runform import bind, form_state, forms_from_state

from ..helpers import form_data

pytestmark = pytest.mark.usefixtures("sim_endpoints_setting")

TEMPLATE = [
    {"role": "system", "content": "You answer as {{persona}}."},
    {"role": "user", "name": "{{who}}", "content": "Hello {{ who }}, about {{topic}}"},
]


def bound(messages=TEMPLATE, **values):
    data = form_data(messages=messages)
    data.update({f"var-{name}": value for name, value in values.items()})
    form, formset = bind(data)
    valid = form.is_valid() & formset.is_valid()
    return form, formset, valid


def test_a_run_sends_every_message_with_its_values_put_in():
    form, formset, valid = bound(persona="a pirate", who="ada", topic="{% debug %}")
    assert valid, formset.variables.errors
    assert build_request(form, formset)[1]["messages"] == [
        {"role": "system", "content": "You answer as a pirate."},
        {"role": "user", "name": "ada", "content": "Hello ada, about {% debug %}"},
    ]


def test_a_missing_value_is_an_error_beside_its_box_and_listed_above():
    form, formset, valid = bound(persona="a pirate", who="")
    assert not valid
    assert list(formset.variables.errors) == ["who", "topic"]
    assert formset.variables.errors["who"][0].startswith("{{who}} has no value")
    html = fragments.form_errors(form, formset)
    assert 'id="id_var-who_error" hx-swap-oob="true"><p>{{who}} has no value' in html
    assert '<a href="#id_var-topic">Variable topic</a>' in html
    assert 'id="id_var-persona_error" hx-swap-oob="true"></div>' in html


def test_a_name_is_checked_once_its_variables_are_put_in():
    _, formset, valid = bound(persona="p", who="two words", topic="t")
    assert not valid
    assert formset.forms[1].errors["name"] == [
        "With its variables put in it reads 'two words'. A name may use only"
        " letters, digits, _ and - (64 at most)."
    ]
    assert bound([{"role": "user", "name": "{{x", "content": "Hi"}])[2] is False


def test_a_tool_message_answers_the_call_its_values_name():
    messages = [
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "tool_calls": '[{"id": "call_{{n}}", "type": "function",'
            ' "function": {"name": "weather", "arguments": "{}"}}]',
        },
        {"role": "tool", "tool_call_id": "call_{{n}}", "content": "{{forecast}} in Oslo"},
    ]
    form, formset, valid = bound(messages, n="7", forecast="Rain")
    assert valid
    sent = build_request(form, formset)[1]["messages"]
    assert sent[1]["tool_calls"][0]["id"] == sent[2]["tool_call_id"] == "call_7"
    assert sent[2]["content"] == "Rain in Oslo"


def test_the_values_count_toward_the_conversation_limit(settings):
    settings.PLAYGROUND_MAX_CONVERSATION_CHARS = 100
    _, formset, valid = bound(persona="p" * 100, who="ada", topic="t")
    assert not valid
    assert "characters long in all" in formset.non_form_errors()[0]


def test_the_state_keeps_the_template_and_its_values():
    form, formset, _ = bound(persona="a pirate", who="ada", topic="")
    state = form_state(form, formset)
    assert state["messages"][0]["content"] == "You answer as {{persona}}."
    assert state["variables"] == {"persona": "a pirate", "who": "ada", "topic": ""}
    _, shown = forms_from_state(state)
    assert shown.variables.names == ["persona", "who", "topic"]
    assert shown.variables["persona"].value() == "a pirate"


def test_the_panel_lists_the_variables_as_typed_without_errors_yet(client, alice):
    client.force_login(alice)
    data = form_data(messages=TEMPLATE)
    data["var-persona"] = "a <b>pirate</b>"
    response = client.post("/cases/variables/", data)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'for="id_var-persona"' in html
    assert 'for="id_var-who"' in html
    assert "a &lt;b&gt;pirate&lt;/b&gt;</textarea>" in html
    assert "has no value" not in html


def test_a_preset_opens_with_its_variables_and_their_values(client, alice):
    form, formset, _ = bound(persona="a pirate", who="ada", topic="tea")
    preset = preset_create(owner=alice, name="Greeting", form_state=form_state(form, formset))
    client.force_login(alice)
    html = client.get(f"/?preset={preset.slug}").content.decode()
    assert "You answer as {{persona}}." in html
    assert 'name="var-topic"' in html
    assert ">\ntea</textarea>" in html


def test_the_panel_is_left_alone_when_it_shows_these_variables_already(client, alice):
    """A run's error beside a box, or what is being typed into one, is not swapped away."""
    client.force_login(alice)
    data = form_data(messages=TEMPLATE)
    data.update({"var-persona": "", "var-who": "ada", "var-topic": ""})
    data["cases-table"] = Table(["persona", "who", "topic", "expected"]).to_json()
    response = client.post("/cases/variables/", data)
    assert response.headers["HX-Reswap"] == "none"
    del data["var-topic"]
    assert "HX-Reswap" not in client.post("/cases/variables/", data).headers
