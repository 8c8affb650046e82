"""Logging out leaves nothing of the member's work in the browser."""

from playwright.sync_api import expect

DRAFT = "playground:draft:v1"


def test_logging_out_clears_the_draft(page, live_url):
    page.locator('[name="messages-0-content"]').fill("A private draft")
    page.wait_for_function(f"() => localStorage.getItem('{DRAFT}')?.includes('A private draft')")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_url}/accounts/login/")
    assert page.evaluate("localStorage.length") == 0
