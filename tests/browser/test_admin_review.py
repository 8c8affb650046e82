"""The admin's review page in Chromium: what a reviewer reads is the run as it was."""

import re

from django.urls import reverse

from .conftest import signed_in_context

WRITTEN = "First line\n    indented by four\n\nafter a blank line"


def test_the_review_page_keeps_the_text_as_written(
    browser, live_url, alice, staff, make_transcript
):
    body = {"model": "simulator/chat", "messages": [{"role": "user", "content": WRITTEN}]}
    transcript = make_transcript(alice, request_body=body)
    context = signed_in_context(browser, live_url, staff)
    page = context.new_page()
    page.goto(live_url + reverse("admin:transcripts_transcript_change", args=[transcript.pk]))

    assert page.locator(".field-conversation .stream-text").inner_text() == WRITTEN
    head = page.locator(".field-answers .choice-head").first.inner_text()
    assert re.fullmatch(r"Choice 1\s+finish: stop", head), head
    context.close()
