"""100 runs started at once: do 100 transcripts hold the complete text of every choice?

The simulator runs alone, the app in Daphne (SQLite by default; --database-url for
PostgreSQL). Websocket clients start every run at the same moment, keep what streamed to
them, then the transcripts are read back and compared choice by choice.

    .venv/bin/python -m bench.transcripts [--runs 100] [--choices 2] [--tokens 120]
"""

import argparse
import asyncio
import json
import re
import time

import websockets

from tests.helpers import FINAL, ack_for, appended, form_data

from .common import served_app, socket_headers

STARTED = re.compile(r'href="/transcripts/([0-9a-f-]{36})/"')


async def one_run(url: str, cookie: str, form: dict, choices: int) -> dict:
    headers = socket_headers(url, cookie)
    texts = {index: [] for index in range(choices)}
    uuid = status = None
    async with websockets.connect(url, additional_headers=headers, max_size=None) as socket:
        await socket.send(json.dumps(form))
        async for message in socket:
            if ack := ack_for(message):
                await socket.send(json.dumps(ack))
            uuid = uuid or (STARTED.search(message) and STARTED.search(message).group(1))
            for index in texts:
                texts[index].append(appended(message, f"c{index}-text"))
            if final := FINAL.search(message):
                status = final.group(1)
                break
    return {"uuid": uuid, "status": status, "texts": {i: "".join(t) for i, t in texts.items()}}


async def start_all(url: str, cookie: str, args) -> list[dict]:
    model = f"simulator/chat?tps={args.tps:g}&tokens={args.tokens}"
    forms = [form_data(model=model, n=str(args.choices), seed=str(n)) for n in range(args.runs)]
    return await asyncio.gather(*(one_run(url, cookie, form, args.choices) for form in forms))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--choices", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=120)
    parser.add_argument("--tps", type=float, default=40)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    with served_app(args.database_url) as (server, cookie):
        from django.db import connection

        from playground.transcripts.models import Transcript

        url = server.url.replace("http", "ws") + "/ws/run/"
        started = time.monotonic()
        runs = asyncio.run(start_all(url, cookie, args))
        elapsed = time.monotonic() - started
        rows = {
            str(t.uuid): t for t in Transcript.objects.filter(uuid__in=[r["uuid"] for r in runs])
        }
        complete = mismatched = 0
        for run in runs:
            row = rows.get(run["uuid"])
            saved = {c["index"]: c["content"] for c in row.choices} if row else {}
            if row and row.status == "completed" and saved == run["texts"]:
                complete += 1
            else:
                mismatched += 1
        tokens = sum(len(text.split()) for run in runs for text in run["texts"].values())
        print(
            f"{args.runs} runs x {args.choices} choices at once on {connection.vendor}:"
            f" {elapsed:.1f} s, {tokens} tokens streamed; transcripts found {len(rows)},"
            f" complete and identical to the stream {complete}, missing or different"
            f" {mismatched}; statuses {sorted({r['status'] for r in runs})}"
        )


if __name__ == "__main__":
    main()
