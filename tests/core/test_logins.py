"""Failed logins are throttled: one counter per username and address for both login forms."""

import ipaddress
from datetime import timedelta

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone

pytestmark = pytest.mark.django_db

FORMS = ["/accounts/login/", "/admin/login/"]
STAFF = {"username": "staff", "password": "staff-42-x"}


def fail(client: Client, url: str, username: str = "staff", **headers):
    return client.post(url, {"username": username, "password": "wrong-password"}, **headers)


def fail_until_locked(client: Client, settings) -> None:
    """The limit's worth of wrong passwords, spread over both login forms."""
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert fail(client, FORMS[attempt % 2]).status_code == 200
    assert fail(client, FORMS[1]).status_code == 429


@pytest.mark.parametrize("url", FORMS)
def test_after_the_limit_the_right_password_is_refused_with_the_wait_shown(
    staff, client, settings, url
):
    fail_until_locked(client, settings)
    response = client.post(url, STAFF)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed logins to this account from your address." in page
    assert "Try again in 15 minutes." in page
    assert "<h1>Log in</h1>" in page, "our own login page, the form still there"
    assert 'value="staff"' in page
    assert "_auth_user_id" not in client.session


def test_another_username_from_the_same_address_still_logs_in(staff, alice, client, settings):
    fail_until_locked(client, settings)
    response = client.post(FORMS[0], {"username": "alice", "password": "wonderland-42"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_a_forwarded_for_header_of_the_clients_own_does_not_rotate_its_address(
    staff, client, settings
):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        fail(client, FORMS[0], HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}")
    response = client.post(FORMS[0], STAFF, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert response.status_code == 429


def test_the_lock_ends_after_the_cool_off(staff, client, settings):
    from axes.models import AccessAttempt

    fail_until_locked(client, settings)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert client.post(FORMS[0], STAFF).status_code == 302


@pytest.mark.parametrize(
    ("peer", "forwarded", "address"),
    [
        ("10.0.0.2", "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # what the proxy wrote
        ("10.0.0.2", "not-an-address", "10.0.0.2"),
        ("172.18.0.5", "198.51.100.1", "198.51.100.1"),  # a proxy of a trusted network
        ("203.0.113.50", "198.51.100.1", "203.0.113.50"),  # not a proxy: its header is ignored
    ],
)
def test_behind_a_trusted_proxy_the_address_is_the_one_it_wrote(settings, peer, forwarded, address):
    from playground.core.logins import client_ip

    networks = ["10.0.0.2", "172.16.0.0/12"]
    settings.PLAYGROUND_TRUSTED_PROXIES = [ipaddress.ip_network(n) for n in networks]
    settings.PLAYGROUND_CLIENT_IP_HEADER = "X-Forwarded-For"
    request = RequestFactory().post("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == address
