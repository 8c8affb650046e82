"""Run all: a batch of cells (every row of a data set version x every column of the form), run
by one session of the process's registry. The page only watches it.

Each cell is a run like any other (a `RunSession`, its transcript, its slot), started with the
row's values put in its variables. At most `concurrency` cells run at once, so that the user's
own Run still starts; the rest queue. The cells' runs are watched by the batch alone, never by
a socket, so a batch goes on with no page open. Stop ends the running cells and leaves the
queued ones stopped; a server going down leaves them not run, for a resume.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from asyncio import FIRST_COMPLETED
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.template.loader import render_to_string

from playground.cases.checks import Check
from playground.cases.grid import (
    ENDED_AS,
    OVER,
    CellView,
    Progress,
    cell_view,
    summary,
    summary_row,
    with_grade,
)
from playground.cases.models import Batch, BatchCell, DataSetVersion
from playground.cases.selectors import batch_cells, batch_ratings
from playground.cases.services import (
    BatchTaken,
    Place,
    batch_beat,
    batch_cell_again,
    batch_cell_end,
    batch_cell_start,
    batch_create,
    batch_finish,
    batch_take,
)
from playground.runform import page_state
from playground.transcripts.models import Transcript

from . import remote
from .budget import EndpointShare
from .frames import Atom, pack
from .rundb import OUTAGE, in_run_db
from .services import BadRow, ProcessFull, RunRefused, RunSpec, batch_row_specs
from .session import UNWATCHED, EndReason, RunSession, Watcher

if TYPE_CHECKING:
    from .registry import RunRegistry

logger = logging.getLogger(__name__)
Status = BatchCell.Status
# A page this many frames behind is let go (it reconnects, and is drawn the grid afresh):
# the batch never waits for a page, nor grows the server's buffers for one that stopped reading.
MOST_BEHIND = 64
# How long a cell refused for its user's cap waits at most before trying again (a run of this
# process ending wakes it at once).
WAIT_FOR_ROOM = 5.0
# The summary row is drawn again at most this often (seconds) while cells end: a few times a
# second is live enough, and it is figured over every cell.
SUMMARY_EVERY = 0.25


def batch_concurrency() -> int:
    """Cells at once: the setting, and always one fewer than the user may run."""
    cap = settings.PLAYGROUND_MAX_CONCURRENT_RUNS - 1
    return max(1, min(settings.PLAYGROUND_BATCH_CONCURRENCY, cap))


class BatchSession:
    def __init__(
        self,
        *,
        batch: Batch,
        cells: list[CellView],
        queue: list[Place],
        specs: Callable[[int], list[RunSpec]],
        user: AbstractBaseUser,
        session_key: str,
        registry: RunRegistry,
    ):
        self.id = batch.uuid
        self.batch = batch
        self.cells = {(cell.row, cell.column): cell for cell in cells}
        self.queue: deque[Place] = deque(queue)
        self.running: dict[Place, RunSession] = {}
        self.watchers: list[Watcher] = []
        self.user = user
        self.session_key = session_key
        self.stop_reason: str | None = None
        self._stopped = asyncio.Event()
        self.ending = False  # takes no more cells: it is writing its end
        self._specs = specs  # a row's runs, one per column; BadRow for a row that cannot run
        self._row: tuple[int, list[RunSpec] | str] | None = None  # the last row's
        self._registry = registry
        self._sending = asyncio.Lock()
        self._began = time.monotonic()
        self._ended_here = 0
        self._workers: set[asyncio.Task[None]] = set()
        self._summary_changed = asyncio.Event()  # a cell ended since the summary was sent
        self.outgoing = remote.Outgoing(self, self._forwarded)  # for pages on other processes
        self.task = asyncio.create_task(self._life(), name=f"batch {self.id}")

    # The page's commands

    def stop(self, reason: str = EndReason.USER) -> None:
        """End every running cell with what it has; the queued ones never start."""
        if self.stop_reason is not None:
            return
        self.stop_reason = reason
        self._stopped.set()
        for session in list(self.running.values()):
            session.stop(reason)

    def take(self, place: Place) -> bool:
        """Queue a failed or stopped cell again while the batch runs; False when it cannot
        (the batch is ending: the cell is run by a new session instead)."""
        if self.ending or self.stop_reason is not None or place in self.queue:
            return False
        self.queue.append(place)
        self.cells[place] = cell_view(*place, Status.PENDING)
        self._spawn()
        return True

    async def watch(self, watcher: Watcher) -> list[str]:
        """Take `watcher` among the watchers; the grid as it stands, in frames (its frames
        from now on must wait until it has been sent these: see the consumer's `held`).
        Its finished cells are drawn with the grades given them on the page meanwhile."""
        stored = await self._stored_cells()
        async with self._sending:
            if watcher not in self.watchers:
                self.watchers.append(watcher)
            cells = self._graded(stored)
            tail = [self._progress_html(), self._summary_html()]
        return await grid_frames(cells, *tail)

    async def snapshot_frames(self) -> tuple[int, list[str]] | None:
        """For a page on another process (`remote.py`): the grid as it stands, graded as
        `watch` draws it, with the number of the last frame it covers; None once the batch
        has ended."""
        stored = await self._stored_cells()
        async with self._sending:
            if self.task.done():
                return None
            seq = self.outgoing.seq
            cells = self._graded(stored)
            tail = [self._progress_html(), self._summary_html()]
        return seq, await grid_frames(cells, *tail)

    def _graded(self, stored: dict[Place, CellView]) -> list[CellView]:
        """The cells with the grades given them meanwhile, kept for the live summary."""
        for place, cell in self.cells.items():
            self.cells[place] = with_grade(cell, stored.get(place))
        return list(self.cells.values())

    async def _stored_cells(self) -> dict[Place, CellView]:
        try:
            cells = await in_run_db(partial(batch_cells, self.batch))
        except OUTAGE:
            logger.warning("Batch %s could not read its grades", self.id, exc_info=True)
            return {}
        return {(cell.row, cell.column): cell for cell in cells}

    async def follow(self, watcher: Watcher) -> None:
        """Take `watcher` among the watchers, its page already drawn (it retried a cell)."""
        async with self._sending:
            if watcher not in self.watchers:
                self.watchers.append(watcher)

    def detach(self, watcher: Watcher) -> None:
        if watcher in self.watchers:
            self.watchers.remove(watcher)

    async def _forwarded(self, message: dict[str, Any]) -> dict[str, Any]:
        """Retry or Resume from a page on another process (allowed there), done here as for
        a page of this process; a batch started anew goes on as this session's user's."""
        command: Callable[..., Awaitable[Answer]] = resume
        if message.get("command") == "retry":
            row, column = message["place"]
            command = partial(retry, place=(int(row), int(column)))
        mine = {"user": self.user, "session_key": self.session_key, "batch": self.batch}
        try:
            answer = await command(self._registry, **mine)
        except ProcessFull as full:
            answer = Answer(str(full))
        return {"problem": answer.problem, "started": answer.started}

    # Its life

    async def _life(self) -> None:
        beats = asyncio.create_task(self._beats(), name=f"batch {self.id} heartbeat")
        summaries = asyncio.create_task(self._summaries(), name=f"batch {self.id} summary")
        try:
            self._spawn()
            while self._workers:
                await asyncio.wait(set(self._workers))
            self.ending = True
            await self._end()
        except Exception:
            logger.exception("Batch %s failed", self.id)
        finally:
            beats.cancel()
            summaries.cancel()
            await self.outgoing.close()

    def _spawn(self) -> None:
        """Workers up to the concurrency, each taking queued cells one after the other (a
        cell queued again while others run gets a worker of its own: theirs are busy)."""
        wanted = len(self.queue) + len(self.running)
        while len(self._workers) < min(self.batch.concurrency, wanted):
            worker = asyncio.create_task(self._work(), name=f"batch {self.id} worker")
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)

    async def _work(self) -> None:
        while self.queue and self.stop_reason is None:
            place = self.queue.popleft()
            try:
                await self._run_cell(place)
            except Exception:
                logger.exception("Batch %s: cell %s failed", self.id, place)
                await self._cell_over(place, Status.FAILED, None, "The server failed on it.")

    async def _run_cell(self, place: Place) -> None:
        specs = self._row_specs(place[0])
        if isinstance(specs, str):
            await self._cell_over(place, Status.FAILED, None, specs)
            return
        try:
            session = self._registry.start(
                specs[place[1]], user=self.user, session_key=self.session_key, watcher=UNWATCHED
            )
        except ProcessFull as full:
            await self._cell_over(place, Status.FAILED, None, str(full))
            return
        self.running[place] = session
        try:
            await self._started(place, session)
            await asyncio.wait([session.task])
        finally:
            del self.running[place]
        ended = self._registry.run_ended  # set by the next run to end, from now on
        row, checks = await in_run_db(partial(_ended, session.id, self.batch.pk, place[1]))
        refused = session.refused
        if row is None and refused is not None and refused.soon and self.stop_reason is None:
            await self._wait_for_room(place, refused, ended)
            return
        status = Status(ENDED_AS.get(row.status, Status.FAILED)) if row else Status.FAILED
        await self._cell_over(place, status, row, str(refused or ""), checks)

    async def _wait_for_room(self, place: Place, refused: RunRefused, ended: asyncio.Event) -> None:
        """A cell refused for now (its user has their most runs going, or has started their
        most this minute) waits, shown so, then goes first in the queue again: a run of this
        process ending may make room, or the minute's window moving on."""
        waiting = cell_view(*place, Status.PENDING, problem=f"Waiting: {refused}")
        await self._save(place, Status.PENDING, None, waiting.problem)
        await self._show(waiting)
        if refused.retry_in is not None:
            await self._pause(refused.retry_in)
        else:  # a run of another process ending is not told here: look again now and then
            await self._pause(WAIT_FOR_ROOM, ended)
        self.queue.appendleft(place)

    async def _pause(self, seconds: float, *events: asyncio.Event) -> None:
        """Until `seconds` have passed, the batch is stopped, or one of `events` is set."""
        waits = [asyncio.ensure_future(event.wait()) for event in (self._stopped, *events)]
        try:
            await asyncio.wait(waits, timeout=max(seconds, 0), return_when=FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    async def _started(self, place: Place, session: RunSession) -> None:
        """The cell shown running; its row says so unless the database is out (its end, with
        its run, is written all the same)."""
        start = partial(batch_cell_start, batch=self.batch, place=place, run_id=session.id)
        try:
            await in_run_db(start)
        except OUTAGE:
            logger.warning("Batch %s could not save cell %s", self.id, place, exc_info=True)
        await self._show(cell_view(*place, Status.RUNNING))

    def _row_specs(self, row: int) -> list[RunSpec] | str:
        """A row's runs (validated once for all its columns), or why it cannot run."""
        if self._row is None or self._row[0] != row:
            try:
                self._row = (row, self._specs(row))
            except BadRow as bad:
                self._row = (row, str(bad))
        return self._row[1]

    async def _cell_over(
        self,
        place: Place,
        status: str,
        row: Transcript | None,
        problem: str = "",
        checks: list[Check] | None = None,
    ) -> None:
        await self._save(place, status, row.uuid if row is not None else None, problem)
        self._ended_here += 1
        expected = self.batch.version.expected(place[0])
        # Off the loop: a check may validate a long answer against a JSON schema.
        view = partial(cell_view, *place, status, row, problem, checks=checks, expected=expected)
        await self._show(await asyncio.to_thread(view))

    async def _save(
        self, place: Place, status: str, run_id: uuid.UUID | None, problem: str
    ) -> None:
        end = partial(
            batch_cell_end,
            batch=self.batch,
            place=place,
            status=status,
            run_id=run_id,
            problem=problem,
        )
        try:
            await in_run_db(end)
        except OUTAGE:
            logger.warning("Batch %s could not save cell %s", self.id, place, exc_info=True)

    async def _end(self) -> None:
        unstarted = list(self.queue)
        status = Batch.Status.DONE
        if self.stop_reason == EndReason.SERVER_RESTART:
            status = Batch.Status.INTERRUPTED
        elif self.stop_reason is not None or any(
            cell.status in (Status.STOPPED, Status.NOT_RUN) for cell in self.cells.values()
        ):
            status = Batch.Status.STOPPED  # a cell left to resume
        cell_status = Status.NOT_RUN if status == Batch.Status.INTERRUPTED else Status.STOPPED
        await in_run_db(partial(batch_finish, batch=self.batch, status=status))
        self.batch.status = status
        for place in unstarted:
            self.cells[place] = cell_view(*place, cell_status)
        await self._rate()
        async with self._sending:
            for place in unstarted:
                await self._send(grid_cell(self.cells[place]))
            await self._send(self._progress_html() + self._summary_html())

    async def _beats(self) -> None:
        """A heartbeat while it runs: a batch whose server died is swept (chat/sweep.py)."""
        while True:
            await asyncio.sleep(settings.PLAYGROUND_CHECKPOINT_SECONDS)
            try:
                await in_run_db(partial(batch_beat, batch=self.batch))
            except OUTAGE:
                logger.warning("Batch %s could not beat", self.id, exc_info=True)

    async def _summaries(self) -> None:
        """The summary row sent again as cells end, at most every SUMMARY_EVERY (its end
        sends the last one)."""
        while True:
            await self._summary_changed.wait()
            self._summary_changed.clear()
            await self._rate()
            async with self._sending:
                await self._send(self._summary_html())
            await asyncio.sleep(SUMMARY_EVERY)

    # What the page is sent

    async def _show(self, cell: CellView) -> None:
        async with self._sending:
            self.cells[(cell.row, cell.column)] = cell
            await self._send(grid_cell(cell) + self._progress_html())
        if cell.status in OVER:
            self._summary_changed.set()

    def _progress_html(self) -> str:
        return batch_progress(self.batch, self.progress(), running_here=not self.ending)

    async def _rate(self) -> None:
        """Its finished cells take the ratings given them on the page meanwhile, for the
        summary row: a grade is saved by a page's request, on whichever process, so it is
        read here rather than told."""
        try:
            ratings = await in_run_db(partial(batch_ratings, self.batch))
        except OUTAGE:
            logger.warning("Batch %s could not read its ratings", self.id, exc_info=True)
            return
        for place, cell in self.cells.items():
            if cell.gradable and place in ratings:
                self.cells[place] = replace(cell, rating=ratings[place])

    def _summary_html(self) -> str:
        return summary_row(summary(list(self.cells.values()), len(self.batch.column_labels)))

    def progress(self) -> Progress:
        status = Batch.Status.RUNNING if not self.ending else self.batch.status
        left = None
        waiting = len(self.queue) + len(self.running)
        if not self.ending and self._ended_here and waiting:
            pace = (time.monotonic() - self._began) / self._ended_here
            left = pace * waiting
        return Progress.of(self.cells.values(), status, left)

    async def _send(self, html: str) -> None:
        self.outgoing.sent(html)
        for watcher in list(self.watchers):
            try:
                if watcher.unacked > MOST_BEHIND:
                    self.detach(watcher)
                    await watcher.stalled()
                    continue
                await watcher.send_html(html)
            except Exception:
                logger.debug("Dropping a watcher of batch %s that failed", self.id, exc_info=True)
                self.detach(watcher)


def _ended(run_id: uuid.UUID, batch_pk: int, column: int) -> tuple[Transcript | None, list[Check]]:
    """A cell's run, and its column's checks as they are now (its page may change them while
    the batch runs)."""
    batch = Batch.objects.only("checks").get(pk=batch_pk)
    return Transcript.objects.filter(uuid=run_id).first(), batch.column_checks(column)


def started(batch: Batch, shares: list[EndpointShare]) -> str:
    """On the playground page: the batch is going, where its grid is, and what it may spend."""
    context = {"batch": batch, "shares": shares}
    return render_to_string("cases/partials/batch_started.html", context)


def grid_cell(cell: CellView, *, oob: bool = True) -> str:
    return render_to_string("cases/partials/batch_cell.html", {"cell": cell, "oob": oob})


def batch_progress(batch: Batch, progress: Progress, *, running_here: bool) -> str:
    context = {"batch": batch, "progress": progress, "running_here": running_here, "oob": True}
    return render_to_string("cases/partials/batch_progress.html", context)


# Starting, resuming and watching a batch: what the socket asks for, under the one access
# rule (the batch's, and its data set's for the version it names). A batch is handed in as
# find_batch_for_user reads it: its version with it.

NOT_FIELDS = ("action", "HEADERS", "batch_version")
NO_VERSION = (
    "No such data set version, or it is not shared with you: Run all runs the test cases saved"
    " as a data set."
)
UNKNOWN = "No such batch, or it is not shared with you."
NOT_YOURS = "You may watch this batch, but only its owner (or staff) may change it."
NOT_RETRYABLE = "Only a failed, stopped or not run cell can be run again."
ELSEWHERE = "This batch runs on another server process: reload its page to follow it."
RUNNING = "This batch is running."
ALL_RAN = "Every cell of this batch has run: retry a failed one on its own."
TAKEN = "This batch has just been started again from another page."
NO_ANSWER = (
    "The server process that runs this batch does not answer. If it has stopped, the batch is"
    " marked interrupted shortly: then Resume runs it from here."
)


async def begin(
    registry: RunRegistry,
    *,
    user: AbstractBaseUser,
    session_key: str,
    version: DataSetVersion,
    data: dict[str, Any],
    labels: list[str],
) -> BatchSession:
    """Write the batch and a pending cell per row and column, then run it (BatchTooBig past
    the limits)."""
    fields = {name: value for name, value in data.items() if name not in NOT_FIELDS}
    create = partial(
        batch_create,
        owner=user,
        version=version,
        template=page_state(fields),
        form_data=fields,
        column_labels=labels,
        concurrency=batch_concurrency(),
    )
    batch = await in_run_db(create)
    cells = [
        cell_view(row, column, Status.PENDING)
        for row in range(len(version.rows))
        for column in range(len(labels))
    ]
    places = [(cell.row, cell.column) for cell in cells]
    return _run(registry, batch, cells, places, user, session_key)


@dataclass(frozen=True)
class Answer:
    """What became of a Retry or Resume."""

    problem: str | None = None  # why it was not done
    started: bool = False  # a new session runs the batch: its frames start afresh
    elsewhere: bool = False  # another process runs the batch: its page follows it there


async def retry(
    registry: RunRegistry, *, user: AbstractBaseUser, session_key: str, batch: Batch, place: Place
) -> Answer:
    """Run one failed, stopped or not run cell again: by the batch's session, wherever it
    runs, or by a new one here when none does."""
    session = registry.batch(batch.uuid)
    if session is None:
        take = partial(_take, registry, batch, user, session_key, place)
        return await _elsewhere_or_here(batch, {"command": "retry", "place": place}, take)
    cell = session.cells.get(place)
    if cell is None or not cell.retryable:
        return Answer(NOT_RETRYABLE)
    # Written pending first: the cell's start, once taken, must come after.
    await in_run_db(partial(batch_cell_again, batch=batch, place=place))
    if session.take(place):
        return Answer()
    await asyncio.wait([session.task])  # it was ending: run the cell anew
    return await _take(registry, batch, user, session_key, place)


async def resume(
    registry: RunRegistry, *, user: AbstractBaseUser, session_key: str, batch: Batch
) -> Answer:
    """Run every cell that never finished (stopped, not run) again."""
    if registry.batch(batch.uuid) is not None:
        return Answer(RUNNING)
    take = partial(_take, registry, batch, user, session_key, None)
    return await _elsewhere_or_here(batch, {"command": "resume"}, take)


async def _elsewhere_or_here(
    batch: Batch, command: dict[str, Any], take: Callable[[], Awaitable[Answer]]
) -> Answer:
    """A batch no session of this process runs: the command goes to the process whose
    session does; when none does (the batch ended, or its process died and the sweep marked
    it), this process takes the batch."""
    if batch.status == Batch.Status.RUNNING:
        answered = await remote.ask(batch.uuid, command)
        if answered is not None:
            return Answer(answered["problem"], answered.get("started", False), elsewhere=True)
        batch.status = await in_run_db(partial(_status, batch.pk))  # it may have ended since
        if batch.status == Batch.Status.RUNNING:
            return Answer(NO_ANSWER)
    return await take()


def _status(batch_pk: int) -> str:
    return Batch.objects.values_list("status", flat=True).get(pk=batch_pk)


async def _take(
    registry: RunRegistry,
    batch: Batch,
    user: AbstractBaseUser,
    session_key: str,
    place: Place | None,
) -> Answer:
    """A new session of this process runs the batch over `place` (a Retry) or every cell
    that never finished (a Resume), unless another process (or page) took it first."""
    try:
        places = await in_run_db(partial(batch_take, batch=batch, place=place))
    except BatchTaken:
        return Answer(TAKEN, started=True, elsewhere=True)
    if not places:
        return Answer(NOT_RETRYABLE if place else ALL_RAN)
    try:
        await _again(registry, batch, places, user, session_key)
    except ProcessFull:  # taken for nothing: left for a resume, as a restart leaves it
        await in_run_db(partial(batch_finish, batch=batch, status=Batch.Status.INTERRUPTED))
        raise
    return Answer(started=True)


async def attach(registry: RunRegistry, batch: Batch, watcher: Watcher) -> tuple[list[str], bool]:
    """The grid as it stands, in frames; and whether `watcher` now gets its live frames."""
    session = registry.batch(batch.uuid)
    if session is not None:
        return await session.watch(watcher), True
    # Followed live from here when processes share a channel layer (the consumer's part).
    return await _grid_from_rows(batch, followed=remote.shared_layer() is not None), False


async def ended_grid(batch_id: uuid.UUID) -> list[str] | None:
    """The grid of a batch followed from another process, from its rows once it has ended;
    None while its row says it runs."""
    batch = await in_run_db(partial(Batch.objects.get, uuid=batch_id))
    if batch.status == Batch.Status.RUNNING:
        return None
    return await _grid_from_rows(batch, followed=False)


async def _grid_from_rows(batch: Batch, *, followed: bool) -> list[str]:
    cells = await in_run_db(partial(batch_cells, batch))
    progress = batch_progress(batch, Progress.of(cells, batch.status), running_here=followed)
    columns = summary(cells, len(batch.column_labels))
    return await grid_frames(cells, progress, summary_row(columns))


async def grid_frames(cells: list[CellView], *tail: str) -> list[str]:
    """Every cell, then the progress line and the summary row (`tail`), in frames under the
    bound; rendered off the event loop (a grid has up to 5,000 cells)."""

    def render() -> list[str]:
        pieces = [grid_cell(cell) for cell in cells] + list(tail)
        limit = settings.PLAYGROUND_FRAME_BYTES
        return list(pack((Atom(html, len(html.encode())) for html in pieces), limit))

    return await asyncio.to_thread(render)


async def _again(
    registry: RunRegistry,
    batch: Batch,
    places: list[Place],
    user: AbstractBaseUser,
    session_key: str,
) -> BatchSession:
    """A new session for the batch over `places`, written pending already."""
    cells = await in_run_db(partial(batch_cells, batch))
    return _run(registry, batch, cells, places, user, session_key)


def _run(
    registry: RunRegistry,
    batch: Batch,
    cells: list[CellView],
    places: list[Place],
    user: AbstractBaseUser,
    session_key: str,
) -> BatchSession:
    version = batch.version
    specs = partial(batch_row_specs, batch.form_data, version.columns, version.rows)
    return registry.start_batch(
        batch, cells=cells, queue=places, specs=specs, user=user, session_key=session_key
    )
