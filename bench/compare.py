"""What a compare's columns add, beside single runs at 1, 10 and 50 concurrent runs.

The simulator runs alone (its own process) in benchmark mode: numbered tokens at a fixed
50 tokens/s per run, each stamped with the time it was written. The app runs in Daphne.
Websocket clients start C runs at once and read every frame. For each C it prints:
tokens lost or out of order (must be 0), the p50/p99 delay from emission to websocket
arrival, frames per second per stream, and Daphne's CPU seconds per 1,000 tokens.

Then one socket runs a compare of --columns columns (a session and a relay per column):
each column's figures are printed beside a single run's, made just before it.

(bench/relay.py was this script until it became the side-by-side with LiteLLM of issue 12.)

    .venv/bin/python -m bench.compare [--tokens 250] [--concurrency 1 10 50] [--columns 4]
"""

import argparse
import asyncio
import itertools
import json
import os
import re
import statistics
import time
from pathlib import Path

import websockets

from tests.helpers import FINAL, ack_for, appended, column_final, compare_data, form_data

from .common import served_app, socket_headers

TOKEN = re.compile(r" (\d+)@(\d+\.\d+)")


def form(tokens: int, tps: float, columns: int = 1) -> dict:
    model = f"simulator/chat?bench=1&tps={tps:g}&tokens={tokens}"
    if columns == 1:
        return form_data(model=model)
    return compare_data(*[{"model": model}] * columns)


async def one_run(url: str, cookie: str, tokens: int, tps: float, columns: int = 1) -> list:
    """One socket's run, or its compare of `columns` columns: a result per column."""
    headers = socket_headers(url, cookie)
    boxes = ["c0-text"] if columns == 1 else [f"k{k}-c0-text" for k in range(columns)]
    finals = [FINAL] if columns == 1 else [column_final(k) for k in range(columns)]
    delays, numbers, frames = [[] for _ in boxes], [[] for _ in boxes], [0] * columns
    statuses: dict[int, str] = {}
    async with websockets.connect(url, additional_headers=headers, max_size=None) as socket:
        await socket.send(json.dumps(form(tokens, tps, columns)))
        started = time.monotonic()
        async for message in socket:
            if ack := ack_for(message):
                await socket.send(json.dumps(ack))
            arrived = time.time()
            for column, box in enumerate(boxes):
                if text := appended(message, box):
                    frames[column] += 1
                    for number, stamp in TOKEN.findall(text):
                        numbers[column].append(int(number))
                        delays[column].append(arrived - float(stamp))
                if final := finals[column].search(message):
                    statuses[column] = final.group(1)
            if len(statuses) == columns:
                break
        elapsed = time.monotonic() - started
    return [
        {
            "status": statuses[column],
            "delays": delays[column],
            "lost": tokens - len(set(numbers[column])),
            "disordered": sum(1 for a, b in itertools.pairwise(numbers[column]) if b != a + 1),
            "frames_per_second": frames[column] / elapsed,
        }
        for column in range(columns)
    ]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def phase(url, cookie, concurrency, tokens, tps, server_pid) -> None:
    before = cpu_seconds(server_pid)
    sockets = await asyncio.gather(*(one_run(url, cookie, tokens, tps) for _ in range(concurrency)))
    runs = [run for runs in sockets for run in runs]
    cpu = cpu_seconds(server_pid) - before
    delays = [delay * 1000 for run in runs for delay in run["delays"]]
    received = len(delays)
    statuses = {run["status"] for run in runs}
    print(
        f"C={concurrency:>3}: {received:>6} tokens, lost {sum(r['lost'] for r in runs)},"
        f" out of order {sum(r['disordered'] for r in runs)}, status {','.join(statuses)};"
        f" added delay p50 {statistics.median(delays):6.1f} ms, p99 {percentile(delays, 0.99):6.1f}"
        f" ms; {statistics.mean(r['frames_per_second'] for r in runs):5.1f} frames/s per"
        f" stream; server CPU {cpu / received * 1000:.3f} s per 1,000 tokens",
        flush=True,
    )


async def compare_phase(url, cookie, columns, tokens, tps) -> None:
    """One socket's compare of `columns` columns (one relay and one session each), each
    column's added delay beside a single run's, started right before it on its own."""
    (single,) = await one_run(url, cookie, tokens, tps)
    compared = await one_run(url, cookie, tokens, tps, columns)
    for name, run in [("single run", single)] + [
        (f"column {k + 1} of {columns}", run) for k, run in enumerate(compared)
    ]:
        delays = [delay * 1000 for delay in run["delays"]]
        print(
            f"{name:>12}: {len(delays):>5} tokens, lost {run['lost']}, out of order"
            f" {run['disordered']}, {run['status']}; added delay p50"
            f" {statistics.median(delays):6.1f} ms, p99 {percentile(delays, 0.99):6.1f} ms;"
            f" {run['frames_per_second']:5.1f} frames/s",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=250, help="tokens per run")
    parser.add_argument("--tps", type=float, default=50, help="tokens per second per run")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--columns", type=int, default=4, help="columns of the compare run")
    args = parser.parse_args()
    with served_app() as (server, cookie):
        from django.conf import settings

        print(
            f"{os.cpu_count()} cores; {args.tps:g} tokens/s per run, {args.tokens} tokens"
            f" per run; relay tick {settings.PLAYGROUND_RELAY_TICK * 1000:g} ms"
        )
        url = server.url.replace("http", "ws") + "/ws/run/"
        # Warm-up: imports, templates and connections, left out of the figures.
        asyncio.run(one_run(url, cookie, 20, 200))
        for concurrency in args.concurrency:
            pid = server.process.pid
            asyncio.run(phase(url, cookie, concurrency, args.tokens, args.tps, pid))
        if args.columns > 1:
            asyncio.run(compare_phase(url, cookie, args.columns, args.tokens, args.tps))


if __name__ == "__main__":
    main()
