import asyncio
import inspect
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest
from channels.db import database_sync_to_async
from django.db import connections

# Importing the ASGI app sets Django up again, which replaces the root logger's handlers, and
# with them caplog's: done here, before any test, so no test's caplog misses a record.
import playground.asgi  # noqa: F401
from playground.chat import rundb
from playground.simulator import Simulator
from playground.upstream import Endpoint, UpstreamConfig, close_client, configure, get_config
from playground.upstream.models import clear_cache

from . import factories
from .helpers import ServedApp, endpoints_for_tests
from .hostile import ScriptedUpstream

DJANGO_FREE = ("upstream", "simulator", "output")

# Property-based tests: a fixed number of examples, so each adds a known time to the suite;
# no deadline (two loaded cores make any example slow now and then); the same examples on
# every CI run, so that a failure there is reproducible and not a coin toss.
hypothesis.settings.register_profile("dev", max_examples=100, deadline=None)
hypothesis.settings.register_profile("ci", hypothesis.settings.get_profile("dev"), derandomize=True)
hypothesis.settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")


def pytest_collection_modifyitems(items):
    """Mark the Django-free tests (left out of the PostgreSQL + Redis pass) and the browser
    tests by their folder, and run the browser tests last: Playwright keeps an event loop
    running in this thread once it starts, which the async tests after it could not share.

    A browser test tests the page, which is the same on any backend: the services pass runs
    only those marked `both_passes`, whose path depends on the database or the channel layer
    (the rest of the suite covers both backends below the page)."""
    root = Path(__file__).parent
    for item in items:
        folder = item.path.relative_to(root).parts[0]
        if folder in DJANGO_FREE:
            item.add_marker(pytest.mark.django_free)
        elif folder == "browser":
            item.add_marker(pytest.mark.browser)
            if item.get_closest_marker("both_passes") is None:
                item.add_marker(pytest.mark.sqlite_only)
        if inspect.iscoroutinefunction(getattr(item, "obj", None)):
            item.fixturenames.append("_upstream_client_closed")
    items.sort(key=lambda item: item.path.relative_to(root).parts[0] == "browser")


@pytest.fixture(scope="session", autouse=True)
def _flush_postgresql_by_delete():
    """A transactional test ends with a flush of every table. PostgreSQL's TRUNCATE costs
    about half a second (a new file per table), where deleting the few rows a test made
    costs milliseconds: the flush deletes instead. Django makes PostgreSQL's foreign keys
    deferred, and the flush runs in one transaction, so the order of the tables is free.
    A flush that also resets sequences or cascades (neither used here) still truncates."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade:
            return truncate(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        delete = style.SQL_KEYWORD("DELETE FROM")
        return [f"{delete} {style.SQL_FIELD(self.quote_name(table))};" for table in tables]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="wonderland-42")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="builder-42")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        "staff", password="staff-42-x", is_staff=True, is_superuser=True
    )


@pytest.fixture
def make_preset():
    return factories.make_preset


@pytest.fixture
def make_transcript():
    return factories.make_transcript


@pytest.fixture(scope="session")
def simulator_server():
    """The simulator on a real socket, for the whole session."""
    with ServedApp(Simulator()) as served:
        yield served


@pytest.fixture
def simulator(simulator_server) -> Simulator:
    return simulator_server.app


@pytest.fixture
def sim_endpoint(simulator_server) -> Endpoint:
    return Endpoint(name="simulator", base_url=simulator_server.base_url, simulated=True)


@pytest.fixture(scope="session")
def scripted_server():
    """An upstream that says what a test scripts (tests/hostile.py), on a real socket."""
    with ServedApp(ScriptedUpstream()) as served:
        yield served


@pytest.fixture
def scripted(scripted_server) -> Iterator[ScriptedUpstream]:
    """The scripted upstream, with no script left from an earlier test, nor an answer held
    for one (a test that failed before releasing it)."""
    scripted_server.app.scripts.clear()
    yield scripted_server.app
    for script in scripted_server.app.scripts.values():
        script.release.set()


@pytest.fixture
def scripted_endpoint(scripted_server) -> Endpoint:
    return Endpoint(name="scripted", base_url=scripted_server.base_url)


@pytest.fixture
def sim_endpoints_setting(settings, simulator_server, scripted_server):
    """Point the Django settings' endpoint list at the test simulator and scripted upstream."""
    settings.PLAYGROUND_ENDPOINTS = endpoints_for_tests(simulator_server, scripted_server)
    return settings.PLAYGROUND_ENDPOINTS


@pytest.fixture
def refused_port():
    """A loopback port that refuses connections for the whole test: bound here but never
    listening, so no other process can take it meanwhile."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def upstream_config():
    """Change pool size or timeouts for one test."""
    original = get_config()

    def apply(**changes):
        configure(UpstreamConfig(**{**original.__dict__, **changes}))

    yield apply
    configure(original)


@pytest.fixture
async def _upstream_client_closed():
    """Every async test's loop closes its upstream client with it (a run it started reads
    through aiohttp's pool, which says so at exit when it was left open)."""
    yield
    await close_client()


@pytest.fixture
async def fresh_upstream():
    """A fresh model list for each test (its loop's client is closed for every async test:
    `_upstream_client_closed`). The ORM ran in the sync worker thread and on the runs' own
    workers too: close their connections, or PostgreSQL keeps them open and the test
    database cannot be dropped."""
    yield
    clear_cache()
    await database_sync_to_async(connections.close_all)()
    await rundb.close()


@pytest.fixture(autouse=True)
def _fast_passwords(request, settings):
    """Tests make many users; hashing their passwords slowly proves nothing. Browser tests keep
    the real hasher, since the server they log in to runs in another process."""
    if request.node.get_closest_marker("browser") is None:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_orphan_grace(settings):
    """A run whose sockets all closed ends at once in tests (the default waits 20 s for a
    reload): a test that wants the grace sets it."""
    settings.PLAYGROUND_ORPHAN_GRACE = 0


@pytest.fixture
async def run_registry():
    """This test loop's run registry. A test that fails mid-run leaves sessions (and batches)
    behind: they are stopped and awaited here, so no run, slot or task leaks into the next test."""
    from playground.chat.registry import get_registry

    registry = get_registry()
    yield registry
    batches = list(registry.batches.values())  # first: none may start a cell meanwhile
    for batch in batches:
        batch.stop()
    leftovers = list(registry.sessions.values())
    for session in leftovers:
        session.stop()
    tasks = [session.task for session in leftovers] + [batch.task for batch in batches]
    await asyncio.gather(*tasks, return_exceptions=True)
