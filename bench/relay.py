"""What the relay adds between the upstream and the browser, at 1, 10 and 50 concurrent runs.

The simulator runs alone (its own process) in benchmark mode: numbered tokens at a fixed
50 tokens/s per run, each stamped with the time it was written. The app runs in Daphne.
Websocket clients start C runs at once and read every frame. For each C it prints:
tokens lost or out of order (must be 0), the p50/p99 delay from emission to websocket
arrival, frames per second per stream, and Daphne's CPU seconds per 1,000 tokens.

    .venv/bin/python -m bench.relay [--tokens 250] [--concurrency 1 10 50]
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

from tests.helpers import FINAL, ack_for, appended, form_data

from .common import served_app, socket_headers

TOKEN = re.compile(r" (\d+)@(\d+\.\d+)")


def form(tokens: int, tps: float) -> dict:
    return form_data(model=f"simulator/chat?bench=1&tps={tps:g}&tokens={tokens}")


async def one_run(url: str, cookie: str, tokens: int, tps: float) -> dict:
    headers = socket_headers(url, cookie)
    delays, numbers, frames = [], [], 0
    async with websockets.connect(url, additional_headers=headers, max_size=None) as socket:
        await socket.send(json.dumps(form(tokens, tps)))
        started = time.monotonic()
        async for message in socket:
            if ack := ack_for(message):
                await socket.send(json.dumps(ack))
            arrived = time.time()
            text = appended(message)
            if text:
                frames += 1
                for number, stamp in TOKEN.findall(text):
                    numbers.append(int(number))
                    delays.append(arrived - float(stamp))
            if FINAL.search(message):
                status = FINAL.search(message).group(1)
                break
        elapsed = time.monotonic() - started
    lost = tokens - len(set(numbers))
    disordered = sum(1 for a, b in itertools.pairwise(numbers) if b != a + 1)
    return {
        "status": status,
        "delays": delays,
        "lost": lost,
        "disordered": disordered,
        "frames_per_second": frames / elapsed,
    }


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def phase(url, cookie, concurrency, tokens, tps, server_pid) -> None:
    before = cpu_seconds(server_pid)
    runs = await asyncio.gather(*(one_run(url, cookie, tokens, tps) for _ in range(concurrency)))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=250, help="tokens per run")
    parser.add_argument("--tps", type=float, default=50, help="tokens per second per run")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 50])
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


if __name__ == "__main__":
    main()
