"""Run all on the playground page: the table becomes a saved data set version (unless it is one,
unchanged), and the page is told its id to name to the run socket; the batch pages list and
draw the batches under their access rule."""

import json
import uuid

import pytest

from playground.cases.models import Batch, DataSetVersion
from playground.cases.services import (
    BatchTooBig,
    batch_create,
    batch_size_problem,
    data_set_save,
)
from playground.cases.table import Table
from playground.runform import page_state

from ..factories import make_transcript
from ..helpers import compare_data, form_data
from .test_data_sets import MESSAGES, TABLE, post, table_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_endpoints_setting")]


def run_all(client, table: Table, **extra):
    data = {**form_data(messages=MESSAGES), "cases-table": table.to_json(), **extra}
    response = client.post("/cases/run-all/", data)
    assert response.status_code == 200
    return response


def version_named(response) -> int | None:
    header = response.headers.get("HX-Trigger-After-Settle")
    return json.loads(header)["playground:run-all"]["version"] if header else None


def test_run_all_saves_an_unsaved_table_then_names_its_version(client, alice):
    client.force_login(alice)
    response = run_all(client, TABLE, **{"data-set-name": "Cities"})
    version = DataSetVersion.objects.get()
    assert version_named(response) == version.pk
    assert (version.data_set.name, version.rows) == ("Cities", TABLE.rows)
    assert table_in(response.content.decode())["version"] == 1
    assert "Running all of Cities, version 1." in response.content.decode()


def test_run_all_of_a_saved_version_saves_nothing_more(client, alice, bob):
    saved = data_set_save(owner=alice, name="Cities", table=TABLE)
    shown = Table.of_version(saved)
    client.force_login(bob)
    assert version_named(run_all(client, shown)) == saved.pk, "a team member's version, as is"
    edited = shown.edited([["Oslo", "snow"]])
    response = run_all(client, edited)
    assert version_named(response) not in (None, saved.pk), "an edited table: bob's own version"
    assert DataSetVersion.objects.count() == 2


def test_run_all_of_no_test_cases_is_refused_on_the_page(client, alice):
    client.force_login(alice)
    response = run_all(client, Table(["city", "expected"], []))
    assert version_named(response) is None
    assert "Add test cases first: Run all runs each of them." in response.content.decode()
    assert "Start a batch" not in post(client, "show", Table(["city", "expected"], []))


def test_the_batches_page_lists_the_teams_batches_and_links_each_grid(client, alice, bob):
    version = data_set_save(owner=alice, name="Cities", table=TABLE)
    batch = batch_create(
        owner=alice,
        version=version,
        template={},
        form_data=form_data(MESSAGES),
        column_labels=["fast", "slow"],
        concurrency=2,
    )
    Batch.objects.create(
        owner=alice,
        version=version,
        template={},
        form_data={},
        concurrency=1,
        visibility=Batch.Visibility.PRIVATE,
    )
    client.force_login(bob)
    listed = client.get("/cases/batches/").content.decode()
    assert listed.count(batch.get_absolute_url()) == 1, "alice's private batch is not listed"
    grid = client.get(batch.get_absolute_url()).content.decode()
    assert grid.count('class="batch-cell pending"') == 4
    assert "Column 2: slow" in grid
    assert "0 / 4 done" in grid


def test_a_batch_opens_again_in_the_playground_with_its_columns_and_test_cases(client, alice):
    version = data_set_save(owner=alice, name="Cities", table=TABLE)
    data = compare_data(
        {"model": "simulator/chat"}, {"model": "simulator/chat-fast"}, messages=MESSAGES
    )
    batch = batch_create(
        owner=alice,
        version=version,
        template=page_state(data),
        form_data=data,
        column_labels=["chat", "fast"],
        concurrency=2,
    )
    client.force_login(alice)
    grid = client.get(batch.get_absolute_url()).content.decode()
    assert f'href="/?batch={batch.uuid}"' in grid
    assert "Weather in {{city}}?" in grid, "the messages it ran"
    page = client.get(f"/?batch={batch.uuid}").content.decode()
    assert "Weather in {{city}}?" in page
    assert 'value="simulator/chat-fast"' in page, "its second column"
    assert table_in(page)["rows"] == TABLE.rows
    assert table_in(page)["version"] == 1
    assert client.get(f"/?batch={uuid.uuid4()}").status_code == 404


def test_a_batch_past_its_limits_is_refused_saying_by_how_much(alice):
    assert batch_size_problem(0, 2) == "The data set has no test cases: add some first."
    assert batch_size_problem(1_001, 1) == (
        "The data set has 1,001 test cases; a batch runs at most 1,000."
    )
    assert batch_size_problem(1_000, 6) == (
        "1,000 test cases × 6 columns make 6,000 cells; a batch runs at most 5,000."
    )
    assert batch_size_problem(1_000, 5) is None
    empty = data_set_save(owner=alice, name="Empty", table=Table(["city", "expected"], []))
    with pytest.raises(BatchTooBig, match="no test cases"):
        batch_create(
            owner=alice,
            version=empty,
            template={},
            form_data={},
            column_labels=["a"],
            concurrency=1,
        )
    assert not Batch.objects.exists()


def test_a_cells_transcript_links_its_batch_for_whoever_may_see_it(client, alice, bob):
    version = data_set_save(owner=alice, name="Cities", table=TABLE)
    batch = batch_create(
        owner=alice,
        version=version,
        template={},
        form_data={},
        column_labels=["a", "b"],
        concurrency=1,
    )
    run = make_transcript(alice, visibility="team")
    batch.cells.filter(row=1, column=1).update(transcript=run)
    client.force_login(bob)
    page = client.get(run.get_absolute_url()).content.decode()
    assert "Test case 2, column 2 of" in page
    assert f'href="{batch.get_absolute_url()}"' in page
    Batch.objects.filter(pk=batch.pk).update(visibility=Batch.Visibility.PRIVATE)
    assert "of a batch" not in client.get(run.get_absolute_url()).content.decode()
