"""Watching a run that goes on in another process, through the channel layer (Redis).

Every frame a run sends is numbered (`Outgoing.seq`). A run listens on a control group of
its own (`control_group`); a page on another process joins the run's frames group
(`frames_group`) on a channel of its own, then leases the run's frames (renewed every
LEASE_EVERY seconds, so that the run counts its remote watchers by leases, never by group
membership, which outlives a process that died) and asks for a snapshot tagged with the
number of the last frame it covers. It drops frames at or below that number, and asks again on
a gap: no gap, no duplicate. The run publishes only while it holds a lease, at most once per
PUBLISH_EVERY, and a failing layer never slows it: its first watcher's frames go straight to
its socket, and what the layer drops, a watcher recovers with a new snapshot.

A command a page's process has allowed (Stop; a batch's Retry and Resume) goes to the control
group too; one that wants an answer (`ask`) names a channel of the asker's for it, and no
answer within ANSWER_WAIT means that no process runs it any longer.

Nothing here goes through a consumer's `dispatch` (which closes old database connections
before every handler): each watch is a task of its own that sends to its socket directly.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer

from . import fragments

if TYPE_CHECKING:
    from .services import Place

logger = logging.getLogger(__name__)
LEASE_EVERY = 5.0  # seconds between a remote watcher's renewals
LEASE_FOR = 3 * LEASE_EVERY  # a lease not renewed within this is over
PUBLISH_EVERY = 0.1  # seconds between two publications of a run's frames at most
MAX_BATCH = 1000  # frames held for one publication, at most
SNAPSHOT_WAIT = 2.0  # a run that does not answer within this may be gone: its row is read
CLOSE_WAIT = 2.0  # seconds a run's end waits for the layer at most
# A command is answered at once, or, by a batch that is ending, once it has ended.
ANSWER_WAIT = SNAPSHOT_WAIT + CLOSE_WAIT
RETRY_EVERY = 1.0  # seconds between two attempts to reach a layer that failed
INTERRUPTED = "Live view interrupted: reconnecting…"
FAILED_THERE = "Something went wrong on the server process that runs this; please try again."


class PageGone(Exception):
    """The page a frame was for has closed: nothing to retry."""


def shared_layer() -> BaseChannelLayer | None:
    """The layer that other processes share, or None (one process alone, in memory)."""
    layer = get_channel_layer()
    return None if layer is None or isinstance(layer, InMemoryChannelLayer) else layer


def frames_group(run_id: uuid.UUID) -> str:
    return f"run-frames.{run_id.hex}"


def control_group(run_id: uuid.UUID) -> str:
    return f"run-control.{run_id.hex}"


def stop_if_cancelled() -> None:
    """The Redis client can turn the cancellation of a command into an error of its own: a
    task asked to stop must not take that for an outage and try again for ever."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class Failing:
    """Logs a layer's failure once, until it works again: never once per frame."""

    def __init__(self, what: str):
        self.what = what
        self.failing = False

    def failed(self, error: BaseException) -> None:
        if not self.failing:
            logger.warning("%s: the channel layer failed: %r", self.what, error)
        self.failing = True

    def worked(self) -> None:
        if self.failing:
            logger.info("%s: the channel layer works again", self.what)
        self.failing = False


class Published(Protocol):
    """What pages on other processes watch: a run, or a batch's grid (`chat/batch.py`)."""

    @property
    def id(self) -> uuid.UUID: ...

    async def snapshot_frames(self) -> tuple[int, list[str]] | None:
        """What a page is shown to catch up, with the number of the last frame it covers;
        None once it is over for the page."""

    def stop(self) -> None: ...


