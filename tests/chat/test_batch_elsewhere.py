"""A batch run by another "process" (a registry of its own, on the services' Redis channel layer)
and a page on this one: its Retry reaches the batch as its session ends, and is run there by
a new session, which the page follows from its start."""

import pytest
from channels.db import database_sync_to_async

from playground.cases.models import Batch, BatchCell, DataSetVersion
from playground.cases.services import data_set_save
from playground.cases.table import Table
from playground.chat import batch as batches
from playground.chat.registry import RunRegistry

from ..helpers import Socket, compare_data, session_cookie
from ..hostile import chunk, sse

pytestmark = [
    pytest.mark.services_only,  # a layer that processes share
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry"),
]
SAY = [{"role": "user", "content": "Say {{word}}"}]


@database_sync_to_async
def one_row(owner) -> DataSetVersion:
    table = Table(["word", "expected"], [["w0", ""]])
    version = data_set_save(owner=owner, name="words", table=table)
    return DataSetVersion.objects.select_related("data_set").get(pk=version.pk)


@pytest.fixture
async def there():
    """The other process's registry; its batches awaited at the end."""
    registry = RunRegistry()
    yield registry
    await registry.drain(within=5)


async def test_a_retry_that_reaches_a_batch_as_it_ends_is_run_there_anew(alice, scripted, there):
    scripted.script("held", sse(chunk(content="kept"), chunk(finish_reason="stop")), held_after=1)
    scripted.script("flaky", [b'{"error": {"message": "overloaded"}}'], status=503)
    columns = [{"endpoint": "scripted", "model": model} for model in ("held", "flaky")]
    started = await batches.begin(
        there,
        user=alice,
        session_key=await database_sync_to_async(session_cookie)(alice),
        version=await one_row(alice),
        data=compare_data(*columns, messages=SAY),
        labels=["held", "flaky"],
    )
    page = Socket(alice)
    assert (await page.connect())[0]
    named = {"batch": str(started.id)}
    await page.send({"action": "batch_attach", **named})
    await page.until('id="cell-0-1" class="batch-cell failed"')
    scripted.script("flaky", sse(chunk(content="better now"), chunk(finish_reason="stop")))

    # In this order on the batch's control channel: the retry finds the batch stopping.
    await page.send({"action": "batch_stop", **named})
    await page.send({"action": "batch_retry", **named, "row": "0", "column": "1"})
    frame = await page.until('id="cell-0-1" class="batch-cell done"')
    assert "better now" in frame
    await page.until('data-status="stopped"')  # the new session's end, followed from here
    await page.close()

    assert started.task.done()
    status = await Batch.objects.values_list("status", flat=True).aget()
    assert status == Batch.Status.STOPPED  # its first cell was stopped
    cells = BatchCell.objects.order_by("column").values_list("status", flat=True)
    assert [status async for status in cells] == ["stopped", "done"]
    assert len(scripted.scripts["flaky"].requests) == 1, "the retried cell ran once"
