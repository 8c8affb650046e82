"""One run, from the first byte sent upstream to the transcript's final write."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async

from playground.transcripts.models import Transcript
from playground.transcripts.services import transcript_finish
from playground.upstream import Endpoint, stream_chat

from . import fragments
from .relay import Relay
from .state import RunState

Send = Callable[[str], Awaitable[None]]


@dataclass
class Run:
    endpoint: Endpoint
    body: dict[str, Any]
    transcript: Transcript

    @property
    def n(self) -> int:
        return self.body.get("n") or 1


class ProcessRuns:
    """Counts the runs going in this process, so it can refuse one past its limit."""

    active = 0


async def execute(run: Run, send: Send, *, tick: float) -> RunState:
    """Stream the run to `send`; cancelling this task stops the upstream request at once."""
    state = RunState(run.n)
    relay = Relay(state, send, run.body, tick)
    flusher = asyncio.create_task(relay.run())
    status = Transcript.Status.ERROR
    ProcessRuns.active += 1
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
        ProcessRuns.active -= 1
        flusher.cancel()
        # Shielded: a stop or a closed tab must still leave a final transcript behind.
        await asyncio.shield(_finish(run, state, relay, status, send))
    return state


async def _finish(run: Run, state: RunState, relay: Relay, status, send: Send) -> None:
    state.finish()
    for choice in state.choices.values():
        # A stopped or failed choice still gets rendered, with what it received.
        if choice.finish_reason is None and (choice.content or choice.tool_calls):
            choice.finish_reason = status
            choice.finish_unsent = True
    await relay.flush()
    outcome = state.outcome(status)
    await database_sync_to_async(transcript_finish)(transcript=run.transcript, outcome=outcome)
    await send(fragments.finished(state, outcome, run.transcript))
