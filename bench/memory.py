"""What a 10 MB answer costs the server in memory: its peak and what stays after the run.

Runs the app in Daphne as `make run` serves it (DEBUG off, SQLite), once from this checkout
and once from a baseline commit (by default where this branch left main), each on a fresh
database. An upstream of the tests' own (tests/hostile.py) sends the answer as fast as it can,
as Markdown paragraphs in 8 KB pieces; a websocket client reads every frame (acknowledging
them when asked, as the page does). For each run it prints the server's resident memory over
its level before the run: the peak (sampled every 10 ms) and 1 s after the final frame.

    .venv/bin/python -m bench.memory [--repeats 3] [--megabytes 10] [--baseline REF]
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import websockets

from tests.helpers import FINAL, ROOT, DaphneServer, ServedApp, ack_for, form_data
from tests.hostile import ScriptedUpstream, chunk, pieces, sse

from .common import export, prepared, socket_headers

MiB = 1024 * 1024
QUIET = 30.0
GIT = shutil.which("git") or "git"


def answer(megabytes: float) -> str:
    paragraph = "Some **bold** words, a `span` of code and plain text. " * 12
    count = int(megabytes * 1_000_000 / (len(paragraph) + 20))
    return "".join(f"Paragraph {n}: {paragraph}\n\n" for n in range(count))


def rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024


async def one_run(url: str, cookie: str, model: str, pid: int) -> tuple[float, float, bool]:
    """The server's peak and after-run memory over its level before, in MiB, and whether
    the page was told the run ended (a server that drops a page whose frame is over
    Daphne's limit never tells it: the run is taken as over after QUIET seconds of silence)."""
    before = peak = rss(pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss(pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    headers = socket_headers(url, cookie)
    told = False
    try:
        async with websockets.connect(url, additional_headers=headers, max_size=None) as page:
            await page.send(json.dumps(form_data(endpoint="scripted", model=model)))
            while not told:
                try:
                    message = await asyncio.wait_for(page.recv(), QUIET)
                except (TimeoutError, websockets.ConnectionClosed):
                    break
                if ack := ack_for(message):
                    await page.send(json.dumps(ack))
                told = bool(FINAL.search(message))
        await asyncio.sleep(1)
    finally:
        done.set()
        sampler.join()
    return (peak - before) / MiB, (rss(pid) - before) / MiB, told


def measure(root: Path, upstream: ServedApp, repeats: int) -> list[tuple[float, float, bool]]:
    database = f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-memory-')) / 'db.sqlite3'}"
    (cookie,) = prepared(root, database)
    endpoints = [{"name": "scripted", "base_url": upstream.base_url}]
    env = {
        "DATABASE_URL": database,
        "PLAYGROUND_ENDPOINTS": json.dumps(endpoints),
        "SIMULATOR_ENABLED": "false",
        "SIMULATOR_MOUNTED": "false",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }
    with DaphneServer(cwd=root, **env) as server:
        url = server.url.replace("http", "ws", 1) + "/ws/run/"
        pid = server.process.pid
        asyncio.run(one_run(url, cookie, "warm-up", pid))  # imports, templates, connections
        return [asyncio.run(one_run(url, cookie, "long", pid)) for _ in range(repeats)]


def report(name: str, runs: list[tuple[float, float, bool]]) -> None:
    peaks, afters = [run[0] for run in runs], [run[1] for run in runs]
    untold = sum(not told for *_, told in runs)
    print(
        f"{name}: peak +{statistics.median(peaks):.0f} MiB, after the run"
        f" +{statistics.median(afters):.0f} MiB (medians; each run peak/after:"
        f" {', '.join(f'+{p:.0f}/+{a:.0f}' for p, a, _ in runs)})"
        + (f"; {untold} of {len(runs)} pages never told the run ended" if untold else ""),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--megabytes", type=float, default=10)
    parser.add_argument("--baseline", help="a commit to compare with (default: main's merge base)")
    args = parser.parse_args()
    baseline = (
        args.baseline
        or subprocess.run(
            [GIT, "merge-base", "HEAD", "main"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    text = answer(args.megabytes)
    parts = [chunk(content=piece) for piece in pieces(text, 8192)]
    with ServedApp(ScriptedUpstream()) as upstream:
        upstream.app.script(
            "warm-up", sse(chunk(content=text[:100_000]), chunk(finish_reason="stop"))
        )
        upstream.app.script("long", sse(*parts, chunk(finish_reason="stop")))
        print(
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; a"
            f" {len(text.encode()) / 1e6:.1f} MB answer in {len(parts)} pieces; DEBUG off,"
            f" SQLite; {args.repeats} runs each after a warm-up",
            flush=True,
        )
        report("this checkout", measure(ROOT, upstream, args.repeats))
        report(f"baseline {baseline[:10]}", measure(export(baseline), upstream, args.repeats))
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
