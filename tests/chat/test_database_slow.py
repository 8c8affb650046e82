"""A slow or unreachable database delays runs, never the process: a run's writes wait on
threads of their own, each bounded in time, and the user is told what happened rather than
shown a 500."""

import asyncio
import functools
import time

import pytest
from channels.db import database_sync_to_async
from django.db import OperationalError, connections

from ..helpers import Socket, client_for, form_data, session_cookie
from ..outages import database_unreachable, off_the_loop, transcripts_locked

pytestmark = pytest.mark.django_db(transaction=True)
DATABASE_DOWN = "The database is not answering, so the run did not start"


@pytest.fixture
def database_gone(refused_port):
    return functools.partial(database_unreachable, refused_port)


@pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry")
async def test_a_new_socket_is_served_at_once_while_a_run_waits_on_a_locked_table(
    alice, bob, settings
):
    settings.PLAYGROUND_DB_WRITE_TIMEOUT = 0.5
    settings.PLAYGROUND_ORPHAN_GRACE = 0
    first = Socket(alice)
    assert (await first.connect())[0]
    newcomer = Socket(bob, cookie=await database_sync_to_async(session_cookie)(bob))
    with transcripts_locked() as lock:
        await asyncio.to_thread(lock.hold)
        # The first run's row waits on the lock from now on (its task runs before any step
        # of the newcomer's handshake).
        await first.send(form_data(max_tokens=3))
        await first.receive()

        began = time.monotonic()
        assert (await newcomer.connect())[0]
        await newcomer.send(form_data(max_tokens=3))
        await newcomer.receive(within=5)
        assert time.monotonic() - began < 1.0
        # Neither run's row can be written while the table is locked: each page is told so.
        for socket in (first, newcomer):
            await socket.until(DATABASE_DOWN, within=5)
    await first.close()
    await newcomer.close()


def test_a_page_during_a_database_outage_is_a_503_that_says_so(alice, database_gone):
    client = client_for(alice)
    client.raise_request_exception = False
    with database_gone():
        response = client.get("/")
    assert response.status_code == 503
    assert "The database is not answering" in response.content.decode()


@pytest.mark.usefixtures("fresh_upstream")
async def test_a_socket_opened_while_the_database_is_down_is_told_so(alice, database_gone):
    socket = Socket(alice, cookie=await database_sync_to_async(session_cookie)(alice))
    # A connection an earlier test left open on the ORM's thread would still answer.
    await database_sync_to_async(connections.close_all)()
    async with off_the_loop(database_gone()):
        assert (await socket.connect())[0]
        # Raised again, for the server to close the socket with 1011: the page reconnects.
        with pytest.raises(OperationalError):
            await socket.communicator.wait(timeout=5)
    told = socket.communicator.output_queue.get_nowait()
    assert "The database is not answering" in told["text"]
