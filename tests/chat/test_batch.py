"""Run all over the run socket: a batch session runs every test case by every column against the
simulator on a real socket, a bounded number at once, each cell a transcript of its own."""

import asyncio
import json
import re
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command
from django.utils import timezone

from playground.cases.checks import Check, Kind
from playground.cases.models import Batch, BatchCell, DataSetVersion
from playground.cases.services import (
    BatchTaken,
    batch_check_add,
    batch_create,
    batch_take,
    data_set_save,
)
from playground.cases.table import Table
from playground.chat import remote
from playground.chat.batch import resume
from playground.chat.registry import RunRegistry
from playground.chat.sweep import sweep_once
from playground.transcripts.models import Transcript
from playground.transcripts.services import transcripts_review

from ..factories import make_transcript
from ..helpers import (
    Socket,
    client_for,
    column_final,
    compare_data,
    eventually,
    form_data,
    session_cookie,
)
from ..hostile import chunk, sse

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
    """As the socket finds it (find_batch_for_user), its version with it."""
    return Batch.objects.select_related("version__data_set").get()


@database_sync_to_async
def cells() -> list[BatchCell]:
    return list(BatchCell.objects.select_related("transcript").order_by("row", "column"))


async def connected(user) -> Socket:
    socket = Socket(user)
    ok, _ = await socket.connect()
    assert ok
    return socket


async def start(socket: Socket, version: int, *columns: dict) -> Batch:
    data = (
        compare_data(*columns, messages=SAY) if len(columns) > 1 else form_data(SAY, **columns[0])
    )
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


async def test_twenty_rows_by_three_columns_run_three_at_a_time_each_a_transcript(alice, simulator):
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


async def test_a_failed_cell_is_retried_alone(alice, scripted):
    scripted.script("flaky", [b'{"error": {"message": "overloaded"}}'], status=503)
    version = await saved_version(alice, 3)
    socket = await connected(alice)
    batch = await start(socket, version, {"endpoint": "scripted", "model": "flaky"})
    await socket.until("3 / 3 done, 3 failed")
    await ended("done")

    answer = "<img src=x onerror=alert(1)> better now"  # model output: shown as text
    scripted.script("flaky", sse(chunk(content=answer), chunk(finish_reason="stop")))
    # Set on the page meanwhile: the cell's frame has its verdict.
    check = Check(Kind.CONTAINS, "better")
    await database_sync_to_async(batch_check_add)(batch=batch, column=0, check=check)
    await socket.send({"action": "batch_retry", "batch": str(batch.uuid), "row": "1"})
    await socket.until("Only a failed, stopped or not run cell can be run again.")
    await socket.send(
        {"action": "batch_retry", "batch": str(batch.uuid), "row": "1", "column": "0"}
    )
    await socket.until("3 / 3 done, 2 failed")
    await ended("done")
    await socket.close()

    grid = await cells()
    assert [c.status for c in grid] == ["failed", "done", "failed"]
    assert grid[1].transcript.choices[0]["content"] == answer
    escaped = "&lt;img src=x onerror=alert(1)&gt; better now"
    assert escaped in "".join(socket.frames)
    assert "<strong>pass</strong> contains &#x27;better&#x27;" in "".join(socket.frames)
    assert "<img" not in "".join(socket.frames)
    as_alice = await database_sync_to_async(client_for)(alice)
    page = await database_sync_to_async(as_alice.get)(batch.get_absolute_url())
    assert escaped in page.content.decode()
    assert "<img" not in page.content.decode()
    assert [c.transcript.status for c in grid] == ["error", "completed", "error"]
    assert len(scripted.scripts["flaky"].requests) == 1, "only the retried cell ran again"


