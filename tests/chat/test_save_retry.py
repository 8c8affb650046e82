"""A run whose final write fails is not "saved" until it is: the page says so, the output is
kept and the write retried, and the page says how it ended (PostgreSQL behind a proxy of the
test's that refuses connections; SQLite with the write lock held by another connection)."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from playground.transcripts.models import Transcript

from ..helpers import FINAL, Socket, ended_transcript, form_data
from ..outages import database_outage

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry"),
]
RETRYING = "not saved yet, retrying"


@pytest.fixture
def outage(settings):
    settings.PLAYGROUND_DB_WRITE_TIMEOUT = 0.2
    settings.PLAYGROUND_CHECKPOINT_SECONDS = 60  # no checkpoint in these short runs
    with database_outage() as outage:
        yield outage


async def streaming(user) -> Socket:
    socket = Socket(user)
    assert (await socket.connect())[0]
    await socket.send(form_data(model="simulator/chat?tps=50&tokens=25"))
    await socket.until(r'beforeend:#c0-text-\d+">')
    return socket


async def test_a_finish_the_database_refused_is_saved_once_it_is_back(alice, outage, settings):
    settings.PLAYGROUND_ORPHAN_GRACE = 0
    socket = await streaming(alice)
    await asyncio.to_thread(outage.begin)
    final = await socket.until(FINAL.pattern)
    assert 'class="status completed"' in final
    assert RETRYING in final
    assert ">saved<" not in final

    await asyncio.to_thread(outage.end)
    saved = await socket.until(r">saved<")
    assert RETRYING not in saved
    row = await ended_transcript()
    assert row.status == Transcript.Status.COMPLETED
    assert row.choices[0]["content"] == socket.streamed()
    assert len(socket.streamed().split()) >= 20
    await socket.close()


async def test_a_finish_never_saved_says_so_and_leaves_the_text(alice, outage, settings):
    settings.PLAYGROUND_ORPHAN_GRACE = 0
    settings.PLAYGROUND_FINISH_RETRY_SECONDS = 0.5
    socket = await streaming(alice)
    await asyncio.to_thread(outage.begin)
    assert RETRYING in await socket.until(FINAL.pattern)
    lost = await socket.until("not saved: copy the text")
    assert "hx-swap-oob" in lost, "only the saved state is replaced: the text stays on the page"
    assert "c0-text" not in lost
    await socket.close()
    await asyncio.to_thread(outage.end)
    row = await database_sync_to_async(Transcript.objects.get)()
    assert row.status == Transcript.Status.RUNNING, "left for mark_interrupted, as before"
