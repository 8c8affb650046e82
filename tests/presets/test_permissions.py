"""What a preset's page and share link show, and forks. Who may open, save, fork, rename and
delete which preset: the authorization matrix (tests/core/test_authorization_matrix.py)."""

import pytest
from django.urls import reverse

from playground.presets.models import Preset

from ..helpers import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_endpoints_setting")]
V = Preset.Visibility


@pytest.fixture
def people(alice, bob, staff):
    return {"owner": alice, "member": bob, "staff": staff}


def test_a_signed_out_visitor_sees_a_link_preset_read_only(alice, make_preset):
    preset = make_preset(alice, V.LINK)
    page = client_for(None).get(preset.get_absolute_url()).content.decode()
    assert "Sign in to run" in page
    assert "run-form" not in page


# Who opens the playground with another's preset, by visibility (members: not a private one).
OPENS = [
    (v, who) for v in V for who in ("owner", "member", "staff") if (v, who) != (V.PRIVATE, "member")
]


@pytest.mark.parametrize(("visibility", "who"), OPENS)
def test_the_playground_fills_from_a_preset_and_offers_save_to_who_may(
    people, make_preset, visibility, who
):
    preset = make_preset(people["owner"], visibility, temperature="0.4")
    response = client_for(people[who]).get(reverse("playground"), {"preset": preset.slug})
    page = response.content.decode()
    assert 'name="temperature" value="0.4"' in page
    assert (f'hx-post="/presets/{preset.slug}/save/"' in page) == (who != "member")


@pytest.mark.parametrize("visibility", [V.TEAM, V.LINK])
def test_others_fork_what_they_can_see_into_a_private_copy(people, make_preset, visibility):
    preset = make_preset(people["owner"], visibility)
    response = client_for(people["member"]).post(reverse("presets:fork", args=[preset.slug]))
    copy = Preset.objects.get(owner=people["member"])
    assert response.url == f"/?preset={copy.slug}"
    assert (copy.name, copy.forked_from, copy.visibility) == ("Terse (fork)", preset, V.PRIVATE)
    assert copy.form_state == preset.form_state


def test_a_tampered_slug_is_a_clear_404(client, alice):
    client.force_login(alice)
    for url in ("/p/nope/", "/?preset=nope", "/presets/nope/edit/"):
        response = client.get(url)
        assert response.status_code == 404
        assert b"Not Found" in response.content or b"not" in response.content


def test_a_404_says_what_happened_in_the_apps_own_page(client, bob, alice, make_preset):
    preset = make_preset(alice, Preset.Visibility.PRIVATE)
    client.force_login(bob)
    page = client.get(preset.get_absolute_url()).content.decode()
    assert "No such preset, or it is not shared with you." in page
    assert 'href="/static/css/app.css"' in page