async def test_a_shutdown_leaves_the_unstarted_cells_not_run_and_the_batch_resumes(
    alice, settings, run_registry
):
    settings.PLAYGROUND_BATCH_CONCURRENCY = 1
    version = await saved_version(alice, 2)
    socket = await connected(alice)
    batch = await start(socket, version, {"model": "simulator/chat?tps=20&tokens=10"})
    await socket.until('id="cell-0-0" class="batch-cell running"')
    await run_registry.drain(within=5)
    await socket.until('data-status="interrupted"')
    await socket.close()
    batch = await ended("interrupted")
    grid = await cells()
    assert [c.status for c in grid] == ["stopped", "not_run"]
    assert grid[0].transcript.status == Transcript.Status.INTERRUPTED

    key = await database_sync_to_async(session_cookie)(alice)
    another_process = RunRegistry()
    answer = await resume(another_process, user=alice, session_key=key, batch=batch)
    assert answer.problem is None
    await asyncio.wait_for(another_process.batch(batch.uuid).task, timeout=10)
    await ended("done")
    grid = await cells()
    assert [c.status for c in grid] == ["done", "done"]
    assert await database_sync_to_async(Transcript.objects.count)() == 3


@database_sync_to_async
def made_batch(owner, version: int, **fields) -> Batch:
    batch = batch_create(
        owner=owner,
        version=DataSetVersion.objects.get(pk=version),
        template={},
        form_data=form_data(SAY),
        column_labels=["simulator/chat"],
        concurrency=1,
    )
    Batch.objects.filter(pk=batch.pk).update(**fields)
    return Batch.objects.get(pk=batch.pk)


async def test_the_sweep_marks_a_batch_whose_process_died_interrupted(alice):
    version = await saved_version(alice, 2)
    old = timezone.now() - timedelta(seconds=120)
    dead = await made_batch(alice, version, heartbeat_at=old)
    alive = await made_batch(alice, version)
    await sweep_once(stale_after=40)
    statuses = await database_sync_to_async(dict)(Batch.objects.values_list("pk", "status"))
    assert statuses == {dead.pk: "interrupted", alive.pk: "running"}
    left = BatchCell.objects.filter(batch=dead).values_list("status", flat=True)
    assert await database_sync_to_async(list)(left) == ["not_run", "not_run"]


async def test_a_batch_that_no_process_runs_is_taken_by_one_alone(alice):
    """Retry and Resume of a batch that ended take it with one conditional UPDATE: a second
    process taking it then finds it running."""
    version = await saved_version(alice, 2)
    batch = await made_batch(alice, version, status="stopped")
    statuses = {0: BatchCell.Status.DONE, 1: BatchCell.Status.NOT_RUN}
    for row, status in statuses.items():
        await BatchCell.objects.filter(batch=batch, row=row).aupdate(status=status)
    take = database_sync_to_async(batch_take)

    assert await take(batch=batch, place=(0, 0)) == [], "a done cell is not run again"
    assert (await the_batch()).status == "stopped", "left as it was"
    assert await take(batch=batch) == [(1, 0)]
    assert (await the_batch()).status == "running"
    with pytest.raises(BatchTaken):
        await take(batch=batch)
    with pytest.raises(BatchTaken):
        await take(batch=batch, place=(1, 0))


async def test_a_batch_whose_process_does_not_answer_is_left_to_the_sweep(alice, monkeypatch):
    """Its row says it runs, and no process answers for it (its process died a moment ago):
    the page is told, and nothing is taken before the sweep has marked it."""
    monkeypatch.setattr(remote, "ANSWER_WAIT", 0.2)
    version = await saved_version(alice, 1)
    batch = await made_batch(alice, version)
    socket = await connected(alice)
    await socket.send({"action": "batch_resume", "batch": str(batch.uuid)})
    await socket.until("The server process that runs this batch does not answer")
    await socket.send(
        {"action": "batch_retry", "batch": str(batch.uuid), "row": "0", "column": "0"}
    )
    await socket.until("does not answer")  # a notice of its own
    await socket.close()
    assert (await the_batch()).status == "running"
    assert [c.status for c in await cells()] == ["pending"]


