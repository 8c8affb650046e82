"""How many tokens per second one unpaced simulator stream and the upstream client sustain.

Starts the simulator alone (its own process, as in production), streams `--tokens` tokens
through playground.upstream.stream_chat a few times, and prints tokens/s and CPU use.

    .venv/bin/python -m bench.stream [--tokens 20000] [--runs 3] [--choices 1] [--key KEY]

With --key the simulator demands that key and the client looks for it in every delta (the
redaction the client does for an endpoint with a key).
"""

import argparse
import asyncio
import os
import resource
import time

from playground.upstream import ContentDelta, Endpoint, ErrorEvent, stream_chat
from tests.helpers import SimulatorProcess


async def one_run(endpoint: Endpoint, tokens: int, choices: int) -> tuple[int, float, float]:
    body = {
        "model": "simulator/chat-fast",
        "messages": [{"role": "user", "content": "benchmark"}],
        "stream": True,
        "n": choices,
        "simulator": {"tokens": tokens, "tps": 0},
    }
    cpu_before = time.process_time()
    started = time.perf_counter()
    received = 0
    async for event in stream_chat(endpoint, body):
        if isinstance(event, ContentDelta):
            received += 1
        elif isinstance(event, ErrorEvent):
            raise SystemExit(f"error: {event}")
    return received, time.perf_counter() - started, time.process_time() - cpu_before


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--choices", type=int, default=1)
    parser.add_argument("--key", default="", help="an API key for the endpoint (none by default)")
    args = parser.parse_args()
    os.environ["BENCH_STREAM_KEY"] = args.key
    with SimulatorProcess(*(["--api-key", args.key] if args.key else [])) as simulator:
        endpoint = Endpoint(name="bench", base_url=simulator.base_url, key_env="BENCH_STREAM_KEY")
        await one_run(endpoint, 200, 1)  # warm-up: connection, imports
        key = "with a key" if args.key else "no key"
        print(f"machine: {os.cpu_count()} cores; one stream, n={args.choices}, unpaced, {key}")
        for run in range(1, args.runs + 1):
            received, elapsed, cpu = await one_run(endpoint, args.tokens, args.choices)
            print(
                f"run {run}: {received} tokens in {elapsed:.2f} s = {received / elapsed:,.0f}"
                f" tokens/s; client CPU {cpu / received * 1e6:.1f} µs/token"
            )
    print(f"simulator process CPU in all: {children_cpu():.2f} s")


if __name__ == "__main__":
    asyncio.run(main())
