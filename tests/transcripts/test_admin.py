"""Review in the admin: the list, its filters, search and ordering, the actions, the form."""

import csv
import io
import json

import pytest
from django.urls import reverse

from playground.transcripts.models import Transcript

pytestmark = pytest.mark.django_db
LIST = reverse("admin:transcripts_transcript_changelist")


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def shown(response) -> list[str]:
    """The uuids of the rows on a changelist page, in order."""
    return [str(t.uuid) for t in response.context["cl"].result_list]


def test_filters_search_and_ordering(admin_client, alice, bob, make_transcript):
    ok = make_transcript(alice, total_tokens=10, duration_ms=900, content="about Lyon")
    failed = make_transcript(
        bob, status=Transcript.Status.ERROR, error={"title": "x"}, total_tokens=50,
        duration_ms=100, endpoint="fireworks", model="accounts/x",
    )  # fmt: skip
    flagged = make_transcript(alice, review_state="flagged", total_tokens=30, duration_ms=500)
    u = lambda *ts: sorted(str(t.uuid) for t in ts)  # noqa: E731

    def rows(**query):
        return sorted(shown(admin_client.get(LIST, query)))

    assert rows(status__exact="error") == u(failed)
    assert rows(review_state__exact="flagged") == u(flagged)
    assert rows(has_error="yes") == u(failed)
    assert rows(has_error="no") == u(ok, flagged)
    assert rows(endpoint__exact="fireworks") == u(failed)
    assert rows(model__exact="accounts/x") == u(failed)
    assert rows(user__id__exact=str(bob.pk)) == u(failed)
    assert rows(q="lyon") == u(ok)
    assert rows(q="Capital of France") == u(ok, failed, flagged)
    by_tokens = shown(admin_client.get(LIST, {"o": "5"}))  # the total_tokens column
    assert by_tokens == [str(t.uuid) for t in (ok, flagged, failed)]
    by_latency = shown(admin_client.get(LIST, {"o": "-6"}))
    assert by_latency == [str(t.uuid) for t in (ok, flagged, failed)]


def test_the_list_makes_the_same_few_queries_for_5_or_50_rows(
    admin_client, alice, bob, make_transcript, django_assert_max_num_queries
):
    for number in range(5):
        make_transcript(alice if number % 2 else bob)
    with django_assert_max_num_queries(12) as five:
        admin_client.get(LIST)
    for number in range(45):
        make_transcript(alice if number % 2 else bob)
    with django_assert_max_num_queries(12) as fifty:
        admin_client.get(LIST)
    assert len(fifty.captured_queries) == len(five.captured_queries)


def test_approve_and_flag_record_the_reviewer(admin_client, staff, alice, make_transcript):
    first, second = make_transcript(alice), make_transcript(alice)
    admin_client.post(LIST, {"action": "approve", "_selected_action": [first.pk, second.pk]})
    first.refresh_from_db()
    assert (first.review_state, first.reviewed_by) == ("approved", staff)
    admin_client.post(LIST, {"action": "flag", "_selected_action": [second.pk]})
    second.refresh_from_db()
    assert second.review_state == "flagged"
    assert second.reviewed_at is not None


def test_export_actions_download_what_was_selected(admin_client, alice, make_transcript):
    chosen = make_transcript(alice, corrected_answer="Corrected.")
    make_transcript(alice, content="not selected")
    response = admin_client.post(LIST, {"action": "export_jsonl", "_selected_action": [chosen.pk]})
    assert response["Content-Disposition"].endswith('.jsonl"')
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert [json.loads(line)["messages"][-1]["content"] for line in lines] == ["Corrected."]
    response = admin_client.post(LIST, {"action": "export_csv", "_selected_action": [chosen.pk]})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["answer"] for row in rows] == ["Corrected."]


def test_the_review_form_shows_the_conversation_and_records_the_review(
    admin_client, staff, alice, make_transcript
):
    transcript = make_transcript(alice, content="Answer with <img src=x onerror=alert(1)>")
    url = reverse("admin:transcripts_transcript_change", args=[transcript.pk])
    page = admin_client.get(url).content.decode()
    assert "Capital of France?" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img src=x" not in page

    response = admin_client.post(
        url,
        {"review_state": "approved", "rating": "5", "labels": "geo", "reviewer_note": "Good",
         "corrected_answer": "Paris.", "chosen_choice": "1"},
    )  # fmt: skip
    assert response.status_code == 302
    transcript.refresh_from_db()
    assert (transcript.review_state, transcript.rating, transcript.labels) == ("approved", 5, "geo")
    assert (transcript.corrected_answer, transcript.chosen_choice) == ("Paris.", 1)
    assert transcript.reviewed_by == staff
    assert transcript.choices[0]["content"].startswith("Answer with"), "the run is untouched"


def test_staff_who_may_only_view_cannot_approve(client, django_user_model, alice, make_transcript):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="v-42-xyz", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_transcript"))
    transcript = make_transcript(alice)
    client.force_login(viewer)
    assert client.get(LIST).status_code == 200
    client.post(LIST, {"action": "approve", "_selected_action": [transcript.pk]})
    transcript.refresh_from_db()
    assert transcript.review_state == "unreviewed"
    assert transcript.reviewed_by is None


def test_the_chosen_choice_is_one_of_the_runs_counted_from_1(admin_client, alice, make_transcript):
    transcript = make_transcript(alice)
    url = reverse("admin:transcripts_transcript_change", args=[transcript.pk])
    field = admin_client.get(url).context["adminform"].form["chosen_choice"]
    assert [(o.data["value"], o.choice_label) for o in field.subwidgets] == [
        (0, "Choice 1"),
        (1, "Choice 2"),
    ], "as the page and the transcript name them"
    response = admin_client.post(url, {"review_state": "approved", "chosen_choice": "7"})
    assert response.status_code == 200
    assert "7 is not one of the available choices" in response.content.decode()
    transcript.refresh_from_db()
    assert transcript.review_state == "unreviewed"


def test_a_run_without_answers_can_still_be_reviewed(admin_client, alice, make_transcript):
    transcript = make_transcript(alice, status=Transcript.Status.ERROR, choices=[])
    url = reverse("admin:transcripts_transcript_change", args=[transcript.pk])
    response = admin_client.post(url, {"review_state": "flagged", "chosen_choice": "0"})
    assert response.status_code == 302
    transcript.refresh_from_db()
    assert transcript.review_state == "flagged"


def test_the_review_page_shows_only_the_timings_a_run_has(admin_client, alice, make_transcript):
    """A run answered in one body has no first token and no speed: none is shown."""
    transcript = make_transcript(alice, time_to_first_token_ms=None, tokens_per_second=None)
    url = reverse("admin:transcripts_transcript_change", args=[transcript.pk])
    page = admin_client.get(url).content.decode()
    assert "total 500 ms" in page
    assert "first token" not in page
    assert "tokens/s" not in page
