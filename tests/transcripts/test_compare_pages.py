"""A compare's transcripts: one row in My runs, its columns side by side, each column's page
linking to its siblings, and Open in playground restoring every column."""

import re
import uuid

import pytest
from django.urls import reverse

from playground.transcripts.models import Transcript

from ..helpers import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_endpoints_setting")]


@pytest.fixture
def compare(alice, make_transcript):
    """Alice's compare of three columns, and a run of her own beside it."""
    group = uuid.uuid4()
    models = ["simulator/chat", "simulator/chat-fast", "simulator/reasoning"]
    columns = [
        make_transcript(
            alice,
            content=f"Answer {column}",
            model=model,
            group=group,
            column=column,
            column_label="warm" if column == 1 else "",
            form_state={"version": 1, "fields": {"model": model, "temperature": str(column)}},
        )
        for column, model in enumerate(models)
    ]
    make_transcript(alice, model="simulator/chat")
    return columns


def test_my_runs_lists_a_compare_as_one_row_that_opens_side_by_side(alice, compare):
    page = client_for(alice).get(reverse("transcripts:list")).content.decode()
    group_url = reverse("transcripts:group", args=[compare[0].group])
    assert page.count(group_url) == 1
    assert page.count("<tr>") == 3, "the header, the compare and the run of its own"
    assert "compare of 3:" in page
    assert f'<a href="{compare[1].get_absolute_url()}"><code>warm</code></a>' in page

    filtered = client_for(alice).get(reverse("transcripts:list"), {"model": "simulator/reasoning"})
    assert group_url in filtered.content.decode(), "found by any of its columns' models"

    side_by_side = client_for(alice).get(group_url).content.decode()
    assert side_by_side.count('class="column"') == 3
    assert "Column 2: warm" in side_by_side
    for column in compare:
        assert f"Answer {column.column}" in side_by_side
        assert column.get_absolute_url() in side_by_side
    assert f"?group={compare[0].group}" in side_by_side


def test_a_columns_transcript_links_to_its_siblings(alice, compare):
    page = client_for(alice).get(compare[1].get_absolute_url()).content.decode()
    assert "Column 2 (warm) of a compare" in page
    assert compare[0].get_absolute_url() in page
    assert compare[2].get_absolute_url() in page
    assert reverse("transcripts:group", args=[compare[0].group]) in page


def test_a_compare_is_not_shown_to_whom_it_is_not_shared_with(bob, compare):
    url = reverse("transcripts:group", args=[compare[0].group])
    assert client_for(bob).get(url).status_code == 404
    assert (
        client_for(bob).get(f"{reverse('playground')}?group={compare[0].group}").status_code == 404
    )
    Transcript.objects.filter(pk=compare[2].pk).update(visibility=Transcript.Visibility.TEAM)
    page = client_for(bob).get(url).content.decode()
    assert page.count('class="column"') == 1, "only the column shared with the team"
    assert "Column 3" in page


def test_open_in_playground_restores_every_column(alice, compare):
    page = client_for(alice).get(reverse("playground"), {"group": compare[0].group})
    context = page.context
    assert context["column_count"] == 3
    assert [column["label"] for column in context["columns"]] == ["warm", ""]
    html = page.content.decode()
    assert 'name="k1-model" value="simulator/chat-fast"' in html
    assert 'name="k2-temperature" value="2"' in html
    assert 'name="columns" id="column-count" value="3"' in html
    assert 'id="compare" class="compare" aria-label="Compare" hidden' not in html


def test_staff_see_win_rates_per_model_and_preset_with_an_interval(
    alice, staff, make_transcript, make_preset
):
    preset = make_preset(alice, name="Terse")
    outcomes = [("simulator/chat", "won")] * 3 + [("simulator/chat", "tie")]
    outcomes += [("simulator/chat-fast", "lost")] * 3 + [("simulator/chat-fast", "tie")]
    for model, vote in outcomes:
        make_transcript(alice, model=model, vote=vote, preset=preset)
    make_transcript(alice, model="simulator/reasoning")  # never voted on: not counted

    page = client_for(staff).get(reverse("transcripts:votes")).content.decode()
    rows = [" ".join(row.split()) for row in re.findall(r"<tr><td>(.*?)</tr>", page, re.S)]
    assert rows[0].startswith("<code>simulator/chat</code></td><td>4</td><td>3</td><td>1</td>")
    assert "88 %" in rows[0], "3.5 of 4"
    assert "40–99 %" in rows[0], "the 95 % Wilson interval of 0.875 over 4 votes"
    assert "12 %" in rows[1]
    assert "<code>Terse</code></td><td>8</td><td>3</td><td>2</td>" in rows[2]
    assert "simulator/reasoning" not in page
    assert client_for(alice).get(reverse("transcripts:votes")).status_code == 302


def test_a_running_columns_page_watches_it_live_in_boxes_under_its_own_ids(alice, compare):
    Transcript.objects.filter(pk=compare[1].pk).update(status=Transcript.Status.RUNNING)
    page = client_for(alice).get(compare[1].get_absolute_url()).content.decode()
    assert f'data-run="{compare[1].uuid}"' in page
    for box in ("k1-choices", "k1-run-status", "k1-run-error", "k1-stop"):
        assert f'id="{box}"' in page, box
    assert 'id="choices"' not in page


def test_a_running_blind_answers_page_is_not_watched_live(alice, compare):
    Transcript.objects.filter(pk=compare[1].pk).update(
        status=Transcript.Status.RUNNING, blind_slot=0
    )
    page = client_for(alice).get(compare[1].get_absolute_url()).content.decode()
    assert "data-run=" not in page
    # No id, target or selector of slot 0's live boxes; a uuid on the page may hold "b0-".
    assert not re.search(r"(?<![0-9a-f])b0-", page)
