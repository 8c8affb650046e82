"""Variables and test cases in Chromium: a variable typed in a message gets a box, is refused
blank and put in on Run; the table gets its column, takes a paste, and is saved as typed."""

import re

from playwright.sync_api import expect

from playground.cases.models import DataSetVersion


def test_a_variable_is_put_in_and_the_test_cases_follow_it(page):
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
    page.keyboard.press("Escape")

    table = page.locator("#cases")
    expect(table.locator("thead th")).to_have_count(0)  # no cases yet: no grid
    page.locator('[name="messages-0-content"]').fill("Weather in {{city}}?")
    expect(page.get_by_label("city", exact=True)).to_be_visible()
    expect(box).to_be_hidden()
    expect(table.get_by_text("Write a {{variable}} in a message")).to_be_hidden()
    expect(table).to_contain_text("No test cases yet")

    table.get_by_text("Paste or import").click()
    table.get_by_label("Rows from a spreadsheet").fill("city\texpected\nOslo\train\nLima\tsun")
    table.get_by_role("button", name="Replace the table with these rows").click()
    expect(table.get_by_role("status")).to_have_text("2 test cases pasted.")
    expect(table.locator("thead th")).to_have_text(["#", "city", "expected", "Remove"])
    table.get_by_label("Case 2, expected").fill("sunny")

    table.get_by_text("Data sets").click()
    table.get_by_label("Data set name").fill("Cities")
    table.get_by_role("button", name="Save as data set").click()
    expect(table.get_by_role("status")).to_have_text("Saved as Cities, version 1.")
    version = DataSetVersion.objects.get()
    assert (version.columns, version.rows) == (
        ["city", "expected"],
        [["Oslo", "rain"], ["Lima", "sunny"]],
    )

    page.get_by_label("city", exact=True).fill("Bergen")
    page.reload()  # the table is kept as a draft, like the form and the variables' values
    expect(page.get_by_label("city", exact=True)).to_have_value("Bergen")
    expect(page.get_by_label("Case 2, expected")).to_have_value("sunny")
    expect(page.locator("#cases-source")).to_contain_text("data set Cities, version 1")
