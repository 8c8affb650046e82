"""Runs whose process died are marked interrupted while the servers run: swept by every live
process on an interval, and all at once by a process that starts alone."""

import json
import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.utils import timezone

from playground.chat.sweep import sweep_once
from playground.transcripts.models import Transcript

from ..factories import make_transcript
from ..helpers import DaphneServer, database_url, endpoints_for_tests, wait_until

RUNNING, INTERRUPTED = Transcript.Status.RUNNING, Transcript.Status.INTERRUPTED
pytestmark = pytest.mark.django_db(transaction=True)


def running(user, *, beat_ago: float, text: str = "so far") -> Transcript:
    return make_transcript(
        user,
        status=RUNNING,
        content=text,
        heartbeat_at=timezone.now() - timedelta(seconds=beat_ago),
        total_tokens=None,
    )


def status_of(row: Transcript) -> str:
    return Transcript.objects.get(pk=row.pk).status


async def test_a_sweep_marks_only_the_runs_that_stopped_beating(alice):
    dead = await sync_to_async(running)(alice, beat_ago=120, text="kept")
    alive = await sync_to_async(running)(alice, beat_ago=1)
    assert await sweep_once(stale_after=40) == 1
    assert await sync_to_async(status_of)(dead) == INTERRUPTED
    assert await sync_to_async(status_of)(alive) == RUNNING
    kept = await sync_to_async(Transcript.objects.get)(pk=dead.pk)
    assert kept.choices[0]["content"] == "kept"
    assert await sweep_once(stale_after=40) == 0  # a second sweeper changes nothing


@pytest.mark.multiprocess
def test_a_served_process_sweeps_at_start_and_then_every_interval(
    alice, simulator_server, scripted_server, settings
):
    left_behind = running(alice, beat_ago=0)  # fresh, but no process runs it any more
    env = {
        "DATABASE_URL": database_url(connection.settings_dict),
        "PLAYGROUND_ENDPOINTS": json.dumps(endpoints_for_tests(simulator_server, scripted_server)),
        "SIMULATOR_ENABLED": "false",
        "PLAYGROUND_CHECKPOINT_SECONDS": "0.5",
        "PLAYGROUND_STALE_RUN_SECONDS": "2",
        "PLAYGROUND_SWEEP_SECONDS": "0.5",
    }
    alone = not settings.REDIS_URL  # the server inherits REDIS_URL on the services pass
    with DaphneServer(**env):
        if alone:
            # Alone (no shared channel layer), the process marks every running row at once.
            wait_until(lambda: status_of(left_behind) == INTERRUPTED, timeout=10)
        crashed = running(alice, beat_ago=0)
        started = time.monotonic()
        wait_until(lambda: status_of(crashed) == INTERRUPTED, timeout=15)
        assert time.monotonic() - started >= 1, "a run that still beat was not swept early"
        wait_until(lambda: status_of(left_behind) == INTERRUPTED, timeout=10)
