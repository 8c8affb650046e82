"""Transcript pages: the thread, sharing, My runs. Who may open which: the authorization
matrix (tests/core/test_authorization_matrix.py)."""

import json

import pytest
from django.urls import reverse
from django.utils.html import escape

from playground.presets.models import Preset
from playground.transcripts.models import Transcript

from ..factories import CALL
from ..helpers import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_endpoints_setting")]
V = Transcript.Visibility


def test_the_owner_changes_who_sees_it(alice, make_transcript):
    transcript = make_transcript(alice)
    url = reverse("transcripts:visibility", args=[transcript.uuid])
    response = client_for(alice).post(url, {"visibility": "team"})
    assert response.url == transcript.get_absolute_url()
    transcript.refresh_from_db()
    assert transcript.visibility == V.TEAM


def test_the_thread_and_a_presets_runs_show_what_the_rule_allows(
    alice, bob, staff, make_preset, make_transcript
):
    preset = make_preset(alice, Preset.Visibility.TEAM)
    first = make_transcript(alice, preset=preset)
    second = make_transcript(bob, visibility=V.TEAM, preset=preset, continued_from=first)
    third = make_transcript(bob, preset=preset, continued_from=second)

    def thread(user):
        context = client_for(user).get(second.get_absolute_url()).context
        return list(context["earlier"]), list(context["later"])

    assert thread(alice) == ([first], [])
    assert thread(bob) == ([], [third])
    assert thread(staff) == ([first], [third])

    def runs_of_preset(user):
        response = client_for(user).get(reverse("presets:edit", args=[preset.slug]))
        return sorted(t.pk for t in response.context["runs"])

    assert runs_of_preset(alice) == [first.pk, second.pk]
    assert runs_of_preset(staff) == [second.pk]


def test_the_page_shows_the_thread_parameters_and_sanitised_answers(alice, make_transcript):
    first = make_transcript(alice, content="First <script>x</script> **answer**")
    second = make_transcript(alice, continued_from=first)
    third = make_transcript(alice, continued_from=second)
    page = client_for(alice).get(second.get_absolute_url()).content.decode()
    assert first.get_absolute_url() in page
    assert third.get_absolute_url() in page
    assert "<dt>stream</dt>" in page
    first_page = client_for(alice).get(first.get_absolute_url()).content.decode()
    assert "&lt;script&gt;x&lt;/script&gt; <strong>answer</strong>" in first_page


def test_my_runs_lists_only_mine_with_filters_and_pages(alice, bob, make_transcript):
    for number in range(30):
        make_transcript(alice, model=f"model-{number % 3}", content=f"answer {number}")
    make_transcript(alice, status=Transcript.Status.ERROR, model="model-0")
    make_transcript(bob, model="bobs-model")
    client = client_for(alice)
    url = reverse("transcripts:list")

    first = client.get(url).content.decode()
    assert "Page 1 of 2" in first
    assert "bobs-model" not in first
    assert "Capital of France?" in first
    only = client.get(url, {"model": "model-1", "status": "completed"}).content.decode()
    assert only.count("<code>model-1</code>") == 10
    assert "<code>model-0</code>" not in only
    errors = client.get(url, {"status": "error"}).content.decode()
    assert errors.count('class="status error"') == 1
    today = Transcript.objects.first().created_at.date().isoformat()
    assert "Page 1 of 2" in client.get(url, {"since": today, "until": today}).content.decode()
    assert "No runs match" in client.get(url, {"since": "2099-01-01"}).content.decode()
    assert client.get(url, {"since": "not a date"}).status_code == 200


def test_my_runs_searches_the_text_and_previews_each_answer(
    alice, bob, make_preset, make_transcript
):
    shared = make_preset(bob, name="Bob's team preset")
    private = make_preset(bob, name="Bob's secret", visibility=Preset.Visibility.PRIVATE)
    make_transcript(alice, content="The answer is a heron. " + "x" * 10_000, preset=shared)
    make_transcript(alice, content="Lyon.", preset=private, search_text="Capital? Lyon.")
    stopped = make_transcript(
        alice, status=Transcript.Status.STOPPED, total_tokens=None, received_tokens=57
    )
    client = client_for(alice)
    url = reverse("transcripts:list")

    page = client.get(url).content.decode()
    assert "→ The answer is a heron." in page
    assert "x" * 200 not in page  # a preview, not the answer
    assert "Bob&#x27;s team preset" in page
    assert "Bob&#x27;s secret" not in page  # made private by its owner since
    assert "≈ 57 received" in page
    assert stopped.get_absolute_url() in page

    found = client.get(url, {"q": "lyon"}).content.decode()
    assert "→ Lyon." in found
    assert "heron" not in found
    assert "No runs match" in client.get(url, {"q": "no such words"}).content.decode()


def test_the_page_shows_the_request_body_and_parameters_as_the_json_sent(alice, make_transcript):
    body = {
        "model": "simulator/chat",
        "messages": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": None, "tool_calls": [CALL]},
        ],
        "stream": True,
        "stop": ["END"],
        "response_format": {"type": "json_object"},
    }
    transcript = make_transcript(alice, request_body=body)
    page = client_for(alice).get(transcript.get_absolute_url()).content.decode()
    stored = Transcript.objects.get(pk=transcript.pk).request_body  # PostgreSQL orders its keys
    assert escape(json.dumps(stored, indent=2)) in page, "as sent: double quotes, true, unsorted"
    assert "<dt>stream</dt><dd><code>true</code></dd>" in page
    assert "<dt>stop</dt><dd><code>[&quot;END&quot;]</code></dd>" in page
    assert escape('{"type": "json_object"}') in page
    assert escape(json.dumps([CALL], indent=2)) in page, "a message's tool calls too"


def test_the_answers_say_when_a_choice_had_no_finish_reason_or_never_came(alice, make_transcript):
    choice = {"index": 0, "content": "Hi", "reasoning": "", "tool_calls": [], "finish_reason": None}
    body = {"model": "m", "messages": [{"role": "user", "content": "Hi"}], "n": 3}
    transcript = make_transcript(alice, request_body=body, choices=[choice])
    page = client_for(alice).get(transcript.get_absolute_url()).content.decode()
    assert "no finish reason" in page
    assert "The endpoint returned 1 of 3 choices." in page


def test_a_running_runs_page_watches_it_live_with_stop_for_those_who_may(
    alice, bob, staff, make_transcript
):
    running = make_transcript(alice, status="running", visibility=V.TEAM)
    ended = make_transcript(alice, visibility=V.TEAM)
    pages = {user: client_for(user).get(running.get_absolute_url()) for user in (alice, bob, staff)}
    for user, response in pages.items():
        html = response.content.decode()
        assert f'ws-connect="/ws/run/" data-run="{running.uuid}"' in html
        assert ('id="watch-stop"' in html) is (user != bob), "Stop as changeable_by allows"
    assert "ws-connect" not in client_for(bob).get(ended.get_absolute_url()).content.decode()


def test_my_runs_marks_running_runs_live_and_staff_see_every_run_going(
    alice, bob, staff, make_transcript
):
    mine = make_transcript(alice, status="running")
    private = make_transcript(bob, status="running")
    make_transcript(bob)
    mine_listed = client_for(alice).get(reverse("transcripts:list"))
    assert f'<a class="status running live" href="{mine.get_absolute_url()}"' in (
        mine_listed.content.decode()
    )
    assert mine_listed.context["running_now"] is None, "for staff only"
    assert list(client_for(staff).get(reverse("transcripts:list")).context["running_now"]) == [
        private,
        mine,
    ]
