"""Browser hardening headers on real responses: every response, signed-in pages, logouts."""

import pytest
from django.urls import reverse

from ..helpers import client_for

pytestmark = pytest.mark.django_db


def assert_hardened(response) -> None:
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
    policy = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in policy


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/", "/nowhere/"])
def test_every_page_carries_the_permissions_policy_and_corp(client, path):
    assert_hardened(client.get(path))


def test_static_files_carry_them_and_stay_cacheable_for_members(alice):
    response = client_for(alice).get("/static/css/app.css")
    assert response.status_code == 200
    assert_hardened(response)
    assert "no-store" not in response.get("Cache-Control", "")


@pytest.mark.parametrize("name", ["playground", "transcripts:list", "presets:list", "endpoints"])
def test_signed_in_pages_are_never_stored(alice, sim_endpoints_setting, name):
    response = client_for(alice).get(reverse(name))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert_hardened(response)


@pytest.mark.parametrize("url", ["/accounts/logout/", "/admin/logout/"])
def test_a_logout_clears_the_sites_storage_in_the_browser(staff, url):
    client = client_for(staff)
    response = client.post(url)
    assert response["Clear-Site-Data"] == '"storage"'
    assert "_auth_user_id" not in client.session
    assert "Clear-Site-Data" not in client.get("/accounts/login/")
