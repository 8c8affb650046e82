"""A request of the page's that fails, in Chromium: refused, never answered, or answered with
the login page because the session ended. It is said over the page, naming what was not done,
and nothing on the page is replaced: no login form in the estimate box, no row lost."""

from django.contrib.sessions.models import Session
from playwright.sync_api import expect

SIGNED_OUT = "you are signed out: sign in again in another tab, then try again."
KEPT = "What is on this page stays."


def test_a_session_that_ended_replaces_nothing_and_is_said(page):
    page.locator('[name="messages-0-content"]').fill("Weather in {{city}}?")
    variable = page.get_by_label("city", exact=True)
    expect(variable).to_be_visible()
    table = page.locator("#cases")
    table.get_by_role("button", name="Add a test case").click()
    table.get_by_label("Case 1, city").fill("Oslo")
    estimate = table.locator("#batch-estimate")
    expect(estimate).to_contain_text("Column 1: 1 cell × up to 8,192 tokens")
    banner = page.locator("#request-failed .request-failed-text")
    expect(banner).to_be_hidden()

    Session.objects.all().delete()
    page.locator("#id_max_tokens").fill("4000")  # asks for the estimate again, signed out
    expect(banner).to_have_text(f"Not done (the estimate): {SIGNED_OUT} {KEPT}")
    expect(page.locator("#request-failed")).to_have_attribute("role", "alert")
    expect(estimate).to_contain_text("Column 1: 1 cell × up to 8,192 tokens")
    expect(page.locator("main [name=password]")).to_have_count(0)

    table.get_by_role("button", name="Add a test case").click()
    expect(banner).to_have_text(f"Not done (Add a test case): {SIGNED_OUT} {KEPT}")
    expect(table.get_by_label("Case 1, city")).to_have_value("Oslo")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(variable).to_be_visible()  # the variables' boxes kept too


def test_a_refused_or_lost_request_is_said_until_that_request_succeeds(page):
    page.locator('[name="messages-0-content"]').fill("Weather in {{city}}?")
    table = page.locator("#cases")
    add = table.get_by_role("button", name="Add a test case")
    banner = page.locator("#request-failed .request-failed-text")

    page.route("**/cases/add/", lambda route: route.fulfill(status=500, body="boom"))
    add.click()
    expect(banner).to_have_text(
        f"Not done (Add a test case): the server failed (500); try again. {KEPT}"
    )
    expect(table).to_contain_text("No test cases yet")
    expect(page.locator("body")).not_to_contain_text("boom")
    # Another part of the page succeeding (the variables' boxes redrawn) leaves it said.
    page.locator('[name="messages-0-content"]').fill("Weather in {{city}} on {{day}}?")
    expect(page.get_by_label("day", exact=True)).to_be_visible()
    expect(banner).to_contain_text("the server failed (500)")

    page.unroute("**/cases/add/")
    page.route("**/cases/add/", lambda route: route.abort())
    add.click()
    expect(banner).to_have_text(
        f"Not done (Add a test case): the server could not be reached; try again. {KEPT}"
    )
    page.locator("#request-failed").get_by_role("button", name="Dismiss").click()
    expect(banner).to_be_hidden()

    page.route("**/cases/add/", lambda route: route.fulfill(status=404))
    add.click()
    expect(banner).to_contain_text("what it acts on no longer exists, or is not yours.")
    page.unroute("**/cases/add/")
    add.click()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(banner).to_be_hidden()
