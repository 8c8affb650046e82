"""What the benchmarks share: a simulator in its own process, the app in Daphne, a user."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.helpers import ROOT, DaphneServer, SimulatorProcess, session_cookie

GIT, TAR = shutil.which("git") or "git", shutil.which("tar") or "tar"
SESSIONS = """
from django.contrib.auth import get_user_model
from django.test import Client
for n in range({users}):
    user, _ = get_user_model().objects.get_or_create(username="bench" + (f"-{{n}}" if n else ""))
    client = Client()
    client.force_login(user)
    print(client.cookies["sessionid"].value)
"""


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
def served_app(
    database: str | None = None, env: dict[str, str] | None = None
) -> Iterator[tuple[DaphneServer, str]]:
    """The simulator alone and the app in Daphne (`env`: more of its settings); yields the
    server and a session cookie."""
    database = database or f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-')) / 'db.sqlite3'}"
    cookie = prepare_database(database)
    # The simulator alone in its own process, as in production.
    with SimulatorProcess() as simulator:
        endpoints = [{"name": "simulator", "base_url": simulator.base_url}]
        settings = {
            "DATABASE_URL": database,
            "PLAYGROUND_ENDPOINTS": json.dumps(endpoints),
            "SIMULATOR_ENABLED": "false",
            "SIMULATOR_MOUNTED": "false",
            "PLAYGROUND_MAX_CONCURRENT_RUNS": "1000",
            # The rate limits off (0): 30 runs a minute would refuse most of C = 50.
            "PLAYGROUND_RUNS_PER_MINUTE": "0",
            "PLAYGROUND_TOKENS_PER_DAY": "0",
            "LOG_LEVEL": "WARNING",
            **(env or {}),
        }
        with DaphneServer(**settings) as server:
            yield server, cookie


def prepared(
    root: Path, database: str, env: dict[str, str] | None = None, setup: str = "", users: int = 1
) -> list[str]:
    """The checkout's migrations on the database, and a session cookie for each of `users`
    users ("bench", "bench-1", ...), made under `env` (the server's own: a session is signed
    with its SECRET_KEY); `setup` is Python run in the checkout's shell after the users exist
    (rows the benchmark needs)."""
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "DJANGO_SETTINGS_MODULE": "playground.settings",
        **(env or {}),
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=root, env=env, check=True)
    script = SESSIONS.format(users=users) + setup
    shell = subprocess.run(
        [*manage, "shell", "-c", script], cwd=root, env=env, check=True, capture_output=True
    )
    return shell.stdout.decode().split()[-users:]


def export(ref: str) -> Path:
    """A commit's files, as committed, in a folder of their own."""
    folder = Path(tempfile.mkdtemp(prefix="bench-baseline-"))
    archive = subprocess.run([GIT, "archive", ref], cwd=ROOT, check=True, capture_output=True)
    subprocess.run([TAR, "-x", "-C", folder], input=archive.stdout, check=True)
    return folder


DOC = ROOT / "docs" / "benchmarks.md"
TITLE = """# Benchmarks

Written by the scripts in bench/, each into its own section (run one again to rewrite it).
Each figure is from one run on one machine, beside whatever else it was doing: read it with
the load average given.
"""


def add_app_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a bench that measures this checkout beside baseline commits."""
    parser.add_argument("--database", help="DATABASE_URL (default: a new SQLite file)")
    parser.add_argument(
        "--baseline",
        nargs="+",
        default=[],
        help="also measure the app as these commits have it (with --database URL, on"
        " URL_baseline1, URL_baseline2, ..., which must exist)",
    )
    parser.add_argument("--repeats", type=int, default=1, help="turns of every app")
    parser.add_argument("--no-write", action="store_true", help="leave docs/benchmarks.md alone")


def apps_of(args: argparse.Namespace) -> dict[str, tuple[Path, str | None]]:
    """This checkout (label "") and each baseline commit's files (" @<ref>"), each with the
    database it is measured on (None: a new SQLite file)."""
    apps: dict[str, tuple[Path, str | None]] = {"": (ROOT, args.database)}
    for number, ref in enumerate(args.baseline, start=1):
        database = args.database and f"{args.database}_baseline{number}"
        apps[f" @{ref[:10]}"] = (export(ref), database)
    return apps


def write_run(name: str, title: str, lines: list[str]) -> None:
    """A bench's lines as its section of docs/benchmarks.md, after when and how it ran."""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    command = " ".join([f"python -m bench.{Path(sys.argv[0]).stem}", *sys.argv[1:]])
    body = "\n".join(f"- {line}" for line in [f"{when}, `{command}`", *lines])
    write_section(name, f"## {title}\n\n{body}\n")


def write_section(name: str, text: str) -> None:
    """Put `text` in docs/benchmarks.md as the section of benchmark `name`, replacing the
    one it had."""
    start, end = f"<!-- bench.{name} -->", f"<!-- /bench.{name} -->"
    doc = DOC.read_text() if DOC.exists() else TITLE
    section = f"{start}\n{text.strip()}\n{end}"
    if start in doc and end in doc:
        before, _, rest = doc.partition(start)
        doc = before + section + rest.partition(end)[2]
    else:
        doc = f"{doc.rstrip()}\n\n{section}\n"
    DOC.write_text(doc)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def process_tree(pid: int) -> list[int]:
    """A process and its descendants (LiteLLM may run its worker as a child)."""
    found = [pid]
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                found += process_tree(int(child))
    return found


def cpu_seconds(pid: int) -> float:
    total = 0
    for each in process_tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")
