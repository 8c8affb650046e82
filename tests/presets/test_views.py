import pytest
from django.urls import reverse

from playground.presets.models import Preset
from playground.runform import RunForm

from ..helpers import form_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_endpoints_setting")]

EVERY_FIELD = {
    "endpoint": "simulator",
    "model": "accounts/fireworks/models/llama-v3p1-8b-instruct",
    "stream": False,
    "max_tokens": "321",
    "temperature": "0.35",
    "top_p": "0.9",
    "top_k": "12",
    "frequency_penalty": "-0.5",
    "presence_penalty": "0.25",
    "n": "3",
    "stop": "END\\n\nSTOP",
    "response_format": "json_object",
    "response_schema": '{"type": "object"}',
    "prompt_truncate_len": "900",
    "context_length_exceeded_behavior": "error",
    "user": "team-7",
    "tools": '[{"type": "function", "function": {"name": "f"}}]',
    "seed": "42",
    "min_p": "0.05",
    "repetition_penalty": "1.1",
    "logprobs": "true",
    "top_logprobs": "2",
    "tool_choice": "f",
    "reasoning_effort": "high",
    "echo": "false",
    "extra": '{"logit_bias": {"1": 2}}',
}
MESSAGES = [
    {"role": "system", "content": "Be terse.", "name": "rules"},
    {"role": "user", "content": "  two spaces  "},
    {"role": "assistant", "content": "", "tool_calls": '[{"id": "c1", "function": {"name": "f"}}]'},
    {"role": "tool", "content": "42", "tool_call_id": "c1"},
]


def save_new(client, name="Every field", visibility="team", **fields):
    data = {**form_data(messages=MESSAGES, **fields), "preset-name": name,
            "preset-visibility": visibility, "preset-description": "All of it"}  # fmt: skip
    if data.get("stream") is False:
        data.pop("stream")
    return client.post(reverse("presets:save-new"), data, HTTP_HX_REQUEST="true")


def test_saving_and_loading_round_trips_every_field_exactly(client, alice):
    assert set(EVERY_FIELD) == set(RunForm.base_fields), "the test covers every field"
    client.force_login(alice)
    response = save_new(client, **EVERY_FIELD)
    assert response.status_code == 200
    preset = Preset.objects.get()
    assert response.headers["HX-Push-Url"] == f"/?preset={preset.slug}"
    for name, value in EVERY_FIELD.items():
        assert preset.form_state["fields"][name] == value, name
    for saved, typed in zip(preset.form_state["messages"], MESSAGES, strict=True):
        assert saved == {"name": "", "tool_call_id": "", "tool_calls": "", **typed}

    page = client.get(reverse("playground"), {"preset": preset.slug})
    form, formset = page.context["form"], page.context["formset"]
    for name, value in EVERY_FIELD.items():
        assert (form[name].value() if form[name].value() is not None else "") == value, name
    assert [row.initial for row in formset.forms] == preset.form_state["messages"]
    assert (preset.model, preset.description, preset.visibility) == (
        EVERY_FIELD["model"], "All of it", "team"
    )  # fmt: skip


def test_unset_parameters_stay_unset(client, alice):
    client.force_login(alice)
    save_new(client, name="Bare")
    fields = Preset.objects.get().form_state["fields"]
    assert fields["temperature"] == ""
    assert fields["top_k"] == ""
    assert fields["stream"] is True


def test_update_rewrites_the_state_and_keeps_the_link(client, alice, make_preset):
    preset = make_preset(alice, temperature="0.1")
    client.force_login(alice)
    response = client.post(
        reverse("presets:save", args=[preset.slug]), form_data(temperature="1.7"),
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    assert "Saved." in response.content.decode()
    fresh = Preset.objects.get(pk=preset.pk)
    assert fresh.form_state["fields"]["temperature"] == "1.7"
    assert fresh.slug == preset.slug


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("x" * 101, "Ensure this value has at most 100 characters (it has 101)."),
        ("", "This field is required."),
        ("Terse", "You already have a preset named &#x27;Terse&#x27;."),
    ],
)
def test_bad_names_get_a_clear_message_and_nothing_saved_is_lost(
    client, alice, make_preset, name, message
):
    original = make_preset(alice, temperature="0.2")
    client.force_login(alice)
    response = save_new(client, name=name, temperature="1.9")
    assert response.status_code == 200, "htmx 2 swaps no 4xx: the page would show nothing"
    bar = response.content.decode()
    assert '<p class="notice" role="status">Not saved: see below.</p>' in bar
    assert '<details class="save-preset" open>' in bar, "the error is not folded away"
    assert f'<div class="field-errors" id="id_preset-name_error"><p>{message}</p></div>' in bar
    assert 'aria-describedby="id_preset-name_helptext id_preset-name_error"' in bar
    assert list(Preset.objects.all()) == [original]
    assert Preset.objects.get().form_state["fields"]["temperature"] == "0.2"


def test_a_refused_save_as_new_keeps_the_open_preset_in_the_bar(client, alice, make_preset):
    preset = make_preset(alice, name="Terse")
    client.force_login(alice)
    response = save_new(client, name="Terse", preset=preset.slug)
    bar = response.content.decode()
    assert "You already have a preset named" in bar
    assert f'<input type="hidden" name="preset" form="run-form" value="{preset.slug}">' in bar
    assert "Preset <strong>Terse</strong>" in bar


