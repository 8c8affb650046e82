"""One run, from the first byte sent upstream to the transcript's final write."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async

from playground.transcripts.models import Transcript
from playground.transcripts.services import transcript_checkpoint, transcript_finish
from playground.upstream import Endpoint, stream_chat

from . import fragments
from .relay import Relay
from .state import RunState

logger = logging.getLogger(__name__)
Send = Callable[[str], Awaitable[None]]


@dataclass
class Run:
    endpoint: Endpoint
    body: dict[str, Any]
    transcript: Transcript
    finalised: bool = False

    @property
    def n(self) -> int:
        return self.body.get("n") or 1


class ProcessRuns:
    """The runs going in this process, so that it can refuse one past its limit.

    A slot is taken with no await between the check and the count, so that runs starting at
    once cannot all slip past the limit; the run's task gives it back when it ends.
    """

    active = 0

    @classmethod
    def reserve(cls, limit: int) -> bool:
        if cls.active >= limit:
            return False
        cls.active += 1
        return True

    @classmethod
    def release(cls, *_) -> None:
        cls.active -= 1


async def execute(run: Run, send: Send, *, tick: float, checkpoint_every: float) -> RunState:
    """Stream the run to `send`; cancelling this task stops the upstream request at once."""
    state = RunState(run.n)
    relay = Relay(state, send, run.body, tick)
    flusher = asyncio.create_task(relay.run())
    checkpoints = asyncio.create_task(_checkpoints(run, state, checkpoint_every))
    status = Transcript.Status.ERROR
    try:
        async with aclosing(stream_chat(run.endpoint, run.body)) as events:
            async for event in events:
                state.apply(event)
                relay.poke()
        status = Transcript.Status.ERROR if state.error else Transcript.Status.COMPLETED
    except asyncio.CancelledError:
        status = Transcript.Status.STOPPED
        raise
    finally:
        flusher.cancel()
        checkpoints.cancel()
        if flusher.done() and not flusher.cancelled() and flusher.exception():
            logger.error(
                "The relay of %s failed", run.transcript.uuid, exc_info=flusher.exception()
            )
        # Shielded, and awaited again if cancelled meanwhile: a Stop or a closed tab must
        # still leave a final transcript behind.
        finishing = asyncio.ensure_future(_finish(run, state, relay, status, send))
        try:
            await asyncio.shield(finishing)
        except asyncio.CancelledError:
            await finishing
            raise
    return state


async def _checkpoints(run: Run, state: RunState, every: float) -> None:
    """The text so far and a heartbeat, every few seconds: never a write per token."""
    while True:
        await asyncio.sleep(every)
        choices = state.outcome(Transcript.Status.RUNNING).choices
        try:
            await database_sync_to_async(transcript_checkpoint)(
                transcript=run.transcript, choices=choices
            )
        except Exception:
            logger.exception("Could not checkpoint transcript %s", run.transcript.uuid)


async def finish_unstarted(run: Run, send: Send) -> None:
    """A run whose task was cancelled before its first step: it still gets its ending."""
    if not run.finalised:
        state = RunState(run.n)
        await _finish(run, state, Relay(state, send, run.body, 0), Transcript.Status.STOPPED, send)


async def _finish(run: Run, state: RunState, relay: Relay, status, send: Send) -> None:
    run.finalised = True
    state.finish()
    for choice in state.choices.values():
        # A stopped or failed choice still gets rendered, with what it received.
        if choice.finish_reason is None and (choice.content or choice.tool_calls):
            choice.finish_reason = status
            choice.finish_unsent = True
    outcome = state.outcome(status)
    try:
        await database_sync_to_async(transcript_finish)(transcript=run.transcript, outcome=outcome)
    except Exception:
        logger.exception("Could not finalise transcript %s", run.transcript.uuid)
    try:
        await relay.flush()
        await send(fragments.finished(state, outcome, run.transcript))
    except Exception:
        logger.exception("Could not send the end of run %s to the page", run.transcript.uuid)
