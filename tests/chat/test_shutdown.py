"""A server that is told to stop (SIGTERM, on every deploy) takes no more runs, ends each run
with what arrived (interrupted: the server restarted), and closes every socket with 1012, which
the page reconnects after, all within PLAYGROUND_SHUTDOWN_GRACE."""

import asyncio
import json
import signal
import time

import pytest
from django.db import connection
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from playground.transcripts.models import Transcript

from ..helpers import (
    DaphneServer,
    Socket,
    appended,
    database_url,
    ended_transcript,
    endpoints_for_tests,
    form_data,
    session_cookie,
)

INTERRUPTED = Transcript.Status.INTERRUPTED
RESTART = Transcript.EndReason.SERVER_RESTART
SLOW = "simulator/chat?tps=20&tokens=1000"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream")
async def test_a_drain_takes_no_more_runs_and_ends_each_as_interrupted(
    alice, run_registry, settings
):
    settings.PLAYGROUND_ORPHAN_GRACE = 0
    socket = Socket(alice)
    assert (await socket.connect())[0]
    await socket.send(form_data(model=SLOW))
    await socket.until(r'beforeend:#c0-text-\d+">')

    await asyncio.wait_for(run_registry.drain(within=5), timeout=5)
    final = await socket.until(r'class="status interrupted"')
    assert "(the server restarted)" in final
    await socket.send(form_data(model=SLOW))
    await socket.until("The server is restarting: run again in a moment.")
    await socket.close()

    row = await ended_transcript()
    assert (row.status, row.end_reason) == (INTERRUPTED, RESTART)
    assert row.choices[0]["content"] == socket.streamed()
    assert row.status_text == "interrupted (the server restarted)"


def read_until_closed(page, frames: list[str], within: float) -> ConnectionClosed:
    """Every frame until the socket closes; returns how it closed."""
    try:
        while True:
            frames.append(page.recv(timeout=within))
    except ConnectionClosed as closed:
        return closed


@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
def test_sigterm_mid_run_saves_the_run_and_closes_the_page_with_1012(
    alice, simulator_server, scripted_server
):
    grace = 4
    env = {
        "DATABASE_URL": database_url(connection.settings_dict),
        "PLAYGROUND_ENDPOINTS": json.dumps(endpoints_for_tests(simulator_server, scripted_server)),
        "SIMULATOR_ENABLED": "false",
        "PLAYGROUND_SHUTDOWN_GRACE": str(grace),
        "PLAYGROUND_ORPHAN_GRACE": "0",
    }
    cookie = session_cookie(alice)
    with DaphneServer(**env) as server:
        url = server.url.replace("http", "ws", 1) + "/ws/run/"
        headers = {"Cookie": f"sessionid={cookie}"}
        frames = []
        with connect(url, origin=server.url, additional_headers=headers) as page:
            page.send(json.dumps(form_data(model=SLOW)))
            while not appended(frames[-1] if frames else ""):
                frames.append(page.recv(timeout=10))
            server.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            closed = read_until_closed(page, frames, within=grace)
        server.process.wait(timeout=grace + 5)
        took = time.monotonic() - signalled

    assert closed.rcvd is not None, "a close frame came, not a dropped connection"
    assert closed.rcvd.code == 1012
    assert took < grace
    assert 'class="status interrupted"' in frames[-1]
    row = Transcript.objects.get()
    assert (row.status, row.end_reason) == (INTERRUPTED, RESTART)
    streamed = "".join(appended(frame) for frame in frames)
    assert row.choices[0]["content"] == streamed
    assert len(streamed.split()) >= 1
