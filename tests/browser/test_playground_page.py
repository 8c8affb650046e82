"""The playground page in Chromium: log in, fill the form, watch tokens arrive, stop, fail."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from playground.transcripts.models import Transcript

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SCREENSHOT, MOBILE_SCREENSHOT = SCREENSHOTS / "playground.png", SCREENSHOTS / "mobile.png"


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
    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username")
    page.get_by_label("Password").fill("wonderland-42")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_url}/")
    expect(page.get_by_role("heading", name="Messages")).to_be_visible()
    context.close()


@pytest.mark.both_passes
def test_tokens_appear_before_the_run_finishes(page):
    fill_message(page, "Tell me about the release plan")
    set_model(page, "simulator/chat?tps=25&tokens=60&first_token_delay=1")
    page.locator('[name="messages-0-content"]').press("Control+Enter")

    # A slow first token shows as a wait, not as an empty card.
    clock = page.locator("#run-clock")
    expect(clock).to_have_text(re.compile(r"^waiting \d+\.\d s$"))
    answer = page.locator("#c0-text")
    expect(answer).to_contain_text("Simulated reply")
    expect(page.locator("#run-status")).to_have_text("running")
    expect(page.locator("#run-button")).to_be_disabled()
    expect(clock).to_have_text(re.compile(r"^first token after \d+\.\d s · \d+\.\d s$"))
    expect(page.locator("#run-rate")).to_have_text(re.compile(r"^\d+ tokens · [\d.]+ tokens/s$"))

    expect(page.locator("#run-status")).to_have_text("completed")
    expect(page.locator("#c0-view strong")).to_have_text("Simulated reply")  # rendered Markdown
    expect(page.locator("#run-meta")).to_contain_text("tokens/s")
    expect(page.locator("#run-button")).to_be_enabled()
    expect(page.locator("#run-rate")).to_have_text("")  # the final figures are in the meta
    stopped = clock.text_content()
    page.wait_for_timeout(300)
    assert clock.text_content() == stopped, "the clock stops with the run"


@pytest.mark.both_passes
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

    # The run bar's Continue cannot choose between two answers: it points at theirs.
    page.locator("#continue-run").click()
    expect(page.locator("#continue-hint")).to_contain_text("Pick the answer to go on from")
    expect(page.locator("#c0-footer .continue")).to_be_focused()
    expect(page.locator("li.message")).to_have_count(2)


def test_invalid_input_is_marked_and_nothing_typed_is_lost(page):
    fill_message(page, "Keep this text")
    page.locator("#id_temperature").fill("5")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#id_temperature_error")).to_contain_text("less than or equal to 2")
    expect(page.locator('[name="messages-0-content"]')).to_have_value("Keep this text")
    expect(page.locator("#id_temperature")).to_have_value("5")
    expect(page.locator("#c0-text")).to_have_count(0)


def test_the_draft_survives_a_reload_right_after_typing(page, live_url):
    fill_message(page, "A draft worth keeping")
    page.get_by_role("button", name="Add message").click()
    page.locator('[name="messages-1-content"]').fill("Second message")
    page.locator("#id_top_k").fill("7")
    page.reload()  # at once: what was typed last is saved as the page goes
    expect(page.locator('[name="messages-0-content"]')).to_have_value("A draft worth keeping")
    expect(page.locator('[name="messages-1-content"]')).to_have_value("Second message")
    expect(page.locator('[name="messages-1-role"]')).to_have_value("assistant")
    expect(page.locator("#id_top_k")).to_have_value("7")

    # Clearing asks first (a dismissed question clears nothing), then can be undone.
    answers = iter([False, True])
    page.on("dialog", lambda dialog: dialog.accept() if next(answers) else dialog.dismiss())
    page.get_by_role("button", name="Clear the form").click()
    expect(page.locator('[name="messages-1-content"]')).to_have_value("Second message")
    page.get_by_role("button", name="Clear the form").click()
    expect(page.locator("li.message")).to_have_count(1)
    expect(page.locator("#id_top_k")).to_have_value("")
    page.get_by_role("button", name="Undo the clear").click()
    expect(page.locator('[name="messages-1-content"]')).to_have_value("Second message")
    expect(page.locator("#id_top_k")).to_have_value("7")
    expect(page.get_by_role("button", name="Undo the clear")).to_be_hidden()
    page.reload()  # the undone form is the draft again
    expect(page.locator('[name="messages-0-content"]')).to_have_value("A draft worth keeping")


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

    page.locator("#continue-run").click()  # the run bar's, for the one answer
    expect(page.locator('[name="messages-1-role"]')).to_have_value("assistant")
    expect(page.locator('[name="messages-1-content"]')).to_have_value(answer)
    expect(page.locator('[name="messages-2-role"]')).to_have_value("user")
    expect(page.locator('[name="messages-2-content"]')).to_be_focused()
    page.locator('[name="messages-2-content"]').fill("Go on")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#run-status")).to_have_text("completed")
    expect(page.locator("#c0-view")).to_contain_text("Simulated reply to “Go on”")

    # Regenerate the first answer: "Go on" goes (once the user agrees), and the new run is a
    # fork of the last one's conversation from its second message.
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.locator("li.message").nth(1).get_by_role("button", name="↻ Regenerate").click()
    expect(page.locator("li.message")).to_have_count(1)
    expect(page.locator("#c0-view")).to_contain_text("Simulated reply to “Start a story”")
    expect(page.locator("#run-status")).to_have_text("completed")
    assert "drops the 1 later message" in dialogs[0]
    first, second, third = Transcript.objects.order_by("created_at", "pk")
    assert (third.forked_from, third.fork_turn) == (second, 2)
    assert third.request_body["messages"] == [{"role": "user", "content": "Start a story"}]
    assert second.continued_from == first


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


def test_view_code_is_a_dialog_of_tabs_that_esc_closes_without_stopping_the_run(page):
    fill_message(page, "Hello")
    set_model(page, "simulator/chat?tps=8&tokens=400")
    page.locator("#id_top_k").fill("5")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#c0-text")).to_contain_text("Simulated reply")
    page.get_by_role("button", name="View code").click()

    dialog = page.get_by_role("dialog", name="This request as code")
    expect(dialog).to_be_visible()
    assert dialog.evaluate("dialog => dialog.matches(':modal')")
    panel = dialog.get_by_role("tabpanel")
    expect(dialog.get_by_role("tab", selected=True)).to_have_text("curl")
    expect(panel).to_contain_text("curl -sS -N")
    dialog.get_by_role("tab", name="Python").click()
    expect(panel).to_contain_text("extra_body={'top_k': 5}")
    page.keyboard.press("ArrowRight")
    expect(dialog.get_by_role("tab", name="JavaScript")).to_be_focused()
    expect(panel).to_contain_text("await fetch(")

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#run-status")).to_have_text("running"), "Esc was the dialog's"
    page.keyboard.press("Escape")
    expect(page.locator("#run-status")).to_have_text("stopped")


def test_a_slider_shows_its_field_and_sends_nothing_itself(page):
    box = page.locator("#id_temperature")
    slider = page.locator(".field-temperature input[type=range]")
    expect(slider).not_to_have_attribute("name", re.compile(".*"))
    expect(box).to_have_attribute("placeholder", "1")
    expect(box).to_have_value("")
    expect(slider).to_have_value("1")  # the API's default, while the box is blank
    box.fill("0.7")
    expect(slider).to_have_value("0.7")
    slider.fill("1.5")
    expect(box).to_have_value("1.5")
    page.reload()  # the draft refills the box, and the slider follows
    expect(slider).to_have_value("1.5")
    page.locator(".field-temperature").get_by_role("button", name="Reset").click()
    expect(box).to_have_value("")
    expect(slider).to_have_value("1")


def test_the_panel_says_what_differs_from_the_defaults_and_resets_it_all(page):
    summary = page.locator("#parameter-summary")
    expect(summary).to_have_text("API defaults")
    page.locator("#id_temperature").fill("0.7")
    page.locator("#id_top_p").fill("1")  # the API's default: nothing differs
    page.locator("#id_max_tokens").fill("512")
    expect(summary).to_have_text("t 0.7 · max 512")  # in the panel's order
    expect(page.locator(".field[data-changed]")).to_have_count(2)
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Reset all").click()
    expect(summary).to_have_text("API defaults")
    expect(page.locator("#id_max_tokens")).to_have_value("")
    expect(page.locator(".field[data-changed]")).to_have_count(0)


def test_continue_on_an_answer_of_only_tool_calls_carries_them(page):
    page.locator("summary", has_text="Tools").click()
    page.locator("#id_tools").fill(
        '[{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]'
    )
    fill_message(page, "What does get_weather say about Oslo?")
    set_model(page, "simulator/chat-fast")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#c0-finish")).to_have_text("finish: tool_calls")

    page.locator("#c0-footer .continue").click()
    expect(page.locator('[name="messages-1-role"]')).to_have_value("assistant")
    expect(page.locator('[name="messages-1-content"]')).to_have_value("")
    expect(page.locator('[name="messages-1-tool_calls"]')).to_have_value(
        re.compile('"get_weather"')
    )
    page.locator('[name="messages-2-content"]').fill("Thanks. And tomorrow?")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#run-status")).to_have_text("completed")
    expect(page.locator("#c0-text")).to_contain_text("Simulated reply")


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
    # The prompt's estimate follows the edits, the removal included: "user" and "first" are
    # a token each, with 3 around the message and 3 to prime the reply.
    expect(page.locator("#prompt-estimate")).to_have_text("≈ 8 prompt tokens (cl100k estimate)")


def test_the_model_list_follows_the_endpoint_every_time_it_changes(page):
    status = page.locator("#model-status")
    expect(status).to_have_text("3 models listed by Simulator; or type any id.")
    expect(page.locator("#model-options option")).to_have_count(3)
    page.locator("#id_endpoint").select_option("scripted")
    expect(status).to_contain_text("You can still type a model id.")
    expect(page.locator("#model-options option")).to_have_count(0)
    page.locator("#id_endpoint").select_option("simulator")
    expect(status).to_have_text("3 models listed by Simulator; or type any id.")
    expect(page.locator("#model-options option")).to_have_count(3)


def test_the_answer_is_the_next_turn_and_the_page_follows_it_unless_left(page):
    page.set_viewport_size({"width": 1280, "height": 600})
    fill_message(page, "Write at length")
    set_model(page, "simulator/chat?tps=800&tokens=1000")  # taller than the window
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#run-status")).to_have_text("completed")
    turn = page.locator(".answer-turn").bounding_box()
    assert page.locator("li.message").last.bounding_box()["y"] < turn["y"]
    assert turn["y"] < page.locator("#add-message").bounding_box()["y"]
    # Followed: the answer's end is in view, above the run bar.
    end = page.evaluate("document.getElementById('choices').getBoundingClientRect().bottom")
    bar = page.evaluate("document.querySelector('.run-bar').getBoundingClientRect().top")
    assert end <= bar + 1
    assert page.evaluate("window.scrollY") > 0

    set_model(page, "simulator/chat?tps=100&tokens=400")
    page.get_by_role("button", name="Run").click()
    # This run's own text, not the last run's, which stays until this one's boxes come.
    expect(page.locator("#run-status")).to_have_text("running")
    expect(page.locator("#c0-text")).to_contain_text("Simulated reply")
    page.mouse.wheel(0, -10_000)  # the reader goes back up to read: the page stays there
    expect(page.locator("li.message").first).to_be_in_viewport()
    expect(page.locator("#run-status")).to_have_text("completed")
    expect(page.locator("li.message").first).to_be_in_viewport()


def test_on_a_phone_the_parameters_are_a_drawer_that_opens_on_an_error(page):
    page.set_viewport_size({"width": 390, "height": 800})
    fill_message(page, "Hello")
    panel = page.locator("#parameters")
    expect(panel).to_be_hidden()
    page.get_by_role("button", name="Parameters").click()
    expect(panel).to_be_visible()
    set_model(page, "simulator/chat-fast")
    page.locator("#id_temperature").fill("5")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(page.get_by_role("button", name="Parameters")).to_be_focused()
    page.get_by_role("button", name="Run").click()  # the error is in the closed drawer
    expect(panel).to_be_visible()
    expect(page.locator("#id_temperature")).to_be_focused()
    expect(page.locator("#id_temperature")).to_have_attribute("aria-invalid", "true")
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":  # the README's phone view, mid-stream
        page.locator("#id_temperature").fill("")
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Parameters").click()
        set_model(page, "simulator/chat?tps=30&tokens=120")
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Run").click()
        expect(page.locator("#c0-text")).to_have_text(re.compile(r".{150,}", re.S))
        page.screenshot(path=str(MOBILE_SCREENSHOT))
