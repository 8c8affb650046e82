"""What the relay adds between the upstream and the browser, beside the upstream read
directly and through LiteLLM's proxy, at C = 1, 10, 50, 100 and 200 concurrent streams.

One simulator process in benchmark mode (numbered tokens at a fixed rate, each stamped with
the time it was written) serves every target: **direct** (clients reading its SSE: the
physical limit), **litellm** (LiteLLM's proxy, one worker, in .venv-bench from
requirements-bench.txt, made on first use) and **ours** (the app in Daphne with production
settings, read through its run socket as the page does; per-user limits raised above C and
printed, and a refused run counted as a failure). `ours-asyncio` and `ours-httpx` turn one
lever back each (uvloop, aiohttp's transport); `--baseline REF` adds the app as commit REF
has it; `--processes 1 2` the app deployed as docs/deploy.md scales it out, that many Daphnes
behind nginx on PostgreSQL and Redis. For each target, C and way of starting (all at once,
spread over 1 s, and a fast upstream of 500 tokens/s that shows coalescing), with the targets
taking turns:

- added delay p50/p99/max: token arrival minus its emission, over the tokens emitted after
  every stream had started; TTFT p50/p99 from the request to the first token; "- direct"
  is the same figure minus the direct reader's in the same phase;
- lost and out-of-order tokens, and streams that did not complete;
- server CPU per 1,000 tokens and resident memory per stream (its peak over the level before);
- glued: the share of tokens that arrived in the same read (SSE chunk or websocket frame) as
  the one before them, against the upstream's own gap (1/tps); frames/s per stream;
- the 1-minute load average as the phase ended.

Its section of docs/benchmarks.md is rewritten: the table, the date, the machine, the load.

    .venv/bin/python -m bench.relay [--concurrency 1 10 50 100 200] [--tokens 150]
        [--targets direct litellm ours] [--repeats 1] [--database URL] [--baseline REF]
        [--processes 1 2 --database postgres://... [--redis URL]]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.helpers import SimulatorProcess

from .common import (
    cpu_seconds,
    ensure_postgres_database,
    percentile,
    process_tree,
    write_section,
)
from .readers import Starter, Stream, bench_model
from .targets import VARIANTS, Direct, litellm_proxy, ours, ours_deployed, production_env

SPREAD = 1.0  # seconds over which the "spread" starts are spaced
FAST_TPS = 500


@dataclass
class Row:
    target: str
    mode: str
    c: int
    tokens: int
    lost: int
    disordered: int
    failed: int
    p50: float
    p99: float
    worst: float
    ttft50: float
    ttft99: float
    cpu: float | None  # server CPU seconds per 1,000 tokens
    rss: float | None  # KiB per stream
    glued: float  # per cent
    fps: float
    load: float


def rss_kib(pids: list[int]) -> int:
    total = 0
    for each in (task for pid in pids for task in process_tree(pid)):
        with contextlib.suppress(OSError, StopIteration):
            status = Path(f"/proc/{each}/status").read_text().splitlines()
            total += int(next(line for line in status if line.startswith("VmRSS")).split()[1])
    return total


class PeakMemory:
    """The largest resident size of process trees together, sampled every 50 ms in a
    thread."""

    def __init__(self, pids: list[int]):
        self.pids, self.peak, self.before = pids, 0, 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        if self.pids:
            self.before = self.peak = rss_kib(self.pids)
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        if self.pids:
            self.thread.join()

    def _sample(self) -> None:
        while not self.done.wait(0.05):
            self.peak = max(self.peak, rss_kib(self.pids))


async def run_phase(target, c: int, mode: str, tokens: int, tps: float) -> tuple[Row, set[str]]:
    model = bench_model(tokens, tps)
    offsets = [i * SPREAD / c if mode == "spread" else 0.0 for i in range(c)]
    streams = [Stream() for _ in range(c)]
    start = Starter(c)
    reads = [
        target.read(model, start, offset, stream, i)
        for i, (offset, stream) in enumerate(zip(offsets, streams, strict=True))
    ]
    deadline = 15 + max(offsets) + 3 * tokens / tps
    cpu_before = sum(map(cpu_seconds, target.pids))
    with PeakMemory(target.pids) as memory:
        tasks = [asyncio.ensure_future(read) for read in reads]
        _, late = await asyncio.wait(tasks, timeout=deadline)
        for task in late:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    cpu = sum(map(cpu_seconds, target.pids)) - cpu_before if target.pids else None
    failures = {s.status for s in streams if s.status != "completed"}
    return summarise(target, c, mode, tokens, tps, streams, cpu, memory), failures


def summarise(target, c, mode, tokens, tps, streams, cpu, memory) -> Row:
    received = sum(len(s.numbers) for s in streams)
    # Streams that never started (refused, cut) are counted as failed, not waited for here.
    everyone = max((s.emitted[0] for s in streams if s.emitted), default=float("inf"))
    delays = [
        (arrived - emitted) * 1000
        for s in streams
        for emitted, arrived in zip(s.emitted, s.arrived, strict=True)
        if emitted >= everyone
    ]
    ttfts = [(s.arrived[0] - s.sent) * 1000 for s in streams if s.arrived]
    pairs = sum(max(0, len(s.reads) - 1) for s in streams)
    glued = sum(a == b for s in streams for a, b in itertools.pairwise(s.reads))
    elapsed = [(s.arrived[-1] - s.sent) for s in streams if len(s.arrived) > 1]
    return Row(
        target=target.name,
        mode=mode if tps != FAST_TPS else f"fast {tps:g}/s",
        c=c,
        tokens=received,
        lost=c * tokens - sum(len(set(s.numbers)) for s in streams),
        disordered=sum(b != a + 1 for s in streams for a, b in itertools.pairwise(s.numbers)),
        failed=sum(s.status != "completed" for s in streams),
        p50=percentile(delays, 0.5),
        p99=percentile(delays, 0.99),
        worst=max(delays, default=float("nan")),
        ttft50=percentile(ttfts, 0.5),
        ttft99=percentile(ttfts, 0.99),
        cpu=cpu / received * 1000 if cpu is not None and received else None,
        rss=(memory.peak - memory.before) / c if target.pids else None,
        glued=100 * glued / pairs if pairs else 0.0,
        fps=statistics.mean(s.frames / t for s, t in zip(streams, elapsed, strict=False))
        if elapsed
        else 0.0,
        load=os.getloadavg()[0],
    )


def median_row(rows: list[Row]) -> Row:
    """Each figure's median over the repeats; losses and failures at their worst."""
    first = asdict(rows[0])
    merged = {}
    for key, value in first.items():
        values = [getattr(row, key) for row in rows]
        if key in ("lost", "disordered", "failed"):
            merged[key] = max(values)
        elif isinstance(value, int | float) and None not in values:
            merged[key] = statistics.median(values)
        else:
            merged[key] = value
    return Row(**merged)


def fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None or value != value else f"{value:.{digits}f}"


HEADER = (
    "| target | start | C | tokens | lost / disordered / failed | delay p50 / p99 / max ms"
    " | p99 − direct | TTFT p50 / p99 ms | TTFT p99 − direct | CPU s / 1k tokens"
    " | CPU ÷ litellm | RSS KiB / stream | glued % | frames/s | load |"
)


def table_line(row: Row, rows: list[Row]) -> str:
    def same(name: str) -> Row | None:
        return next(
            (r for r in rows if r.target == name and r.mode == row.mode and r.c == row.c), None
        )

    direct, litellm = same("direct"), same("litellm")
    minus = direct and row.target != "direct"
    ratio = litellm and row.cpu and litellm.cpu and row.target != "litellm"
    return (
        f"| {row.target} | {row.mode} | {row.c} | {row.tokens} |"
        f" {row.lost} / {row.disordered} / {row.failed} |"
        f" {fmt(row.p50)} / {fmt(row.p99)} / {fmt(row.worst)} |"
        f" {fmt(row.p99 - direct.p99) if minus else '–'} |"
        f" {fmt(row.ttft50)} / {fmt(row.ttft99)} |"
        f" {fmt(row.ttft99 - direct.ttft99) if minus else '–'} |"
        f" {fmt(row.cpu, 3)} | {fmt(row.cpu / litellm.cpu, 2) if ratio else '–'} |"
        f" {fmt(row.rss, 0)} | {fmt(row.glued, 0)} | {fmt(row.fps)} | {row.load:.2f} |"
    )


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if "model name" in ln), "?"
    )
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores ({model}), {system}, Python {platform.python_version()}"


