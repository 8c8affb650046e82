"""Database faults that a test injects, through real parts: a TCP proxy of the test's own in
front of PostgreSQL that can refuse connections, a write lock held by another SQLite
connection, and a transcript table locked by another PostgreSQL connection."""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
from django.db import connection, connections

TRANSCRIPTS = "transcripts_transcript"


class TcpProxy:
    """Forwards loopback connections to `host:port`. While it refuses, a new connection is
    closed as soon as it is accepted, as an unreachable server looks to a client that
    connects; `restore` lets them through again. Connections already made are left alone
    (the app's writes connect anew for each call, CONN_MAX_AGE being 0 in tests) unless
    `cut`, as a network that goes away cuts them."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.pairs: set[tuple[socket.socket, socket.socket]] = set()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> TcpProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.refuse()
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept(): close() alone does not
        self.listener.close()
        self.thread.join(timeout=5)
        self.cut()

    def refuse(self) -> None:
        with self.lock:
            self.up = False

    def restore(self) -> None:
        with self.lock:
            self.up = True

    def cut(self) -> None:
        """Hang up every connection made so far, at both ends."""
        with self.lock:
            pairs, self.pairs = self.pairs, set()
        for pair in pairs:
            for end in pair:
                _hang_up(end)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # the listener was closed
            with self.lock:
                up = self.up
            if not up:
                client.close()
                continue
            server = socket.create_connection(self.target)
            with self.lock:
                self.pairs.add((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        peer = {client: server, server: client}
        try:
            while True:
                readable, _, _ = select.select([client, server], [], [])
                for end in readable:
                    data = end.recv(65536)
                    if not data:
                        return
                    peer[end].sendall(data)
        except (OSError, ValueError):
            return  # cut: the sockets were closed under us
        finally:
            with self.lock:
                self.pairs.discard((client, server))
            _hang_up(client)
            _hang_up(server)


def _hang_up(end: socket.socket) -> None:
    """Shut down, then close: close() alone neither wakes a select() on the socket in another
    thread nor, while that select() holds it, ends the connection."""
    with contextlib.suppress(OSError):
        end.shutdown(socket.SHUT_RDWR)
    end.close()


class SqliteWriteLock:
    """Another connection holding SQLite's write lock (BEGIN IMMEDIATE) until `release`."""

    def __init__(self, path: str):
        self.path = path
        self.holder: sqlite3.Connection | None = None

    def hold(self) -> None:
        self.holder = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.holder.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        if self.holder is not None:
            self.holder.execute("ROLLBACK")
            self.holder.close()
            self.holder = None


class PostgresTableLock:
    """Another connection holding `LOCK TABLE transcripts_transcript` until `release`."""

    def __init__(self, settings_dict: dict):
        self.settings_dict = settings_dict
        self.holder: psycopg.Connection | None = None

    def hold(self) -> None:
        settings = self.settings_dict
        self.holder = psycopg.connect(
            dbname=settings["NAME"],
            user=settings["USER"],
            password=settings["PASSWORD"],
            host=settings["HOST"] or "127.0.0.1",
            port=settings["PORT"] or 5432,
        )
        self.holder.execute(f"LOCK TABLE {TRANSCRIPTS} IN ACCESS EXCLUSIVE MODE")

    def release(self) -> None:
        if self.holder is not None:
            self.holder.rollback()
            self.holder.close()
            self.holder = None


class DatabaseOutage:
    """The database stops taking writes between `begin` and `end`: on PostgreSQL new
    connections to it (through the test's proxy) are refused; on SQLite another connection
    holds the write lock."""

    def __init__(self, proxy: TcpProxy | None, lock: SqliteWriteLock | None):
        self.proxy = proxy
        self.lock = lock

    def begin(self) -> None:
        if self.proxy is not None:
            self.proxy.refuse()
        else:
            self.lock.hold()

    def end(self) -> None:
        if self.proxy is not None:
            self.proxy.restore()
        else:
            self.lock.release()


@contextlib.contextmanager
def database_through_proxy() -> Iterator[TcpProxy]:
    """Every new connection to the test database, from any thread, goes through a TcpProxy."""
    settings_dict = connection.settings_dict  # one dict, shared by every thread's connection
    host, port = settings_dict["HOST"] or "127.0.0.1", int(settings_dict["PORT"] or 5432)
    with TcpProxy(host, port) as proxy:
        connections.close_all()
        settings_dict["HOST"], settings_dict["PORT"] = "127.0.0.1", str(proxy.port)
        try:
            yield proxy
        finally:
            proxy.restore()
            settings_dict["HOST"], settings_dict["PORT"] = host, str(port)
            connections.close_all()


@contextlib.contextmanager
def database_outage() -> Iterator[DatabaseOutage]:
    """A DatabaseOutage for the database this test runs on; over at the end, whatever
    happened."""
    if connection.vendor == "sqlite":
        lock = SqliteWriteLock(connection.settings_dict["NAME"])
        try:
            yield DatabaseOutage(None, lock)
        finally:
            lock.release()
    else:
        with database_through_proxy() as proxy:
            yield DatabaseOutage(proxy, None)


@contextlib.contextmanager
def transcripts_locked() -> Iterator[SqliteWriteLock | PostgresTableLock]:
    """What holds the transcript table for another connection: LOCK TABLE on PostgreSQL, the
    write lock on SQLite (which locks the whole database). `hold` it; released at the end."""
    if connection.vendor == "sqlite":
        lock: SqliteWriteLock | PostgresTableLock = SqliteWriteLock(
            connection.settings_dict["NAME"]
        )
    else:
        lock = PostgresTableLock(connection.settings_dict)
    try:
        yield lock
    finally:
        lock.release()


@contextlib.contextmanager
def database_unreachable(refused_port: int) -> Iterator[None]:
    """New connections to the database fail, in every thread, as when its server is down: on
    PostgreSQL they are refused, on SQLite the file cannot be opened."""
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        key, value = "NAME", "/nonexistent/playground.sqlite3"
    else:
        key, value = "PORT", str(refused_port)
    saved = settings_dict[key]
    connections.close_all()
    settings_dict[key] = value
    try:
        yield
    finally:
        settings_dict[key] = saved
        connections.close_all()


@contextlib.asynccontextmanager
async def off_the_loop(manager: contextlib.AbstractContextManager) -> AsyncIterator[Any]:
    """A context manager above, in an async test: entered and left off the event loop, where
    Django refuses to touch connections."""
    value = await asyncio.to_thread(manager.__enter__)
    try:
        yield value
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)
