"""Runs through the socket: checkpoints while streaming, and many runs at once."""

import asyncio
import math
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async

from playground.transcripts.models import Transcript
from playground.transcripts.services import transcripts_mark_interrupted

from ..helpers import Socket, client_for, ended_transcript, eventually, form_data

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry"),
]


@database_sync_to_async
def running_row() -> Transcript:
    return Transcript.objects.get(status=Transcript.Status.RUNNING)


async def test_a_live_run_checkpoints_its_text_and_is_never_marked_interrupted(alice, settings):
    settings.PLAYGROUND_CHECKPOINT_SECONDS = 0.1
    settings.PLAYGROUND_ORPHAN_GRACE = 0
    socket = Socket(alice)
    await socket.connect()
    await socket.send(form_data(model="simulator/chat?tps=20&tokens=400"))
    await socket.until(r'beforeend:#c0-text-\d+">')

    async def checkpointed() -> Transcript | None:
        row = await running_row()
        return row if row.choices and row.choices[0]["content"] else None

    row = await eventually(checkpointed)
    assert row.choices[0]["content"].startswith("**Simulated")
    assert row.received_tokens > 0
    checkpointed_tokens = row.received_tokens
    marked = await database_sync_to_async(transcripts_mark_interrupted)(
        stale_after=timedelta(seconds=2)
    )
    assert marked == 0
    await socket.close()
    row = await ended_transcript(row.pk)
    assert row.status == Transcript.Status.STOPPED
    # Stopped before its usage came: the list still says how much arrived.
    assert row.total_tokens is None
    assert row.received_tokens >= checkpointed_tokens


async def test_many_runs_at_once_each_keep_their_complete_text(alice, settings):
    settings.PLAYGROUND_MAX_CONCURRENT_RUNS = 100
    sockets = [Socket(alice) for _ in range(20)]
    for socket in sockets:
        await socket.connect()
    statuses = await asyncio.gather(
        *(
            socket.run(form_data(model="simulator/chat?tps=100&tokens=60", seed=n))
            for n, socket in enumerate(sockets)
        )
    )
    for socket in sockets:
        await socket.close()
    assert statuses == ["completed"] * 20
    rows = await database_sync_to_async(list)(Transcript.objects.order_by("pk"))
    assert len(rows) == 20
    streamed = sorted(socket.streamed() for socket in sockets)
    assert sorted(row.choices[0]["content"] for row in rows) == streamed
    assert all(len(text.split()) >= 55 for text in streamed)


async def test_logprobs_are_kept_apart_from_the_choices_and_shown_on_the_transcript(
    alice, settings
):
    settings.PLAYGROUND_ORPHAN_GRACE = 0
    socket = Socket(alice)
    await socket.connect()
    fields = {"logprobs": "true", "top_logprobs": "2", "n": "2", "max_tokens": "12", "seed": "5"}
    assert await socket.run(form_data(**fields)) == "completed"
    await socket.close()
    row = await ended_transcript()

    assert [entry["index"] for entry in row.logprobs] == [0, 1]
    for choice, entry in zip(row.choices, row.logprobs, strict=True):
        assert "logprobs" not in choice
        assert "".join(token["token"] for token in entry["content"]) == choice["content"]
        assert all(len(token["top_logprobs"]) == 2 for token in entry["content"])
    url = row.get_absolute_url()
    page = await database_sync_to_async(lambda: client_for(alice).get(url))()
    html = page.content.decode()
    assert html.count('<details class="logprobs">') == 2
    first = row.logprobs[0]["content"][0]
    assert f'tabindex="0" data-top="{math.exp(first["logprob"]) * 100:.1f}% — ' in html
