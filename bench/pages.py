"""How many pages a second one Daphne process serves at 10 connections, with production
settings: the playground page (`GET /`) and the transcript list, its user owning 10,000 runs.

The app runs as bench/relay.py runs it (PLAYGROUND_ENV=production without the https redirect,
DEBUG off, static files collected); 10 clients, each on one kept-alive connection, ask for the
page again as soon as it arrives, for `--seconds`. For each page it prints requests/s,
latency p50/p99, the server's CPU per request and the load average, and writes them into
docs/benchmarks.md (its own section). `--baseline REF [REF ...]` measures the app as each
commit has it too, each on a database of its own, in turns with this checkout's (`--repeats`
rounds of all).

    .venv/bin/python -m bench.pages [--seconds 5] [--connections 10] [--rows 10000]
        [--database URL] [--baseline REF [REF ...]] [--repeats 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

import httpx

from tests.helpers import DaphneServer

from .common import add_app_arguments, apps_of, cpu_seconds, percentile, prepared, write_run
from .targets import collect_static, production_env

ROWS = """
from django.contrib.auth import get_user_model
from playground.transcripts.models import Transcript
user = get_user_model().objects.get(username="bench")
if not Transcript.objects.filter(user=user).exists():
    body = {{"model": "simulator/chat", "messages": [{{"role": "user", "content": "Hello"}}]}}
    Transcript.objects.bulk_create(
        Transcript(user=user, endpoint="simulator", model="simulator/chat", status="completed",
                   request_body=body, form_state={{}}, search_text="Hello",
                   choices=[{{"content": f"Answer {{n}}"}}])
        for n in range({rows})
    )
"""
PAGES = {"GET /": "/", "transcript list": "/transcripts/"}


async def load(url: str, cookie: str, connections: int, seconds: float) -> list[float]:
    """Every request's latency (s), from `connections` clients asking in a loop."""
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    async def client() -> None:
        async with httpx.AsyncClient(cookies={"sessionid": cookie}, timeout=30) as http:
            while time.monotonic() < stop:
                began = time.monotonic()
                response = await http.get(url)
                response.raise_for_status()
                latencies.append(time.monotonic() - began)

    await asyncio.gather(*(client() for _ in range(connections)))
    return latencies


def measure(server: DaphneServer, cookie: str, path: str, args) -> str:
    url = server.url + path
    asyncio.run(load(url, cookie, 1, 0.5))  # warm-up: imports, templates, connections
    before = cpu_seconds(server.process.pid)
    latencies = asyncio.run(load(url, cookie, args.connections, args.seconds))
    cpu = cpu_seconds(server.process.pid) - before
    return (
        f"{len(latencies) / args.seconds:.0f} requests/s, latency p50"
        f" {percentile(latencies, 0.5) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.1f}"
        f" ms, server CPU {cpu / len(latencies) * 1000:.1f} ms per request, load average"
        f" {os.getloadavg()[0]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--rows", type=int, default=10_000)
    add_app_arguments(parser)
    args = parser.parse_args()
    apps = apps_of(args)
    prepared_apps = {label: setup(root, database, args) for label, (root, database) in apps.items()}
    kind = next(iter(prepared_apps.values()))[1]["DATABASE_URL"].split(":", 1)[0]
    lines = [
        f"{args.connections} connections, {args.seconds:g} s per page, {args.rows:,} runs of"
        f" the user's, {args.repeats} round(s); PLAYGROUND_ENV=production,"
        f" SECURE_SSL_REDIRECT=false, DEBUG off, {kind} database; load average"
        f" {os.getloadavg()[0]:.2f} before",
    ]
    for _ in range(args.repeats):
        for label, (root, env, cookie) in prepared_apps.items():
            with DaphneServer(cwd=root, **env) as server:
                for name, path in PAGES.items():
                    lines.append(f"{name}{label}: {measure(server, cookie, path, args)}")
                    print(lines[-1], flush=True)
    if not args.no_write:
        write_run("pages", "Pages, one Daphne process", lines)


def setup(root: Path, database: str | None, args) -> tuple[Path, dict[str, str], str]:
    """A checkout ready to serve: its static files collected, its migrations on `database`
    (default: a new SQLite file), the rows, and a signed-in user's session cookie."""
    folder = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    database = database or f"sqlite:///{folder / 'db.sqlite3'}"
    # An endpoint to offer (production refuses to start with none); these pages never call it.
    endpoints = [{"name": "simulator", "base_url": "http://127.0.0.1:9/v1"}]
    env = {
        **production_env(1),
        "DATABASE_URL": database,
        "PLAYGROUND_ENDPOINTS": json.dumps(endpoints),
    }
    collect_static(root, env)
    (cookie,) = prepared(root, database, env, setup=ROWS.format(rows=args.rows))
    return root, env, cookie


if __name__ == "__main__":
    main()
