"""The theme menu in Chromium: applied at once, kept by the server for the next page."""

from playwright.sync_api import expect

DARK_BG = "rgb(21, 21, 26)"
LIGHT_BG = "rgb(247, 247, 248)"


def test_a_theme_applies_at_once_and_stays_after_a_reload(page, live_url):
    page.emulate_media(color_scheme="light")
    body = page.locator("body")
    expect(body).to_have_css("background-color", LIGHT_BG)
    expect(page.get_by_role("button", name="Set", exact=True)).to_be_hidden()  # the script saves it

    page.get_by_label("Theme").select_option("dark")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(body).to_have_css("background-color", DARK_BG)
    page.wait_for_load_state("networkidle")
    page.goto(f"{live_url}/presets/")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(body).to_have_css("background-color", DARK_BG)

    page.get_by_label("Theme").select_option("")  # the system's: light here
    expect(body).to_have_css("background-color", LIGHT_BG)
    page.wait_for_load_state("networkidle")
    page.reload()
    expect(body).to_have_css("background-color", LIGHT_BG)
