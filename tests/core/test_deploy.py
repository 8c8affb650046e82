"""The scale-out deployment of docs/deploy.md, for real: two Daphne processes started by the
launcher behind nginx with deploy/nginx.conf, on the services pass (PostgreSQL and Redis)."""

from __future__ import annotations

import json
import re
import subprocess
import threading

import httpx
import pytest
import redis
from axes.models import AccessAttempt
from django.db import connection
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK
from websockets.sync.client import connect

from playground.cases.models import Batch, BatchCell
from playground.cases.services import data_set_save
from playground.cases.table import Table
from playground.chat.remote import INTERRUPTED
from playground.transcripts.models import Transcript

from ..helpers import (
    FINAL,
    DaphneServer,
    ack_for,
    appended,
    column_final,
    compare_data,
    database_url,
    endpoints_for_tests,
    form_data,
    free_port,
    session_cookie,
    wait_until,
)
from ..hostile import chunk, numbered, sse
from ..proxy import DAPHNE_BEHIND_NGINX, Nginx

pytestmark = [
    pytest.mark.multiprocess,
    pytest.mark.services_only,
    pytest.mark.django_db(transaction=True),
]


def app_env(simulator_server, scripted_server) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url(connection.settings_dict),
        "PLAYGROUND_ENDPOINTS": json.dumps(endpoints_for_tests(simulator_server, scripted_server)),
        "SIMULATOR_ENABLED": "false",
        # As deployed: a reloaded page finds its run still going (every test ends its runs).
        "PLAYGROUND_ORPHAN_GRACE": "20",
        # A killed process's runs are interrupted within 2.5 s: the test figures.
        "PLAYGROUND_CHECKPOINT_SECONDS": "0.5",
        "PLAYGROUND_STALE_RUN_SECONDS": "2",
        "PLAYGROUND_SWEEP_SECONDS": "0.5",
    }


@pytest.fixture(scope="module")
def processes(django_db_setup, simulator_server, scripted_server):
    """Two Daphne processes on the test database and the services' Redis, for the module."""
    env = app_env(simulator_server, scripted_server)
    with (
        DaphneServer(*DAPHNE_BEHIND_NGINX, **env) as one,
        DaphneServer(*DAPHNE_BEHIND_NGINX, **env) as two,
    ):
        yield one, two


@pytest.fixture
def deployment(processes):
    one, two = processes
    with Nginx([f"127.0.0.1:{one.port}", f"127.0.0.1:{two.port}"]) as proxy:
        yield proxy


def test_pages_and_streamed_runs_go_through_the_proxy(alice, deployment):
    assert httpx.get(f"{deployment.url}/readyz").json()["status"] == "ready"
    origin = deployment.url  # with its port: nginx must pass the Host on as it came
    headers = {"Cookie": f"sessionid={session_cookie(alice)}"}
    with connect(
        f"ws://127.0.0.1:{deployment.port}/ws/run/", origin=origin, additional_headers=headers
    ) as page:
        # Spread over 0.8 s: a loaded machine that stalls the server for a moment does not
        # fold the whole answer into one frame.
        page.send(json.dumps(form_data(model="simulator/chat?tps=50", max_tokens=40)))
        frames = []
        while 'class="status completed"' not in (frame := page.recv(timeout=15)):
            frames.append(frame)
            if ack := ack_for(frame):  # as the page does
                page.send(json.dumps(ack))
    streamed = [frame for frame in frames if "beforeend:#c0-text-" in frame]
    assert len(streamed) > 3, "tokens arrive as they come, not buffered into one frame"
    (row,) = Transcript.objects.all()
    assert row.status == Transcript.Status.COMPLETED


def test_the_clients_address_is_the_proxys_word_not_the_clients(deployment):
    """nginx sets X-Real-IP (never appends to it), so a client cannot choose the address its
    failed logins count against."""
    with httpx.Client(base_url=deployment.url) as client:
        login = client.get("/accounts/login/").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login)[1]
        client.post(
            "/accounts/login/",
            data={"username": "alice", "password": "wrong", "csrfmiddlewaretoken": token},
            headers={"X-Real-IP": "203.0.113.9", "X-Forwarded-For": "203.0.113.9"},
        )
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["127.0.0.1"]


