"""The run socket: the page sends the form, gets HTML fragments back as tokens arrive.

The consumer only translates frames. Runs belong to the process's registry; this socket holds
the ids of the runs it watches, and never waits for a run to end (Daphne cancels a consumer
10 s after its socket closes, and every consumer at once on SIGTERM).
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from asgiref.typing import WebSocketReceiveEvent
from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser

from playground.cases.models import Batch
from playground.cases.selectors import find_batch_for_user, find_version_for_user
from playground.cases.services import BatchTooBig, batch_size_problem
from playground.runform import (
    BaseMessageFormSet,
    ColumnCountError,
    RunForm,
    bind,
    bind_columns,
    column_label,
)
from playground.transcripts.forms import VoteForm
from playground.transcripts.services import VoteRefused, compare_vote

from . import batch, estimate, fragments
from .attach import Elsewhere, attach_frames, attach_group_frames, ended_frames, may_stop
from .budget import batch_shares, budget_problem
from .frames import FrameNumbers
from .group import RunGroup
from .incoming import BadMessage, read_message
from .outbox import Outbox
from .registry import ProcessFull, get_registry
from .remote import PageGone, RemoteWatch, shared_layer
from .services import (
    RunSpec,
    build_request,
    column_prefix,
    fork_turn,
    row_data,
    run_spec,
)

logger = logging.getLogger(__name__)
# Service overloaded, try again later: the page's ws extension reconnects after it.
TRY_AGAIN_LATER = 1013
NOT_YOURS_TO_STOP = "You may watch this run, but not stop it."
BLIND_CODE = "View code would tell which answer is which: it comes back once you have voted."


class SocketGone(PageGone):
    """The socket closed under a send: a tab closed, which is normal, not an error."""


class RunConsumer(AsyncWebsocketConsumer):
    # Frames go straight to this socket (a channel-layer hop would add latency, and
    # channels_redis drops messages past its capacity), so it listens on no layer channel.
    # The stubs want an alias; channels takes one it has no layer for (None) as no layer.
    channel_layer_alias = None  # type: ignore[assignment]
    user: AbstractBaseUser  # set by connect(), before any message is received

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.watching: set[uuid.UUID] = set()  # the runs whose frames come to this socket
        self.frames = FrameNumbers(every=settings.PLAYGROUND_ACK_WINDOW // 2)
        # Every run's frames go out through it, in order: one message per tick at most.
        self.outbox = Outbox(
            self._send,
            lambda: self._watches() > 1,
            tick=settings.PLAYGROUND_RELAY_TICK,
            limit=settings.PLAYGROUND_FRAME_BYTES,
        )
        self.gone = False
        self.held: list[str] | None = None  # a run's frames, waiting for its snapshot to go
        self.remote: dict[uuid.UUID, RemoteWatch] = {}  # runs of other processes it watches
        self.blind_group: uuid.UUID | None = None  # a blind compare awaiting its vote
        self.batches: set[uuid.UUID] = set()  # the batches whose grids this socket shows
        self.remote_batches: dict[uuid.UUID, RemoteWatch] = {}  # batches of other processes

    def _watches(self) -> int:
        """How many runs and batches this socket shows."""
        mine = [self.watching, self.remote, self.batches, self.remote_batches]
        return sum(len(watched) for watched in mine)

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.user = user
        await self.accept()

    async def disconnect(self, code: int) -> None:
        registry = get_registry()
        for run_id in self.watching:
            registry.detach(run_id, self)
        self.watching.clear()
        for batch_id in self.batches:
            if batch := registry.batch(batch_id):
                batch.detach(self)
        for watch in [*self.remote.values(), *self.remote_batches.values()]:
            watch.task.cancel()
        self.outbox.close()

    async def dispatch(self, message: dict) -> None:
        """Channels' own, less the hop to the shared sync thread it makes before every
        message to close stale database connections. Most messages here are acknowledgements,
        which touch no database, and every call that does goes through
        `database_sync_to_async` or the run workers, which close stale connections themselves.
        At C = 100 the hop was a thousand thread switches a second, queued on the one thread
        that new sockets' session lookups and runs' starts wait for."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_receive(self, message: WebSocketReceiveEvent) -> None:
        """Messages over the app's limit are answered, not read (Daphne closes the socket only
        past its own, larger limit); a socket that closes meanwhile is no error."""
        # surrogatepass: a lone surrogate counts as the bytes it would take, not as an error.
        text = (message.get("text") or "").encode("utf-8", "surrogatepass")
        size = len(text) + len(message.get("bytes") or b"")
        try:
            if size > settings.PLAYGROUND_MAX_MESSAGE_BYTES:
                await self.send_html(fragments.too_big(size))
                return
            await super().websocket_receive(message)
        except SocketGone:
            logger.debug("A socket closed while its message was handled")

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        handlers = {
            "run": self.start,
            "code": self.show_code,
            "count": self.count,
            "stop": self.stop,
            "attach": self.attach,
            "ack": self.ack,
            "vote": self.vote,
            "batch": self.start_batch,
            "batch_attach": self.attach_batch,
            "batch_stop": self.stop_batch,
            "batch_retry": self.retry_batch_cell,
            "batch_resume": self.resume_batch,
        }
        try:
            action, data = read_message(text_data, handlers)
        except BadMessage as bad:
            await self.send_html(fragments.notice(str(bad)))
            return
        try:
            await handlers[action](data)
        except SocketGone:
            raise
        except Exception:
            # The socket stays open, and the page keeps everything typed.
            logger.exception("The run socket failed on %r", action)
            await self.send_html(
                fragments.notice("Something went wrong on the server; please try again.")
            )

    def _running(self) -> list[uuid.UUID]:
        """The runs still going that this socket watches (one whose final write is being
        retried is over for the page, but still watched: the page is told how it ends)."""
        registry = get_registry()
        self.watching = {run_id for run_id in self.watching if registry.get(run_id)}
        self.remote = {run_id: w for run_id, w in self.remote.items() if not w.task.done()}
        here = [run_id for run_id in self.watching if (s := registry.get(run_id)) and s.running]
        return here + list(self.remote)

    async def start(self, data: dict) -> None:
        """One run, or a compare's columns (`columns`: 2 or more), all from one form."""
        if self._running():
            await self.send_html(fragments.notice("A run is going: stop it first."))
            return
        checked = await self._validated(data)
        if checked is None:
            return
        forms, formset = checked
        spec = partial(
            run_spec,
            formset=formset,
            preset_slug=str(data.get("preset") or ""),
            continued_from=str(data.get("continued_from") or ""),
            forked_from=str(data.get("forked_from") or ""),
            fork_turn=fork_turn(data.get("fork_turn")),
        )
        self.blind_group = None  # a new run: the last blind compare goes unvoted
        if len(forms) == 1:
            await self._start([spec(forms[0])])
            return
        blind = data.get("blind") in (True, "on", "true")
        group = await self._start(_compare_specs(spec, forms, data, blind=blind))
        if group is not None:
            self.blind_group = group.id if blind else None
            await self.send_html(fragments.group_key(group.key))

    async def _validated(self, data: dict) -> tuple[list[RunForm], BaseMessageFormSet] | None:
        """Every column's form and the messages, when all are valid; else None, the page
        shown every error at once."""
        try:
            forms, formset = bind_columns(data)
        except ColumnCountError as wrong:
            await self.send_html(fragments.notice(str(wrong)))
            return None
        valid = formset.is_valid()
        for form in forms:
            valid &= form.is_valid()
        await self.send_html(fragments.form_errors(forms[0], formset, forms[1:]))
        return (forms, formset) if valid else None

    async def _start(self, specs: list[RunSpec]) -> RunGroup | None:
        registry = get_registry()
        key = self.scope["session"].session_key or ""
        try:
            if len(specs) == 1:
                session = registry.start(specs[0], user=self.user, session_key=key, watcher=self)
                self.watching.add(session.id)
            else:
                group = registry.start_group(specs, user=self.user, session_key=key, watcher=self)
                self.watching.update(session.id for session in group.sessions)
                return group
        except ProcessFull as full:
            await self.send_html(fragments.notice(str(full)))
        return None

    async def start_batch(self, data: dict) -> None:
        """Run all: every test case of a saved data set version (named by id: the rows never
        travel in the frame) through every column of the form."""
        version = await database_sync_to_async(find_version_for_user)(
            self.user, data.get("batch_version")
        )
        if version is None:
            await self.send_html(fragments.notice(batch.NO_VERSION))
            return
        # The rows' bound here (there is no row 0 to validate with otherwise); the cells' once
        # the columns are known, as the batch is written.
        if problem := batch_size_problem(len(version.rows), 1):
            await self.send_html(fragments.notice(problem))
            return
        checked = await self._validated(row_data(data, version.columns, version.rows[0]))
        if checked is None:
            return
        forms, _ = checked
        shares = await database_sync_to_async(batch_shares)(self.user, forms, len(version.rows))
        if problem := budget_problem(shares):
            await self.send_html(fragments.notice(problem))
            return
        labels = [_column_name(data, column, form) for column, form in enumerate(forms)]
        key = self.scope["session"].session_key or ""
        try:
            started = await batch.begin(
                get_registry(),
                user=self.user,
                session_key=key,
                version=version,
                data=data,
                labels=labels,
            )
        except (BatchTooBig, ProcessFull) as refused:
            await self.send_html(fragments.notice(str(refused)))
            return
        await self.send_html(batch.started(started.batch, shares))

    async def attach_batch(self, data: dict) -> None:
        """A batch's page (re)connected: its grid as it stands, then its live frames."""
        found = await self._batch(data)
        if found is None:
            return
        async with self._holding():
            frames, live = await batch.attach(get_registry(), found, self)
            if live:
                self.batches.add(found.uuid)
            await self._catch_up(frames)
        if not live and found.status == Batch.Status.RUNNING:
            self._follow_batch_elsewhere(found.uuid)

    def _follow_batch_elsewhere(self, batch_id: uuid.UUID, *, anew: bool = False) -> None:
        """A batch of another process, followed through the channel layer as a run is;
        `anew`: from the start of a session that has just taken it (what the last one's
        watch has not had yet, its snapshot brings)."""
        layer = shared_layer()
        watch = self.remote_batches.get(batch_id)
        if watch is not None and (anew or watch.task.done()):
            watch.task.cancel()
            watch = None
        if layer is None or watch is not None:
            return
        ended = partial(batch.ended_grid, batch_id)
        self.remote_batches[batch_id] = RemoteWatch(batch_id, layer, self.send_html, ended)

    async def stop_batch(self, data: dict) -> None:
        found = await self._batch(data, change=True)
        if found is None:
            return
        if session := get_registry().batch(found.uuid):
            session.stop()
        elif (watch := self.remote_batches.get(found.uuid)) and not watch.task.done():
            await watch.stop_run()  # allowed here: its process stops it
        elif found.status == Batch.Status.RUNNING:
            await self.send_html(fragments.notice(batch.ELSEWHERE))

    async def retry_batch_cell(self, data: dict) -> None:
        """One failed or stopped cell again (`row`, `column`, from 0)."""
        found = await self._batch(data, change=True)
        place = _place(data)
        if found is None:
            return
        if place is None:
            await self.send_html(fragments.notice(batch.NOT_RETRYABLE))
            return
        problem = await self._batch_command(batch.retry, found, place=place)
        if problem:
            await self.send_html(fragments.notice(problem))

    async def resume_batch(self, data: dict) -> None:
        found = await self._batch(data, change=True)
        if found is not None and (problem := await self._batch_command(batch.resume, found)):
            await self.send_html(fragments.notice(problem))

    async def _batch_command(
        self, command: Callable[..., Awaitable[batch.Answer]], found: Batch, **more: Any
    ) -> str | None:
        """Retry or resume, wherever the batch runs; this socket then watches it there."""
        key = self.scope["session"].session_key or ""
        registry = get_registry()
        try:
            answer = await command(registry, user=self.user, session_key=key, batch=found, **more)
        except ProcessFull as full:
            return str(full)
        await self._follow_batch(found.uuid, answer)
        return answer.problem

    async def _follow_batch(self, batch_id: uuid.UUID, answer: batch.Answer) -> None:
        """After a Retry or Resume, the batch followed wherever it runs now."""
        if session := get_registry().batch(batch_id):
            if watch := self.remote_batches.pop(batch_id, None):
                watch.task.cancel()  # its frames come here now
            if answer.started:  # a new session: its grid drawn, the cells it queued pending
                async with self._holding():
                    await self._catch_up(await session.watch(self))
            else:
                await session.follow(self)
            self.batches.add(batch_id)
        elif answer.elsewhere:
            self._follow_batch_elsewhere(batch_id, anew=answer.started)
        elif frames := await batch.ended_grid(batch_id):
            # Refused, and run nowhere: the grid as it stands (another page may have run it
            # to its end meanwhile, on another process).
            for frame in frames:
                await self.send_html(frame)

    async def _batch(self, data: dict, *, change: bool = False) -> Batch | None:
        """The batch `data` names, under its access rule; the page told when there is none."""
        find = partial(find_batch_for_user, self.user, data.get("batch"), change=change)
        found = await database_sync_to_async(find)()
        if found is None:
            visible = change and await database_sync_to_async(find_batch_for_user)(
                self.user, data.get("batch")
            )
            await self.send_html(fragments.notice(batch.NOT_YOURS if visible else batch.UNKNOWN))
        return found

    async def show_code(self, data: dict) -> None:
        if self.blind_group is not None:
            await self.send_html(fragments.notice(BLIND_CODE))
            return
        checked = await self._validated(data)
        if checked is None:
            return
        forms, formset = checked
        requests = [fragments.CodeRequest(*build_request(forms[0], formset))]
        if len(forms) > 1:
            requests = [
                fragments.CodeRequest(
                    *build_request(form, formset),
                    title=f"Column {column + 1}: {_column_name(data, column, form)}",
                    prefix=column_prefix(column),
                )
                for column, form in enumerate(forms)
            ]
        for frame in fragments.code(requests):
            await self.send_html(frame)

    async def vote(self, data: dict) -> None:
        """The vote on this socket's blind compare, then its answers named."""
        form = VoteForm({"pick": str(data.get("pick") or "")})
        if self.blind_group is None:
            await self.send_html(fragments.notice("There is no blind compare here to vote on."))
            return
        if not form.is_valid():
            await self.send_html(fragments.notice(str(form.errors["pick"][0])))
            return
        pick = form.cleaned_data["pick"]
        vote = partial(compare_vote, user=self.user, group=self.blind_group, pick=pick)
        try:
            rows = await database_sync_to_async(vote)()
        except VoteRefused as refused:
            await self.send_html(fragments.notice(str(refused)))
            return
        self.blind_group = None
        await self.send_html(fragments.reveal(rows))

    async def count(self, data: dict) -> None:
        form, formset = bind(data)
        tokens = await estimate.prompt_tokens(form, formset)
        await self.send_html(fragments.prompt_estimate(tokens))

    async def stop(self, data: dict) -> None:
        """Stop the runs this socket watches (Stop all), or one compare's column (`column`), as
        far as the one access rule allows, checked here before a run of another process is
        asked to stop."""
        registry = get_registry()
        column = data.get("column")
        column = None if column in (None, "") else str(column)  # the page sends it as text
        for run_id in self._running():
            session = registry.get(run_id)
            place = session.spec.place if session else self.remote[run_id].place
            if column is not None and str(place.column) != column:
                continue  # another column's
            if not await may_stop(self.user, run_id, session.user if session else None):
                await self.send_html(fragments.notice(NOT_YOURS_TO_STOP))
            elif session is not None:
                session.stop()
            else:
                await self.remote[run_id].stop_run()

    async def attach(self, data: dict) -> None:
        """The page (re)connected, or opened a run's transcript: bring it up to date with the
        run, or with every column of its compare (`group`: the key it keeps). A run still
        going here goes on to this socket too, its frames held meanwhile: the snapshot
        first, then every frame after it, in order."""
        async with self._holding():
            if data.get("group"):
                attached = await attach_group_frames(self.user, data["group"], self)
                self.blind_group = attached.blind
            else:
                attached = await attach_frames(self.user, data.get("run"), self)
            self.watching.update(attached.here)
            await self._catch_up(attached.frames)
        for run in attached.elsewhere:
            self._watch_elsewhere(run)

    @asynccontextmanager
    async def _holding(self) -> AsyncIterator[None]:
        """While the page is brought up to date, the frames of what it now watches wait."""
        self.held = []
        try:
            yield
        finally:
            self.held = None

    async def _catch_up(self, frames: list[str]) -> None:
        """The frames that bring the page up to date, then those that waited, in order."""
        for frame in frames:
            await self._put(frame)
        while self.held:
            await self._put(self.held.pop(0))

    def _watch_elsewhere(self, run: Elsewhere) -> None:
        """A run of another process, followed through the channel layer in a task of its
        own (never through `dispatch`), when processes share one."""
        layer = shared_layer()
        if layer is None or run.run_id in self.remote:
            return
        ended = partial(ended_frames, self.user, run.run_id, run.place)
        watch = RemoteWatch(run.run_id, layer, self.send_html, ended, run.place)
        self.remote[run.run_id] = watch

    async def ack(self, data: dict) -> None:
        """The page has every frame up to `seq`: runs holding text back for it may go on."""
        if self.frames.ack(data.get("seq")):
            registry = get_registry()
            for run_id in self.watching:
                if session := registry.get(run_id):
                    session.acknowledged()

    @property
    def unacked(self) -> int:
        return self.frames.unacked + len(self.held or ()) + len(self.outbox)

    async def stalled(self) -> None:
        if not self.gone:
            self.gone = True
            await self.close(code=TRY_AGAIN_LATER)

    async def send_html(self, html: str) -> None:
        if self.held is not None:
            self.held.append(html)
            return
        await self._put(html)

    async def _put(self, html: str) -> None:
        if self.gone:
            raise SocketGone
        await self.outbox.put(html)

    async def _send(self, html: str) -> None:
        if self.gone:
            raise SocketGone
        try:
            await self.send(text_data=self.frames.number(html))
        except Disconnected:
            self.gone = True
            raise SocketGone from None


def _place(data: dict) -> tuple[int, int] | None:
    """A cell's row and column as the page sends them (text), or None for anything else."""
    row, column = str(data.get("row", "")), str(data.get("column", ""))
    if row.isascii() and row.isdigit() and column.isascii() and column.isdigit():
        return int(row), int(column)
    return None


def _column_name(data: dict, column: int, form: RunForm) -> str:
    return column_label(data, column) or form.cleaned_data["model"]


def _compare_specs(
    spec: Callable[..., RunSpec], forms: list[RunForm], data: dict, *, blind: bool
) -> list[RunSpec]:
    """A compare's runs, one per column; a blind one's answers in shuffled places, named
    only once voted on, its runs started in the order of their places (so that the order
    of its first frames tells nothing either)."""
    places = random.sample(range(len(forms)), len(forms))
    specs = [
        spec(
            form,
            column=column,
            label=column_label(data, column),
            slot=places[column] if blind else None,
            slots=len(forms) if blind else 0,
        )
        for column, form in enumerate(forms)
    ]
    return sorted(specs, key=lambda run: run.slot or 0) if blind else specs
