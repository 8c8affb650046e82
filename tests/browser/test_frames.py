"""A long answer in Chromium: it arrives whole, formatted block by block as it streams, with
the page acknowledging frames; a form over the size limit is refused on the page."""

import json
import re

from playwright.sync_api import expect

from ..hostile import chunk, pieces, sse

ASKS = re.compile(r"<!--frame \d+ ack-->")
# About half a megabyte of Markdown: dozens of frames, so the run needs the page's acknowledgements.
ANSWER = "".join(
    f"## Part {n}\n\nSome **bold** text & <angle> brackets, then a list:\n\n- one\n- two\n\n"
    f"```\ncode {n} < > &\n```\n\n" + "A long paragraph. " * 50 + "\n\n"
    for n in range(500)
)


def test_a_long_answer_arrives_whole_formatted_as_it_streams(page, scripted):
    parts = [chunk(content=piece) for piece in pieces(ANSWER, 2048)]
    scripted.script("long", sse(*parts, chunk(finish_reason="stop")), delay=0.004)
    acks, asked = [], []  # the page's acknowledgements; the frames that asked for one

    def watch(ws):
        ws.on("framesent", lambda payload: acks.append(payload) if '"ack"' in payload else None)
        ws.on("framereceived", lambda payload: asked.append(1) if ASKS.match(payload) else None)

    page.on("websocket", watch)
    page.locator("#id_endpoint").select_option("scripted")
    page.locator("#id_model").fill("long")
    page.locator('[name="messages-0-content"]').fill("Write at length")
    page.get_by_role("button", name="Run").click()

    view = page.locator("#c0-view")
    expect(page.locator("#run-status")).to_have_text("running")
    expect(view.locator("h2").first).to_have_text("Part 0")  # formatted before the end
    assert page.locator("#run-status").text_content() == "running"
    expect(page.locator("#run-status")).to_have_text("completed", timeout=60_000)

    raw = page.evaluate("document.getElementById('c0-text').textContent")
    assert raw == ANSWER, "every piece once, in order"
    expect(view.locator("h2")).to_have_count(500)
    expect(view.locator("pre code").last).to_have_text("code 499 < > &\n")
    visible_raw = page.evaluate(
        "[...document.querySelectorAll('#c0-text > span')]"
        ".filter(s => getComputedStyle(s).display !== 'none').length"
    )
    assert visible_raw == 0, "the raw text is behind its toggle once all of it is formatted"
    # How many frames there are depends on the machine's pace (the run coalesces text while
    # the page is behind); each that asked is answered, the last ones a moment after.
    assert len(asked) >= 2, "a long answer needs the page's acknowledgements"
    for _ in range(250):  # Playwright delivers the frames' events while the page is waited on
        if len(acks) >= len(asked):
            break
        page.wait_for_timeout(20)
    assert len(acks) == len(asked), "the page acknowledged every frame that asked"
    assert all(json.loads(ack)["action"] == "ack" for ack in acks)

    page.locator("#c0-raw").check()
    expect(view).to_be_hidden()
    expect(page.locator("#c0-text")).to_be_visible()


def test_a_form_over_the_limit_is_refused_on_the_page_and_kept(page):
    text = "x" * (1024 * 1024 + 10)
    page.locator('[name="messages-0-content"]').fill(text)
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#message-too-big")).to_contain_text("Nothing was sent")
    expect(page.locator("#message-too-big")).to_contain_text("over the 1.0 MiB a run may send")
    assert page.locator('[name="messages-0-content"]').input_value() == text
    expect(page.locator("#choices article")).to_have_count(0)
    expect(page.locator("#run-button")).to_be_enabled()