# What a batch does with a command of a page on another process (allowed there), and its answer.
Commands = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class Publisher:
    """A run's (or batch's) side: its control channel, its remote watchers' leases, its
    publications."""

    def __init__(
        self, session: Published, layer: BaseChannelLayer, commands: Commands | None = None
    ):
        self.session = session
        self.layer = layer
        self.commands = commands
        self.leases: dict[str, float] = {}  # a watcher's channel -> when its lease ends
        self.batch: list[tuple[int, str]] = []
        self._publishing = asyncio.Lock()  # one publication at a time: they arrive in order
        self.published_at = 0.0
        self._flush: asyncio.TimerHandle | None = None
        self.health = Failing(f"Run {session.id}")
        self._tasks: set[asyncio.Task[None]] = set()  # kept, or the loop may lose them
        # Never awaited by `close`: a command may wait for the session's end (a Retry of a
        # batch that is ending runs its cell anew, once it has ended).
        self._commands: set[asyncio.Task[None]] = set()
        self.task = asyncio.create_task(self._listen(), name=f"run {session.id} control")

    def _spawn(self, work: Awaitable[None], name: str) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        task.set_name(f"run {self.session.id} {name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def leased(self) -> bool:
        now = time.monotonic()
        self.leases = {channel: end for channel, end in self.leases.items() if end > now}
        return bool(self.leases)

    def frame(self, seq: int, html: str) -> None:
        """A frame was sent: published with those around it, while someone leases them."""
        if not self.leased():
            return
        if len(self.batch) >= MAX_BATCH:  # the layer is stuck: watchers will see the gap
            self.batch.clear()
        self.batch.append((seq, html))
        if self._flush is None:
            wait = max(0.0, self.published_at + PUBLISH_EVERY - time.monotonic())
            self._flush = asyncio.get_running_loop().call_later(wait, self._publish_soon)

    def _publish_soon(self) -> None:
        if self._publishing.locked():  # the last one is still on its way: this waits its turn
            self._flush = asyncio.get_running_loop().call_later(PUBLISH_EVERY, self._publish_soon)
            return
        self._flush = None
        self._spawn(self._publish(), "publish")

    async def _publish(self, *, over: bool = False) -> None:
        async with self._publishing:
            batch, self.batch = self.batch, []
            self.published_at = time.monotonic()
            message = {"type": "run.frames", "frames": batch, "over": over}
            try:
                await self.layer.group_send(frames_group(self.session.id), message)
                self.health.worked()
            except Exception as error:
                self.health.failed(error)

    async def close(self) -> None:
        """The run is over: its last frames and the word that no more will come. A layer that
        does not answer within CLOSE_WAIT is let be: its watchers read the run's row."""
        self.task.cancel()
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        try:
            async with asyncio.timeout(CLOSE_WAIT):
                if self.leased():
                    await self._publish(over=True)
                await asyncio.gather(self.task, *self._tasks, return_exceptions=True)
        except TimeoutError as error:
            self.health.failed(error)

    async def _listen(self) -> None:
        while True:
            try:
                channel = await self.layer.new_channel()
                await self.layer.group_add(control_group(self.session.id), channel)
                self.health.worked()
                try:
                    while True:
                        self._take(await self.layer.receive(channel))
                finally:
                    await asyncio.shield(self._leave(channel))
            except asyncio.CancelledError:
                raise
            except Exception as error:
                stop_if_cancelled()
                self.health.failed(error)
                await asyncio.sleep(RETRY_EVERY)

    async def _leave(self, channel: str) -> None:
        try:
            await self.layer.group_discard(control_group(self.session.id), channel)
        except Exception as error:
            self.health.failed(error)

    def _take(self, message: dict[str, Any]) -> None:
        kind, watcher = message.get("type"), str(message.get("watcher") or "")
        if kind == "run.lease" and watcher:
            self.leases[watcher] = time.monotonic() + LEASE_FOR
            if message.get("snapshot"):
                self._spawn(self._answer(watcher), "snapshot")
        elif kind == "run.unlease":
            self.leases.pop(watcher, None)
        elif kind == "run.stop":
            self.session.stop()
        elif kind == "run.command" and self.commands is not None and message.get("reply"):
            work = self._command(self.commands, message)
            task = asyncio.create_task(work, name=f"run {self.session.id} command")
            self._commands.add(task)
            task.add_done_callback(self._commands.discard)

    async def _command(self, commands: Commands, message: dict[str, Any]) -> None:
        """A command from a page of another process (allowed there), answered to its process."""
        try:
            answer = await commands(message)
        except Exception:
            logger.exception("Run %s failed on a command from another process", self.session.id)
            answer = {"problem": FAILED_THERE}
        try:
            await self.layer.send(message["reply"], {**answer, "type": "run.answer"})
        except Exception as error:
            self.health.failed(error)

    async def _answer(self, watcher: str) -> None:
        """A snapshot, with the number of the last frame it covers."""
        taken = await self.session.snapshot_frames()
        message: dict[str, Any] = {"type": "run.snapshot", "over": taken is None}
        if taken is not None:
            message["seq"], message["frames"] = taken
        try:
            await self.layer.send(watcher, message)
        except Exception as error:
            self.health.failed(error)


class Outgoing:
    """A run's (or batch's) frames as pages on other processes see them: each numbered, and
    published while one of them leases them (when processes share a layer)."""

    def __init__(self, source: Published, commands: Commands | None = None):
        layer = shared_layer()
        self.seq = 0  # the number of the last frame sent
        self.publisher = Publisher(source, layer, commands) if layer is not None else None

    def sent(self, html: str) -> None:
        self.seq += 1
        if self.publisher is not None:
            self.publisher.frame(self.seq, html)

    def leased(self) -> bool:
        return self.publisher is not None and self.publisher.leased()

    async def close(self) -> None:
        if self.publisher is not None:
            await self.publisher.close()


async def ask(run_id: uuid.UUID, command: dict[str, Any]) -> dict[str, Any] | None:
    """Send a command to the process whose run (or batch) `run_id` is, and its answer; None
    when none comes within ANSWER_WAIT (no process runs it), or processes share no layer. The
    asker has checked that its page's user may give it: the run's process only acts."""
    layer = shared_layer()
    if layer is None:
        return None
    reply = await layer.new_channel()
    asked = {**command, "type": "run.command", "reply": reply}
    await layer.group_send(control_group(run_id), asked)
    try:
        async with asyncio.timeout(ANSWER_WAIT):
            return await layer.receive(reply)
    except TimeoutError:
        return None


class RemoteWatch:
    """A page's side: one run of another process, followed to its end. `send` puts a frame on
    the page's socket; `ended` gives the frames of a run that ended, from its row."""

    def __init__(
        self,
        run_id: uuid.UUID,
        layer: BaseChannelLayer,
        send: Callable[[str], Awaitable[None]],
        ended: Callable[[], Awaitable[list[str] | None]],
        place: Place = fragments.SINGLE,
    ):
        self.run_id = run_id
        self.place = place  # where the page draws it: a compare's column has its own
        self.layer = layer
        self.send = send
        self.ended = ended
        self.over = False
        self.last: int | None = None  # the number of the last frame the page has
        self.heard = time.monotonic()  # when the run last said something
        self.health = Failing(f"Watching run {run_id}")
        self.task = asyncio.create_task(self._watch(), name=f"watch {run_id}")

    async def stop_run(self) -> None:
        """Ask the run's process to stop it (whoever asks was allowed to, here)."""
        await self.layer.group_send(control_group(self.run_id), {"type": "run.stop"})

    async def _watch(self) -> None:
        while not self.over:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except PageGone:
                return
            except Exception as error:
                stop_if_cancelled()
                self.health.failed(error)
                await self.send(fragments.notice(INTERRUPTED))
                await asyncio.sleep(RETRY_EVERY)

    async def _follow(self) -> None:
        self.last = None
        channel = await self.layer.new_channel()
        await self.layer.group_add(frames_group(self.run_id), channel)
        leases = asyncio.create_task(self._lease(channel), name=f"watch {self.run_id} lease")
        try:
            await self._receive(channel)
        finally:
            leases.cancel()
            await asyncio.shield(self._leave(channel))

    async def _leave(self, channel: str) -> None:
        try:
            await self.layer.group_discard(frames_group(self.run_id), channel)
            await self.layer.group_send(
                control_group(self.run_id), {"type": "run.unlease", "watcher": channel}
            )
        except Exception as error:
            self.health.failed(error)

    async def _lease(self, channel: str) -> None:
        """Lease the run's frames now and every LEASE_EVERY, asking for a snapshot until one
        comes. A run that does not answer, or falls silent, may be gone: its row is read,
        and says how it ended once the sweep has marked it."""
        lease = {"type": "run.lease", "watcher": channel, "snapshot": True}
        while True:
            lease["snapshot"] = self.last is None
            await self.layer.group_send(control_group(self.run_id), lease)
            self.health.worked()
            await asyncio.sleep(SNAPSHOT_WAIT)
            quiet = time.monotonic() - self.heard > SNAPSHOT_WAIT
            if (self.last is None or quiet) and (frames := await self.ended()) is not None:
                await self._end(frames)
                return
            await asyncio.sleep(LEASE_EVERY - SNAPSHOT_WAIT)

    async def _receive(self, channel: str) -> None:
        waiting: dict[int, str] = {}  # frames that came before the snapshot they follow
        over = False  # the run sent its last frame
        while not self.over:
            message = await self.layer.receive(channel)
            self.heard = time.monotonic()
            if message.get("type") == "run.snapshot":
                if message.get("over"):
                    frames = await self.ended()
                    if frames is not None:
                        await self._end(frames)
                    continue
                if self.last is None or message["seq"] > self.last:
                    for frame in message["frames"]:
                        await self.send(frame)
                    self.last = message["seq"]
            elif message.get("type") == "run.frames":
                waiting.update((seq, html) for seq, html in message["frames"])
                over = over or bool(message.get("over"))
            waiting = await self._go_on(waiting, channel)
            self.over = over and self.last is not None and not waiting

    async def _go_on(self, waiting: dict[int, str], channel: str) -> dict[int, str]:
        """Send the frames that follow the page's last, in order; ask again on a gap."""
        if self.last is None:
            return waiting
        while self.last + 1 in waiting:
            self.last += 1
            await self.send(waiting.pop(self.last))
        waiting = {seq: html for seq, html in waiting.items() if seq > self.last}
        if waiting:  # a frame went missing: the page is brought up to date again
            self.last = None
            ask = {"type": "run.lease", "watcher": channel, "snapshot": True}
            await self.layer.group_send(control_group(self.run_id), ask)
        return waiting

    async def _end(self, frames: list[str]) -> None:
        for frame in frames:
            await self.send(frame)
        self.over = True
        self.task.cancel()
