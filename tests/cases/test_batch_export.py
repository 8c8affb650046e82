"""A batch's grid as CSV and as JSONL: a line per test case, each column's answer and run beside
its values, for whoever may see the batch; nothing a spreadsheet would run as a formula."""

import csv
import io
import json

import pytest

from playground.cases.models import Batch, BatchCell
from playground.cases.services import batch_create, data_set_save
from playground.cases.table import Table

from ..factories import make_transcript
from ..helpers import body_of

pytestmark = pytest.mark.django_db

TABLE = Table(["city", "expected"], [["Oslo", "rain"], ["=1+1", ""]])


def finished_batch(owner, **fields) -> Batch:
    """Two test cases by two columns, every cell answered: "<city> in <column>"."""
    version = data_set_save(owner=owner, name="Cities", table=TABLE)
    batch = batch_create(
        owner=owner,
        version=version,
        template={},
        form_data={},
        column_labels=["chat", "fast"],
        concurrency=1,
    )
    for cell in batch.cells.all():
        city = TABLE.rows[cell.row][0]
        run = make_transcript(owner, content=f'{city} in "{batch.column_labels[cell.column]}"')
        cell.status, cell.transcript = BatchCell.Status.DONE, run
        cell.save(update_fields=["status", "transcript"])
    Batch.objects.filter(pk=batch.pk).update(**fields)
    return batch


def download(client, batch: Batch, kind: str) -> str:
    response = client.get(f"{batch.get_absolute_url()}export.{kind}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith(f'.{kind}"')
    assert response.is_async, "streamed as Daphne streams: from an async iterator"
    return body_of(response).decode()


def test_the_csv_has_a_line_per_test_case_and_each_columns_run(client, alice):
    batch = finished_batch(alice)
    client.force_login(alice)
    page = client.get(batch.get_absolute_url()).content.decode()
    assert f'href="{batch.get_absolute_url()}export.csv"' in page
    lines = list(csv.reader(io.StringIO(download(client, batch, "csv"))))
    assert lines[0][:3] == ["#", "city", "expected"]
    assert lines[0][3:10] == [
        "chat: answer",
        "chat: status",
        "chat: finish_reason",
        "chat: ttft_ms",
        "chat: completion_tokens",
        "chat: rating",
        "chat: comment",
    ]
    assert lines[0][10:12] == ["chat: checks", "fast: answer"]
    assert lines[1][:8] == ["1", "Oslo", "rain", 'Oslo in "chat"', "done", "stop", "", "10"]
    assert lines[1][11] == 'Oslo in "fast"'
    assert len(lines) == 3


def test_the_csv_writes_no_formula_a_spreadsheet_would_run(client, alice):
    batch = finished_batch(alice)
    client.force_login(alice)
    second = list(csv.reader(io.StringIO(download(client, batch, "csv"))))[2]
    assert second[1] == "'=1+1", "a variable"
    assert second[3] == '\'=1+1 in "chat"', "an answer"


def test_the_jsonl_has_a_record_per_test_case_with_its_columns_by_label(client, alice):
    batch = finished_batch(alice)
    client.force_login(alice)
    records = [json.loads(line) for line in download(client, batch, "jsonl").splitlines()]
    assert [record["case"] for record in records] == [1, 2]
    first = records[0]
    assert (first["variables"], first["expected"]) == ({"city": "Oslo"}, "rain")
    assert first["columns"][1] == {
        "label": "fast",
        "answer": 'Oslo in "fast"',
        "status": "done",
        "finish_reason": "stop",
        "ttft_ms": None,
        "completion_tokens": 10,
        "rating": None,
        "comment": "",
        "checks": [],
    }
    assert records[1]["variables"] == {"city": "=1+1"}, "JSON is no spreadsheet: as it is"


def test_an_export_is_refused_to_whoever_may_not_see_the_batch(client, alice, bob):
    batch = finished_batch(alice, visibility=Batch.Visibility.PRIVATE)
    client.force_login(bob)
    for kind in ("csv", "jsonl"):
        assert client.get(f"{batch.get_absolute_url()}export.{kind}").status_code == 404
    client.logout()
    assert client.get(f"{batch.get_absolute_url()}export.csv").status_code == 302