def write_doc(
    args, rows: list[Row], lines: list[str], loads: tuple[float, float], took: float
) -> None:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    text = f"""## The relay, the upstream read directly, and LiteLLM ({args.database_kind})

- **Run:** {when}, {took:.0f} s; `{" ".join(["python -m bench.relay", *sys.argv[1:]])}`
- **Machine:** {machine()}; load average {loads[0]:.2f} before, {loads[1]:.2f} after
- **Settings:** {"; ".join(lines)}

{HEADER}
|{"---|" * 17}
{chr(10).join(table_line(row, rows) for row in rows)}

How to read it: *direct* is clients reading the simulator's SSE themselves, the physical
limit; *litellm* is LiteLLM's proxy in front of the same simulator; *ours* is the app, read
through its run socket as the page does. Delays are over the tokens emitted after every stream
had started; with all starts at once even the direct reader waits behind the burst, so read
*p99 − direct* there. *Glued* is the share of tokens that arrived in the same read as the one
before them: the simulator leaves {1000 / args.tps:g} ms between tokens ({1000 / FAST_TPS:g} ms
in the fast rows), and the relay sends at most one frame per tick, so at 500 tokens/s most are
glued by design (coalescing), and at 50 tokens/s none should be. CPU is the server process's
(and its children's) user and system time per 1,000 tokens delivered; RSS is its peak
resident memory over the level before the phase, per stream. The clients and the simulator
share the same cores.
"""
    # One section per database, so that a run on each keeps both.
    write_section(f"relay-{args.database_kind}", text)


def settings_lines(args, env: dict[str, str], database: str) -> list[str]:
    limits = ", ".join(
        f"{k}={v}" for k, v in env.items() if k.startswith("PLAYGROUND_MAX") or "PER" in k
    )
    return [
        f"{args.tps:g} tokens/s per stream, {args.tokens} tokens per stream; fast rows"
        f" {FAST_TPS} tokens/s x {args.fast_tokens} at C = {', '.join(map(str, args.fast))}",
        f"ours: PLAYGROUND_ENV=production, SECURE_SSL_REDIRECT=false, DEBUG off, static files"
        f" collected, {database.split(':', 1)[0]} database, relay tick 20 ms;"
        f" limits raised: {limits}",
        "litellm: requirements-bench.txt, --num_workers 1, LITELLM_LOCAL_MODEL_COST_MAP=True",
        f"each figure the median of {args.repeats} run(s) of the phase; targets take turns",
    ]


def phases(args) -> list[tuple[str, int, int, float]]:
    planned = [
        (mode, c, args.tokens, args.tps) for mode in ("at once", "spread") for c in args.concurrency
    ]
    return planned + [("at once", c, args.fast_tokens, FAST_TPS) for c in args.fast]


