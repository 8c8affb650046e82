"""Grading a batch's cells in the grid: a rating and a comment by whoever may change the batch,
the cell drawn again with it (or saying why not), and the grade in the exports."""

import re

import pytest

from playground.cases.models import Batch, BatchCell

from .test_batch_export import download, finished_batch

pytestmark = pytest.mark.django_db


def grade(client, batch: Batch, row: int, column: int, **data) -> str:
    url = f"{batch.get_absolute_url()}cells/{row}/{column}/grade/"
    response = client.post(url, data, headers={"HX-Request": "true"})
    assert response.status_code == 200  # htmx swaps no 4xx: the cell says what went wrong
    return response.content.decode()


def test_the_owner_rates_and_comments_a_cell_and_the_export_has_it(client, alice):
    batch = finished_batch(alice)
    client.force_login(alice)
    page = client.get(batch.get_absolute_url()).content.decode()
    assert 'hx-post="cells/1/0/grade/"' in page, "each finished cell has its grade form"
    cell = grade(client, batch, 1, 0, rating="-1", comment="Says <b>nothing</b> of rain")
    assert cell.startswith('<div id="cell-1-0"')
    assert 'aria-pressed="true" aria-label="Bad answer: case 2, column 1"' in cell
    assert 'value="Says &lt;b&gt;nothing&lt;/b&gt; of rain"' in cell
    stored = batch.cells.get(row=1, column=0)
    assert (stored.rating, stored.comment) == (-1, "Says <b>nothing</b> of rain")
    rated = r'<div id="column-summary-0" [^>]*hx-swap-oob="true">.*?Rated good: {}</li>'
    assert re.search(rated.format(r"0 / 1 \(0%\)"), cell, re.S), "the summary counts it at once"
    cleared = grade(client, batch, 1, 0, rating="", comment="")
    assert 'aria-pressed="true"' not in cleared
    assert re.search(rated.format("none rated"), cleared, re.S)
    grade(client, batch, 0, 1, rating="1", comment="right")
    record = download(client, batch, "jsonl").splitlines()[0]
    assert '"label": "fast"' in record
    assert '"rating": 1, "comment": "right"' in record


def test_a_member_who_may_not_change_the_batch_sees_grades_but_gives_none(client, alice, bob):
    batch = finished_batch(alice)
    batch.cells.filter(row=0, column=0).update(rating=1, comment="fine")
    client.force_login(bob)
    page = client.get(batch.get_absolute_url()).content.decode()
    assert 'class="read-only"' in page
    assert '<p class="cell-grade-shown">Rated good. fine</p>' in page
    cell = grade(client, batch, 0, 0, rating="-1")
    assert "Only the batch&#x27;s owner (or staff) may grade its cells." in cell
    assert batch.cells.get(row=0, column=0).rating == 1
    Batch.objects.filter(pk=batch.pk).update(visibility=Batch.Visibility.PRIVATE)
    url = f"{batch.get_absolute_url()}cells/0/0/grade/"
    assert client.post(url, {"rating": "-1"}).status_code == 404


def test_a_bad_grade_or_an_unfinished_cell_is_refused_saying_why(client, alice):
    batch = finished_batch(alice)
    client.force_login(alice)
    cell = grade(client, batch, 0, 0, rating="5")
    assert 'role="alert">Rate the answer thumbs up or thumbs down.' in cell
    long = grade(client, batch, 0, 0, rating="1", comment="<i>" + "x" * 998)
    assert "Ensure this value has at most 1000 characters (it has 1001)." in long
    assert f'value="&lt;i&gt;{"x" * 998}" placeholder' in long, "the comment as typed, kept"
    assert 'aria-invalid="true" aria-describedby="cell-0-0-problem"' in long
    batch.cells.filter(row=0, column=1).update(status=BatchCell.Status.FAILED)
    failed = grade(client, batch, 0, 1, rating="1")
    assert "Only a cell that ran to its end (done) can be graded." in failed
    assert not batch.cells.exclude(rating=None).exists()
