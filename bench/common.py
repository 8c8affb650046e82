"""What the benchmarks share: a simulator in its own process, the app in Daphne, a user."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.helpers import DaphneServer, SimulatorProcess, session_cookie


def socket_headers(url: str, cookie: str) -> dict[str, str]:
    """What a page of the app sends as it opens the socket at `url`: its own origin (scheme,
    host and port must all match) and the session cookie."""
    return {"Origin": f"http://{urlsplit(url).netloc}", "Cookie": f"sessionid={cookie}"}


def ensure_postgres_database(url: str) -> None:
    """Create the PostgreSQL database a benchmark names, if it is not there yet."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    server = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    with psycopg.connect(server, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if exists.fetchone() is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def prepare_database(url: str) -> str:
    """Migrate the database at `url` and return a session cookie for a benchmark user."""
    if url.startswith(("postgres://", "postgresql://")):
        ensure_postgres_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": True})
    return session_cookie(user)


@contextlib.contextmanager
def served_app(database: str | None = None) -> Iterator[tuple[DaphneServer, str]]:
    """The simulator alone and the app in Daphne; yields the server and a session cookie."""
    database = database or f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-')) / 'db.sqlite3'}"
    cookie = prepare_database(database)
    # The simulator alone in its own process, as in production.
    with SimulatorProcess() as simulator:
        endpoints = [{"name": "simulator", "base_url": simulator.base_url}]
        env = {
            "DATABASE_URL": database,
            "PLAYGROUND_ENDPOINTS": json.dumps(endpoints),
            "SIMULATOR_ENABLED": "false",
            "SIMULATOR_MOUNTED": "false",
            "PLAYGROUND_MAX_CONCURRENT_RUNS": "1000",
            "LOG_LEVEL": "WARNING",
        }
        with DaphneServer(**env) as server:
            yield server, cookie