class Page(threading.Thread):
    """A page on one process's run socket, read (and acknowledged, as the page does) in a
    thread of its own until its run's final status, so that it never holds its run."""

    def __init__(self, server, user, *, until: re.Pattern = FINAL):
        super().__init__(daemon=True)
        self.until = until
        self.connection = connect(
            f"ws://127.0.0.1:{server.port}/ws/run/",
            origin=server.url,
            additional_headers={"Cookie": f"sessionid={session_cookie(user)}"},
        )
        self.socket = self.connection.__enter__()
        self.frames: list[str] = []
        self.start()

    def run(self) -> None:
        try:
            while not self.until.search(frame := self.socket.recv(timeout=30)):
                self.frames.append(frame)
                if ack := ack_for(frame):
                    self.socket.send(json.dumps(ack))
            self.frames.append(frame)
        except ConnectionClosedError:
            self.frames.append("(its process went away)")
        except ConnectionClosedOK:
            self.frames.append("(the page went away)")

    def send(self, message: dict) -> None:
        self.socket.send(json.dumps(message))

    def seen(self, pattern: str) -> re.Match:
        wait_until(lambda: re.search(pattern, "".join(self.frames)), timeout=15)
        return re.search(pattern, "".join(self.frames))

    def numbers(self) -> list[int]:
        """The numbered tokens the page shows: since the last time its run's boxes were
        drawn (a snapshot draws them again)."""
        drawn = [i for i, frame in enumerate(self.frames) if 'id="choices"' in frame]
        text = "".join(appended(frame) for frame in self.frames[drawn[-1] :])
        return [int(number) for number in re.findall(r" (\d+)@", text)]

    def close(self) -> None:
        self.join(timeout=30)
        self.connection.__exit__(None, None, None)

    def leave(self) -> None:
        """The page goes (a reload) with its run still going."""
        self.connection.__exit__(None, None, None)
        self.join(timeout=30)


def test_a_run_on_one_process_is_watched_live_and_stopped_from_the_other(alice, processes):
    one, two = processes
    runner = Page(one, alice)
    runner.send(form_data(model="simulator/chat?bench=1&tps=30&tokens=600"))
    run_id = runner.seen(r'id="current-run" value="([0-9a-f-]+)"')[1]
    runner.seen(" 3@")

    watcher = Page(two, alice)
    watcher.send({"action": "attach", "run": run_id})
    watcher.seen(r'id="run-rate"')  # a frame sent live, after the snapshot
    watcher.send({"action": "stop"})
    runner.close()
    watcher.close()

    assert FINAL.search(watcher.frames[-1])[1] == "stopped"
    saved = Transcript.objects.get()
    assert (saved.status, saved.end_reason) == ("stopped", "user")
    tokens = [int(n) for n in re.findall(r" (\d+)@", saved.choices[0]["content"])]
    assert tokens == list(range(len(tokens)))
    assert runner.numbers() == tokens
    assert watcher.numbers() == tokens, "the snapshot, then every frame after it, once"


def test_a_compare_reloaded_on_the_other_process_is_watched_column_by_column(alice, processes):
    """The page kept the compare's key only: the other process finds its columns by it, draws
    each in its place, follows each live from its own snapshot, and stops one column alone."""
    one, two = processes
    runner = Page(one, alice, until=re.compile("never"))
    short, long = (f"simulator/chat?bench=1&tps=30&tokens={n}" for n in (60, 900))
    runner.send(compare_data({"model": short}, {"model": long}))
    key = runner.seen(r'id="current-group" value="([^"]+)"')[1]
    runner.seen(r'beforeend:#k1-c0-text-\d+">')
    runner.leave()

    watcher = Page(two, alice, until=column_final(1))
    watcher.send({"action": "attach", "group": key})
    watcher.seen(column_final(0).pattern)  # the short column ends, watched from here
    watcher.send({"action": "stop", "column": "1"})
    watcher.close()

    rows = {row.column: row for row in Transcript.objects.all()}
    assert (rows[0].status, rows[1].status, rows[1].end_reason) == ("completed", "stopped", "user")
    page = "".join(watcher.frames)
    assert column_final(0).search(page)[1] == "completed"
    assert column_final(1).search(page)[1] == "stopped"
    for column, row in rows.items():
        shown = since_drawn(watcher.frames, column)
        assert shown == [int(n) for n in re.findall(r" (\d+)@", row.choices[0]["content"])]
    assert len(since_drawn(watcher.frames, 0)) == 60
    assert not re.search(r"#c0-text", page), "nothing drawn into a single run's boxes"


def since_drawn(frames: list[str], column: int) -> list[int]:
    """A column's numbered tokens as the page shows them: since its boxes were last drawn."""
    drawn = [i for i, frame in enumerate(frames) if f'id="k{column}-choices"' in frame]
    text = "".join(appended(frame, f"k{column}-c0-text") for frame in frames[drawn[-1] :])
    return [int(number) for number in re.findall(r" (\d+)@", text)]


