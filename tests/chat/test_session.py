"""A run ends exactly once, whatever ends it: the transcript is finalised once, the process
slot comes back, and no task of the run is left behind."""

import asyncio
import time

import pytest
from channels.db import database_sync_to_async

from playground.chat import session as session_module
from playground.transcripts.models import Transcript

from ..helpers import (
    Page,
    Socket,
    ended_transcript,
    form_data,
    record_of,
    session_cookie,
    spec_of,
    wait_until,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream"),
]
STOPPED = Transcript.Status.STOPPED


@pytest.fixture
def finishes(monkeypatch):
    """Every call of transcript_finish, as (status, end reason)."""
    calls = []
    real = session_module.transcript_finish

    def spy(*, transcript, outcome):
        calls.append((outcome.status, outcome.end_reason))
        return real(transcript=transcript, outcome=outcome)

    monkeypatch.setattr(session_module, "transcript_finish", spy)
    return calls


async def ended_once(registry, finishes, expected: tuple[str, str]) -> None:
    async with asyncio.timeout(10):
        await asyncio.gather(*(session.task for session in registry.sessions.values()))
    assert finishes == [expected]
    assert registry.active == 0
    left = [t for t in asyncio.all_tasks() if t.get_name().startswith("run ") and not t.done()]
    assert left == []


async def connected(user) -> Socket:
    socket = Socket(user)
    assert (await socket.connect())[0]
    return socket


async def test_a_finished_run(alice, run_registry, finishes):
    socket = await connected(alice)
    assert await socket.run(form_data(max_tokens=5)) == "completed"
    await ended_once(run_registry, finishes, ("completed", ""))
    await socket.close()


async def test_an_upstream_error(alice, run_registry, finishes):
    socket = await connected(alice)
    assert await socket.run(form_data(model="simulator/chat?error=500")) == "error"
    await ended_once(run_registry, finishes, ("error", ""))
    await socket.close()


async def test_stop_mid_stream(alice, run_registry, finishes):
    socket = await connected(alice)
    await socket.send(form_data(model="simulator/chat?tps=10&tokens=500"))
    await socket.until(r'beforeend:#c0-text-\d+">')
    await socket.send({"action": "stop"})
    await socket.until(r'class="status stopped"')
    await ended_once(run_registry, finishes, (STOPPED, "user"))
    await socket.close()


def requests_since(simulator, moment: float) -> list:
    return [record for record in simulator.requests if record.started >= moment]


async def test_stop_before_the_first_byte(alice, run_registry, finishes, simulator):
    before = time.monotonic()
    socket = await connected(alice)
    await socket.send(form_data(model="simulator/chat?first_token_delay=5"))
    await asyncio.to_thread(wait_until, lambda: requests_since(simulator, before))
    await socket.send({"action": "stop"})
    await socket.until(r'class="status stopped"')
    await ended_once(run_registry, finishes, (STOPPED, "user"))
    await socket.close()
    (record,) = requests_since(simulator, before)
    await asyncio.to_thread(wait_until, lambda: record.outcome != "running")
    assert (record.outcome, record.tokens_sent) == ("client_closed", 0)


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        ("detach", (STOPPED, "no_watcher")),  # the socket closed before the task began
        ("stop", (STOPPED, "user")),  # Stop pressed before the task began
    ],
)
async def test_an_ending_before_the_task_takes_its_first_step(
    alice, run_registry, finishes, simulator, end, expected, settings
):
    settings.PLAYGROUND_ORPHAN_GRACE = 0
    before = time.monotonic()
    page = Page()
    session_key = await database_sync_to_async(session_cookie)(alice)
    session = run_registry.start(await spec_of(), user=alice, session_key=session_key, watcher=page)
    if end == "detach":
        run_registry.detach(session.id, page)
    else:
        run_registry.stop(session.id)
    await ended_once(run_registry, finishes, expected)
    transcript = await ended_transcript()
    assert (transcript.status, transcript.end_reason) == expected
    assert requests_since(simulator, before) == [], "nothing was sent upstream"


@pytest.mark.parametrize(("grace", "ends_within"), [(0, (0, 1)), (1, (1, 5))])
async def test_a_socket_closed_mid_stream_stops_its_run_after_the_orphan_grace(
    alice, run_registry, finishes, simulator, settings, grace, ends_within
):
    settings.PLAYGROUND_ORPHAN_GRACE = grace
    socket = await connected(alice)
    await socket.send(form_data(model="simulator/chat?tps=20&tokens=500"))
    await socket.until(r'beforeend:#c0-text-\d+">')
    # Taken before the close: the grace starts when the consumer hears of it, which may be a
    # moment before close() returns to the test.
    closed = asyncio.get_running_loop().time()
    await socket.close()
    if grace:
        await asyncio.sleep(grace / 2)
        assert run_registry.active == 1, "still running within the grace"
    await ended_once(run_registry, finishes, (STOPPED, "no_watcher"))
    took = asyncio.get_running_loop().time() - closed
    assert ends_within[0] <= took < ends_within[1]
    transcript = await ended_transcript()
    assert transcript.choices[0]["content"].startswith("**Simulated")
    record = record_of(simulator, transcript.response_id)
    await asyncio.to_thread(wait_until, lambda: record.outcome != "running")
    assert record.outcome == "client_closed"


async def test_the_total_deadline_ends_a_stream_of_keep_alives(
    alice, run_registry, finishes, simulator, upstream_config
):
    upstream_config(total_timeout=1.0, read_timeout=0.3)
    socket = await connected(alice)
    status = await socket.run(form_data(model="simulator/chat?keepalive_only=1"), within=10)
    await ended_once(run_registry, finishes, ("error", ""))
    await socket.close()
    assert status == "error"
    assert "The response took longer than 1 s in all." in "".join(socket.frames)
    transcript = await ended_transcript()
    assert transcript.error["kind"] == "timeout"
    record = record_of(simulator, transcript.response_id)
    await asyncio.to_thread(wait_until, lambda: record.outcome != "running")
    assert record.outcome == "client_closed"
