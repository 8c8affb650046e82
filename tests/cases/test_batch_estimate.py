"""What Run all would spend, said live on the playground page as its form changes: each column's
cells x max_tokens x n, each limited endpoint's share of the day's tokens, and why the batch
would be refused up front; a field it cannot be made of is named instead."""

import pytest

from ..factories import make_transcript
from ..helpers import compare_data, form_data
from .test_data_sets import MESSAGES, TABLE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_endpoints_setting")]


def estimate(client, data: dict, table: str = TABLE.to_json()) -> str:
    response = client.post("/cases/estimate/", {**data, "cases-table": table})
    assert response.status_code == 200  # htmx swaps no 4xx: the box says what is wrong
    return response.content.decode()


def test_each_column_says_its_cells_times_max_tokens_times_n(client, alice):
    client.force_login(alice)
    said = estimate(client, form_data(MESSAGES, max_tokens="100", n="2"))
    assert "<li>Column 1: 2 cells × up to 100 tokens × n=2 = up to 400 tokens</li>" in said
    assert "left for 24 hours" not in said, "a simulated endpoint has no budget"
    blank = estimate(client, compare_data({}, {"max_tokens": "7"}, messages=MESSAGES))
    assert "Column 1: 2 cells × up to 8,192 tokens × n=1" in blank, "a blank one is the cap"
    assert "Column 2: 2 cells × up to 7 tokens × n=1 = up to 14 tokens" in blank


def test_the_days_tokens_left_are_said_and_a_batch_past_them_refused(client, alice, settings):
    settings.PLAYGROUND_TOKENS_PER_DAY = 1000
    settings.PLAYGROUND_RUNS_PER_MINUTE = 1
    make_transcript(alice, endpoint="scripted", charged_tokens=300)
    client.force_login(alice)
    fits = estimate(client, form_data(MESSAGES, endpoint="scripted", max_tokens="300"))
    assert (
        "2 cells on scripted, up to 600 tokens of the 700 you have left for 24 hours;"
        " at 1 runs a minute, 2 min at least"
    ) in fits
    assert "would stop halfway" not in fits
    too_much = estimate(client, form_data(MESSAGES, endpoint="scripted", max_tokens="400"))
    assert "This batch would stop halfway: 2 cells on scripted, up to 800 tokens" in too_much


def test_a_field_it_cannot_be_made_of_is_named_in_the_box(client, alice):
    client.force_login(alice)
    said = estimate(client, form_data(MESSAGES, max_tokens="lots"))
    assert "No estimate: Column 1, max_tokens: Enter a whole number." in said
    too_many = estimate(client, form_data(MESSAGES, columns="9"))
    assert "No estimate: A compare has 1 to 4 columns." in too_many
    tampered = estimate(client, form_data(MESSAGES), table="[")
    assert "No estimate: " in tampered
    other_field = estimate(client, form_data(MESSAGES, temperature="hot", max_tokens="5"))
    assert "Column 1: 2 cells × up to 5 tokens" in other_field, "its error waits for the run"
