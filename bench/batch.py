"""Run all beside the page: a batch of --rows test cases x --columns columns runs on one
process while the same socket's user starts an interactive run, and the batch must not starve
it. Prints the batch's cells per second, and the interactive run's added delay p50/p99 (from
the simulator's emission of each numbered token to its arrival on the page) beside the same
run made alone just before (the baseline, in the same process).

The app runs in Daphne with DEBUG off (the bench's served app otherwise as bench.compare has
it: SQLite, the simulator in a process of its own); the cells are simulator/chat-fast answers
of --cell-tokens tokens; PLAYGROUND_BATCH_CONCURRENCY is the batch's cells at once.

    .venv/bin/python -m bench.batch [--rows 200] [--columns 2] [--concurrency 3]
        [--cell-tokens 50] [--tokens 250] [--tps 50]
"""

import argparse
import asyncio
import json
import os
import re
import statistics
import time

import websockets

from tests.helpers import ack_for, compare_data

from .common import percentile, served_app, socket_headers
from .compare import one_run

SAY = [{"role": "user", "content": "Say {{word}}"}]
DONE = re.compile(r'data-status="done"')


def saved_version(rows: int) -> int:
    """A data set version of `rows` test cases, the bench user's (the ORM is set up here by
    served_app, on the app's database)."""
    from django.contrib.auth import get_user_model

    from playground.cases.services import data_set_save
    from playground.cases.table import Table

    user = get_user_model().objects.get(username="bench")
    table = Table(["word", "expected"], [[f"w{row}", ""] for row in range(rows)])
    return data_set_save(owner=user, name="bench", table=table, visibility="team").pk


async def run_batch(url: str, cookie: str, version: int, columns: int, tokens: int) -> float:
    """Start the batch and follow its grid to its end; its wall time in seconds."""
    model = f"simulator/chat-fast?tokens={tokens}"
    data = compare_data(*[{"model": model}] * columns, messages=SAY)
    headers = socket_headers(url, cookie)
    async with websockets.connect(url, additional_headers=headers, max_size=None) as socket:
        started = time.monotonic()
        await socket.send(json.dumps({**data, "action": "batch", "batch_version": version}))
        async for message in socket:
            if ack := ack_for(message):
                await socket.send(json.dumps(ack))
            if batch := re.search(r'href="/cases/batches/([0-9a-f-]+)/" id="batch-link"', message):
                await socket.send(json.dumps({"action": "batch_attach", "batch": batch[1]}))
            if DONE.search(message):
                return time.monotonic() - started
    raise RuntimeError("the batch's socket closed before its end")


async def beside(url: str, cookie: str, args: argparse.Namespace, version: int) -> None:
    (alone,) = await one_run(url, cookie, args.tokens, args.tps)
    batch = asyncio.ensure_future(run_batch(url, cookie, version, args.columns, args.cell_tokens))
    await asyncio.sleep(1)  # the batch in full swing
    (during,) = await one_run(url, cookie, args.tokens, args.tps)
    took = await batch
    cells = args.rows * args.columns
    print(f"batch: {cells} cells in {took:.1f} s, {cells / took:.1f} cells/s")
    for name, run in [("run alone", alone), ("run beside it", during)]:
        delays = [delay * 1000 for delay in run["delays"]]
        print(
            f"{name:>14}: {len(delays)} tokens, lost {run['lost']}, {run['status']};"
            f" added delay p50 {statistics.median(delays):6.1f} ms,"
            f" p99 {percentile(delays, 0.99):6.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--columns", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=3)
    parser.add_argument("--cell-tokens", type=int, default=50, help="tokens of a cell's answer")
    parser.add_argument("--tokens", type=int, default=250, help="the interactive run's")
    parser.add_argument("--tps", type=float, default=50, help="the interactive run's pace")
    args = parser.parse_args()
    env = {
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PLAYGROUND_BATCH_CONCURRENCY": str(args.concurrency),
    }
    with served_app(env=env) as (server, cookie):
        version = saved_version(args.rows)
        print(
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; {args.rows} rows x"
            f" {args.columns} columns, {args.concurrency} cells at once, {args.cell_tokens}"
            f" tokens a cell; the interactive run {args.tokens} tokens at {args.tps:g}/s"
        )
        url = server.url.replace("http", "ws") + "/ws/run/"
        asyncio.run(one_run(url, cookie, 20, 200))  # warm-up
        asyncio.run(beside(url, cookie, args, version))
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
