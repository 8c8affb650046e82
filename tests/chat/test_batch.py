"""Run all over the run socket: a batch session runs every test case × every column against the
simulator on a real socket, a bounded number at once, each cell a transcript of its own."""

import re

import pytest
from channels.db import database_sync_to_async

from playground.cases.models import Batch, BatchCell
from playground.cases.services import data_set_save
from playground.cases.table import Table
from playground.transcripts.models import Transcript

from ..helpers import Socket, compare_data, eventually, form_data

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry"),
]

PACED = "simulator/chat?tps=200&tokens=8"  # ~40 ms a cell: cells overlap for certain
SLOW = "simulator/chat?tps=20&tokens=2000"  # runs until stopped
SAY = [{"role": "user", "content": "Say {{word}}"}]


@database_sync_to_async
def saved_version(owner, rows: int, visibility: str = "team"):
    table = Table(["word", "expected"], [[f"w{row}", ""] for row in range(rows)])
    return data_set_save(owner=owner, name="words", table=table, visibility=visibility).pk


@database_sync_to_async
def the_batch() -> Batch:
    return Batch.objects.get()


@database_sync_to_async
def cells() -> list[BatchCell]:
    return list(BatchCell.objects.select_related("transcript").order_by("row", "column"))


async def connected(user) -> Socket:
    socket = Socket(user)
    ok, _ = await socket.connect()
    assert ok
    return socket


async def start(socket: Socket, version: int, *columns: dict) -> Batch:
    data = compare_data(*columns, messages=SAY) if len(columns) > 1 else form_data(SAY, **columns[0])
    await socket.send({**data, "action": "batch", "batch_version": version})
    await socket.until('id="batch-link"')
    batch = await the_batch()
    await socket.send({"action": "batch_attach", "batch": str(batch.uuid)})
    return batch


async def ended(status: str = "done", within: float = 20) -> Batch:
    async def over():
        batch = await the_batch()
        return batch if batch.status == status else None

    return await eventually(over, within=within)


def most_at_once(records) -> int:
    """The most requests the simulator had open at one moment."""
    events = sorted([(r.started, 1) for r in records] + [(r.ended, -1) for r in records])
    most = now = 0
    for _, change in events:
        now += change
        most = max(most, now)
    return most


async def test_twenty_rows_by_three_columns_run_three_at_a_time_each_a_transcript(
    alice, simulator
):
    version = await saved_version(alice, 20)
    socket = await connected(alice)
    before = len(simulator.requests)
    columns = [{"model": PACED, "seed": column} for column in range(3)]
    batch = await start(socket, version, *columns)
    await socket.until("60 / 60 done")
    await ended("done")
    await socket.close()

    records = list(simulator.requests)[before:]
    assert len(records) == 60
    assert all(r.outcome == "completed" for r in records)
    assert most_at_once(records) == 3, "the limit, and never more"
    assert batch.concurrency == 3
    grid = await cells()
    assert [(c.row, c.column) for c in grid] == [(r, k) for r in range(20) for k in range(3)]
    assert {c.status for c in grid} == {"done"}
    for cell in grid:
        transcript = cell.transcript
        assert transcript.status == Transcript.Status.COMPLETED
        assert transcript.request_body["messages"] == [
            {"role": "user", "content": f"Say w{cell.row}"}
        ]
        assert transcript.request_body["seed"] == cell.column
        assert transcript.choices[0]["content"]
    frames = "".join(socket.frames)
    assert re.search(r'id="cell-19-2" class="batch-cell done"', frames)


async def test_stop_mid_batch_leaves_no_cell_running(alice, simulator):
    version = await saved_version(alice, 6)
    socket = await connected(alice)
    before = len(simulator.requests)
    batch = await start(socket, version, {"model": SLOW})
    await eventually(lambda: len(list(simulator.requests)[before:]) == 3)
    await socket.until('class="batch-cell running"')
    await socket.send({"action": "batch_stop", "batch": str(batch.uuid)})
    await socket.until('data-status="stopped"')
    await ended("stopped")
    await socket.close()

    grid = await cells()
    assert {c.status for c in grid} == {"stopped"}
    ran = [c for c in grid if c.transcript_id]
    assert len(ran) == 3
    assert {c.transcript.status for c in ran} == {Transcript.Status.STOPPED}
    requests = list(simulator.requests)[before:]
    assert len(requests) == 3, "the queued cells never started"
    await eventually(lambda: all(r.outcome == "client_closed" for r in requests))
