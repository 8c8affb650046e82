"""Only a page of this site itself opens the run socket: scheme, host and port must match."""

import pytest

from playground.origin import origin_allowed

from ..helpers import Socket

# The check reads the handshake's headers before any consumer runs: the same on any backend
# (the authorization matrix refuses foreign origins on both passes).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sqlite_only]


async def opens(user, origin: bytes, host: bytes = b"127.0.0.1:8000", headers=()) -> bool:
    socket = Socket(user, origin=origin, host=host, headers=headers)
    connected, _ = await socket.connect()
    if connected:
        await socket.close()
    return connected


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (b"http://127.0.0.1:8000", True),
        (b"http://127.0.0.1:9000", False),  # another port of the same host
        (b"http://127.0.0.1", False),  # the default port is another port
        (b"https://127.0.0.1:8000", False),  # another scheme
        (b"http://localhost:8000", False),  # an allowed host, but not this request's
        (b"https://evil.example", False),
        (b"null", False),
        (b"http://[::1", False),  # not even a URL
    ],
)
async def test_the_origin_must_be_this_requests_scheme_host_and_port(alice, origin, allowed):
    assert await opens(alice, origin) is allowed


async def test_a_default_port_may_be_left_out_on_either_side(alice):
    assert await opens(alice, b"http://127.0.0.1", host=b"127.0.0.1:80")
    assert await opens(alice, b"http://127.0.0.1:80", host=b"127.0.0.1")


async def test_a_host_outside_allowed_hosts_is_refused_even_with_its_own_origin(alice):
    assert not await opens(alice, b"http://evil.example:8000", host=b"evil.example:8000")


async def test_a_socket_without_an_origin_is_refused(alice):
    assert not await opens(alice, None)


async def test_an_origin_in_csrf_trusted_origins_is_let_through(alice, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://playground.example.com", "https://*.team.example"]
    assert await opens(alice, b"https://playground.example.com")
    assert await opens(alice, b"https://eu.team.example")
    assert not await opens(alice, b"http://eu.team.example")


async def test_behind_the_tls_proxy_the_origin_is_https(alice, settings):
    """Production settings: the proxy terminates TLS and says so in X-Forwarded-Proto."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["playground.example.com"]
    host, https = b"playground.example.com", ((b"x-forwarded-proto", b"https"),)
    assert await opens(alice, b"https://playground.example.com", host, https)
    assert not await opens(alice, b"http://playground.example.com", host, https)
    assert not await opens(alice, b"https://playground.example.com:8443", host, https)
    plain = ((b"x-forwarded-proto", b"http"),)
    assert not await opens(alice, b"https://playground.example.com", host, plain)
    assert await opens(alice, b"http://playground.example.com", host, plain)


def test_a_tls_socket_without_a_proxy_is_https():
    scope = {
        "type": "websocket",
        "scheme": "wss",
        "headers": [(b"host", b"127.0.0.1:8443"), (b"origin", b"https://127.0.0.1:8443")],
    }
    assert origin_allowed(scope)
    scope["headers"][1] = (b"origin", b"http://127.0.0.1:8443")
    assert not origin_allowed(scope)
