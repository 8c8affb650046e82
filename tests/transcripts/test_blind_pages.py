"""A blind compare's pages: until it is voted on, no page names its models, endpoints, columns
or settings (for every viewer, staff too); its side-by-side page takes the vote after a reload,
and then every page names them."""

import uuid

import pytest
from django.urls import reverse

from playground.transcripts.models import Transcript

from ..helpers import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_endpoints_setting")]

# What would tell which answer is which: models, endpoints, a column's name, a setting.
NAMES = ["acme/alpha-model", "acme/beta-model", "north-endpoint", "south-endpoint", "alpha warm"]
SETTING = "&quot;temperature&quot;: 0.93"  # in the request body as the page shows it


@pytest.fixture
def blind(alice, make_transcript, make_preset):
    """Alice's blind compare of two columns, shown swapped (column 1 as A); column 2's upstream
    error names its model and endpoint."""
    group, preset = uuid.uuid4(), make_preset(alice, name="Judged")
    column_1 = make_transcript(
        alice,
        content="Answer one",
        model="acme/alpha-model",
        endpoint="north-endpoint",
        request_body={"model": "acme/alpha-model", "messages": [], "temperature": 0.93},
        group=group,
        column=0,
        column_label="alpha warm",
        blind_slot=1,
        preset=preset,
    )
    column_2 = make_transcript(
        alice,
        content="Answer two",
        model="acme/beta-model",
        endpoint="south-endpoint",
        status=Transcript.Status.ERROR,
        error={"title": "Not found", "message": "acme/beta-model is not on south-endpoint"},
        group=group,
        column=1,
        blind_slot=0,
        preset=preset,
    )
    return column_1, column_2


def pages_of(columns) -> list[str]:
    """Every page that shows the compare or one of its columns."""
    return [
        reverse("transcripts:list"),
        reverse("transcripts:group", args=[columns[0].group]),
        *(column.get_absolute_url() for column in columns),
        reverse("presets:edit", args=[columns[0].preset.slug]),
    ]


def named(html: str) -> list[str]:
    return [name for name in [*NAMES, SETTING] if name in html]


def vote(user, group, pick: str):
    return client_for(user).post(reverse("transcripts:vote", args=[group]), {"pick": pick})


def test_no_page_names_a_blind_compare_until_the_vote_taken_after_a_reload(alice, staff, blind):
    group = blind[0].group
    for user in (alice, staff):
        for url in pages_of(blind):
            page = client_for(user).get(url)
            assert page.status_code == 200, url
            assert named(page.content.decode()) == [], (user, url)
    side_by_side = client_for(alice).get(reverse("transcripts:group", args=[group])).content
    html = side_by_side.decode()
    assert html.index("Answer A") < html.index("Answer two") < html.index("Answer B")
    assert "(named after the vote) is not on (named after the vote)" in html
    for opened in ({"group": group}, {"transcript": blind[0].uuid}):
        refused = client_for(alice).get(reverse("playground"), opened)
        assert refused.status_code == 404
        assert "named after the vote" in refused.content.decode()

    voted = vote(alice, group, "1")  # a new client: the socket that ran it is long gone
    assert voted.status_code == 302
    assert {t.column: t.vote for t in Transcript.objects.filter(group=group)} == {
        0: Transcript.Vote.WON,
        1: Transcript.Vote.LOST,
    }
    for url in pages_of(blind):
        assert named(client_for(alice).get(url).content.decode()), url
    assert SETTING in client_for(alice).get(blind[0].get_absolute_url()).content.decode()
    side_by_side = client_for(alice).get(voted.url).content.decode()
    assert "acme/beta-model is not on south-endpoint" in side_by_side
    assert f"?group={group}" in side_by_side
    assert 'name="pick"' not in side_by_side
    assert client_for(alice).get(reverse("playground"), {"group": group}).status_code == 200


@pytest.mark.parametrize(
    ("pick", "error"),
    [
        ("2", "There is no such answer to pick."),
        ("best", "Pick an answer, or a tie."),
        ("", "Pick an answer, or a tie."),
    ],
)
def test_a_bad_vote_is_refused_on_the_page(alice, blind, pick, error):
    page = vote(alice, blind[0].group, pick)
    html = page.content.decode()
    assert page.status_code == 200
    assert f'<div class="error-box" role="alert">{error}</div>' in html
    assert named(html) == []
    assert not Transcript.objects.exclude(vote="").exists()


def test_a_compare_is_voted_on_once(alice, blind):
    assert vote(alice, blind[0].group, "tie").status_code == 302
    again = vote(alice, blind[0].group, "0").content.decode()
    assert "This compare has been voted on already." in again
    assert 'name="pick"' not in again
    assert set(Transcript.objects.values_list("vote", flat=True)) == {Transcript.Vote.TIE}


def test_only_who_ran_it_votes_and_others_see_it_as_the_access_rule_says(alice, bob, staff, blind):
    group = blind[0].group
    url = reverse("transcripts:group", args=[group])
    assert client_for(bob).get(url).status_code == 404
    assert vote(bob, group, "0").status_code == 404
    Transcript.objects.filter(group=group).update(visibility=Transcript.Visibility.TEAM)
    page = client_for(bob).get(url).content.decode()
    assert named(page) == []
    assert 'name="pick"' not in page
    for judge in (bob, staff):  # the vote is the judgement of whoever ran it blind
        refused = vote(judge, group, "0").content.decode()
        assert "There is no blind compare here to vote on." in refused
        assert named(refused) == []
    assert not Transcript.objects.exclude(vote="").exists()
