"""A compare in Chromium: build three columns, run them all, see each stream into its own
place, then find the group in My runs and open it again in the playground."""

import os
import re
from pathlib import Path

from playwright.sync_api import expect

from playground.transcripts.models import Transcript

SLOW = "simulator/chat?tps=10&tokens=2000"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "compare.png"


def test_three_columns_run_side_by_side_and_open_again(page, live_url):
    page.locator('[name="messages-0-content"]').fill("Hello")
    page.locator("#id_model").fill("simulator/chat?tps=40&tokens=30")
    page.get_by_role("button", name="Add column").click()
    page.get_by_role("button", name="Add column").click()
    columns = page.locator("#columns .column")
    expect(columns).to_have_count(3)
    expect(page.get_by_role("button", name="Run all")).to_be_enabled()

    # Each column its own settings, copied from column 1, with what it changes marked.
    expect(page.locator("#id_k2-model")).to_have_value("simulator/chat?tps=40&tokens=30")
    page.locator("#k1 summary").click()
    page.locator("#id_k1-model").fill("simulator/chat-fast?tokens=20")
    page.locator("#k2 summary").click()
    page.locator("#id_k2-temperature").fill("0.3")
    page.locator("#k2-label").fill("warm")
    expect(page.locator("#k2-differs")).to_have_text("Differs from column 1: t 0.3")
    expect(page.locator("#k1-differs")).to_contain_text("model simulator/chat-fast?tokens=20")

    # Moving a column carries its settings and name along.
    page.locator("#k2 [data-column-move='-1']").click()
    expect(page.locator("#k1-label")).to_have_value("warm")
    expect(page.locator("#id_k1-temperature")).to_have_value("0.3")
    expect(page.locator("#id_k2-model")).to_have_value("simulator/chat-fast?tokens=20")

    page.locator("#id_k2-model").fill(SLOW)
    for column in (1, 2):
        page.locator(f"#k{column} summary").click()  # the settings folded again

    # Run all: each column streams into its own place; one column stops alone.
    page.get_by_role("button", name="Run all").click()
    expect(page.locator("#k2-c0-text")).to_contain_text("Simulated reply")
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":  # the README's compare, mid-stream
        expect(page.locator("#k2-c0-text")).to_have_text(re.compile(r".{150,}", re.S))
        page.locator("#compare").scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOT))
    page.locator("#k2-stop").click()
    expect(page.locator("#k2-run-status")).to_have_text("stopped")
    for column in range(2):
        expect(page.locator(f"#k{column}-run-status")).to_have_text("completed")
        expect(page.locator(f"#k{column}-c0-text")).to_contain_text("Simulated reply")
        expect(page.locator(f"#k{column}-run-meta")).to_contain_text("tokens/s")
    expect(page.locator("#choices .choice")).to_have_count(0)
    expect(page.locator("#blind")).to_be_hidden()
    expect(page.get_by_role("button", name="Run all")).to_be_enabled()
    rows = list(Transcript.objects.order_by("column"))
    assert [row.column_label for row in rows] == ["", "warm", ""]
    assert rows[1].request_body["temperature"] == 0.3

    # The draft keeps the columns over a reload.
    page.reload()
    expect(columns).to_have_count(3)
    expect(page.locator("#id_k2-model")).to_have_value(SLOW)
    expect(page.locator("#k1-label")).to_have_value("warm")

    # My runs shows the compare as one row, which opens the columns side by side.
    page.goto(f"{live_url}/transcripts/")
    expect(page.locator("table.runs tbody tr")).to_have_count(1)
    page.locator("table.runs tbody tr a").first.click()
    expect(page.get_by_role("heading", name="Compare of 3 columns")).to_be_visible()
    expect(page.get_by_role("heading", name="Column 2: warm")).to_be_visible()
    page.get_by_role("link", name="Open in playground").click()
    expect(columns).to_have_count(3)
    expect(page.locator("#k1-label")).to_have_value("warm")
    expect(page.locator("#id_k1-temperature")).to_have_value("0.3")
    expect(page.locator("#id_k2-model")).to_have_value(SLOW)
    expect(page.locator("#id_model")).to_have_value("simulator/chat?tps=40&tokens=30")


def test_a_blind_compare_is_named_after_the_vote(page):
    page.locator('[name="messages-0-content"]').fill("Hello")
    page.locator("#id_model").fill("simulator/chat-fast?tokens=20")
    page.get_by_role("button", name="Add column").click()
    page.locator("#k1 summary").click()
    page.locator("#id_k1-model").fill("simulator/chat?tps=100&tokens=20")
    page.get_by_label("Blind:").check()
    page.get_by_role("button", name="Run all").click()
    for place in range(2):
        expect(page.locator(f"#b{place}-run-status")).to_have_text("completed")
        expect(page.locator(f"#b{place}-c0-text")).to_contain_text("Simulated reply")
    expect(page.locator("#view-code")).to_be_disabled()
    assert "simulator/chat" not in page.locator("#blind").inner_text()

    page.get_by_role("button", name="A is better").click()
    expect(page.locator("#blind-vote")).to_contain_text("Your vote is in: A is best")
    expect(page.locator("#b0-reveal")).to_contain_text("won")
    expect(page.locator("#b1-reveal")).to_contain_text("lost")
    expect(page.locator("#blind")).to_contain_text("simulator/chat?tps=100&tokens=20")
    expect(page.locator("#view-code")).to_be_enabled()
    votes = dict(Transcript.objects.values_list("blind_slot", "vote"))
    assert votes == {0: "won", 1: "lost"}

    # Continue with B: its answer is the next turn, its settings the panel's; undo brings
    # the columns back.
    b = Transcript.objects.get(blind_slot=1)
    page.locator("#b1-reveal").get_by_role("button", name="Continue with this one").click()
    expect(page.locator("#compare")).to_be_hidden()
    expect(page.locator('[name="messages-1-role"]')).to_have_value("assistant")
    expect(page.locator('[name="messages-1-content"]')).to_have_value(b.choices[0]["content"])
    expect(page.locator('[name="messages-2-content"]')).to_be_focused()
    expect(page.locator("#id_model")).to_have_value(b.model)
    expect(page.locator("#continued-from")).to_have_value(str(b.uuid))
    page.get_by_role("button", name="Undo: bring the columns back").click()
    expect(page.locator("#columns .column")).to_have_count(2)
    expect(page.locator("#messages [data-row]")).to_have_count(1)
    expect(page.locator("#id_model")).to_have_value("simulator/chat-fast?tokens=20")
