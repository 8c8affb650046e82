"""Runs whose process died are marked interrupted while the servers run, not only at start-up.

A live run beats every PLAYGROUND_CHECKPOINT_SECONDS; a running row whose heartbeat is older
than PLAYGROUND_STALE_RUN_SECONDS lost its process (a running batch too: its session beats as
often). Every process sweeps every
PLAYGROUND_SWEEP_SECONDS with one conditional UPDATE: no lock is needed, since a second
sweeper finds nothing left to change. A swept run keeps its last checkpoint and stops counting
against its owner's limit on runs at once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from functools import partial

from django.conf import settings

from playground.cases.services import batches_mark_interrupted
from playground.transcripts.services import transcripts_mark_interrupted

from .rundb import OUTAGE, in_run_db

logger = logging.getLogger(__name__)

started: asyncio.Future[None] | None = None  # the process's sweep, once the launcher starts it


async def sweep_once(*, stale_after: float | None = None) -> int:
    """Mark the stale running rows interrupted; how many there were."""
    stale = settings.PLAYGROUND_STALE_RUN_SECONDS if stale_after is None else stale_after
    older = timedelta(seconds=stale)
    count = await in_run_db(partial(transcripts_mark_interrupted, stale_after=older))
    if count:
        logger.warning("Marked %d run(s) interrupted: their process stopped beating.", count)
    batches = await in_run_db(partial(batches_mark_interrupted, stale_after=older))
    if batches:
        logger.warning("Marked %d batch(es) interrupted: their process stopped beating.", batches)
    return count


async def sweep_forever() -> None:
    """At start, a process alone (no shared channel layer, so no other process can be running
    runs) marks every running row at once; then, every sweep interval, the stale ones."""
    alone = "InMemory" in settings.CHANNEL_LAYERS["default"]["BACKEND"]
    failing = False
    stale_after: float | None = 0.0 if alone else None
    while True:
        try:
            await sweep_once(stale_after=stale_after)
            failing = False
        except OUTAGE as exc:
            if not failing:  # once per outage, not every interval
                logger.warning("The sweep of stale runs cannot reach the database: %s", exc)
            failing = True
        stale_after = None
        await asyncio.sleep(settings.PLAYGROUND_SWEEP_SECONDS)