def test_a_rename_says_it_was_saved_and_shows_the_share_link(client, alice, make_preset):
    preset = make_preset(alice, name="Mine")
    client.force_login(alice)
    response = client.post(
        reverse("presets:edit", args=[preset.slug]),
        {"preset-name": "Ours", "preset-visibility": "team"},
        follow=True,
    )
    page = response.content.decode()
    assert '<p class="notice" role="status">Saved.</p>' in page
    assert "<h1>Preset “Ours”</h1>" in page
    assert f'value="http://testserver/p/{preset.slug}/"' in page
    response = client.post(
        reverse("presets:edit", args=[preset.slug]),
        {"preset-name": "Ours", "preset-visibility": "private"},
        follow=True,
    )
    assert "Share link" not in response.content.decode(), "a private preset has none"
    page = client.get(reverse("presets:edit", args=[preset.slug])).content.decode()
    assert "Saved." not in page, "said once"


def test_rename_to_a_taken_name_is_refused_on_the_edit_page(client, alice, make_preset):
    make_preset(alice, name="Taken")
    preset = make_preset(alice, name="Mine")
    client.force_login(alice)
    response = client.post(
        reverse("presets:edit", args=[preset.slug]),
        {"preset-name": "Taken", "preset-visibility": "private"},
    )
    assert response.status_code == 200
    assert "You already have a preset named" in response.content.decode()
    assert "<h1>Preset “Mine”</h1>" in response.content.decode(), "the name it still has"
    preset.refresh_from_db()
    assert (preset.name, preset.visibility) == ("Mine", "team")


def test_delete_asks_first(client, alice, make_preset):
    preset = make_preset(alice)
    client.force_login(alice)
    page = client.get(reverse("presets:delete", args=[preset.slug])).content.decode()
    assert "Delete “Terse”?" in page
    assert Preset.objects.exists()
    assert client.post(reverse("presets:delete", args=[preset.slug])).url == "/presets/"
    assert not Preset.objects.exists()


def test_the_list_shows_mine_and_the_teams_searchable_and_paginated(
    client, alice, bob, make_preset
):
    for number in range(23):
        make_preset(alice, name=f"Alice {number:02}", model=f"model-{number % 2}")
    make_preset(bob, name="Bob private", visibility="private")
    make_preset(bob, name="Bob team", visibility="team")
    make_preset(bob, name="Bob link", visibility="link")
    client.force_login(alice)

    first = client.get(reverse("presets:list")).content.decode()
    assert "Bob team" in first
    assert "Bob private" not in first
    assert "Bob link" not in first
    assert "Page 1 of 2" in first
    assert first.index("Bob team") < first.index("Alice 22") < first.index("Alice 21")
    assert "Alice 00" in client.get(reverse("presets:list"), {"page": 2}).content.decode()
    found = client.get(reverse("presets:list"), {"q": "model-1"}).content.decode()
    assert "Alice 01" in found
    assert "Alice 02" not in found
    assert "Alice 07" in client.get(reverse("presets:list"), {"q": "alice 07"}).content.decode()


def test_a_preset_lists_its_runs(client, alice, make_preset, make_transcript):
    preset = make_preset(alice)
    make_transcript(alice, preset=preset, total_tokens=77)
    client.force_login(alice)
    assert "77 tokens" in client.get(reverse("presets:edit", args=[preset.slug])).content.decode()


def test_the_admin_lists_searches_and_filters_presets(client, staff, alice, make_preset):
    staff.is_superuser = True
    staff.save()
    make_preset(alice, name="Findable", model="sim/x")
    client.force_login(staff)
    url = reverse("admin:presets_preset_changelist")
    assert "Findable" in client.get(url, {"q": "findable"}).content.decode()
    assert "Findable" in client.get(url, {"visibility__exact": "team"}).content.decode()
    assert "Findable" not in client.get(url, {"visibility__exact": "private"}).content.decode()


def test_fork_from_the_page_keeps_unsaved_edits(client, alice, bob, make_preset):
    preset = make_preset(alice, temperature="0.1")
    client.force_login(bob)
    response = client.post(
        reverse("presets:fork", args=[preset.slug]), form_data(temperature="1.4"),
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    copy = Preset.objects.get(owner=bob)
    assert response.headers["HX-Redirect"] == f"/?preset={copy.slug}"
    assert copy.form_state["fields"]["temperature"] == "1.4"
    assert Preset.objects.get(pk=preset.pk).form_state["fields"]["temperature"] == "0.1"


def test_a_second_fork_gets_the_next_free_name(client, bob, alice, make_preset):
    preset = make_preset(alice)
    client.force_login(bob)
    for _ in range(3):
        client.post(reverse("presets:fork", args=[preset.slug]))
    names = sorted(Preset.objects.filter(owner=bob).values_list("name", flat=True))
    assert names == ["Terse (fork)", "Terse (fork) 2", "Terse (fork) 3"]


def test_nul_characters_get_a_404_or_a_page_never_a_500(client, alice, make_preset):
    preset = make_preset(alice)
    assert client.get("/p/a%00b/").status_code == 404
    client.force_login(alice)
    assert client.get("/?preset=%00").status_code == 404
    assert client.get("/presets/", {"q": "a\x00b"}).status_code == 200
    response = save_new(client, name="With NUL", temperature="0.5\x00")
    assert response.status_code == 200
    # Kept as typed, the NUL shown as U+FFFD (as in model output), never stored raw.
    assert Preset.objects.get(name="With NUL").form_state["fields"]["temperature"] == "0.5\ufffd"
    assert preset.slug


def test_the_read_only_page_lists_the_parameters_that_are_set(client, alice, make_preset):
    preset = make_preset(alice, "link", temperature="0.6")
    page = client.get(preset.get_absolute_url()).content.decode()
    assert "<dt>Temperature</dt><dd><code>0.6</code></dd>" in page
    assert "<dt>Stream</dt><dd><code>True</code></dd>" in page
    assert "<dt>Top k</dt>" not in page
