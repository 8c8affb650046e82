import re
import uuid

import pytest
from django.urls import reverse

from ..factories import form_state_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_endpoints_setting")]


def test_the_page_needs_a_login(client):
    response = client.get(reverse("playground"))
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/"


def test_the_page_shows_every_parameter_with_a_label_and_its_help(client, alice):
    client.force_login(alice)
    page = client.get(reverse("playground")).content.decode()
    for name in ("temperature", "top_p", "top_k", "max_tokens", "n", "stop", "response_format",
                 "prompt_truncate_len", "context_length_exceeded_behavior", "user", "seed",
                 "min_p", "repetition_penalty", "logprobs", "top_logprobs", "tool_choice",
                 "reasoning_effort", "echo", "extra", "tools", "stream", "frequency_penalty",
                 "presence_penalty", "response_schema", "endpoint", "model"):  # fmt: skip
        assert f'<label for="id_{name}">' in page, name
    assert "0 to 2, default 1." in page
    assert 'ws-connect="/ws/run/"' in page
    assert 'data-from-link="0"' in page


def test_the_form_rendered_once_per_process_follows_a_changed_setting(client, alice, settings):
    """The default panel and the empty column are rendered once per process: a changed
    setting (here the endpoints) renders them again."""
    client.force_login(alice)
    assert "Scripted upstream</option>" in client.get(reverse("playground")).content.decode()
    settings.PLAYGROUND_ENDPOINTS = [{**settings.PLAYGROUND_ENDPOINTS[1], "label": "Renamed"}]
    page = client.get(reverse("playground")).content.decode()
    assert "Scripted upstream" not in page
    assert page.count('"scripted" selected>Renamed</option>') == 2  # the panel, the column


def test_the_parameters_panel_shows_its_sections_in_order(client, alice):
    client.force_login(alice)
    page = client.get(reverse("playground")).content.decode()
    panel = page[page.index('<aside class="parameters"') : page.index("</aside>")]
    layout: dict[str, list[str]] = {}
    for heading, summary, field in re.findall(
        r'<h2>(.*?)</h2>|<summary>(.*?)</summary>|<label for="id_(\w+)"', panel
    ):
        if heading or summary:
            layout[heading or summary] = []
        else:
            layout[list(layout)[-1]].append(field)
    assert list(layout.items()) == [
        ("Model", ["endpoint", "model", "stream"]),
        ("Sampling", ["temperature", "top_p", "top_k", "frequency_penalty", "presence_penalty",
                      "n"]),
        ("Length and stop", ["max_tokens", "stop", "prompt_truncate_len",
                             "context_length_exceeded_behavior"]),
        ("Output format", ["response_format", "response_schema"]),
        ("Tools", ["tools"]),
        ("Advanced", ["user", "seed", "min_p", "repetition_penalty", "logprobs", "top_logprobs",
                      "tool_choice", "reasoning_effort", "echo", "extra"]),
    ]  # fmt: skip


def test_open_in_playground_refills_the_form_from_a_transcript(client, alice, make_transcript):
    messages = [{"role": "system", "content": "Be terse"}, {"role": "user", "content": "Q?"}]
    state = form_state_of(temperature="0.3", top_k="9", stop="END", messages=messages)
    transcript = make_transcript(alice, form_state=state)
    client.force_login(alice)
    response = client.get(reverse("playground"), {"transcript": str(transcript.uuid)})
    page = response.content.decode()
    assert 'data-from-link="1"' in page
    assert 'name="temperature" value="0.3"' in page
    assert 'name="top_k" value="9"' in page
    assert ">\nEND</textarea>" in page
    assert ">\nBe terse</textarea>" in page
    assert ">\nQ?</textarea>" in page
    assert 'name="messages-TOTAL_FORMS" value="2"' in page


def test_a_tampered_or_missing_transcript_is_a_404(client, alice):
    client.force_login(alice)
    assert client.get(reverse("playground"), {"transcript": "not-a-uuid"}).status_code == 404
    missing = reverse("transcripts:detail", kwargs={"uuid": uuid.uuid4()})
    assert client.get(missing).status_code == 404


def test_the_transcript_page_shows_the_run_sanitised(client, alice, make_transcript):
    transcript = make_transcript(alice, content="**Hi** <b>there</b>")
    client.force_login(alice)
    page = client.get(transcript.get_absolute_url()).content.decode()
    assert "<strong>Hi</strong>" in page
    assert "&lt;b&gt;there&lt;/b&gt;" in page
    assert f"?transcript={transcript.uuid}" in page


def test_the_model_picker_lists_the_endpoint_models(client, alice):
    client.force_login(alice)
    page = client.get(reverse("model-options"), {"endpoint": "simulator"}).content.decode()
    assert '<option value="simulator/chat-fast">' in page
    assert "3 models listed by Simulator; or type any id." in page
    assert "<datalist" not in page  # options only: the page's datalist stays, with its trigger
    page = client.get(reverse("model-options"), {"endpoint": "nope"}).content.decode()
    assert "Unknown endpoint." in page


def test_accounts_pages_are_styled_like_the_app(client, alice):
    assert 'href="/static/css/app.css"' in client.get(reverse("login")).content.decode()
    client.force_login(alice)
    page = client.get(reverse("password_change")).content.decode()
    assert "Change your password" in page
    assert 'href="/static/css/app.css"' in page
    response = client.post(
        reverse("password_change"),
        {"old_password": "wonderland-42", "new_password1": "n3w-secret-pass",
         "new_password2": "n3w-secret-pass"},
    )  # fmt: skip
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("n3w-secret-pass")