def tokens_summed(page: Page) -> int:
    """The most completion tokens a batch page's summary row has said so far."""
    said = re.findall(r"Completion tokens: (\d+)", "".join(page.frames))
    return max(map(int, said), default=0)


SAY = [{"role": "user", "content": "Say {{word}}"}]
NEVER = re.compile("never")


def batch_started(server, user, rows: int, data: dict) -> Batch:
    """A batch over `rows` test cases, started by a page on `server` that then goes (the
    batch goes on without a page)."""
    table = Table(["word", "expected"], [[f"w{row}", ""] for row in range(rows)])
    version = data_set_save(owner=user, name="words", table=table, visibility="team")
    runner = Page(server, user, until=NEVER)
    runner.send({**data, "action": "batch", "batch_version": version.pk})
    runner.seen('id="batch-link"')
    runner.leave()
    return Batch.objects.get()


def test_a_batch_on_one_process_is_followed_live_and_stopped_from_the_other(alice, processes):
    one, two = processes
    batch = batch_started(one, alice, 30, form_data(SAY, model="simulator/chat?tps=100&tokens=40"))

    grid = Page(two, alice, until=re.compile(r'data-status="(stopped|done)"'))
    grid.send({"action": "batch_attach", "batch": str(batch.uuid)})
    drawn = int(grid.seen(r"(\d+) / 30 done")[1])  # from the rows, then its process's snapshot
    grid.seen(rf"(?:{drawn + 3}|{drawn + 4}|{drawn + 5}) / 30 done")  # cells ended since: live
    summed = tokens_summed(grid)
    wait_until(lambda: tokens_summed(grid) > summed, timeout=15)  # the summary row live too
    grid.send({"action": "batch_stop", "batch": str(batch.uuid)})
    grid.close()

    batch.refresh_from_db()
    assert batch.status == Batch.Status.STOPPED
    assert 'data-status="stopped"' in grid.frames[-1]
    statuses = set(batch.cells.values_list("status", flat=True))
    assert BatchCell.Status.RUNNING not in statuses
    assert BatchCell.Status.PENDING not in statuses


def held_answer(scripted):
    """A model whose answers stop after their first token until the test releases them."""
    return scripted.script(
        "held", sse(chunk(content="kept"), chunk(finish_reason="stop")), held_after=1
    )


def test_a_failed_cell_is_retried_from_a_page_on_the_other_process(alice, processes, scripted):
    """The retry goes to the batch's process, which runs the cell; the page that asked sees it
    run and end in its grid, through the channel layer."""
    one, two = processes
    held = held_answer(scripted)
    scripted.script("flaky", [b'{"error": {"message": "overloaded"}}'], status=503)
    columns = [{"endpoint": "scripted", "model": model} for model in ("held", "flaky")]
    batch = batch_started(one, alice, 2, compare_data(*columns, messages=SAY))

    grid = Page(two, alice, until=re.compile('data-status="done"'))
    grid.send({"action": "batch_attach", "batch": str(batch.uuid)})
    grid.seen(r'id="cell-0-1" class="batch-cell failed"')
    grid.seen(r'id="cell-1-1" class="batch-cell failed"')  # the flaky column has run
    scripted.script("flaky", sse(chunk(content="better now"), chunk(finish_reason="stop")))
    grid.send({"action": "batch_retry", "batch": str(batch.uuid), "row": "0", "column": "1"})
    grid.seen(r'id="cell-0-1" class="batch-cell done"')
    held.release.set()  # the batch's other cells end: so does the batch
    grid.close()

    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE
    statuses = batch.cells.order_by("row", "column").values_list("status", flat=True)
    assert list(statuses) == ["done", "done", "done", "failed"]
    shown = "".join(grid.frames)
    assert "better now" in shown
    failed = shown.index('id="cell-0-1" class="batch-cell failed"')
    assert 'id="cell-0-1" class="batch-cell running"' in shown[failed:], "seen running again"
    assert INTERRUPTED not in shown
    assert len(scripted.scripts["flaky"].requests) == 1, "only the retried cell ran again"


