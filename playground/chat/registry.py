"""The runs of this process, keyed by id: the one way to start, stop or watch a run.

There is one registry per running event loop (like the httpx client): a run's task and
sockets belong to the loop they were made on. A slot is taken with no await between the
check and the count, so runs starting at once cannot slip past the process's limit, and the
session's task gives it back when it ends, however it ends.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser

from .services import RunSpec
from .session import EndReason, RunSession, Watcher


class ProcessFull(Exception):
    """This process runs as many runs as it may."""


class RunRegistry:
    def __init__(self) -> None:
        self.sessions: dict[uuid.UUID, RunSession] = {}

    @property
    def active(self) -> int:
        return len(self.sessions)

    def start(self, spec: RunSpec, *, user: AbstractBaseUser, watcher: Watcher) -> RunSession:
        if self.active >= settings.PLAYGROUND_MAX_RUNS_PER_PROCESS:
            raise ProcessFull("The server is at its limit of runs; try again in a moment.")
        session = RunSession(spec=spec, user=user, watcher=watcher)
        self.sessions[session.id] = session
        session.task.add_done_callback(lambda _task: self.sessions.pop(session.id, None))
        return session

    def get(self, run_id: uuid.UUID) -> RunSession | None:
        return self.sessions.get(run_id)

    def stop(self, run_id: uuid.UUID, reason: str = EndReason.USER) -> None:
        if session := self.get(run_id):
            session.stop(reason)

    def detach(self, run_id: uuid.UUID, watcher: Watcher) -> None:
        if session := self.get(run_id):
            session.detach(watcher)


_registries: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RunRegistry] = (
    weakref.WeakKeyDictionary()
)


def get_registry() -> RunRegistry:
    loop = asyncio.get_running_loop()
    if loop not in _registries:
        _registries[loop] = RunRegistry()
    return _registries[loop]
