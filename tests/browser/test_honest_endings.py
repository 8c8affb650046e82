"""A run's ending says what happened and nothing more, whatever the endpoint did or left out.

Each case is an upstream that a new user met, scripted (tests/hostile.py) and run in turn on
one page.
"""

import json

from playwright.sync_api import expect

from ..hostile import chunk, sse

USAGE = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}


def run(page, model: str) -> None:
    """Run `model` on the scripted upstream and wait for the run's end."""
    before = page.locator("#current-run").input_value()
    page.locator("#id_model").fill(model)
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#current-run")).not_to_have_value(before)
    expect(page.locator("#run-button")).to_be_enabled()


def test_each_ending_says_only_what_happened(page, scripted):
    body = {
        "id": "whole",
        "model": "m",
        "choices": [{"index": 0, "message": {"content": "All at once"}, "finish_reason": "stop"}],
        "usage": USAGE,
    }
    scripted.script("one/body", [json.dumps(body).encode()], content_type="application/json")
    scripted.script("no/finish", sse(chunk(content="Said it"), chunk(usage=USAGE)))
    scripted.script(
        "no/done", sse(chunk(content="Done", finish_reason="stop", usage=USAGE), done=False)
    )
    scripted.script("fails/at/once", [b'{"error": {"message": "overloaded"}}'], status=503)
    scripted.script("ignores/n", sse(chunk(content="Only one", finish_reason="stop", usage=USAGE)))
    page.locator('[name="messages-0-content"]').fill("Hello")
    page.locator("#id_endpoint").select_option("scripted")
    meta, status, error = (
        page.locator("#run-meta"),
        page.locator("#run-status"),
        page.locator("#run-error"),
    )

    page.locator("#id_stream").uncheck()
    run(page, "one/body")
    expect(page.locator("#c0-text")).to_contain_text("All at once")
    expect(meta).to_contain_text("total")
    expect(meta).not_to_contain_text("tokens/s")  # it would be the parse time
    expect(meta).not_to_contain_text("first token")
    page.locator("#id_stream").check()

    run(page, "no/finish")
    expect(status).to_have_text("completed")
    expect(page.locator("#c0-finish")).to_have_text("no finish reason")

    run(page, "no/done")
    expect(status).to_have_text("completed")
    expect(meta).to_contain_text("The stream ended without data: [DONE]")
    expect(error).to_be_empty()

    run(page, "fails/at/once")
    expect(error).to_contain_text("overloaded")
    expect(error).not_to_contain_text("What arrived before it")

    page.locator("#id_n").fill("3")
    run(page, "ignores/n")
    expect(meta).to_contain_text("the endpoint returned 1 of 3 choices")
    expect(page.locator("article.choice")).to_have_count(1)
    expect(page.locator("#c0-text")).to_contain_text("Only one")
