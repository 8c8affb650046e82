"""The real ASGI application served by Daphne, as `make run` serves it."""

import httpx
import pytest

from playground.upstream import Endpoint, ErrorEvent, ErrorKind, Usage

from ..helpers import DaphneServer, collect, text_of

pytestmark = pytest.mark.multiprocess  # every test here talks to the Daphne process below


@pytest.fixture(scope="module")
def daphne_url(tmp_path_factory):
    # These requests need no database; a throwaway one keeps the developer's own untouched.
    database = tmp_path_factory.mktemp("asgi") / "unused.sqlite3"
    with DaphneServer(DATABASE_URL=f"sqlite:///{database}") as server:
        yield server.url


def test_pages_need_a_login(daphne_url):
    response = httpx.get(f"{daphne_url}/")
    assert response.status_code == 302
    assert response.headers["location"] == "/accounts/login/?next=/"


def test_static_files_are_served_by_whitenoise(daphne_url):
    response = httpx.get(f"{daphne_url}/static/css/app.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")


def test_pages_carry_a_strict_content_security_policy(daphne_url):
    response = httpx.get(f"{daphne_url}/admin/login/")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-eval" not in policy


async def mounted_run(daphne_url: str, model: str, **body) -> list:
    endpoint = Endpoint(name="mounted", base_url=f"{daphne_url}/simulator/v1")
    return await collect(endpoint, model=model, **body)


async def test_the_mounted_simulator_streams(daphne_url, fresh_upstream):
    events = await mounted_run(daphne_url, "simulator/chat-fast", max_tokens=6)
    assert text_of(events).startswith("**Simulated reply**")
    assert events[-1] == Usage(events[-1].prompt_tokens, 6, events[-1].prompt_tokens + 6)


async def test_a_simulated_drop_under_daphne_ends_the_stream_early(daphne_url, fresh_upstream):
    """Daphne cannot drop a connection for an app, so the mount ends the body instead."""
    events = await mounted_run(daphne_url, "simulator/chat-fast?disconnect_after=3")
    assert text_of(events) == "**Simulated reply** to"
    assert events[-1] == ErrorEvent(ErrorKind.PROTOCOL, "The stream ended without data: [DONE].")
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{daphne_url}/")).status_code == 302, "Daphne serves on"
