"""A run whose own page went away while a page on another process watches it, through the
services' Redis channel layer: the lease keeps it going, and keeps its text flowing."""

import asyncio
import re

import pytest
from channels.db import database_sync_to_async
from channels_redis.core import RedisChannelLayer

from playground.chat.attach import ended_frames
from playground.chat.remote import RemoteWatch, shared_layer
from playground.transcripts.models import Transcript

from ..helpers import (
    FINAL,
    Page,
    appended,
    ended_transcript,
    eventually,
    session_cookie,
    spec_of,
)

pytestmark = [
    pytest.mark.services_only,  # a layer that processes share
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream"),
]


async def test_a_lease_keeps_a_run_whose_page_left_going_to_its_end(alice, run_registry, settings):
    settings.PLAYGROUND_ORPHAN_GRACE = 0  # its page leaving would stop it at once
    runner, elsewhere = Page(), Page()
    key = await database_sync_to_async(session_cookie)(alice)
    spec = await spec_of(model="simulator/chat?bench=1&tps=50&tokens=100")
    session = run_registry.start(spec, user=alice, session_key=key, watcher=runner)
    ended = lambda: ended_frames(alice, session.id)  # noqa: E731
    watch = RemoteWatch(session.id, shared_layer(), elsewhere.send_html, ended)
    await eventually(session._watched_elsewhere, within=10)  # its first lease has come
    run_registry.detach(session.id, runner)
    await asyncio.wait_for(watch.task, 15)

    row = await ended_transcript()
    assert (row.status, row.end_reason) == (Transcript.Status.COMPLETED, "")
    assert FINAL.search(elsewhere.frames[-1])[1] == "completed"
    drawn = max(i for i, frame in enumerate(elsewhere.frames) if 'id="choices"' in frame)
    shown = "".join(appended(frame) for frame in elsewhere.frames[drawn:])
    assert re.findall(r" (\d+)@", shown) == [str(n) for n in range(100)], "every token once"


def test_a_quiet_channel_is_no_failure_of_the_layer():
    """A receive with nothing to read ends its blocking pop (and tries again) before its
    socket times out: a watched batch may send nothing for a while (its cells running)."""
    layer = shared_layer()
    assert isinstance(layer, RedisChannelLayer)
    assert all(host["socket_timeout"] > layer.brpop_timeout for host in layer.hosts)
