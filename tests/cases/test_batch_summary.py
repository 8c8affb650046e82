"""The summary row under a batch's grid: per column its pass rate, thumbs up, mean time to first
token, tokens and cost, the best column marked."""

from decimal import Decimal

import pytest

from playground.cases.checks import Check, Kind
from playground.cases.services import batch_check_add
from playground.transcripts.models import Transcript

from .test_batch_export import finished_batch

pytestmark = pytest.mark.django_db


def summary_row(page: str) -> list[str]:
    row = page[page.index('<tr id="batch-summary">') : page.index("</tfoot>")]
    return row.split('class="column-summary')[1:]


def test_the_summary_row_makes_the_best_column_plain_to_see(client, alice):
    batch = finished_batch(alice)
    for column in (0, 1):
        batch_check_add(batch=batch, column=column, check=Check(Kind.CONTAINS, "Oslo"))
    batch_check_add(batch=batch, column=1, check=Check(Kind.NOT_CONTAINS, "fast"))
    batch.cells.filter(row=0, column=0).update(rating=1)
    batch.cells.filter(row=1, column=0).update(rating=-1)
    runs = Transcript.objects.filter(batch_cells__batch=batch, batch_cells__column=0)
    runs.update(time_to_first_token_ms=100, cost=Decimal("0.0125"))
    runs.filter(batch_cells__row=1).update(time_to_first_token_ms=300)
    client.force_login(alice)

    chat, fast = summary_row(client.get(batch.get_absolute_url()).content.decode())
    assert chat.startswith(' best">')
    assert "<strong>Best column</strong>" in chat
    assert "Checks: 1 / 2 pass (50%)" in chat, "Oslo's answer has Oslo; the other's has not"
    assert "Rated good: 1 / 2 (50%)" in chat
    assert "Mean first token: 200 ms" in chat
    assert "Completion tokens: 20" in chat
    assert "Cost: $0.0250" in chat
    assert "Checks: 0 / 2 pass (0%)" in fast, "every answer names its column"
    assert "Rated good: none rated" in fast
    assert "Mean first token: –" in fast
    assert "Cost: no price" in fast
    assert "Best column" not in fast
