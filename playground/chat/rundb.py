"""The database work of runs, on threads of its own, each call one transaction bounded in time.

Every other sync ORM call of the app (channels' `database_sync_to_async`, the async ORM, and the
handshake's session lookup in channels' AuthMiddleware) runs on asgiref's one shared sync
thread: a run's write stuck there behind a lock would hold up every new socket of the process.
A run's row, heartbeats, checkpoints and finish run here instead, so a slow database delays
runs, never the sockets, and a stuck write fails after PLAYGROUND_DB_WRITE_TIMEOUT.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    connections,
    transaction,
)

R = TypeVar("R")

# What a database that is down, locked or too slow raises: worth trying again later.
OUTAGE = (OperationalError, InterfaceError)

# Enough for a burst of finishes; each worker holds at most one database connection.
WORKERS = 8

_executor: ThreadPoolExecutor | None = None
_sqlite_writer = threading.Lock()


async def in_run_db(work: Callable[[], R]) -> R:
    """`work()` in one transaction on a run worker, each wait bounded in time."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="run-db")
    call = database_sync_to_async(_bounded, thread_sensitive=False, executor=_executor)
    return await call(work)


def _bounded(work: Callable[[], R]) -> R:
    # As Django does around a request, here, where `work` sees the connection: one past
    # CONN_MAX_AGE or broken by an outage is replaced (channels' own calls around the thread
    # do not always reach it).
    close_old_connections()
    try:
        return _in_transaction(work)
    finally:
        close_old_connections()


def _in_transaction(work: Callable[[], R]) -> R:
    wait_ms = max(1, round(settings.PLAYGROUND_DB_WRITE_TIMEOUT * 1000))
    with _sqlite_turn(wait_ms), transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # LOCAL, for this transaction only: a global statement_timeout would also cut
                # short migrate and the admin's export. Both in one round trip.
                cursor.execute(
                    f"SET LOCAL statement_timeout = {wait_ms}; SET LOCAL lock_timeout = {wait_ms}"
                )
        return work()


@contextlib.contextmanager
def _sqlite_turn(wait_ms: int) -> Iterator[None]:
    """On SQLite, the run workers' turn at its one write lock, taken in this process first. A
    writer that finds the lock taken polls for it, sleeping up to 100 ms between tries, so
    workers queued on it (starts all at once) left it idle between their sleeps; here the
    next worker is handed it as soon as it is free. Other threads and processes still wait
    on the busy timeout. Bounded like the rest, and failing as SQLite's own wait would."""
    if connection.vendor != "sqlite":
        yield
        return
    if not _sqlite_writer.acquire(timeout=wait_ms / 1000):
        raise OperationalError("database is locked")
    try:
        # SQLite's lock wait is the connection's busy timeout: set before BEGIN IMMEDIATE
        # waits for the write lock. Only runs use these workers' connections.
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {wait_ms}")
        yield
    finally:
        _sqlite_writer.release()


async def close(within: float = 2.0) -> None:
    """Close every worker's connections, then the workers (at test teardown, and once a server
    has drained): with CONN_MAX_AGE, workers keep their connections open between calls. A
    worker still busy after `within` seconds is left to finish, its connection open."""
    global _executor
    executor, _executor = _executor, None
    if executor is None:
        return
    everyone = threading.Barrier(WORKERS)

    def close_own() -> None:
        # Each worker holds one of these until every worker holds one: so each runs exactly one.
        with contextlib.suppress(threading.BrokenBarrierError):
            everyone.wait(timeout=within)
        connections.close_all()

    loop = asyncio.get_running_loop()
    closing = [loop.run_in_executor(executor, close_own) for _ in range(WORKERS)]
    await asyncio.wait(closing, timeout=max(within, 0))
    executor.shutdown(wait=False, cancel_futures=True)
