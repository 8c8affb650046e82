"""Logging out leaves nothing of the member's work in the browser, and a draft is its
member's alone."""

from playwright.sync_api import expect

from ..helpers import session_cookie


def draft_key(user) -> str:
    return f"playground:draft:v1:{user.pk}"


def test_logging_out_clears_the_draft(page, live_url, alice):
    page.locator('[name="messages-0-content"]').fill("A private draft")
    page.wait_for_function(
        f"() => localStorage.getItem('{draft_key(alice)}')?.includes('A private draft')"
    )
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_url}/accounts/login/")
    assert page.evaluate("localStorage.length") == 0


def test_a_draft_never_shows_for_another_member_of_the_same_browser(page, live_url, alice, bob):
    """As when alice's session ends without a logout and bob signs in on her browser."""
    message = page.locator('[name="messages-0-content"]')
    message.fill("Alice's private draft")
    page.wait_for_function("() => Object.values(localStorage).some((v) => v.includes('Alice'))")
    page.context.add_cookies([{"name": "sessionid", "value": session_cookie(bob), "url": live_url}])
    page.reload()
    expect(page.get_by_role("link", name="bob")).to_be_visible()
    expect(message).to_have_value("")
    message.fill("Bob's own draft")

    page.context.add_cookies(
        [{"name": "sessionid", "value": session_cookie(alice), "url": live_url}]
    )
    page.reload()
    expect(message).to_have_value("Alice's private draft")
