"""What watching a run from another process adds: the delay from a token's emission to its
arrival on the runner's socket, and on the sockets of W pages on a second process watching
the same run through Redis (snapshot, then the published frames).

Two Daphne processes share one SQLite file and one Redis database (REDIS_URL, default db 15);
the simulator runs alone in benchmark mode (numbered tokens, each stamped with the time it
was written). For each W it prints the runner's p50/p99 added delay and the watchers', and
tokens lost or twice on any watcher (must be 0).

    REDIS_URL=redis://127.0.0.1:6379/15 .venv/bin/python -m bench.watchers \
        [--tokens 250] [--tps 50] [--watchers 1 10]
"""

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import websockets

from tests.helpers import FINAL, DaphneServer, SimulatorProcess, ack_for, appended, form_data

from .common import percentile, prepare_database, socket_headers
from .readers import TOKEN

RUN_ID = re.compile(r'id="current-run" value="([0-9a-f-]+)"')


@contextlib.contextmanager
def two_processes(redis_url: str) -> Iterator[tuple[DaphneServer, DaphneServer, str]]:
    database = f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-')) / 'db.sqlite3'}"
    cookie = prepare_database(database)
    with SimulatorProcess() as simulator:
        env = {
            "DATABASE_URL": database,
            "REDIS_URL": redis_url,
            "PLAYGROUND_ENDPOINTS": json.dumps(
                [{"name": "simulator", "base_url": simulator.base_url}]
            ),
            "SIMULATOR_ENABLED": "false",
            "SIMULATOR_MOUNTED": "false",
            "LOG_LEVEL": "WARNING",
        }
        with DaphneServer(**env) as one, DaphneServer(**env) as two:
            yield one, two, cookie


async def read(socket, delays: list[float], numbers: list[int]) -> None:
    """Every frame to the run's end: each token's delay, and the tokens the page shows (a
    snapshot draws the run's boxes again, so the count starts over with it)."""
    async for message in socket:
        if ack := ack_for(message):
            await socket.send(json.dumps(ack))
        arrived = time.time()
        if 'id="choices"' in message:
            numbers.clear()
        for number, stamp in TOKEN.findall(appended(message)):
            numbers.append(int(number))
            delays.append(arrived - float(stamp))
        if FINAL.search(message):
            return


async def watched_run(one, two, cookie: str, tokens: int, tps: float, watchers: int) -> None:
    runner_url = one.url.replace("http", "ws") + "/ws/run/"
    watcher_url = two.url.replace("http", "ws") + "/ws/run/"
    runner_delays: list[float] = []
    watcher_delays: list[float] = []
    shown: list[list[int]] = [[] for _ in range(watchers)]
    async with contextlib.AsyncExitStack() as stack:
        runner = await stack.enter_async_context(
            websockets.connect(runner_url, additional_headers=socket_headers(runner_url, cookie))
        )
        form = form_data(model=f"simulator/chat?bench=1&tps={tps:g}&tokens={tokens}")
        await runner.send(json.dumps(form))
        while not (match := RUN_ID.search(await runner.recv())):
            pass
        pages = [
            await stack.enter_async_context(
                websockets.connect(
                    watcher_url, additional_headers=socket_headers(watcher_url, cookie)
                )
            )
            for _ in range(watchers)
        ]
        for page in pages:
            await page.send(json.dumps({"action": "attach", "run": match[1]}))
        await asyncio.gather(
            read(runner, runner_delays, []),
            *(
                read(page, watcher_delays, numbers)
                for page, numbers in zip(pages, shown, strict=True)
            ),
        )
    wrong = sum(1 for numbers in shown if numbers != list(range(tokens)))
    ms = [1000 * d for d in runner_delays], [1000 * d for d in watcher_delays]
    print(
        f"W={watchers:>3}: runner added delay p50 {statistics.median(ms[0]):6.1f} ms,"
        f" p99 {percentile(ms[0], 0.99):6.1f} ms; watchers p50 {statistics.median(ms[1]):6.1f}"
        f" ms, p99 {percentile(ms[1], 0.99):6.1f} ms; watchers with a token lost or twice:"
        f" {wrong}",
        flush=True,
    )


def measure(counts: list[int], tokens: int, tps: float, redis_url: str) -> None:
    """A run watched by each of `counts` pages on a second process, one line each."""
    with two_processes(redis_url) as (one, two, cookie):
        print(f"{os.cpu_count()} cores; {tps:g} tokens/s, {tokens} tokens; {redis_url}")
        for watchers in counts:
            asyncio.run(watched_run(one, two, cookie, tokens, tps, watchers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=250, help="tokens per run")
    parser.add_argument("--tps", type=float, default=50, help="tokens per second")
    parser.add_argument("--watchers", type=int, nargs="+", default=[1, 10])
    args = parser.parse_args()
    measure(args.watchers, args.tokens, args.tps, redis_url())


def redis_url() -> str:
    return os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")


if __name__ == "__main__":
    main()
