"""What a run's start costs in the database: the queries and the CPU of opening a run's
transcript (`run_open`: the session still signs in, the runs going, the per-minute and per-day
limits, the row), as the run workers make it (`rundb`: one transaction, with its timeouts).

Each round starts one run for each of `--users` users (a batch of starts, as 100 at once
bring them), in the app's own process, with production settings (DEBUG off, connections kept,
the limits raised above the bench's as bench/relay.py raises them, so that every check is
made and none refuses); between rounds the runs are marked ended, outside the count. It prints
per start: the queries sent, the CPU of this process (the app's Python: building the queries
and reading their rows), and the wall time (with PostgreSQL's own work, on the same cores).
`--baseline REF [REF ...]` measures the app as each commit has it too, in turns.

    .venv/bin/python -m bench.starts [--users 100] [--rounds 10] [--database URL]
        [--baseline REF [REF ...]] [--repeats 1] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import add_app_arguments, apps_of, prepared, write_run
from .targets import production_env

# Run in each app's own `manage.py shell`, so that a baseline commit runs its own code; it
# leans only on what every measured commit has (run_open, RunSpec, rundb's transaction).
MEASURE = """
import json, time, uuid
from django.contrib.auth import get_user_model
from django.db import connection
from playground.chat.rundb import _bounded
from playground.chat.services import RunSpec, run_open
from playground.transcripts.models import Transcript
from playground.upstream.endpoints import Endpoint

endpoint = Endpoint(name="paid", base_url="http://127.0.0.1:9/v1")
body = {{"model": "m", "messages": [{{"role": "user", "content": "Hello"}}], "max_tokens": 50}}
spec = RunSpec(endpoint=endpoint, body=body, n=1, schema=None, form_state={{}}, most_tokens=50)
users = list(get_user_model().objects.filter(username__startswith="bench").order_by("pk"))
keys = {keys!r}
sent = 0

def count(execute, sql, params, many, context):
    global sent
    sent += 1
    return execute(sql, params, many, context)

def start(user, key):
    return _bounded(lambda: run_open(spec=spec, user=user, session_key=key, run_id=uuid.uuid4()))

start(users[0], keys[0])  # imports and the connection, left out
for _ in range({rounds}):
    Transcript.objects.filter(status="running").update(status="completed")
    sent = 0
    cpu, wall = time.process_time(), time.perf_counter()
    with connection.execute_wrapper(count):
        for user, key in zip(users, keys):
            start(user, key)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(json.dumps({{"queries": sent / len(users), "cpu": cpu / len(users),
                      "wall": wall / len(users)}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100, help="starts per round")
    parser.add_argument("--rounds", type=int, default=10)
    add_app_arguments(parser)
    args = parser.parse_args()
    apps = apps_of(args)
    ready = {label: setup(root, database, args) for label, (root, database) in apps.items()}
    kind = next(iter(ready.values()))[1]["DATABASE_URL"].split(":", 1)[0]
    lines = [
        f"{args.users} starts per round (one per user), {args.rounds} rounds, {args.repeats}"
        f" turn(s) of each app; medians over rounds; PLAYGROUND_ENV=production, DEBUG off,"
        f" {kind} database; load average {os.getloadavg()[0]:.2f} before",
    ]
    for _ in range(args.repeats):
        for label, (root, env, keys) in ready.items():
            lines.append(f"{label.strip() or 'this checkout'}: {measure(root, env, keys, args)}")
            print(lines[-1], flush=True)
    if not args.no_write:
        # One section per database, so that a run on each keeps both.
        name = "PostgreSQL" if kind.startswith("postgres") else "SQLite"
        write_run(f"starts-{name}", f"A run's start, in the database ({name})", lines)


def measure(root: Path, env: dict[str, str], keys: list[str], args) -> str:
    script = MEASURE.format(keys=keys, rounds=args.rounds)
    shell = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=root,
        env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": "playground.settings"},
        check=True,
        capture_output=True,
    )
    lines = shell.stdout.decode().splitlines()
    rounds = [json.loads(line) for line in lines if line.startswith("{")]
    queries, cpu, wall = (
        statistics.median(r[k] for r in rounds) for k in ["queries", "cpu", "wall"]
    )
    spread = [r["cpu"] * 1000 for r in rounds]
    return (
        f"{queries:.1f} queries, CPU {cpu * 1000:.2f} ms, wall {wall * 1000:.2f} ms per start"
        f" (CPU {min(spread):.2f}-{max(spread):.2f} ms over rounds); load average"
        f" {os.getloadavg()[0]:.2f}"
    )


def setup(root: Path, database: str | None, args) -> tuple[Path, dict[str, str], list[str]]:
    """An app's migrations on `database` (default: a new SQLite file) and its users' sessions."""
    database = database or f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-starts-')) / 'db'}"
    endpoints = [{"name": "paid", "base_url": "http://127.0.0.1:9/v1"}]
    env = {
        **production_env(args.users * args.rounds),
        "DATABASE_URL": database,
        "PLAYGROUND_ENDPOINTS": json.dumps(endpoints),
    }
    return root, env, prepared(root, database, env, users=args.users)


if __name__ == "__main__":
    main()
