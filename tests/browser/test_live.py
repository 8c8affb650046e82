"""A run outlives its tab: a page reloaded mid-stream goes on with it, and a second browser
watches its transcript page live. Numbered tokens show that each arrives exactly once, on both
pages and in the transcript; the upstream holds the answer after its tenth token until the
test has seen what it waits for, so the run is still going then, however slow the machine."""

import re

import pytest
from playwright.sync_api import expect

from playground.transcripts.models import Transcript

from ..helpers import DaphneServer
from ..hostile import numbered
from .conftest import app_env, signed_in_context, stop_runs

TOKENS = 150
MODEL = "scripted/numbered-count"


def held_count(scripted):
    return scripted.script(MODEL, numbered(TOKENS), held_after=10)


def ask_for_the_count(page) -> None:
    page.locator('[name="messages-0-content"]').fill("Count")
    page.locator("#id_endpoint").select_option("scripted")
    page.locator("#id_model").fill(MODEL)


@pytest.fixture(scope="module")
def graced_url(django_db_setup, simulator_server, scripted_server):
    """The app with an orphan grace, the only one: a reload must not cost the answer."""
    env = app_env(simulator_server, scripted_server, PLAYGROUND_ORPHAN_GRACE="20")
    with DaphneServer(**env) as server:
        yield server.url


def numbers(text: str) -> list[int]:
    return [int(number) for number in re.findall(r"(\d+)@", text)]


class Frames:
    """What a page's run sockets received, socket by socket."""

    def __init__(self, page):
        self.sockets: list[list[str]] = []
        page.on("websocket", self._opened)

    def _opened(self, socket) -> None:
        self.sockets.append(received := [])
        socket.on("framereceived", lambda payload: received.append(payload))

    def live(self) -> bool:
        """The last socket was sent the run's live figures: it watched the run as it went
        (an attach to a run that ended replays it without them)."""
        return any('id="run-rate"' in frame for frame in self.sockets[-1])


@pytest.fixture
def contexts(browser, graced_url, alice):
    """Alice's browser contexts; any run still going at the end is stopped, since runs now
    outlive their pages."""
    opened = []

    def new_page():
        context = signed_in_context(browser, graced_url, alice)
        opened.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield new_page
    if opened:
        stop_runs(opened[0].pages[0])
    for context in opened:
        context.close()


def test_a_reloaded_page_goes_on_and_another_browser_watches_the_transcript_live(
    contexts, graced_url, scripted
):
    held = held_count(scripted)
    page = contexts()
    frames = Frames(page)
    page.goto(f"{graced_url}/")
    ask_for_the_count(page)
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#c0-text")).to_contain_text(" 5@")
    run_id = page.locator("#current-run").input_value()

    page.reload()
    expect(page.locator("#c0-text")).to_contain_text(" 5@")
    expect(page.locator("#run-status")).to_have_text("running")
    watcher = contexts()
    watching = Frames(watcher)
    watcher.goto(f"{graced_url}/transcripts/{run_id}/")
    expect(watcher.locator("#watch #c0-text")).to_contain_text(" 5@")
    held.release.set()

    for shown in (page, watcher):
        expect(shown.locator("#run-status")).to_have_text("completed", timeout=30_000)
        assert numbers(shown.locator("#c0-text").text_content()) == list(range(TOKENS))
    assert len(frames.sockets) == 2, "one socket before the reload, one after"
    assert frames.live(), "the reloaded page watched it go on"
    assert watching.live(), "the transcript page watched it go on"
    saved = Transcript.objects.get(uuid=run_id)
    assert numbers(saved.choices[0]["content"]) == list(range(TOKENS))


def test_a_blind_compare_reloaded_mid_stream_goes_on_in_its_places(contexts, graced_url, scripted):
    held = held_count(scripted)
    page = contexts()
    page.goto(f"{graced_url}/")
    ask_for_the_count(page)
    page.get_by_role("button", name="Add column").click()
    page.get_by_label("Blind:").check()
    page.get_by_role("button", name="Run all").click()
    for place in range(2):
        expect(page.locator(f"#b{place}-c0-text")).to_contain_text(" 5@")

    page.reload()
    for place in range(2):
        expect(page.locator(f"#b{place}-run-status")).to_have_text("running")
        expect(page.locator(f"#b{place}-c0-text")).to_contain_text(" 5@")
    held.release.set()
    for place in range(2):
        expect(page.locator(f"#b{place}-run-status")).to_have_text("completed", timeout=30_000)
        assert numbers(page.locator(f"#b{place}-c0-text").text_content()) == list(range(TOKENS))
    assert MODEL not in page.locator("#blind").inner_text()
    page.get_by_role("button", name="A is better").click()
    expect(page.locator("#blind-vote")).to_contain_text("Your vote is in: A is best")
