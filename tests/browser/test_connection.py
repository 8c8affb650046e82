"""A page whose socket goes away says so, reconnects, and shows how its run really ended."""

import json
import uuid

import pytest
from playwright.sync_api import expect

from playground.transcripts.models import Transcript

from ..helpers import wait_until
from ..outages import TcpProxy
from .conftest import signed_in_context

RUN_KEY = "playground:run"  # the tab's running run, in sessionStorage


def stored_run(page):
    return page.evaluate(f"sessionStorage.getItem('{RUN_KEY}')")


def wait_for_the_run_to_end(run_id: str) -> None:
    """A socket that closes does not wait for its run: the server ends it (no watcher, as the
    orphan grace is 0 in these tests) a moment later, in its own time."""
    wait_until(
        lambda: Transcript.objects.get(uuid=run_id).status != Transcript.Status.RUNNING,
        timeout=15,
    )


def start_a_slow_run(page) -> str:
    page.locator('[name="messages-0-content"]').fill("Write a long essay")
    page.locator("#id_model").fill("simulator/chat?tps=8&tokens=400")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#c0-text")).to_contain_text("Simulated reply")
    run_id = page.locator("#current-run").input_value()
    assert stored_run(page) == run_id
    return run_id


@pytest.fixture
def network(live_url):
    """The page reaches the server through a proxy of the test's own, which can go away."""
    with TcpProxy("127.0.0.1", int(live_url.rsplit(":", 1)[1])) as proxy:
        yield proxy


@pytest.mark.both_passes
def test_a_dropped_socket_reconnects_and_shows_how_the_run_ended(browser, alice, network):
    url = f"http://127.0.0.1:{network.port}"
    context = signed_in_context(browser, url, alice)
    page = context.new_page()
    sockets, sent = [], []  # every socket the page opens, and what it sent on each

    def watch(socket):
        sockets.append(socket)
        sent.append(frames := [])
        socket.on("framesent", lambda payload: frames.append(payload))

    page.on("websocket", watch)
    page.goto(f"{url}/")
    run_id = start_a_slow_run(page)

    network.refuse()
    network.cut()
    expect(page.locator("#connection")).to_have_text("Connection lost: reconnecting…")
    expect(page.locator("#run-button")).to_be_disabled()
    expect(page.locator("#stop-button")).to_be_disabled()
    # What the page sends meanwhile waits in the ws extension's queue, and would go out
    # after the reconnect: it is dropped when an attempt fails instead.
    page.get_by_role("button", name="View code").click()
    attempt = page.wait_for_event("websocket", timeout=20_000)
    while not attempt.is_closed():
        page.wait_for_timeout(50)
    wait_for_the_run_to_end(run_id)
    network.restore()

    expect(page.locator("#run-status")).to_have_text("stopped")
    expect(page.locator("#c0-finish")).to_have_text("finish: stopped")
    expect(page.locator("#c0-text")).to_contain_text("Simulated reply")
    expect(page.locator("#run-button")).to_be_enabled()
    expect(page.locator("#stop-button")).to_be_disabled()
    expect(page.locator("#connection")).to_have_text("")
    assert json.loads(sent[-1][0]) == {"action": "attach", "run": run_id}
    assert not any('"code"' in frame for frame in sent[-1]), "the queued request was dropped"
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert stored_run(page) is None
    context.close()


def test_a_page_opened_after_its_run_ended_shows_how_it_ended(page, live_url):
    # Stored before the reloaded page's script runs: set on the open page, the id could be
    # asked about (and dropped) by that page's own socket if it had not opened yet.
    page.context.add_init_script(
        "if (!sessionStorage.getItem('test:stored')) { sessionStorage.setItem('test:stored', 1);"
        f" sessionStorage.setItem('{RUN_KEY}', '{uuid.uuid4()}'); }}"
    )
    page.reload()
    expect(page.locator("#run-error")).to_contain_text("cannot be found")
    assert stored_run(page) is None, "an id the server does not know is dropped"
    run_id = start_a_slow_run(page)

    page.goto("about:blank")  # the tab stays: its sessionStorage with it
    wait_for_the_run_to_end(run_id)
    page.goto(f"{live_url}/")
    expect(page.locator("#run-status")).to_have_text("stopped")
    expect(page.locator("#c0-finish")).to_have_text("finish: stopped")
    expect(page.locator("#c0-text")).to_contain_text("Simulated reply")
    expect(page.locator("#run-meta a", has_text="transcript")).to_have_attribute(
        "href", f"/transcripts/{run_id}/"
    )
    expect(page.locator("#run-button")).to_be_enabled()
    assert stored_run(page) is None
