"""Who may open, save, fork, rename and delete a preset, for every visibility."""

import pytest
from django.urls import reverse

from playground.presets.models import Preset

from ..helpers import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_endpoints_setting")]
V = Preset.Visibility


@pytest.fixture
def people(alice, bob, staff):
    return {"owner": alice, "member": bob, "staff": staff, "anonymous": None}


# (visibility, who) -> what opening the share link gives
OPEN = {
    (V.PRIVATE, "owner"): "playground", (V.PRIVATE, "member"): 404,
    (V.PRIVATE, "staff"): "playground", (V.PRIVATE, "anonymous"): "login",
    (V.TEAM, "owner"): "playground", (V.TEAM, "member"): "playground",
    (V.TEAM, "staff"): "playground", (V.TEAM, "anonymous"): "login",
    (V.LINK, "owner"): "playground", (V.LINK, "member"): "playground",
    (V.LINK, "staff"): "playground", (V.LINK, "anonymous"): "read-only",
}  # fmt: skip


@pytest.mark.parametrize(("visibility", "who"), list(OPEN))
def test_the_share_link(people, make_preset, visibility, who):
    preset = make_preset(people["owner"], visibility)
    response = client_for(people[who]).get(preset.get_absolute_url())
    expected = OPEN[(visibility, who)]
    if expected == "playground":
        assert response.status_code == 302
        assert response.url == f"/?preset={preset.slug}"
    elif expected == "login":
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/?next=/p/")
    elif expected == "read-only":
        assert response.status_code == 200
        page = response.content.decode()
        assert "Sign in to run" in page
        assert "run-form" not in page
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("visibility", list(V))
@pytest.mark.parametrize("who", ["owner", "member", "staff"])
def test_the_playground_page_with_a_preset(people, make_preset, visibility, who):
    preset = make_preset(people["owner"], visibility, temperature="0.4")
    response = client_for(people[who]).get(reverse("playground"), {"preset": preset.slug})
    may_view = who != "member" or visibility != V.PRIVATE
    assert response.status_code == (200 if may_view else 404)
    if may_view:
        page = response.content.decode()
        assert 'name="temperature" value="0.4"' in page
        assert (f'hx-post="/presets/{preset.slug}/save/"' in page) == (who != "member")


@pytest.mark.parametrize("visibility", list(V))
@pytest.mark.parametrize("who", ["owner", "member", "staff", "anonymous"])
def test_who_may_change_and_delete(people, make_preset, visibility, who):
    preset = make_preset(people["owner"], visibility)
    client = client_for(people[who])
    may_change = who in ("owner", "staff")
    urls = {
        "save": reverse("presets:save", args=[preset.slug]),
        "edit": reverse("presets:edit", args=[preset.slug]),
        "delete": reverse("presets:delete", args=[preset.slug]),
    }
    responses = {
        "save": client.post(urls["save"], {"model": "changed"}),
        "edit": client.post(urls["edit"], {"preset-name": "Renamed", "preset-visibility": "team"}),
    }
    for action, response in responses.items():
        if who == "anonymous":
            assert response.status_code == 302
            assert response.url.startswith("/accounts/login/")
        elif may_change:
            assert response.status_code == {"save": 200, "edit": 302}[action]
        else:
            assert response.status_code == 404
    preset.refresh_from_db()
    assert (preset.name == "Renamed") == may_change
    response = client.post(urls["delete"])
    assert Preset.objects.filter(pk=preset.pk).exists() != may_change
    if who == "member":
        assert response.status_code == 404


@pytest.mark.parametrize("visibility", list(V))
def test_others_may_fork_what_they_can_see(people, make_preset, visibility):
    preset = make_preset(people["owner"], visibility)
    response = client_for(people["member"]).post(reverse("presets:fork", args=[preset.slug]))
    if visibility == V.PRIVATE:
        assert response.status_code == 404
        return
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
