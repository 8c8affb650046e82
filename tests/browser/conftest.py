"""Real Chromium (Debian's) driving the app served by a real Daphne process."""

import functools
import json
import os

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from playwright.sync_api import expect, sync_playwright

from playground.transcripts.models import Transcript

from ..helpers import DaphneServer, client_for, database_url, endpoints_for_tests, wait_until

CHROMIUM = "/usr/bin/chromium"
# Two cores run the server, the simulator, Chromium and the tests at once: give the page the
# same 10 s to get there that actions have, rather than Playwright's 5 s default.
expect.set_options(timeout=10_000)
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def app_env(simulator_server, scripted_server, **changes: str) -> dict[str, str]:
    """The whole app's settings on the test database, sending runs to the test simulator."""
    return {
        "DATABASE_URL": database_url(connection.settings_dict),
        "PLAYGROUND_ENDPOINTS": json.dumps(endpoints_for_tests(simulator_server, scripted_server)),
        "SIMULATOR_ENABLED": "false",
        # A run's write waiting on a lock a test holds fails (and is retried) within 1 s.
        "PLAYGROUND_DB_WRITE_TIMEOUT": "1",
        # A page that goes (a test's end, a reload, a cut connection) stops its run at once.
        "PLAYGROUND_ORPHAN_GRACE": "0",
        **changes,
    }


@pytest.fixture(scope="session")
def live_url(django_db_setup, simulator_server, scripted_server):
    """The whole app in a Daphne process."""
    with DaphneServer(**app_env(simulator_server, scripted_server)) as server:
        yield server.url


@pytest.fixture(scope="session")
def browser(live_url):
    """One Chromium for the session; started after the database is set up, since Playwright
    runs an event loop in this thread from then on."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _sync_orm_beside_playwright(monkeypatch):
    """Playwright's sync API runs an event loop; the ORM calls in these tests are plain sync."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@functools.cache
def password_hash(password: str) -> str:
    """`password` as the app's own hasher stores it (the server, in its own process, checks
    it), made once a session: the hasher is slow on purpose, and a test makes a user."""
    return make_password(password)


def member(django_user_model, username: str, password: str, **fields):
    return django_user_model.objects.create(
        username=username, password=password_hash(password), **fields
    )


@pytest.fixture
def alice(transactional_db, django_user_model):
    return member(django_user_model, "alice", "wonderland-42")


@pytest.fixture
def bob(transactional_db, django_user_model):
    return member(django_user_model, "bob", "builder-42")


@pytest.fixture
def staff(transactional_db, django_user_model):
    return member(django_user_model, "staff", "staff-42-x", is_staff=True, is_superuser=True)


def signed_in_context(browser, live_url, user, **options):
    """A browser context with `user`'s session; `options` go to Playwright's new_context."""
    cookie = client_for(user).cookies["sessionid"].value
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **options})
    context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_url}])
    return context


@pytest.fixture
def page(browser, live_url, alice):
    """Alice's playground page, signed in, with a clean draft (a new context's storage is
    empty)."""
    context = signed_in_context(browser, live_url, alice)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_url}/")
    yield page
    stop_runs(page)
    context.close()


def stop_runs(page) -> None:
    """Runs outlive their pages: one still going when a test ends is stopped from `page`, as
    a user would (its Stop, or Stop all), and its row seen ended, before the next test."""
    running = Transcript.objects.filter(status=Transcript.Status.RUNNING)
    if not running.exists():
        return
    # Clicked in the page: the run may end between a check and Playwright's click, which
    # would then wait on a disabled button.
    page.evaluate(
        "document.querySelector('#stop-button:not([disabled]), #watch-stop:not([disabled])')"
        "?.click()"
    )
    wait_until(lambda: not running.exists(), timeout=15)
