"""The runs of this process, keyed by id: the one way to start, stop or watch a run.

There is one registry per running event loop (like the httpx client): a run's task and
sockets belong to the loop they were made on. A slot is taken with no await between the
check and the count, so runs starting at once cannot slip past the process's limit, and the
session's task gives it back when it ends, however it ends. On shutdown the registry drains
(`drain`, called by `shutdown.py`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser

from playground.cases.grid import CellView
from playground.cases.models import Batch
from playground.cases.services import Place

from . import observe
from .batch import BatchSession
from .group import RunGroup
from .services import ProcessFull, RunSpec
from .session import EndReason, RunSession, Watcher

logger = logging.getLogger(__name__)
__all__ = ["ProcessFull", "RunRegistry", "get_registry"]


class RunRegistry:
    def __init__(self) -> None:
        self.sessions: dict[uuid.UUID, RunSession] = {}
        self.batches: dict[uuid.UUID, BatchSession] = {}
        # Set (and replaced) each time a run of this process ends: what a batch's cell refused
        # for its user's cap waits on.
        self.run_ended = asyncio.Event()
        self.draining = False  # shutting down: no more runs

    @property
    def active(self) -> int:
        return len(self.sessions)

    def start(
        self, spec: RunSpec, *, user: AbstractBaseUser, session_key: str, watcher: Watcher
    ) -> RunSession:
        self._check_room(1)
        session = RunSession(spec=spec, user=user, session_key=session_key, watcher=watcher)
        self._add(session)
        return session

    def start_group(
        self, specs: list[RunSpec], *, user: AbstractBaseUser, session_key: str, watcher: Watcher
    ) -> RunGroup:
        """A compare: one session per column, each a run against the process's limit, all
        or none."""
        self._check_room(len(specs))
        group = RunGroup(user=user, session_key=session_key)
        # Every column is in the group before any task takes its first step (the first one
        # to open writes every column's row).
        group.sessions = [
            RunSession(spec=spec, user=user, session_key=session_key, watcher=watcher, group=group)
            for spec in specs
        ]
        for session in group.sessions:
            self._add(session)
        return group

    def start_batch(
        self,
        batch: Batch,
        *,
        cells: list[CellView],
        queue: list[Place],
        specs: Callable[[int], list[RunSpec]],
        user: AbstractBaseUser,
        session_key: str,
    ) -> BatchSession:
        """A batch's session, which starts its cells here, each against the limits as a run."""
        if self.draining:
            raise ProcessFull("The server is restarting: run again in a moment.")
        session = BatchSession(
            batch=batch,
            cells=cells,
            queue=queue,
            specs=specs,
            user=user,
            session_key=session_key,
            registry=self,
        )
        self.batches[session.id] = session
        session.task.add_done_callback(lambda _task: self.batches.pop(session.id, None))
        return session

    def batch(self, batch_id: uuid.UUID) -> BatchSession | None:
        return self.batches.get(batch_id)

    def _check_room(self, runs: int) -> None:
        if self.draining:
            raise ProcessFull("The server is restarting: run again in a moment.")
        room = settings.PLAYGROUND_MAX_RUNS_PER_PROCESS - self.active
        if runs > room > 0:
            raise ProcessFull(
                f"The server has room for {room} more runs, and this compare needs {runs}:"
                " remove columns, or try again in a moment."
            )
        if runs > room:
            raise ProcessFull("The server is at its limit of runs; try again in a moment.")

    def _add(self, session: RunSession) -> None:
        self.sessions[session.id] = session
        observe.run_started(session)
        session.task.add_done_callback(lambda _task: self._ended(session))

    def _ended(self, session: RunSession) -> None:
        self.sessions.pop(session.id, None)
        self.run_ended.set()
        self.run_ended = asyncio.Event()

    def get(self, run_id: uuid.UUID) -> RunSession | None:
        return self.sessions.get(run_id)

    def group(self, key: str) -> RunGroup | None:
        """The compare whose key the page keeps, while any of its runs is here."""
        groups = (session.group for session in self.sessions.values() if session.group)
        return next((group for group in groups if group.key == key), None)

    def stop(self, run_id: uuid.UUID, reason: str = EndReason.USER) -> None:
        if session := self.get(run_id):
            session.stop(reason)

    def detach(self, run_id: uuid.UUID, watcher: Watcher) -> None:
        if session := self.get(run_id):
            session.detach(watcher)

    async def drain(self, within: float) -> None:
        """Take no more runs, and end each run with what arrived (interrupted: the server
        restarted), its last frame sent, within `within` seconds. A run still saving then is
        given up: its row stays running, with its last checkpoint, until mark_interrupted."""
        self.draining = True
        # Batches first, so that none starts a queued cell as its running ones end.
        batches = list(self.batches.values())
        for batch in batches:
            batch.stop(EndReason.SERVER_RESTART)
        sessions = list(self.sessions.values())
        for session in sessions:
            session.stop(EndReason.SERVER_RESTART)
        tasks = [s.task for s in sessions] + [b.task for b in batches]
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=max(within, 0))
        for task in late:
            logger.error("%s was not saved before the server stopped", task.get_name())
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)


_registries: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RunRegistry] = (
    weakref.WeakKeyDictionary()
)


def get_registry() -> RunRegistry:
    loop = asyncio.get_running_loop()
    if loop not in _registries:
        _registries[loop] = RunRegistry()
    return _registries[loop]


def all_sessions() -> list[RunSession]:
    """The runs of every event loop of this process (one, under Daphne): for the metrics."""
    return [
        session for registry in list(_registries.values()) for session in registry.sessions.values()
    ]
