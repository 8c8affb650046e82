"""A batch's automatic checks: set per column by whoever may change the batch, each finished
cell's verdicts shown in the grid with why, and exported."""

import json

import pytest

from playground.cases.checks import Check, Kind
from playground.cases.models import Batch
from playground.cases.services import batch_check_add

from .test_batch_export import download, finished_batch

pytestmark = pytest.mark.django_db
SCHEMA = {"type": "object", "required": ["city"]}


def add_check(client, batch: Batch, column: int, **fields):
    data = {f"check-{column}-{name}": value for name, value in fields.items()}
    url = f"{batch.get_absolute_url()}checks/{column}/add/"
    response = client.post(url, data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response


def verdicts(page: str, row: int, column: int) -> str:
    cell = page[page.index(f'id="cell-{row}-{column}"') :]
    return cell[: cell.index("</ul>")] if '<ul class="cell-checks">' in cell[:2000] else ""


def test_the_owners_checks_give_each_finished_cell_its_verdicts(client, alice):
    batch = finished_batch(alice)
    json_cell = batch.cells.get(row=0, column=1).transcript
    json_cell.choices[0]["content"] = '{"city": "Oslo"}'
    json_cell.request_body["response_format"] = {"type": "json_object", "schema": SCHEMA}
    json_cell.save()
    client.force_login(alice)
    added = add_check(client, batch, 0, kind="contains", text="oslo", ignore_case="on")
    assert added.headers["HX-Refresh"] == "true", "the page again, every cell with its verdict"
    add_check(client, batch, 0, kind="equals_expected")
    add_check(client, batch, 1, kind="schema")

    page = client.get(batch.get_absolute_url()).content.decode()
    assert "Column 1: chat (2 checks)" in page
    first = verdicts(page, 0, 0)
    assert "<strong>pass</strong> contains &#x27;oslo&#x27;: Has &#x27;oslo&#x27;." in first
    assert "<strong>fail</strong> equals &quot;expected&quot;: Differs from it." in first
    second = verdicts(page, 1, 0)
    assert "<strong>fail</strong> contains" in second
    assert "<strong>n/a</strong> equals &quot;expected&quot;: This row has no" in second
    assert "<strong>pass</strong> is valid against the JSON schema" in verdicts(page, 0, 1)
    assert "Not valid JSON" in verdicts(page, 1, 1)

    records = [json.loads(line) for line in download(client, batch, "jsonl").splitlines()]
    assert records[0]["columns"][1]["checks"] == [
        {
            "check": "is valid against the JSON schema",
            "verdict": "pass",
            "why": "Valid JSON that matches the schema.",
        }
    ]
    assert "pass: contains 'oslo' (Has 'oslo'.); fail: equals" in download(client, batch, "csv")


def test_a_check_that_cannot_run_or_a_member_who_may_not_change_it_is_refused(client, alice, bob):
    batch = finished_batch(alice)
    client.force_login(alice)
    refused = add_check(client, batch, 0, kind="regex", text=r"(a)\1").content.decode()
    assert "write it in RE2 syntax" in refused
    assert 'id="batch-checks"' in refused
    unsaid = add_check(client, batch, 0, kind="contains").content.decode()
    assert "Say what the answer contains." in unsaid
    client.force_login(bob)
    page = client.get(batch.get_absolute_url()).content.decode()
    assert 'class="check-form"' not in page, "bob reads the checks, adds none"
    answer = add_check(client, batch, 0, kind="contains", text="x").content.decode()
    assert "Only the batch&#x27;s owner (or staff) may change its checks." in answer
    batch.refresh_from_db()
    assert batch.checks == []
    batch_check_add(batch=batch, column=1, check=Check(Kind.CONTAINS, "x"))
    assert batch.column_checks(1) == [Check(Kind.CONTAINS, "x")]
    assert batch.column_checks(0) == []