async def test_a_resumed_batch_is_drawn_with_the_cells_it_queued_pending(alice):
    version = await saved_version(alice, 2)
    batch = await made_batch(alice, version, status="interrupted")  # one cell at a time
    await BatchCell.objects.filter(batch=batch).aupdate(status=BatchCell.Status.NOT_RUN)
    socket = await connected(alice)
    await socket.send({"action": "batch_resume", "batch": str(batch.uuid)})
    await socket.until('id="cell-1-0" class="batch-cell pending"')
    await socket.until('data-status="done"')
    await socket.close()
    assert [c.status for c in await cells()] == ["done", "done"]


async def test_a_resume_of_a_batch_run_to_its_end_meanwhile_draws_it_as_it_stands(alice):
    """Another page (on any process) resumed it, and it ended, while this page showed it
    interrupted: this page is told, and drawn the batch as it is now."""
    version = await saved_version(alice, 1)
    batch = await made_batch(alice, version, status="done")
    await BatchCell.objects.filter(batch=batch).aupdate(status=BatchCell.Status.DONE)
    socket = await connected(alice)
    await socket.send({"action": "batch_resume", "batch": str(batch.uuid)})
    drawn = await socket.until('id="cell-0-0" class="batch-cell done"')
    assert 'data-status="done"' in drawn
    await socket.until("Every cell of this batch has run")
    await socket.close()


async def test_a_batch_is_shown_and_changed_under_its_access_rule(alice, bob):
    version = await saved_version(alice, 1, visibility="private")
    private = await made_batch(alice, version, status="done")  # as its data set is
    assert private.visibility == "private"
    team = await made_batch(alice, version, status="done", visibility="team")
    as_bob = await database_sync_to_async(client_for)(bob)
    page = await database_sync_to_async(as_bob.get)(f"/cases/batches/{team.uuid}/")
    assert page.status_code == 200
    assert 'id="cell-0-0"' in page.content.decode()
    assert 'id="batch-stop-form"' not in page.content.decode(), "bob may not change it"
    hidden = await database_sync_to_async(as_bob.get)(f"/cases/batches/{private.uuid}/")
    assert hidden.status_code == 404

    socket = await connected(bob)
    await socket.send({"action": "batch_attach", "batch": str(private.uuid)})
    await socket.until("No such batch, or it is not shared with you.")
    await socket.send({"action": "batch_resume", "batch": str(team.uuid)})
    await socket.until("only its owner \\(or staff\\) may change it")
    await socket.send({**form_data(SAY), "action": "batch", "batch_version": version})
    await socket.until("No such data set version, or it is not shared with you")
    await socket.close()
    assert await database_sync_to_async(Batch.objects.count)() == 2


async def test_a_test_case_the_form_refuses_fails_its_cells_saying_why(alice):
    table = Table(["word", "expected"], [["sun", ""], ["", ""], ["rain", ""]])
    saved = await database_sync_to_async(data_set_save)(owner=alice, name="gaps", table=table)
    socket = await connected(alice)
    await start(socket, saved.pk, {"model": PACED})
    await socket.until("3 / 3 done, 1 failed")
    await socket.close()
    grid = await cells()
    assert [c.status for c in grid] == ["done", "failed", "done"]
    assert grid[1].problem.startswith("Test case 2: word: {{word}} has no value")
    assert grid[1].transcript_id is None


async def test_a_first_test_case_the_form_refuses_starts_nothing(alice):
    table = Table(["word", "expected"], [["", ""], ["sun", ""]])
    saved = await database_sync_to_async(data_set_save)(owner=alice, name="gaps", table=table)
    socket = await connected(alice)
    await socket.send({**form_data(SAY, model=PACED), "action": "batch", "batch_version": saved.pk})
    frame = await socket.until('id="id_var-word_error"')
    assert "{{word}} has no value" in frame
    await socket.close()
    assert await database_sync_to_async(Batch.objects.count)() == 0