async def measure(targets, args) -> list[Row]:
    rows = []
    for target in targets:  # imports, templates, connections: left out of the figures
        await run_phase(target, 2, "at once", 20, 200)
    for mode, c, tokens, tps in phases(args):
        for target in targets:
            runs = [await run_phase(target, c, mode, tokens, tps) for _ in range(args.repeats)]
            row = median_row([run for run, _ in runs])
            failures = set().union(*(f for _, f in runs))
            rows.append(row)
            print(table_line(row, rows), *sorted(failures)[:3], flush=True)
    for target in targets:
        await target.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 50, 100, 200])
    parser.add_argument("--tokens", type=int, default=150, help="tokens per stream")
    parser.add_argument("--tps", type=float, default=50, help="tokens per second per stream")
    parser.add_argument("--fast", type=int, nargs="*", default=[10], help="C of the fast rows")
    parser.add_argument("--fast-tokens", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--targets",
        nargs="+",
        default=["direct", "litellm", "ours"],
        choices=["direct", "litellm", *VARIANTS],
    )
    parser.add_argument("--database", help="DATABASE_URL for ours (default: a new SQLite file)")
    parser.add_argument("--baseline", help="also measure the app as this commit has it")
    parser.add_argument(
        "--processes",
        type=int,
        nargs="*",
        default=[],
        help="also the app in this many Daphne processes behind nginx (PostgreSQL and Redis)",
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9", help="for --processes")
    parser.add_argument("--no-write", action="store_true", help="leave docs/benchmarks.md alone")
    parser.add_argument(
        "--columns", type=int, default=4, help="then a compare of this many columns (0: none)"
    )
    parser.add_argument(
        "--watchers",
        type=int,
        nargs="*",
        default=[1, 10],
        help="then a run watched by this many pages on a second process, through Redis",
    )
    args = parser.parse_args()
    database = (
        args.database or f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-')) / 'db.sqlite3'}"
    )
    env = production_env(most(args))
    args.database_kind = "PostgreSQL" if database.startswith("postgres") else "SQLite"
    if args.database_kind == "PostgreSQL":
        ensure_postgres_database(database)
    elif args.processes:
        parser.error("--processes needs --database postgres://...: SQLite is one machine's")
    lines = settings_lines(args, env, database)
    print(*lines, sep="\n", flush=True)
    loads, began = [os.getloadavg()[0]], time.monotonic()
    with SimulatorProcess() as simulator, contextlib.ExitStack() as stack:
        targets = [
            stack.enter_context(start(name, simulator.base_url, database, env, args))
            for name in args.targets
        ]
        if args.baseline:
            targets.append(
                stack.enter_context(
                    ours(
                        f"ours@{args.baseline[:10]}",
                        simulator.base_url,
                        database,
                        env,
                        users=most(args),
                        ref=args.baseline,
                    )
                )
            )
        targets += [
            stack.enter_context(
                ours_deployed(
                    n, simulator.base_url, database, {**env, "REDIS_URL": args.redis}, most(args)
                )
            )
            for n in args.processes
        ]
        print(HEADER, flush=True)
        rows = asyncio.run(measure(targets, args))
    loads.append(os.getloadavg()[0])
    if not args.no_write:
        write_doc(args, rows, lines, (loads[0], loads[1]), time.monotonic() - began)
    # Each in a process of its own: Django is set up once per process, on one database.
    common = ["--tokens", str(args.tokens), "--tps", f"{args.tps:g}"]
    if args.columns > 1:
        print(f"\nA compare of {args.columns} columns (bench/compare.py):", flush=True)
        bench_script("compare", *common, "--columns", str(args.columns))
    if args.watchers:
        print("\nWatchers on a second process (bench/watchers.py):", flush=True)
        bench_script("watchers", *common, "--watchers", *map(str, args.watchers))
    if any(row.failed or row.lost for row in rows if row.target.startswith("ours")):
        sys.exit("ours lost tokens or failed streams: see the table")


def bench_script(name: str, *args: str) -> None:
    subprocess.run([sys.executable, "-m", f"bench.{name}", *args], check=True)


def most(args) -> int:
    return max(args.concurrency + args.fast)


def start(name: str, simulator_url: str, database: str, env: dict[str, str], args):
    if name == "direct":
        return contextlib.nullcontext(Direct(simulator_url))
    if name == "litellm":
        models = {bench_model(tokens, tps) for *_, tokens, tps in phases(args)} | {
            bench_model(20, 200)
        }
        return litellm_proxy(simulator_url, sorted(models))
    return ours(name, simulator_url, database, env, users=most(args))


if __name__ == "__main__":
    main()
