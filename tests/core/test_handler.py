"""The ASGI handler's kept threads: a request's sync code runs on a thread a finished request
gave back, with that thread's database connection; requests at once never share one; pages
take turns, async views take none; a request cancelled mid-view keeps its thread and its turn
until its code returns."""

import asyncio
import threading

import pytest
from asgiref.sync import SyncToAsync
from asgiref.testing import ApplicationCommunicator
from django.core.signals import request_finished, request_started
from django.db import connection, connections

from playground.core.handler import KeptThreadsASGIHandler

pytestmark = pytest.mark.django_db(transaction=True)
PAGE = "/accounts/login/"  # a sync view that needs no sign-in


async def send(handler: KeptThreadsASGIHandler, path: str = PAGE) -> ApplicationCommunicator:
    target, _, query = path.partition("?")
    scope = {
        "type": "http",
        "method": "GET",
        "path": target,
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver")],
    }
    app = ApplicationCommunicator(handler, scope)
    await app.send_input({"type": "http.request", "body": b""})
    return app


async def answer(app: ApplicationCommunicator) -> int:
    start = await app.receive_output(timeout=10)
    while (await app.receive_output(timeout=10)).get("more_body"):
        pass
    await app.wait(timeout=10)
    return start["status"]


async def get(handler: KeptThreadsASGIHandler, path: str = PAGE) -> int:
    return await answer(await send(handler, path))


async def idle(handler: KeptThreadsASGIHandler, count: int) -> None:
    """Until `count` threads are back: one is given back once it has run a no-op."""
    async with asyncio.timeout(5):
        while len(handler._idle) < count:  # noqa: ASYNC110 (a list, not an event, to watch)
            await asyncio.sleep(0.01)


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
    statuses = []
    for _ in range(3):
        statuses.append(await get(handler))
        await idle(handler, 1)  # a client's next request comes a round trip later
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
    await idle(handler, 2)  # both threads kept for what comes next


async def test_a_page_goes_to_its_thread_in_a_few_hops_not_one_per_middleware(monkeypatch):
    """The middleware chain runs sync, in one hop; the others are the request's signals and
    the response's close. Served async, each middleware's hooks were a hop of their own."""
    hops = []
    original = SyncToAsync.__call__

    async def counted(self, *args, **kwargs):
        hops.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counted)
    assert await get(KeptThreadsASGIHandler()) == 200
    assert len(hops) <= 4, hops


@pytest.fixture
def held(settings, monkeypatch):
    """A handler with one turn whose first page holds its thread until let go; the paths its
    views were entered for, in order."""
    settings.REQUEST_THREADS = 1
    handler = KeptThreadsASGIHandler()
    handler.first_in, handler.let_go = threading.Event(), threading.Event()
    handler.served = []
    respond = handler.get_response

    def holding(request):
        handler.served.append(request.get_full_path())
        if not handler.first_in.is_set():
            handler.first_in.set()
            assert handler.let_go.wait(10)
        return respond(request)

    monkeypatch.setattr(handler, "get_response", holding)
    yield handler
    handler.let_go.set()


async def test_pages_take_turns_and_an_async_view_takes_none(held):
    """With one turn, a page waits for the page before it to end; the liveness check (an
    async view, whose thread only waits on the loop) answers meanwhile."""
    first = asyncio.create_task(get(held, f"{PAGE}?first"))
    await asyncio.to_thread(held.first_in.wait, 10)
    second = asyncio.create_task(get(held, f"{PAGE}?second"))
    assert await get(held, "/healthz") == 200
    await asyncio.sleep(0.2)
    assert held.served == [f"{PAGE}?first", "/healthz"], "the second page waits for its turn"
    held.let_go.set()
    assert [await first, await second] == [200, 200]
    assert held.served[-1] == f"{PAGE}?second"


async def test_a_page_cancelled_mid_view_keeps_its_thread_and_turn_until_its_code_returns(held):
    """Daphne cancels a request whose client left; its view goes on running on its thread.
    That thread is not lent to the next request, and its turn is not free, until it returns."""
    app = await send(held, f"{PAGE}?left")
    await asyncio.to_thread(held.first_in.wait, 10)
    app.future.cancel()
    with pytest.raises(asyncio.CancelledError):
        await app.future
    waiting = asyncio.create_task(get(held, f"{PAGE}?next"))
    assert await get(held, "/healthz") == 200  # on a thread of its own: the other is busy
    await asyncio.sleep(0.2)
    assert not waiting.done(), "its turn is still the cancelled page's"
    held.let_go.set()
    assert await waiting == 200
    assert held.served == [f"{PAGE}?left", "/healthz", f"{PAGE}?next"]
