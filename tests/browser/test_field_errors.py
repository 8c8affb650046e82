"""Every field's help and error is announced with it, and an error in a folded section is
shown: the section opens, the field is focused, and the list above links to each field."""

import re

from playwright.sync_api import expect

DANGLING = """() => [...document.querySelectorAll('[aria-describedby]')]
    .filter((element) => !element.closest('template'))
    .flatMap((element) => element.getAttribute('aria-describedby').split(/\\s+/))
    .filter((id) => !document.getElementById(id))"""


def test_help_is_announced_with_every_field(page):
    described = page.locator("[aria-describedby]:not(template *)")
    assert described.count() > 20
    assert page.evaluate(DANGLING) == []
    for label, help_text in [
        ("Temperature", "0 to 2, default 1. Higher is more random."),
        ("Tools", "JSON list of"),
        ("Model", "Pick from the endpoint's list or type an id"),
        ("Name", "Optional participant name"),
    ]:
        field = page.get_by_label(label, exact=True)
        expect(field).to_have_accessible_description(re.compile(re.escape(help_text)))


def test_errors_in_folded_sections_are_opened_marked_and_listed(page):
    tools, extra = page.locator("#id_tools"), page.locator("#id_extra")
    page.locator('[name="messages-0-content"]').fill("Hello")
    page.locator("#id_model").fill("simulator/chat-fast")
    page.locator("summary", has_text="Tools").click()
    tools.fill("[{")
    page.locator("summary", has_text="Tools").click()
    page.locator("summary", has_text="Advanced").click()
    extra.fill("[1]")
    page.locator("summary", has_text="Advanced").click()
    expect(tools).to_be_hidden()
    expect(extra).to_be_hidden()
    page.get_by_role("button", name="Run").click()

    expect(tools).to_be_focused()  # the first error's section opened
    expect(tools).to_have_attribute("aria-invalid", "true")
    expect(extra).to_have_attribute("aria-invalid", "true")
    expect(tools).to_have_accessible_description(re.compile("Tools is not valid JSON"))
    expect(extra).to_have_accessible_description(re.compile("must be a JSON object"))
    listed = page.locator("#form-errors li")
    expect(listed).to_have_count(2)
    expect(listed.nth(0)).to_contain_text("Tools: Tools is not valid JSON")
    expect(listed.nth(1)).to_contain_text("Extra: Extra fields must be a JSON object.")
    expect(extra).to_be_hidden()
    listed.nth(1).get_by_role("link", name="Extra").click()
    expect(extra).to_be_focused()

    tools.fill("")
    extra.fill("")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#run-status")).to_have_text("completed")
    expect(listed).to_have_count(0)
    for field, error in ((tools, "not valid JSON"), (extra, "must be a JSON object")):
        expect(field).not_to_have_attribute("aria-invalid", "true")
        expect(field).not_to_have_accessible_description(re.compile(error))
