"""Variables in Chromium: typed in a message, listed with a box, refused blank, put in on Run."""

import re

from playwright.sync_api import expect


def test_a_variable_gets_a_box_a_blank_one_is_refused_and_a_run_puts_its_value_in(page):
    page.locator("#id_model").fill("simulator/chat-fast")
    page.locator('[name="messages-0-content"]').fill("Greet {{person}} politely {% debug %}")
    box = page.get_by_label("person", exact=True)
    expect(box).to_be_visible()

    page.get_by_role("button", name="Run").click()
    expect(box).to_be_focused()
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_have_accessible_description(re.compile(r"\{\{person\}\} has no value"))
    expect(page.locator("#form-errors li")).to_have_text(re.compile("Variable person: "))

    box.fill("Ada Lovelace")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#run-status")).to_have_text("completed")
    expect(page.locator("#c0-view")).to_contain_text("Greet Ada Lovelace politely {% debug %}")
    expect(box).not_to_have_attribute("aria-invalid", "true")

    page.get_by_role("button", name="View code").click()
    expect(page.locator("#snippet-curl")).to_contain_text('"content": "Greet Ada Lovelace politely')