async def test_a_cell_refused_for_its_users_cap_waits_for_a_run_to_end(alice, settings):
    settings.PLAYGROUND_MAX_CONCURRENT_RUNS = 2  # the batch runs one cell at a time
    compare = await connected(alice)
    await compare.send(compare_data({"model": SLOW}, {"model": SLOW}))
    for column in range(2):
        await compare.until(rf'beforeend:#k{column}-c0-text-\d+">')
    version = await saved_version(alice, 2)
    socket = await connected(alice)
    await start(socket, version, {"model": PACED})
    await socket.until("Waiting: You have 2 runs going, the most allowed at once")
    assert (await the_batch()).status == "running"

    await compare.send({"action": "stop"})
    # Read (and acknowledged) as a page does, in whichever order the columns end: a run holds
    # its last frames for a page that acknowledges nothing, and counts as going until then.
    while not all(column_final(k).search("".join(compare.frames)) for k in range(2)):
        await compare.receive()
    await socket.until("2 / 2 done")
    await ended("done")
    await compare.close()
    await socket.close()
    grid = await cells()
    assert [(c.status, c.problem) for c in grid] == [("done", ""), ("done", "")]
    assert {c.transcript.status for c in grid} == {Transcript.Status.COMPLETED}


async def test_a_cell_past_the_per_minute_limit_waits_for_the_window_to_move_on(
    alice, scripted, settings
):
    settings.PLAYGROUND_RUNS_PER_MINUTE = 1
    scripted.script("paced", sse(chunk(content="in time"), chunk(finish_reason="stop")))
    # A run started almost a minute ago: the limit lets the next one go in about a second.
    almost = timezone.now() - timedelta(seconds=59)
    await database_sync_to_async(make_transcript)(alice, endpoint="scripted", created_at=almost)
    version = await saved_version(alice, 1)
    socket = await connected(alice)
    await start(socket, version, {"endpoint": "scripted", "model": "paced"})
    await socket.until("Waiting: You have started 1 runs on scripted in the last minute")
    await socket.until("1 / 1 done")
    await ended("done")
    await socket.close()
    (cell,) = await cells()
    assert (cell.status, cell.transcript.choices[0]["content"]) == ("done", "in time")


async def test_a_cells_run_is_watched_live_from_its_transcript_and_outlives_that_page(
    alice, run_registry
):
    version = await saved_version(alice, 1)
    socket = await connected(alice)
    batch = await start(socket, version, {"model": SLOW})
    await socket.until('class="batch-cell running"')
    (cell,) = await cells()
    page = await connected(alice)
    await page.send({"action": "attach", "run": str(cell.transcript_id)})
    await page.until(r'beforeend:#c0-text-\d+">')
    await page.until(r'beforeend:#c0-text-\d+">')  # the snapshot, then live text
    await page.close()

    run = run_registry.get(cell.transcript_id)
    assert run.running, "no page left, but the batch holds it"
    assert run.stop_reason is None
    await socket.send({"action": "batch_stop", "batch": str(batch.uuid)})
    await ended("stopped")
    await socket.close()


async def test_a_batch_past_the_days_tokens_is_refused_up_front_saying_by_how_much(
    alice, scripted, settings
):
    settings.PLAYGROUND_TOKENS_PER_DAY = 1000
    await database_sync_to_async(make_transcript)(alice, endpoint="scripted", charged_tokens=300)
    version = await saved_version(alice, 4)
    socket = await connected(alice)
    paced = {"endpoint": "scripted", "model": "paced", "max_tokens": "100"}
    too_many = form_data(SAY, **paced, n="2")
    await socket.send({**too_many, "action": "batch", "batch_version": version})
    refused = await socket.until("would stop halfway")
    assert "4 cells on scripted, up to 800 tokens of the 700 you have left for 24 hours" in refused
    assert not await database_sync_to_async(Batch.objects.exists)(), "nothing written"

    scripted.script("paced", sse(chunk(content="ok"), chunk(finish_reason="stop")))
    await start(socket, version, {**paced, "n": "1"})  # 400 tokens fit: it starts, and says so
    started = "".join(socket.frames)
    assert "4 cells on scripted, up to 400 tokens of the 700 you have left for 24 hours" in started
    await ended("done")
    await socket.close()


