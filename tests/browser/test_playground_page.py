"""The playground page in Chromium: log in, fill the form, watch tokens arrive, stop, fail."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "playground.png"


def fill_message(page, text: str, index: int = 0) -> None:
    page.locator(f'[name="messages-{index}-content"]').fill(text)


def set_model(page, model: str) -> None:
    page.locator("#id_model").fill(model)


def test_log_in_through_the_login_page(browser, live_url, alice):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_url}/")
    expect(page).to_have_url(f"{live_url}/accounts/login/?next=/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".field-errors")).to_contain_text("Please enter a correct username")
    page.get_by_label("Password").fill("wonderland-42")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_url}/")
    expect(page.get_by_role("heading", name="Messages")).to_be_visible()
    context.close()


def test_tokens_appear_before_the_run_finishes(page):
    fill_message(page, "Tell me about the release plan")
    set_model(page, "simulator/chat?tps=25&tokens=60")
    page.locator('[name="messages-0-content"]').press("Control+Enter")

    answer = page.locator("#c0-text")
    expect(answer).to_contain_text("Simulated reply")
    expect(page.locator("#run-status")).to_have_text("running")
    expect(page.locator("#run-button")).to_be_disabled()

    expect(page.locator("#run-status")).to_have_text("completed")
    expect(page.locator("#c0-view strong")).to_have_text("Simulated reply")  # rendered Markdown
    expect(page.locator("#run-meta")).to_contain_text("tokens/s")
    expect(page.locator("#run-button")).to_be_enabled()


@pytest.mark.parametrize("how", ["button", "Escape"])
def test_stop_a_slow_run_keeps_the_partial_text(page, how):
    fill_message(page, "Write a long essay")
    set_model(page, "simulator/chat?tps=8&tokens=400")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#c0-text")).to_contain_text("Simulated reply")
    if how == "button":
        page.get_by_role("button", name="Stop").click()
    else:
        page.keyboard.press("Escape")

    expect(page.locator("#run-status")).to_have_text("stopped")
    expect(page.locator("#c0-text")).to_contain_text("Simulated reply")
    expect(page.locator("#c0-finish")).to_have_text("finish: stopped")


def test_an_upstream_error_shows_in_place(page):
    fill_message(page, "Hello")
    set_model(page, "simulator/chat?error=503")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#run-error")).to_contain_text("The endpoint had a server error (503)")
    expect(page.locator("#run-status")).to_have_text("error")


def test_two_choices_stream_side_by_side(page):
    page.locator('[name="messages-0-role"]').select_option("system")
    fill_message(page, "You are a concise release manager.")
    page.get_by_role("button", name="Add message").click()
    page.locator('[name="messages-1-role"]').select_option("user")
    fill_message(page, "Give me two takes on the release plan", index=1)
    set_model(page, "simulator/chat?tps=30&tokens=80")
    page.locator("#id_n").fill("2")
    page.locator("#id_temperature").fill("0.8")
    page.get_by_role("button", name="Run").click()
    for box in ("#c0-text", "#c1-text"):
        expect(page.locator(box)).to_have_text(re.compile(r".{120,}", re.S))
    expect(page.locator("#run-status")).to_have_text("running")
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        page.screenshot(path=str(SCREENSHOT))
    expect(page.locator("#run-status")).to_have_text("completed")
    expect(page.locator("article.choice")).to_have_count(2)
    expect(page.locator("#c1-text")).to_contain_text("Simulated reply")
    first, second = (page.locator(f"#c{i}").bounding_box() for i in (0, 1))
    assert abs(first["y"] - second["y"]) < 5, "the two boxes sit side by side"
    assert second["x"] > first["x"]


def test_invalid_input_is_marked_and_nothing_typed_is_lost(page):
    fill_message(page, "Keep this text")
    page.locator("#id_temperature").fill("5")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#errors-temperature")).to_contain_text("less than or equal to 2")
    expect(page.locator('[name="messages-0-content"]')).to_have_value("Keep this text")
    expect(page.locator("#id_temperature")).to_have_value("5")
    expect(page.locator("#c0-text")).to_have_count(0)


def test_the_draft_survives_a_reload(page, live_url):
    fill_message(page, "A draft worth keeping")
    page.get_by_role("button", name="Add message").click()
    page.locator('[name="messages-1-content"]').fill("Second message")
    page.locator("#id_top_k").fill("7")
    # The draft is saved a moment after typing stops: wait until it holds the last field typed.
    page.wait_for_function(
        "() => JSON.parse(localStorage.getItem('playground:draft:v1'))?.fields.top_k === '7'"
    )
    page.reload()
    expect(page.locator('[name="messages-0-content"]')).to_have_value("A draft worth keeping")
    expect(page.locator('[name="messages-1-content"]')).to_have_value("Second message")
    expect(page.locator('[name="messages-1-role"]')).to_have_value("assistant")
    expect(page.locator("#id_top_k")).to_have_value("7")


def test_model_output_executes_nothing(page):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    hostile = (
        "<script>window.__xss=1</script> <img src=x onerror=window.__xss=2>"
        " [link](javascript:window.__xss=3) <a href=javascript:alert(4)>a</a>"
    )
    fill_message(page, hostile)
    set_model(page, "simulator/chat-fast")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#run-status")).to_have_text("completed")

    answer = page.locator("#c0 .answer")  # as rendered, and the raw text behind its toggle
    expect(answer).to_contain_text("<script>window.__xss=1</script>")
    assert answer.locator("script, img").count() == 0
    assert answer.locator("a[href^='javascript']").count() == 0
    for link in answer.locator("a").all():
        link.click(modifiers=["Control"])  # would run a javascript: URL if one were there
    assert page.evaluate("window.__xss") is None
    assert dialogs == []


def test_continue_appends_the_answer_for_the_next_turn(page):
    fill_message(page, "Start a story")
    set_model(page, "simulator/chat-fast?tokens=12")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#run-status")).to_have_text("completed")
    answer = page.locator("#c0-text").text_content()

    page.get_by_role("button", name="Continue").click()
    expect(page.locator('[name="messages-1-role"]')).to_have_value("assistant")
    expect(page.locator('[name="messages-1-content"]')).to_have_value(answer)
    expect(page.locator('[name="messages-2-role"]')).to_have_value("user")
    expect(page.locator('[name="messages-2-content"]')).to_be_focused()
    page.locator('[name="messages-2-content"]').fill("Go on")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#run-status")).to_have_text("completed")
    expect(page.locator("#c0-view")).to_contain_text("Simulated reply to “Go on”")


def test_a_tool_call_gets_a_result_and_runs_again(page):
    tools = (
        '[{"type": "function", "function": {"name": "get_weather", "parameters":'
        ' {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]'
    )
    page.locator("summary", has_text="Tools").click()
    page.locator("#id_tools").fill(tools)
    fill_message(page, "What does get_weather say about Oslo?")
    set_model(page, "simulator/chat-fast")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#c0-finish")).to_have_text("finish: tool_calls")
    expect(page.locator("#c0-tools")).to_contain_text("get_weather")

    page.get_by_role("button", name="Add tool results").click()
    expect(page.locator('[name="messages-1-role"]')).to_have_value("assistant")
    expect(page.locator('[name="messages-1-tool_calls"]')).to_have_value(
        re.compile('"get_weather"')
    )
    expect(page.locator('[name="messages-2-role"]')).to_have_value("tool")
    call_id = page.locator('[name="messages-2-tool_call_id"]').input_value()
    assert call_id.startswith("call_")
    page.locator('[name="messages-2-content"]').fill("Sunny, 21 C")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#run-status")).to_have_text("completed")
    expect(page.locator("#c0-view")).to_contain_text("The tool answered: Sunny, 21 C")


def test_view_code_shows_the_request_without_the_key(page):
    fill_message(page, "Hello")
    set_model(page, "simulator/chat-fast")
    page.locator("#id_top_k").fill("5")
    page.get_by_role("button", name="View code").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("extra_body={'top_k': 5}")
    expect(dialog).to_contain_text("curl -N")
    expect(dialog).to_contain_text("await fetch(")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


def test_messages_can_be_added_reordered_and_removed(page):
    fill_message(page, "first")
    page.get_by_role("button", name="Add message").click()
    fill_message(page, "second", index=1)
    page.locator("li.message").nth(1).get_by_role("button", name="↑ Up").click()
    expect(page.locator('[name="messages-0-content"]')).to_have_value("second")
    expect(page.locator('[name="messages-1-content"]')).to_have_value("first")
    page.locator("li.message").nth(0).get_by_role("button", name="✕ Remove").click()
    expect(page.locator("li.message")).to_have_count(1)
    expect(page.locator('[name="messages-0-content"]')).to_have_value("first")
    expect(page.locator('[name="messages-TOTAL_FORMS"]')).to_have_value("1")
