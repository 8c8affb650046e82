"""Save a preset, open its link as someone else, fork it; a refused save says why."""

import pytest
from django.contrib.sessions.models import Session
from playwright.sync_api import expect

from playground.presets.models import Preset

from ..factories import make_preset
from .conftest import signed_in_context


@pytest.mark.both_passes
def test_save_share_open_as_another_member_and_fork(browser, live_url, page, bob):
    page.locator('[name="messages-0-content"]').fill("Summarise the release notes")
    page.locator("#id_model").fill("simulator/chat-fast")
    page.locator("#id_temperature").fill("0.3")
    page.locator("#id_top_k").fill("11")
    page.get_by_text("Save as preset…").click()
    page.get_by_label("Preset name").fill("Release summary")
    page.get_by_role("button", name="Save as new").click()
    expect(page.locator("#preset-bar")).to_contain_text("Preset Release summary")
    expect(page.locator("#preset-bar .notice")).to_have_text("Saved.")
    share_url = page.locator("#share-url").input_value()
    assert share_url.startswith(f"{live_url}/p/")
    assert "?preset=" in page.url

    context = signed_in_context(browser, live_url, bob)
    other = context.new_page()
    other.goto(share_url)
    expect(other.locator('[name="messages-0-content"]')).to_have_value(
        "Summarise the release notes"
    )
    expect(other.locator("#id_temperature")).to_have_value("0.3")
    expect(other.locator("#id_top_k")).to_have_value("11")
    expect(other.locator("#preset-bar")).to_contain_text("by alice")
    expect(other.get_by_role("button", name="Save", exact=True)).to_have_count(0)

    other.get_by_role("button", name="Fork").click()
    expect(other.locator("#preset-bar")).to_contain_text("Preset Release summary (fork)")
    expect(other.locator("#preset-bar")).to_contain_text("by bob")
    expect(other.locator("#id_top_k")).to_have_value("11")
    other.locator("#id_top_k").fill("12")
    other.get_by_role("button", name="Save", exact=True).click()
    expect(other.locator("#preset-bar .notice")).to_have_text("Saved.")
    context.close()

    page.reload()
    expect(page.locator("#id_top_k")).to_have_value("11"), "the original is untouched"


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "This field is required."), ("Taken", "You already have a preset named 'Taken'.")],
)
def test_a_refused_save_shows_why_and_keeps_what_was_typed(page, alice, name, message):
    make_preset(alice, name="Taken")
    page.locator('[name="messages-0-content"]').fill("Keep this prompt")
    page.locator("#id_temperature").fill("0.4")
    page.get_by_text("Save as preset…").click()
    page.get_by_label("Preset name").fill(name)
    page.get_by_label("Description").fill("My notes")
    page.get_by_role("button", name="Save as new").click()

    expect(page.locator("#preset-bar .notice")).to_have_text("Not saved: see below.")
    expect(page.locator("#id_preset-name_error")).to_have_text(message)
    expect(page.get_by_label("Preset name")).to_have_value(name)
    expect(page.get_by_label("Description")).to_have_value("My notes")
    expect(page.locator('[name="messages-0-content"]')).to_have_value("Keep this prompt")
    expect(page.locator("#id_temperature")).to_have_value("0.4")
    assert list(Preset.objects.values_list("name", flat=True)) == ["Taken"]


def test_a_refused_save_as_new_keeps_the_open_preset(page, live_url, alice):
    preset = make_preset(alice, name="Taken")
    page.goto(f"{live_url}/?preset={preset.slug}")
    page.get_by_text("Save as a new preset…").click()
    page.get_by_label("Preset name").fill("Taken")
    page.get_by_role("button", name="Save as new").click()

    expect(page.locator("#id_preset-name_error")).to_contain_text("already have a preset")
    expect(page.locator("#preset-bar")).to_contain_text("Preset Taken")
    expect(page.locator('#preset-bar [name="preset"]')).to_have_value(preset.slug)


def test_a_save_the_server_refuses_outright_says_so(page, live_url, alice):
    """htmx swaps no 4xx: a preset gone meanwhile, or a session that ended, is said."""
    preset = make_preset(alice, name="Gone soon")
    page.goto(f"{live_url}/?preset={preset.slug}")
    page.locator('[name="messages-0-content"]').fill("Keep this prompt")
    preset.delete()
    page.get_by_role("button", name="Save", exact=True).click()
    failure = page.locator("#preset-bar [role=alert]")
    expect(failure).to_have_text(
        "Not saved: this preset no longer exists, or is not yours to change."
    )

    Session.objects.all().delete()
    page.get_by_text("Save as a new preset…").click()
    page.get_by_label("Preset name").fill("Another")
    page.get_by_role("button", name="Save as new").click()
    expect(failure).to_have_text(
        "Not saved: you are signed out: sign in again in another tab, then save."
    )
    expect(page.get_by_label("Preset name")).to_have_value("Another")
    expect(page.locator('[name="messages-0-content"]')).to_have_value("Keep this prompt")
