"""One run's whole life, owned by one object: its task, its process slot, its transcript's
ending. Whatever ends a run (it finishes, fails, is stopped, loses its last watcher, or is
stopped before it began), the ending happens here, exactly once.

A session is reached only through the process's registry (`registry.py`); sockets are its
watchers and hold nothing but its id.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import uuid
from contextlib import aclosing
from functools import partial
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser

from playground.transcripts.models import Transcript
from playground.transcripts.services import (
    RunOutcome,
    transcript_checkpoint,
    transcript_finish,
)
from playground.upstream import stream_chat

from . import fragments, observe, remote, snapshot
from .relay import Relay
from .rundb import OUTAGE, in_run_db
from .services import RunRefused, RunSpec, run_open
from .state import RunState

if TYPE_CHECKING:
    from .group import RunGroup

logger = logging.getLogger(__name__)
EndReason = Transcript.EndReason
# A final write the database refused is tried again after this, doubling up to the longest.
FIRST_RETRY, LONGEST_RETRY = 0.2, 5.0


class Watcher(Protocol):
    """A socket that shows the run: the session sends it HTML frames, which it numbers, and
    the page acknowledges them (`unacked` is how many it has not yet)."""

    @property
    def unacked(self) -> int: ...

    async def send_html(self, html: str) -> None: ...

    async def stalled(self) -> None:
        """It acknowledged nothing for too long: it is closed, and the run lets it go."""


class Unwatched:
    """The watcher of a run no page need see (a batch's cell): it holds the run, which is
    then never stopped for having no watcher, and takes no frames, so none is made for it
    (the relay makes frames only while a page watches: `_room`)."""

    unacked = 0

    async def send_html(self, html: str) -> None:
        return None

    async def stalled(self) -> None:
        return None


UNWATCHED = Unwatched()


class Phase(enum.Enum):
    NEW = "new"  # the task has not taken its first step
    OPENING = "opening"  # writing the transcript row: not cancelled, the row must exist
    STREAMING = "streaming"  # reading the upstream: a stop cancels the read at once
    ENDING = "ending"  # finalising: never cancelled
    SAVING = "saving"  # over for the page: its last frames go out, a refused write is retried
    DONE = "done"


class Saving(enum.StrEnum):
    """Whether the run's transcript holds its ending, as the page is told."""

    SAVED = "saved"
    RETRYING = "retrying"  # the database refused it: tried again, the output kept meanwhile
    LOST = "lost"  # never saved: the page keeps the text for the user to copy


class RunSession:
    def __init__(
        self,
        *,
        spec: RunSpec,
        user: AbstractBaseUser,
        session_key: str,
        watcher: Watcher,
        group: RunGroup | None = None,
    ):
        self.id = uuid.uuid4()
        self.group = group  # the compare it is a column of, if any
        self.spec = spec
        self.user = user
        self.session_key = session_key  # checked again when the run's row is written
        self.watchers: list[Watcher] = [watcher]
        self.phase = Phase.NEW
        self.stop_reason: str | None = None
        self.refused: RunRefused | None = None  # why it never started, if it did not
        self.state = RunState(spec.n)
        self._acked = asyncio.Event()  # set by every acknowledgement
        # Held while frames go out: a page joins the watchers only between two sends, so
        # that its snapshot holds every frame sent before it and none sent after.
        self._sending = asyncio.Lock()
        self._shown: Transcript | None = None  # the run's boxes were sent: its transcript
        self._relay: Relay | None = None
        self.outgoing = remote.Outgoing(self)  # for pages on other processes
        self._orphan_timer: asyncio.TimerHandle | None = None
        self.task = asyncio.create_task(self._life(), name=f"run {self.id}")

    @property
    def running(self) -> bool:
        """Still going for the page: a run whose final write is being retried is over."""
        return self.phase not in (Phase.SAVING, Phase.DONE)

    def stop(self, reason: str = EndReason.USER) -> None:
        """End the run with what has arrived. Only the upstream read is ever cancelled; a stop
        before it (or while the row is written) is seen by the task when it gets there."""
        if self.stop_reason is not None or not self.running:
            return
        self.stop_reason = reason
        self._acked.set()  # a relay waiting on acknowledgements looks again (see _room)
        if self.phase is Phase.STREAMING:
            self.task.cancel()

    def detach(self, watcher: Watcher) -> None:
        """A socket went away. The run outlives its last watcher by the orphan grace, or for
        as long as pages on other processes lease its frames."""
        if watcher in self.watchers:
            self.watchers.remove(watcher)
            self._acked.set()  # a relay waiting for this watcher's acknowledgements need not
        if self.watchers or not self.running:
            return
        grace = settings.PLAYGROUND_ORPHAN_GRACE
        if grace <= 0 and not self._watched_elsewhere():
            self.stop(EndReason.NO_WATCHER)
        elif self._orphan_timer is None:
            self._orphan_timer = asyncio.get_running_loop().call_later(grace, self._orphaned)

    async def watch(self, watcher: Watcher) -> snapshot.Snapshot | None:
        """Take `watcher` among the watchers, and what it must be shown first to catch up
        (its frames from now on must wait until it has been: see the consumer's `attach`);
        None, and no watcher taken, when the run is over for the page."""
        async with self._sending:
            if not self.running:
                return None
            taken = self._snapshot()
            if watcher not in self.watchers:
                self.watchers.append(watcher)
            if self._orphan_timer is not None:
                self._orphan_timer.cancel()
                self._orphan_timer = None
            return taken

    async def snapshot_frames(self) -> tuple[int, list[str]] | None:
        """For a page on another process (`remote.py`): what the page was sent so far, drawn
        in the run's place, with the number of the last frame it covers; None when the run is
        over for the page."""
        async with self._sending:
            if not self.running:
                return None
            seq, taken = self.outgoing.seq, self._snapshot()
        return seq, await snapshot.draw(taken, self.spec.place)

    def _snapshot(self) -> snapshot.Snapshot:
        return snapshot.take(self._shown, self.state, self._relay, self.spec.schema)

    def acknowledged(self) -> None:
        """A watcher acknowledged frames: a relay holding text back may go on."""
        self._acked.set()

    async def _room(self) -> bool:
        """Wait until no watcher has more than PLAYGROUND_ACK_WINDOW frames unacknowledged;
        False when no page watches (none is left, or the run is a batch's cell alone). A
        watcher that acknowledges nothing for PLAYGROUND_ACK_TIMEOUT is let go (its socket
        closed): a client that stops reading must not hold the run, or grow the server."""
        window = settings.PLAYGROUND_ACK_WINDOW
        while behind := [w for w in self.watchers if w.unacked > window]:
            self._acked.clear()
            # A server shutting down has no time to wait: it closes every socket anyway.
            restarting = self.stop_reason == EndReason.SERVER_RESTART
            try:
                async with asyncio.timeout(0 if restarting else settings.PLAYGROUND_ACK_TIMEOUT):
                    await self._acked.wait()
            except TimeoutError:
                for watcher in behind:
                    if watcher in self.watchers and watcher.unacked > window:
                        logger.info("Run %s lets go of a socket that stopped reading", self.id)
                        self.detach(watcher)
                        await watcher.stalled()
        shown = any(watcher is not UNWATCHED for watcher in self.watchers)
        return shown or self._watched_elsewhere()

    def _watched_elsewhere(self) -> bool:
        """Whether pages on other processes lease its frames (`remote.py`)."""
        return self.outgoing.leased()

    def _orphaned(self) -> None:
        """The grace is over: a run that pages on other processes still watch is looked at
        again one grace later (a lease not renewed lapses), one that nobody watches stops."""
        self._orphan_timer = None
        if self.watchers:
            return
        if self._watched_elsewhere():
            again = max(settings.PLAYGROUND_ORPHAN_GRACE, remote.LEASE_EVERY)
            self._orphan_timer = asyncio.get_running_loop().call_later(again, self._orphaned)
        else:
            self.stop(EndReason.NO_WATCHER)

    async def _life(self) -> None:
        try:
            self.phase = Phase.OPENING
            transcript = await self._open()
            if transcript is None:
                return
            async with self._sending:
                self._shown = transcript
                await self._send(fragments.started(transcript, self.spec.n, self.spec.place))
            status = self._stopped_status()
            if self.stop_reason is None:
                status = await self._stream(transcript)
            self.phase = Phase.ENDING
            await self._end(transcript, status)
        except Exception:
            logger.exception("Run %s failed", self.id)
            await self._emit(fragments.failed(self.spec.place, self._others_running()))
        finally:
            self.phase = Phase.DONE
            if self._orphan_timer is not None:
                self._orphan_timer.cancel()
            await self.outgoing.close()

    async def _open(self) -> Transcript | None:
        """The run's row, or None when the run may not start (the page is told why)."""
        try:
            if self.group is not None:
                return await self.group.open(self)
            return await in_run_db(
                partial(
                    run_open,
                    spec=self.spec,
                    user=self.user,
                    session_key=self.session_key,
                    run_id=self.id,
                )
            )
        except RunRefused as refused:
            self.refused = refused
        except OUTAGE:
            logger.warning("The database did not take run %s", self.id, exc_info=True)
            self.refused = RunRefused(
                "The database is not answering, so the run did not start: try again soon."
            )
        message = str(self.refused)
        await self._emit(
            fragments.notice(message) + fragments.run_controls(running=False, place=self.spec.place)
        )
        return None

    def _stopped_status(self) -> Transcript.Status:
        """A run stopped by a server restart was not stopped by anyone: it was interrupted."""
        if self.stop_reason == EndReason.SERVER_RESTART:
            return Transcript.Status.INTERRUPTED
        return Transcript.Status.STOPPED

    async def _stream(self, transcript: Transcript) -> Transcript.Status:
        relay = self._relay = Relay(
            self.state,
            self._send,
            self._room,
            batch=self._sending,
            schema=self.spec.schema,
            tick=settings.PLAYGROUND_RELAY_TICK,
            render_timeout=settings.PLAYGROUND_RENDER_TIMEOUT,
            frame_bytes=settings.PLAYGROUND_FRAME_BYTES,
            prefix=self.spec.prefix,
        )
        flusher = asyncio.create_task(relay.run(), name=f"run {self.id} relay")
        checkpoints = asyncio.create_task(
            self._checkpoints(transcript), name=f"run {self.id} checkpoints"
        )
        self.phase = Phase.STREAMING
        status = Transcript.Status.ERROR
        try:
            status = await self._read(relay)
        finally:
            self.phase = Phase.ENDING
            checkpoints.cancel()
            # Choices cut short finish now, so that the relay's last frame renders them.
            self.state.end(status)
            relay.close()
            await asyncio.gather(flusher, checkpoints, return_exceptions=True)
            if not flusher.cancelled() and flusher.exception():
                logger.error("The relay of run %s failed", self.id, exc_info=flusher.exception())
        return status

    async def _read(self, relay: Relay) -> Transcript.Status:
        try:
            async with aclosing(stream_chat(self.spec.endpoint, self.spec.body)) as events:
                async for event in events:
                    self.state.apply(event)
                    relay.poke()
        except asyncio.CancelledError:
            if self.stop_reason is None:
                raise  # not our own stop: let whoever cancelled the task see it
            self.task.uncancel()
            return self._stopped_status()
        except Exception:
            logger.exception("Reading run %s failed", self.id)
            return Transcript.Status.ERROR
        return Transcript.Status.ERROR if self.state.error else Transcript.Status.COMPLETED

    async def _checkpoints(self, transcript: Transcript) -> None:
        """The text so far and a heartbeat, every few seconds: never a write per token."""
        while True:
            await asyncio.sleep(settings.PLAYGROUND_CHECKPOINT_SECONDS)
            so_far = self.state.outcome(Transcript.Status.RUNNING)
            checkpoint = partial(
                transcript_checkpoint,
                transcript=transcript,
                choices=so_far.choices,
                received_tokens=so_far.received_tokens,
            )
            try:
                await in_run_db(checkpoint)
            except Exception:
                logger.exception("Could not checkpoint the transcript of run %s", self.id)

    async def _end(self, transcript: Transcript, status: Transcript.Status) -> None:
        self.state.end(status)
        stopped = status in (Transcript.Status.STOPPED, Transcript.Status.INTERRUPTED)
        outcome = self.state.outcome(status, (self.stop_reason or "") if stopped else "")
        saving = await self._save(transcript, outcome)
        self.phase = Phase.SAVING
        place, others = self.spec.place, self._others_running()
        await self._emit(fragments.finished(outcome, transcript, saving, place, others))
        if saving is Saving.RETRYING:
            saving = await self._save_with_retries(transcript, outcome)
            await self._emit(fragments.save_state(transcript, saving, self.spec.prefix))
        observe.run_ended(self, outcome, saving)

    async def _save(self, transcript: Transcript, outcome: RunOutcome) -> Saving:
        try:
            await in_run_db(partial(transcript_finish, transcript=transcript, outcome=outcome))
        except OUTAGE as error:
            logger.warning("Could not save run %s, will try again: %s", self.id, error)
            return Saving.RETRYING
        except Exception:
            logger.exception("Could not finalise the transcript of run %s", self.id)
            return Saving.LOST
        return Saving.SAVED

    async def _save_with_retries(self, transcript: Transcript, outcome: RunOutcome) -> Saving:
        """Try again, with backoff, for PLAYGROUND_FINISH_RETRY_SECONDS: a database back within
        that still takes the run's ending, even over a row marked interrupted meanwhile."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.PLAYGROUND_FINISH_RETRY_SECONDS
        delay = FIRST_RETRY
        while (left := deadline - loop.time()) > 0:
            await asyncio.sleep(min(delay, left))
            delay = min(2 * delay, LONGEST_RETRY)
            saving = await self._save(transcript, outcome)
            if saving is not Saving.RETRYING:
                return saving
        logger.error("Run %s was never saved: the database refused it for too long", self.id)
        return Saving.LOST

    def _others_running(self) -> bool:
        """Whether another column of its compare still runs (Run stays disabled till none)."""
        return self.group is not None and self.group.others_running(self)

    async def _emit(self, html: str) -> None:
        async with self._sending:
            await self._send(html)

    async def _send(self, html: str) -> None:
        """Send a frame to every watcher; one that fails is dropped, never the run."""
        self.outgoing.sent(html)
        for watcher in list(self.watchers):
            try:
                await watcher.send_html(html)
            except Exception:
                logger.debug("Dropping a watcher of run %s that failed", self.id, exc_info=True)
                self.detach(watcher)
