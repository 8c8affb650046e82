"""How a run's ending reads on the page when the database will not take it at first."""

import pytest
from playwright.sync_api import expect

from ..outages import transcripts_locked

pytestmark = pytest.mark.both_passes


def test_a_run_the_database_did_not_take_says_so_until_it_is_saved(page):
    page.locator('[name="messages-0-content"]').fill("Hello")
    page.locator("#id_model").fill("simulator/chat?tps=20&tokens=30")
    page.get_by_role("button", name="Run").click()
    answer = page.locator("#c0-text")
    expect(answer).to_contain_text("Simulated reply")
    saving = page.locator("#run-meta .saving")
    with transcripts_locked() as lock:
        lock.hold()
        expect(page.locator("#run-status")).to_have_text("completed")
        expect(saving).to_have_text("not saved yet, retrying")
    expect(saving).to_have_text("saved")
    expect(answer).to_contain_text("Simulated reply")
