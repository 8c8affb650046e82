"""`attach`: a page that (re)connects asks how the run it was showing stands, and is told from
the transcript, as far as the one access rule lets it see."""

import re
import uuid

import pytest
from channels.db import database_sync_to_async
from django.db import connections

from playground.transcripts.models import Transcript

from ..helpers import Socket, ended_transcript, form_data
from ..outages import database_unreachable, off_the_loop

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry"),
]
UNKNOWN = "The run this tab was showing cannot be found"


async def attach(user, run) -> Socket:
    """A new socket of `user` that asks for `run`, with every frame of the answer read."""
    socket = Socket(user)
    assert (await socket.connect())[0]
    await socket.send({"action": "attach", "run": run})
    await socket.until(f'class="status (?!running)|{UNKNOWN}|still running on the server')
    await socket.close()
    return socket


async def test_a_run_that_ended_is_shown_as_it_ended(alice, settings):
    settings.PLAYGROUND_ORPHAN_GRACE = 0
    runner = Socket(alice)
    assert (await runner.connect())[0]
    assert await runner.run(form_data(max_tokens=12, n=2, seed=3)) == "completed"
    await runner.close()
    transcript = await ended_transcript()

    socket = await attach(alice, str(transcript.uuid))
    page = "".join(socket.frames)
    assert f'id="current-run" value="{transcript.uuid}"' in page
    assert '<span class="status completed" id="run-status">completed</span>' in page
    for choice in transcript.choices:
        index = choice["index"]
        assert f'<span id="c{index}-finish" class="finish finish-length"' in page
        assert re.search(rf'beforeend:#c{index}-view">\s*<p><strong>Simulated reply</strong>', page)
        assert socket.streamed(f"c{index}-text") == choice["content"], "its text, once"
    assert "tokens 5 / 24 / 29" in page
    run_button = page[page.rindex('id="run-button"') :].split(">")[0]
    assert "disabled" not in run_button, "the page may run again"


async def test_a_run_whose_server_went_away_shows_its_last_checkpoint(alice):
    """Marked interrupted by the sweep: no finish reason, no timings, the text checkpointed."""
    checkpoint = {"index": 0, "content": "Half an ans", "reasoning": "", "tool_calls": []}
    transcript = await Transcript.objects.acreate(
        user=alice,
        endpoint="simulator",
        model="m",
        request_body={"n": 2},
        form_state={},
        status=Transcript.Status.INTERRUPTED,
        choices=[{**checkpoint, "finish_reason": None}],
    )

    page = "".join((await attach(alice, str(transcript.uuid))).frames)
    assert 'id="run-status">interrupted</span>' in page
    assert 'id="c0-finish" class="finish finish-interrupted"' in page
    assert "<p>Half an ans</p>" in page
    assert "None" not in page
    assert '<article id="c1" hx-swap-oob="delete">' in page, "nor a box for one that never came"


async def test_a_run_still_going_is_said_to_be(alice, settings):
    settings.PLAYGROUND_ORPHAN_GRACE = 0
    runner = Socket(alice)
    assert (await runner.connect())[0]
    await runner.send(form_data(model="simulator/chat?tps=10&tokens=400"))
    await runner.until(r'beforeend:#c0-text-\d+">')
    transcript = await Transcript.objects.aget()

    page = "".join((await attach(alice, str(transcript.uuid))).frames)
    await runner.close()
    assert "still running on the server" in page
    assert f'id="current-run" value="{transcript.uuid}"' in page, "kept, to ask again"


@pytest.mark.parametrize("run", ["alice's private run", str(uuid.uuid4()), "not a uuid", 7, None])
async def test_a_run_the_user_may_not_see_is_not_told_apart_from_none(alice, bob, run):
    private = await Transcript.objects.acreate(
        user=alice, endpoint="simulator", model="m", request_body={}, form_state={}
    )
    asked = str(private.uuid) if run == "alice's private run" else run
    page = "".join((await attach(bob, asked)).frames)
    assert UNKNOWN in page
    assert '<input type="hidden" id="current-run" value="" hx-swap-oob="true">' in page
    assert "still running" not in page


async def test_a_database_that_does_not_answer_is_said_and_the_page_may_run(alice, refused_port):
    socket = Socket(alice)
    assert (await socket.connect())[0]
    await database_sync_to_async(connections.close_all)()
    async with off_the_loop(database_unreachable(refused_port)):
        await socket.send({"action": "attach", "run": str(uuid.uuid4())})
        frame = await socket.until("database is not answering")
    await socket.close()
    run_button = frame[frame.index('id="run-button"') :].split(">")[0]
    assert "disabled" not in run_button
    assert 'id="current-run"' not in frame, "the id is kept, to ask again"
