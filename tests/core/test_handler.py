"""The ASGI handler's kept threads: a request's sync code runs on a thread a finished request
gave back, with that thread's database connection, and requests at once never share one."""

import asyncio
import threading

import pytest
from asgiref.sync import SyncToAsync
from asgiref.testing import ApplicationCommunicator
from django.core.signals import request_finished, request_started
from django.db import connection, connections

from playground.core.handler import KEPT_THREADS, KeptThreadsASGIHandler

pytestmark = pytest.mark.django_db(transaction=True)


async def get(handler: KeptThreadsASGIHandler, path: str = "/healthz") -> int:
    headers = [(b"host", b"testserver")]
    scope = {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": headers}
    app = ApplicationCommunicator(handler, scope)
    await app.send_input({"type": "http.request", "body": b""})
    start = await app.receive_output(timeout=10)
    while (await app.receive_output(timeout=10)).get("more_body"):
        pass
    await app.wait(timeout=10)
    return start["status"]


@pytest.fixture
def seen(monkeypatch):
    """Each request's thread, and the database connection it leaves open at its end."""
    # Connections are kept as production keeps them (tests close them after each request).
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 60)
    found: list[tuple[int, int]] = []

    def record(**kwargs) -> None:
        connection.ensure_connection()
        found.append((threading.get_ident(), id(connection.connection)))

    request_finished.connect(record)  # after close_old_connections, connected at setup
    yield found
    request_finished.disconnect(record)


async def test_requests_one_after_another_run_on_one_thread_with_one_connection(seen):
    handler = KeptThreadsASGIHandler()
    statuses = [await get(handler) for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert len(seen) == 3
    assert len(set(seen)) == 1, "the same thread, and its connection kept"
    assert seen[0][0] != threading.get_ident()


async def test_requests_at_once_never_share_a_thread(seen):
    handler = KeptThreadsASGIHandler()
    first_in = threading.Event()
    let_go = threading.Event()

    def hold_the_first(**kwargs) -> None:
        if not first_in.is_set():
            first_in.set()
            assert let_go.wait(10)

    request_started.connect(hold_the_first)
    try:
        held = asyncio.create_task(get(handler))
        await asyncio.to_thread(first_in.wait, 10)
        assert await get(handler) == 200  # while the first one holds its thread
        let_go.set()
        assert await held == 200
    finally:
        request_started.disconnect(hold_the_first)
    assert seen[0][0] != seen[1][0]
    assert len(handler._idle) == 2  # both threads kept for what comes next
    assert KEPT_THREADS >= 2


async def test_a_page_goes_to_its_thread_in_a_few_hops_not_one_per_middleware(monkeypatch):
    """The middleware chain runs sync, in one hop; the others are the request's signals and
    the response's close. Served async, each middleware's hooks were a hop of their own."""
    hops = []
    original = SyncToAsync.__call__

    async def counted(self, *args, **kwargs):
        hops.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counted)
    assert await get(KeptThreadsASGIHandler(), "/accounts/login/") == 200
    assert len(hops) <= 4, hops


async def test_pages_take_turns_and_an_async_view_takes_none(settings, monkeypatch):
    """With one turn, a page waits for the page before it to end; the health check (an async
    view, whose thread only waits) answers meanwhile."""
    settings.REQUEST_THREADS = 1
    handler = KeptThreadsASGIHandler()
    first_in, let_go = threading.Event(), threading.Event()
    served = []
    respond = handler.get_response

    def held(request):
        served.append(request.path)
        if request.path == "/healthz" and not first_in.is_set():
            first_in.set()
            assert let_go.wait(10)
        return respond(request)

    monkeypatch.setattr(handler, "get_response", held)
    first = asyncio.create_task(get(handler))
    await asyncio.to_thread(first_in.wait, 10)
    second = asyncio.create_task(get(handler, "/accounts/login/"))
    assert await get(handler, "/readyz") in (200, 503)  # answered, turn or no turn
    await asyncio.sleep(0.2)
    assert served == ["/healthz", "/readyz"], "the login page waits for its turn"
    let_go.set()
    assert [await first, await second] == [200, 200]
    assert served == ["/healthz", "/readyz", "/accounts/login/"]
