"""`attach`: a page that (re)connects asks how the run it was showing stands, and is told from
the transcript, as far as the one access rule lets it see."""

import asyncio
import html
import re
import uuid

import pytest
from channels.db import database_sync_to_async
from django.db import connections

from playground.transcripts.models import Transcript

from ..helpers import FINAL, Socket, ended_transcript, form_data
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


async def test_a_run_going_on_no_socket_of_this_process_is_said_to_be(alice):
    """Its process is another one (or gone, until the sweep says so)."""
    transcript = await Transcript.objects.acreate(
        user=alice, endpoint="simulator", model="m", request_body={}, form_state={}
    )

    page = "".join((await attach(alice, str(transcript.uuid))).frames)
    assert "still running on the server" in page
    assert f'id="current-run" value="{transcript.uuid}"' in page, "kept, to ask again"


async def watch(user, runner: Socket, after: str) -> tuple[Socket, Transcript]:
    """A second socket of `user` that attaches to the runner's run once the runner has seen
    `after`; both are read to the run's end (a page that reads nothing holds its run)."""
    await runner.until(after)
    transcript = await Transcript.objects.aget()
    watcher = Socket(user)
    assert (await watcher.connect())[0]
    await watcher.send({"action": "attach", "run": str(transcript.uuid)})
    await asyncio.gather(runner.until(FINAL.pattern), watcher.until(FINAL.pattern))
    await asyncio.gather(runner.close(), watcher.close())
    return watcher, transcript


def numbers(text: str) -> list[int]:
    return [int(number) for number in re.findall(r" (\d+)@", text)]


async def test_a_page_attaching_mid_stream_gets_every_token_once(alice):
    """The snapshot, then the frames sent after it: nothing missing, nothing twice."""
    runner = Socket(alice)
    assert (await runner.connect())[0]
    await runner.send(form_data(model="simulator/chat?bench=1&tps=60&tokens=150"))

    watcher, _ = await watch(alice, runner, r" 20@")
    assert numbers(watcher.streamed()) == list(range(150))
    assert numbers(runner.streamed()) == list(range(150))
    first_live = next(i for i, f in enumerate(watcher.frames) if "149@" in f)
    assert first_live > 1, "the end came live, after the snapshot"
    assert " 149@" not in watcher.frames[0]
    saved = await ended_transcript()
    assert numbers(saved.choices[0]["content"]) == list(range(150))


def shown_text(html_text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", html_text))).strip()


async def test_a_page_attaching_mid_answer_draws_it_as_the_runner_has_it(alice):
    """Blocks rendered so far, raw segments still open: the watcher's page ends like the
    runner's, its raw text once and its rendered text the same."""
    runner = Socket(alice)
    assert (await runner.connect())[0]
    await runner.send(form_data(model="simulator/chat?tps=150&tokens=300", seed=5))

    watcher, _ = await watch(alice, runner, r"beforeend:#c0-view")
    saved = await ended_transcript()
    assert watcher.streamed("c0-text") == saved.choices[0]["content"]
    assert re.search(r'beforeend:#c0-view">', watcher.frames[1]), "blocks in the snapshot"
    views = [shown_text(appended_html(s.frames, "c0-view")) for s in (runner, watcher)]
    assert views[0].startswith("Simulated reply")
    assert views[0] == views[1]


def appended_html(frames: list[str], target: str) -> str:
    """Everything appended into #target, or into an element cut inside it (its ids)."""
    swap = rf'<div hx-swap-oob="beforeend:#{target}">(.*?)</div>(?=<div hx-swap-oob|$)'
    return "".join(m for frame in frames for m in re.findall(swap, frame, re.S))


async def test_stop_from_a_watcher_follows_the_one_access_rule(alice, bob, staff):
    runner = Socket(alice)
    assert (await runner.connect())[0]
    await runner.send(form_data(model="simulator/chat?tps=20&tokens=400"))
    await runner.until(r"beforeend:#c0-text-\d+")
    transcript = await Transcript.objects.aget()
    await Transcript.objects.filter(pk=transcript.pk).aupdate(visibility="team")
    sockets = {}
    for user in (bob, staff):
        sockets[user] = Socket(user)
        assert (await sockets[user].connect())[0]
        await sockets[user].send({"action": "attach", "run": str(transcript.uuid)})
        await sockets[user].until(r"beforeend:#c0-text")

    await sockets[bob].send({"action": "stop"})
    await sockets[bob].until("You may watch this run, but not stop it")
    await sockets[staff].send({"action": "stop"})
    for socket in (runner, *sockets.values()):
        await socket.until(r'class="status stopped"')
        await socket.close()
    saved = await ended_transcript()
    assert (saved.status, saved.end_reason) == ("stopped", "user")


# The unknown uuid's id is fixed: parallel workers (pytest-xdist) must collect the same names.
@pytest.mark.parametrize(
    "run",
    [
        "alice's private run",
        pytest.param(str(uuid.uuid4()), id="an unknown uuid"),
        "not a uuid",
        7,
        None,
    ],
)
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
