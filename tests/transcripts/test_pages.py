"""Members see their own and shared transcripts; another member's private one is a 404."""

import pytest
from django.urls import reverse

from playground.transcripts.models import Transcript

from ..helpers import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_endpoints_setting")]
V = Transcript.Visibility


@pytest.mark.parametrize(
    ("visibility", "who", "expected"),
    [
        (V.PRIVATE, "owner", 200), (V.PRIVATE, "member", 404), (V.PRIVATE, "staff", 200),
        (V.PRIVATE, "anonymous", 302), (V.TEAM, "owner", 200), (V.TEAM, "member", 200),
        (V.TEAM, "staff", 200), (V.TEAM, "anonymous", 302),
    ],
)  # fmt: skip
def test_who_sees_a_transcript_and_opens_it_in_the_playground(
    alice, bob, staff, make_transcript, visibility, who, expected
):
    transcript = make_transcript(alice, visibility=visibility)
    client = client_for({"owner": alice, "member": bob, "staff": staff, "anonymous": None}[who])
    detail = client.get(transcript.get_absolute_url())
    reopen = client.get(reverse("playground"), {"transcript": transcript.uuid})
    assert detail.status_code == expected
    assert reopen.status_code == expected


def test_only_the_owner_changes_who_sees_it(alice, bob, make_transcript):
    transcript = make_transcript(alice)
    url = reverse("transcripts:visibility", args=[transcript.uuid])
    assert client_for(bob).post(url, {"visibility": "team"}).status_code == 404
    transcript.refresh_from_db()
    assert transcript.visibility == V.PRIVATE
    response = client_for(alice).post(url, {"visibility": "team"})
    assert response.url == transcript.get_absolute_url()
    transcript.refresh_from_db()
    assert transcript.visibility == V.TEAM


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
