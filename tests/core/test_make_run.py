"""The app as `make run` serves it: Daphne, with the environment as make leaves it (DEBUG
unset, so off), on the test database. What a browser gets: the page and its static files,
the hardening headers, the socket's origin check and the login throttle."""

import asyncio
import os
import re

import httpx
import pytest
import websockets
from django.db import connection

from ..helpers import DaphneServer, database_url, session_cookie

pytestmark = [pytest.mark.multiprocess, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def server(django_db_setup):
    with pytest.MonkeyPatch.context() as environment:
        environment.delenv("DEBUG", raising=False)
        # Unset, as under make run: the server makes the simulator's key itself.
        database, no_key = database_url(connection.settings_dict), ""
        with DaphneServer(DATABASE_URL=database, SIMULATOR_API_KEY=no_key) as server:
            yield server


@pytest.fixture
def member(server, alice):
    """An httpx client of the server with alice's session."""
    cookies = {"sessionid": session_cookie(alice)}
    with httpx.Client(base_url=server.url, cookies=cookies) as client:
        yield client


def test_debug_is_off_unless_a_developer_asks(server):
    response = httpx.get(f"{server.url}/nowhere/")
    assert response.status_code == 404
    assert "Not found · Playground" in response.text
    assert "URLconf" not in response.text, "not Django's debug page"


def test_the_page_and_every_static_file_it_names_load(member):
    page = member.get("/")
    assert page.status_code == 200
    urls = set(re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text))
    assert {"/static/css/app.css", "/static/js/playground.js"} <= urls
    assert any(url.startswith("/static/django_htmx/") for url in urls), urls
    for url in urls:
        response = member.get(url)
        assert response.status_code == 200, url
        kind = "text/css" if url.endswith(".css") else "text/javascript"
        assert response.headers["content-type"].startswith(kind), url
        assert response.headers["cross-origin-resource-policy"] == "same-origin"
        assert "no-store" not in response.headers.get("cache-control", "")


def test_the_app_reaches_its_mounted_simulator_with_the_key_it_made(member):
    page = member.get("/endpoints/").text
    assert "<code>simulator/chat-fast</code>" in page
    assert 'class="error" role="alert"' not in page, "the endpoint's row says no error"
    assert os.environ["SIMULATOR_API_KEY"] not in page, "made from the same SECRET_KEY"


def test_a_members_page_carries_the_hardening_headers(member):
    headers = member.get("/").headers
    assert "no-store" in headers["cache-control"]
    assert headers["cross-origin-resource-policy"] == "same-origin"
    assert "camera=()" in headers["permissions-policy"]
    assert "microphone=()" in headers["permissions-policy"]


async def handshake_status(server, alice, origin: str) -> int:
    url = server.url.replace("http", "ws") + "/ws/run/"
    cookie = f"sessionid={await asyncio.to_thread(session_cookie, alice)}"
    try:
        async with websockets.connect(url, origin=origin, additional_headers={"Cookie": cookie}):
            return 101
    except websockets.InvalidStatus as refused:
        return refused.response.status_code


async def test_the_socket_opens_only_from_the_servers_own_port(server, alice):
    """The server runs on a port of its own, as behind any proxy on a non-default port."""
    assert await handshake_status(server, alice, server.url) == 101
    other_port, other_scheme = (
        f"http://127.0.0.1:{server.port + 1}",
        f"https://127.0.0.1:{server.port}",
    )
    for origin in (other_port, "http://127.0.0.1", other_scheme):
        assert await handshake_status(server, alice, origin) == 403, origin


def test_the_login_throttle_answers_under_daphne(server, staff):
    with httpx.Client(base_url=server.url) as client:
        token = client.get("/admin/login/").cookies["csrftoken"]
        form = {"csrfmiddlewaretoken": token, "username": "staff", "password": "wrong"}
        statuses = [client.post("/admin/login/", data=form).status_code for _ in range(5)]
        locked = client.post("/accounts/login/", data={**form, "password": "staff-42-x"})
    assert statuses == [200, 200, 200, 200, 429]
    assert locked.status_code == 429
    assert "Try again in 15 minutes." in locked.text
