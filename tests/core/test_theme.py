"""The theme a member picks: kept on the server, rendered on <html> from the first paint."""

import pytest
from django.urls import reverse

from playground.core.models import Preference

from ..helpers import client_for

pytestmark = pytest.mark.django_db


def test_a_member_picks_a_theme_that_every_page_then_renders(alice, bob):
    client = client_for(alice)
    assert "data-theme" not in client.get("/presets/").content.decode()  # the system's

    response = client.post(reverse("theme"), {"theme": "dark", "next": "/presets/"})
    assert response.status_code == 302
    assert response.url == "/presets/"
    page = client.get("/transcripts/").content.decode()
    assert '<html lang="en" data-theme="dark">' in page
    assert '<option value="dark" selected>Dark</option>' in page
    assert "data-theme" not in client_for(bob).get("/presets/").content.decode()

    client.post(reverse("theme"), {"theme": ""})
    assert Preference.objects.get(user=alice).theme == ""
    assert "data-theme" not in client.get("/presets/").content.decode()


def test_an_unknown_theme_is_refused_and_next_never_leaves_the_site(alice):
    client = client_for(alice)
    refused = client.post(reverse("theme"), {"theme": "neon"})
    assert refused.status_code == 400
    assert "Unknown theme" in refused.content.decode()
    away = client.post(reverse("theme"), {"theme": "light", "next": "https://evil.example/"})
    assert away.url == "/"
