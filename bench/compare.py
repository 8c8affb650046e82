"""What a compare's columns add: one socket runs a compare of --columns columns (a session
and a relay per column), and each column's figures are printed beside a single run's, made
just before it: tokens lost or out of order (must be 0), the p50/p99 delay from emission to
websocket arrival, frames per second. The simulator runs alone in benchmark mode (numbered
tokens, each stamped with the time it was written); the app runs in Daphne.

bench/relay.py runs this after its table (--columns); alone:

    .venv/bin/python -m bench.compare [--tokens 250] [--tps 50] [--columns 4]
"""

import argparse
import asyncio
import itertools
import json
import os
import re
import statistics
import time

import websockets

from tests.helpers import FINAL, ack_for, appended, column_final, compare_data, form_data

from .common import percentile, served_app, socket_headers

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
    messages = 0
    async with websockets.connect(url, additional_headers=headers, max_size=None) as socket:
        await socket.send(json.dumps(form(tokens, tps, columns)))
        started = time.monotonic()
        async for message in socket:
            messages += 1
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
            "socket_messages_per_second": messages / elapsed,
        }
        for column in range(columns)
    ]


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
            f" {run['frames_per_second']:5.1f} frames/s with its text",
            flush=True,
        )
    # A compare's socket joins its columns' frames that come within one tick (chat/outbox.py).
    print(f"{'the socket':>12}: {compared[0]['socket_messages_per_second']:5.1f} messages/s")


def measure(columns: int, tokens: int, tps: float) -> None:
    """A compare of `columns` columns on one socket, each column beside a single run."""
    with served_app() as (server, cookie):
        from django.conf import settings

        print(
            f"{os.cpu_count()} cores; {tps:g} tokens/s per run, {tokens} tokens per run;"
            f" relay tick {settings.PLAYGROUND_RELAY_TICK * 1000:g} ms"
        )
        url = server.url.replace("http", "ws") + "/ws/run/"
        # Warm-up: imports, templates and connections, left out of the figures.
        asyncio.run(one_run(url, cookie, 20, 200))
        asyncio.run(compare_phase(url, cookie, columns, tokens, tps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=250, help="tokens per run")
    parser.add_argument("--tps", type=float, default=50, help="tokens per second per run")
    parser.add_argument("--columns", type=int, default=4, help="columns of the compare run")
    args = parser.parse_args()
    measure(args.columns, args.tokens, args.tps)


if __name__ == "__main__":
    main()
