"""Run all in Chromium: a CSV imported as test cases, two columns, what they would spend said as
max_tokens changes, every case run on the server into a grid that fills live with its summary
row (the first column's answers go on until Stop), two cells rated (a refused comment kept)
and the grid exported, and the same grid opened from its link by another member."""

import re

from playwright.sync_api import expect

from playground.cases.models import Batch

from .conftest import signed_in_context

SLOW = "simulator/chat?tps=20&tokens=2000"  # goes on until stopped
CSV = b'word,expected\nsun,"a star"\nmoon,"a rock, mostly"\nrain,water\n'


def test_run_all_fills_a_grid_that_a_team_member_opens_from_its_link(page, live_url, bob):
    page.locator('[name="messages-0-content"]').fill("Say {{word}}")
    page.locator("#id_model").fill(SLOW)
    page.get_by_role("button", name="Add column").click()
    page.locator("#k1 summary").click()
    page.locator("#id_k1-model").fill("simulator/chat-fast?tokens=3")

    table = page.locator("#cases")
    expect(table).to_contain_text("No test cases yet")  # redrawn with the word's column
    table.get_by_text("Paste or import").click()
    upload = {"name": "words.csv", "mimeType": "text/csv", "buffer": CSV}
    table.get_by_label("A CSV or JSONL file").set_input_files(upload)
    table.get_by_role("button", name="Import, replacing the table").click()
    expect(table.get_by_role("status")).to_have_text("3 test cases imported from words.csv.")
    # What Run all would spend, said again as max_tokens changes.
    spend = table.locator("#batch-estimate li")
    expect(spend).to_have_text(
        [
            "Column 1: 3 cells × up to 8,192 tokens × n=1 = up to 24,576 tokens",
            "Column 2: 3 cells × up to 8,192 tokens × n=1 = up to 24,576 tokens",
        ]
    )
    page.locator("#id_max_tokens").fill("4000")
    expect(spend.first).to_have_text(
        "Column 1: 3 cells × up to 4,000 tokens × n=1 = up to 12,000 tokens"
    )

    table.get_by_role("button", name="Start a batch").click()
    expect(table.get_by_role("status")).to_have_text("Running all of Test cases, version 1.")
    page.locator("#batch-link").click()

    # Three cells at once: the fast column's done, then the slow ones running, live.
    grid = page.locator("#batch")
    expect(grid.locator(".batch-cell.done")).to_have_count(2)
    expect(grid.locator(".batch-cell.running")).to_have_count(3)
    expect(grid.locator("#cell-1-1 .cell-answer")).not_to_be_empty()
    expect(grid.locator("thead th")).to_have_text(
        ["#", "word", "expected", f"Column 1: {SLOW}", "Column 2: simulator/chat-fast?tokens=3"]
    )
    slow_summary = grid.locator("#column-summary-0")
    expect(slow_summary).to_contain_text("Mean first token: –")
    grid.get_by_role("button", name="Stop the batch").click()
    expect(grid.locator("#batch-progress-text")).to_have_text("6 / 6 done, 4 stopped")
    expect(slow_summary).to_contain_text(re.compile(r"Mean first token: \d+ ms"))  # no reload
    expect(grid.locator(".batch-cell.stopped")).to_have_count(4)
    expect(grid.get_by_role("button", name="Resume")).to_be_visible()
    grid.get_by_role("button", name="Good answer: case 1, column 2").click()
    expect(grid.get_by_role("button", name="Good answer: case 1, column 2")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(grid.locator("#column-summary-1")).to_contain_text("Rated good: 1 / 1 (100%)")
    comment = grid.get_by_role("textbox", name="Comment on case 2, column 2")
    comment.fill("x" * 1001)  # refused, and kept for the member to shorten
    comment.press("Enter")
    expect(grid.locator("#cell-1-1 [role=alert]")).to_have_text(
        "Ensure this value has at most 1000 characters (it has 1001)."
    )
    expect(comment).to_have_value("x" * 1001)
    expect(comment).to_have_attribute("aria-invalid", "true")
    comment.fill("too short")
    grid.get_by_role("button", name="Bad answer: case 2, column 2").click()
    expect(grid.get_by_role("button", name="Bad answer: case 2, column 2")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(grid.locator("#column-summary-1")).to_contain_text("Rated good: 1 / 2 (50%)")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    exported = download.value.path().read_text()
    assert exported.count(",done,stop,") == 2
    assert ",-1,too short" in exported
    batch = Batch.objects.get()
    assert batch.status == Batch.Status.STOPPED
    assert page.url == f"{live_url}{batch.get_absolute_url()}"

    context = signed_in_context(page.context.browser, live_url, bob)
    theirs = context.new_page()
    theirs.goto(page.locator("#batch-share").input_value())
    expect(theirs.locator("#batch-progress-text")).to_have_text("6 / 6 done, 4 stopped")
    expect(theirs.locator(".batch-cell.done")).to_have_count(2)
    expect(theirs.get_by_role("button", name="Resume")).to_be_hidden()  # not theirs to change
    expect(theirs.get_by_role("button", name="Retry")).to_have_count(0)
    expect(theirs.locator(".cell-grade-shown")).to_have_text(
        ["Rated good.", "Rated bad. too short"]
    )
    expect(theirs.locator(".cell-grade")).to_have_count(2)
    expect(theirs.locator(".cell-grade").first).to_be_hidden()  # theirs to read, not to give
    context.close()