def column_summary(column: int, says: str) -> str:
    """A frame's summary of one column, saying `says` (a pattern)."""
    return rf'id="column-summary-{column}"(?:(?!</div>)[\s\S])*{says}'


GRADED = column_summary(0, r"Rated good: 1 / 1 \(100%\)")


async def graded_mid_batch(alice, settings, scripted) -> tuple[Socket, Batch]:
    """A batch whose first cell ended and was rated good on its page while the second runs;
    the summary row live up to then."""
    settings.PLAYGROUND_BATCH_CONCURRENCY = 1  # the held cell ends, then the slow one runs
    held = scripted.script("held", sse(chunk(content="ok"), chunk(finish_reason="stop")))
    held.held_after = 1  # its first token, then held until the test releases it
    version = await saved_version(alice, 1)
    socket = await connected(alice)
    columns = {"endpoint": "scripted", "model": "held"}, {"model": SLOW}
    batch = await start(socket, version, *columns)
    await socket.until('id="cell-0-0" class="batch-cell running"')
    assert re.search(column_summary(0, "Mean first token: –"), "".join(socket.frames))
    held.release.set()
    await socket.until(column_summary(0, r"Mean first token: \d+ ms"))  # live, as it ended
    running = 'id="cell-0-1" class="batch-cell running"'
    if running not in "".join(socket.frames):  # it may have come before the summary
        await socket.until(running)
    as_alice = await database_sync_to_async(client_for)(alice)
    url = f"{batch.get_absolute_url()}cells/0/0/grade/"
    await database_sync_to_async(as_alice.post)(url, {"rating": "1", "comment": "crisp"})
    assert not re.search(GRADED, "".join(socket.frames))
    return socket, batch


async def test_the_summary_row_is_live_and_a_page_that_attaches_gets_it_graded(
    alice, settings, scripted
):
    socket, batch = await graded_mid_batch(alice, settings, scripted)
    page = await connected(alice)
    await page.send({"action": "batch_attach", "batch": str(batch.uuid)})
    drawn = await page.until('id="cell-0-0"')
    assert 'value="crisp"' in drawn, "the session's cell, with the grade from the database"
    assert 'aria-pressed="true" aria-label="Good answer: case 1, column 1"' in drawn
    await eventually(lambda: re.search(GRADED, "".join(page.frames)))
    await socket.send({"action": "batch_stop", "batch": str(batch.uuid)})
    await ended("stopped")
    await page.close()
    await socket.close()


async def test_a_grade_given_while_the_batch_runs_reaches_its_live_summary(
    alice, settings, scripted
):
    """Saved by a page's request (on whichever process), read by the session: the page that
    watched all along, with no other page attaching, sees it counted."""
    socket, batch = await graded_mid_batch(alice, settings, scripted)
    await socket.send({"action": "batch_stop", "batch": str(batch.uuid)})
    await socket.until(GRADED)
    await ended("stopped")
    await socket.close()


async def test_an_approved_cells_run_goes_into_the_fine_tuning_export(alice, staff, tmp_path):
    version = await saved_version(alice, 2)
    socket = await connected(alice)
    await start(socket, version, {"model": PACED})
    await ended("done")
    await socket.close()
    first, _ = await cells()
    reviewed = Transcript.objects.filter(pk=first.transcript.pk)
    await database_sync_to_async(transcripts_review)(reviewed, state="approved", reviewer=staff)

    exported = tmp_path / "approved.jsonl"
    await database_sync_to_async(call_command)("export_transcripts", output=str(exported))
    (record,) = [json.loads(line) for line in exported.read_text().splitlines()]
    answer = first.transcript.choices[0]["content"]
    assert record["messages"] == [
        {"role": "user", "content": "Say w0"},  # its test case's values put in
        {"role": "assistant", "content": answer},
    ]