def test_a_batch_whose_process_died_is_resumed_from_the_others_at_once_and_runs_once(
    alice, processes, scripted, simulator_server, scripted_server
):
    """Both survivors' pages resume it at the same moment: one process takes it, the other's
    page follows it there; every cell that never finished runs once."""
    held = held_answer(scripted)
    with DaphneServer(**app_env(simulator_server, scripted_server)) as victim:
        batch = batch_started(victim, alice, 5, form_data(SAY, endpoint="scripted", model="held"))
        wait_until(lambda: len(held.requests) == 3, timeout=10)  # as many cells at once
        victim.process.kill()
    wait_until(lambda: Batch.objects.get().status == Batch.Status.INTERRUPTED, timeout=10)
    held.release.set()

    pages = [Page(server, alice, until=re.compile('data-status="done"')) for server in processes]
    for page in pages:
        page.send({"action": "batch_attach", "batch": str(batch.uuid)})
        page.seen('id="batch-resume"')
    for page in pages:
        page.send({"action": "batch_resume", "batch": str(batch.uuid)})
    for page in pages:
        page.close()

    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE
    assert set(batch.cells.values_list("status", flat=True)) == {"done"}
    assert len(held.requests) == 3 + 5, "the victim's three, then each cell once"
    for page in pages:
        assert "5 / 5 done" in page.frames[-1]


def test_a_page_reloaded_mid_run_through_the_proxy_ends_with_the_whole_answer(
    alice, deployment, scripted
):
    held = scripted.script("count", numbered(150), held_after=10)  # until the reload is back
    first = Page(deployment, alice)
    first.send(form_data(endpoint="scripted", model="count"))
    run_id = first.seen(r'id="current-run" value="([0-9a-f-]+)"')[1]
    first.seen(" 3@")
    first.leave()
    # Back through the proxy, on whichever process it picks: the run's own, or the other.
    reloaded = Page(deployment, alice)
    reloaded.send({"action": "attach", "run": run_id})
    reloaded.seen(" 9@")  # the run as it stands, still going
    held.release.set()
    reloaded.close()

    assert FINAL.search(reloaded.frames[-1])[1] == "completed"
    assert reloaded.numbers() == list(range(150)), "nothing missing, nothing twice"
    saved = Transcript.objects.get()
    assert re.findall(r" (\d+)@", saved.choices[0]["content"]) == [str(n) for n in range(150)]


def test_a_killed_processs_runs_are_interrupted_by_the_survivor_and_watchers_told(
    alice, processes, simulator_server, scripted_server
):
    _, survivor = processes
    with DaphneServer(**app_env(simulator_server, scripted_server)) as victim:
        interrupted_on_the_survivor(alice, victim, survivor)


def interrupted_on_the_survivor(alice, victim, survivor) -> None:
    runner = Page(victim, alice)
    runner.send(form_data(model="simulator/chat?bench=1&tps=30&tokens=600"))
    run_id = runner.seen(r'id="current-run" value="([0-9a-f-]+)"')[1]
    watcher = Page(survivor, alice, until=re.compile('class="status interrupted"'))
    watcher.send({"action": "attach", "run": run_id})
    watcher.seen(r'id="run-rate"')
    wait_until(lambda: Transcript.objects.get().choices, timeout=5)  # a checkpoint was saved

    victim.process.kill()
    watcher.close()  # its page is told, once the survivor's sweep has marked the run
    saved = Transcript.objects.get()
    assert saved.status == Transcript.Status.INTERRUPTED
    tokens = [int(n) for n in re.findall(r" (\d+)@", saved.choices[0]["content"])]
    assert tokens == list(range(len(tokens))), "its last checkpoint"
    assert tokens, "kept"


class RedisServer:
    """A redis-server of the test's own, on a port it picks, which the test stops and starts
    again on the same port."""

    def __init__(self):
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_until(lambda: redis.Redis(port=self.port).ping(), timeout=10)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def answers(port: int) -> bool:
    try:
        return redis.Redis(port=port).ping()
    except redis.ConnectionError:
        return False


def test_redis_going_away_never_stops_a_run_and_its_watchers_recover(
    alice, simulator_server, scripted_server
):
    with RedisServer() as layer:
        env = {**app_env(simulator_server, scripted_server), "REDIS_URL": layer.url}
        with DaphneServer(**env) as one, DaphneServer(**env) as two:
            runner = Page(one, alice)
            runner.send(form_data(model="simulator/chat?bench=1&tps=30&tokens=150"))
            run_id = runner.seen(r'id="current-run" value="([0-9a-f-]+)"')[1]
            watcher = Page(two, alice)
            watcher.send({"action": "attach", "run": run_id})
            watcher.seen(r'id="run-rate"')

            layer.stop()
            watcher.seen("Live view interrupted")
            layer.start()
            runner.close()
            watcher.close()

    assert FINAL.search(runner.frames[-1])[1] == "completed"
    assert runner.numbers() == list(range(150)), "the run went on, straight to its socket"
    assert FINAL.search(watcher.frames[-1])[1] == "completed"
    assert watcher.numbers() == list(range(150)), "drawn again when the layer came back"
