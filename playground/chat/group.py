"""A compare run: one session per column, started together by one socket.

The columns' transcripts are written together, in one transaction, by whichever column's task
gets there first: a compare that does not fit the user's limits is refused whole. Otherwise
each column is a run like any other, with its own task, relay, stop and ending, so that one
column's error, stop or slowness never holds up another.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from functools import partial
from typing import TYPE_CHECKING

from django.contrib.auth.base_user import AbstractBaseUser

from playground.transcripts.models import Transcript

from .rundb import in_run_db
from .services import run_open_group

if TYPE_CHECKING:
    from .session import RunSession


class RunGroup:
    def __init__(self, *, user: AbstractBaseUser, session_key: str):
        self.id = uuid.uuid4()
        # What the page names it by to watch it again after a reload: never its id, which a
        # blind compare's frames may not carry (nor any of its runs' ids).
        self.key = secrets.token_urlsafe(16)
        self.user = user
        self.session_key = session_key
        self.sessions: list[RunSession] = []  # in the order they start
        self._opened: asyncio.Future[dict[uuid.UUID, Transcript]] | None = None

    async def open(self, session: RunSession) -> Transcript:
        """The session's transcript, the group's rows written once for all of them; raises
        what the write raised (RunRefused, an outage) in every column alike."""
        if self._opened is None:
            work = partial(
                run_open_group,
                specs=[s.spec for s in self.sessions],
                user=self.user,
                session_key=self.session_key,
                run_ids=[s.id for s in self.sessions],
                group=self.id,
                group_key=self.key,
            )
            self._opened = asyncio.ensure_future(in_run_db(work))
        # Shielded: the write is shared, and no column's task may cancel it for the others.
        rows = await asyncio.shield(self._opened)
        return rows[session.id]

    def others_running(self, session: RunSession) -> bool:
        return any(other.running for other in self.sessions if other is not session)
