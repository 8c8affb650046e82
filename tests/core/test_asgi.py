"""The real ASGI application served by Daphne, as `make run` serves it."""

import asyncio
import os
import secrets
from pathlib import Path

import httpx
import pytest

from playground.upstream import Endpoint, ErrorEvent, ErrorKind, Usage

from ..helpers import DaphneServer, collect, text_of

pytestmark = pytest.mark.multiprocess  # every test here talks to the Daphne process below


@pytest.fixture(scope="module")
def daphne(tmp_path_factory):
    # These requests need no database; a throwaway one keeps the developer's own untouched.
    database = tmp_path_factory.mktemp("asgi") / "unused.sqlite3"
    with DaphneServer(DATABASE_URL=f"sqlite:///{database}") as server:
        yield server


@pytest.fixture
def daphne_url(daphne):
    return daphne.url


def test_daphne_runs_on_uvloop(daphne):
    """The launcher sets uvloop's policy before Daphne makes its loop; nothing else of the
    app loads it."""
    assert "/uvloop/loop." in Path(f"/proc/{daphne.process.pid}/maps").read_text()


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
    # The key the app sends: made from SECRET_KEY when this process loaded its settings, and
    # inherited by the Daphne process with the rest of the environment.
    base_url = f"{daphne_url}/simulator/v1"
    endpoint = Endpoint(name="mounted", base_url=base_url, key_env="SIMULATOR_API_KEY")
    return await collect(endpoint, model=model, **body)


SIMULATED = {"model": "simulator/chat-fast", "messages": [{"role": "user", "content": "Hi"}]}


@pytest.mark.parametrize(("method", "path"), [("POST", "chat/completions"), ("GET", "models")])
def test_the_mounted_simulator_refuses_requests_without_its_key(daphne_url, method, path):
    url = f"{daphne_url}/simulator/v1/{path}"
    for key in ("", "not-the-key"):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = httpx.request(method, url, json=SIMULATED, headers=headers)
        assert response.status_code == 401, response.text
        assert response.json()["error"]["message"] == "Invalid API key provided."


async def test_heavy_simulated_answers_do_not_hold_up_other_pages(daphne_url):
    """Whole answers at the bounds (20,000 tokens x 16 choices), several at once (the
    simulator makes them one after the other, seconds each): pages are served while they are
    being made, not in the gaps between them (before the fix a page waited for a whole one)."""
    heavy = {**SIMULATED, "n": 16, "simulator": {"tokens": 20_000}}
    headers = {"Authorization": f"Bearer {os.environ['SIMULATOR_API_KEY']}"}
    url = f"{daphne_url}/simulator/v1/chat/completions"
    page = f"{daphne_url}/accounts/login/"
    async with httpx.AsyncClient(timeout=120) as client:
        await client.get(page)  # its first rendering (templates, URLs) is not the point here
        answers = [
            asyncio.ensure_future(client.post(url, json=heavy, headers=headers)) for _ in range(4)
        ]
        await asyncio.sleep(0.2)  # the answers' requests reach the server first
        for _ in range(10):
            response = await client.get(page)
            assert response.status_code == 200
        # An order, not a time: every page came back while answers were still being made.
        done = [answer.done() for answer in answers]
        for answer in answers:  # a closed connection stops the answers still being made
            answer.cancel()
    assert not all(done), done


def test_production_neither_mounts_nor_offers_the_simulator_unless_asked(tmp_path):
    env = {
        "PLAYGROUND_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        "DEBUG": "true",  # Django's own 404 page: the site's needs collected static files
    }
    https = {"X-Forwarded-Proto": "https"}  # from the TLS proxy production runs behind
    with DaphneServer(**env) as server:
        response = httpx.get(f"{server.url}/simulator/v1/models", headers=https)
        assert response.status_code == 404


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
