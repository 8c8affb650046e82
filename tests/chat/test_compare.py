"""A compare over the run socket: one session per column, against the simulator on a real
socket. The simulator's bench mode numbers each token (" 0@<time> 1@<time> ..."), so a token
that reached the wrong column would show as a number out of place."""

import re

import pytest
from channels.db import database_sync_to_async

from playground.chat.registry import get_registry
from playground.transcripts.models import Transcript

from ..helpers import Socket, column_final, compare_data, eventually

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry"),
]

BENCH = "simulator/chat-fast?bench=1&tokens={}"
SLOW = "simulator/chat?tps=20&tokens=2000"
SLOW_NUMBERED = "simulator/chat?bench=1&tokens=2000&tps=20"


async def connected(user) -> Socket:
    socket = Socket(user)
    connected, _ = await socket.connect()
    assert connected
    return socket


async def every_column_ends(socket: Socket, columns: int) -> dict[int, str]:
    """Each column's final status, from the frames read so far and those until all have
    ended (a column may end while a test waits for another's first token)."""
    ended: dict[int, str] = {}
    seen = list(socket.frames)
    while len(ended) < columns:
        frame = seen.pop(0) if seen else await socket.receive()
        for column in range(columns):
            if match := column_final(column).search(frame):
                ended[column] = match.group(1)
    return ended


def blind_final(place: int) -> re.Pattern:
    return re.compile(rf'class="status (completed|stopped|error)" id="b{place}-run-status"')


def numbers(text: str) -> list[int]:
    return [int(token.split("@")[0]) for token in text.split()]


@database_sync_to_async
def transcripts() -> list[Transcript]:
    return list(Transcript.objects.order_by("column"))


async def test_four_columns_stream_apart_each_into_its_own_boxes(alice):
    socket = await connected(alice)
    columns = [
        {"model": BENCH.format(10), "k0-label": "ten"},
        {"model": BENCH.format(20), "temperature": 0.2},
        {"model": BENCH.format(30), "n": 2},
        {"model": BENCH.format(40)},
    ]
    data = compare_data(*columns)
    data["k1-label"] = "twenty t=0.2"
    await socket.send(data)
    assert await every_column_ends(socket, 4) == dict.fromkeys(range(4), "completed")
    await socket.close()

    for column, count in enumerate((10, 20, 30, 40)):
        assert numbers(socket.streamed(f"k{column}-c0-text")) == list(range(count)), column
    assert numbers(socket.streamed("k2-c1-text")) == list(range(30)), "n=2 stacks in its column"
    assert not socket.streamed("c0-text"), "no column writes into the single run's boxes"
    rows = await transcripts()
    assert [row.column for row in rows] == [0, 1, 2, 3]
    assert len({row.group for row in rows}) == 1
    assert rows[0].group is not None
    assert [row.column_label for row in rows] == ["ten", "twenty t=0.2", "", ""]
    assert rows[1].request_body["temperature"] == 0.2
    assert "temperature" not in rows[0].request_body
    assert rows[1].form_state["fields"]["temperature"] == "0.2", "the column's own form"
    assert [len(row.choices) for row in rows] == [1, 1, 2, 1]
    frames = "".join(socket.frames)
    for column in range(4):
        assert "tokens/s" in frames
        assert f'id="k{column}-run-meta"' in frames


async def test_one_columns_error_or_stop_leaves_the_others_to_finish(alice, simulator):
    socket = await connected(alice)
    before = len(simulator.requests)
    columns = [
        {"model": "simulator/chat?error=500"},
        {"model": SLOW, "n": 2},  # n tells its request apart at the simulator
        {"model": "simulator/chat?bench=1&tokens=30&tps=100"},
        {"model": "simulator/chat?bench=1&tokens=30&tps=100"},
    ]
    await socket.send(compare_data(*columns))
    await socket.until(r'beforeend:#k1-c0-text-\d+">')
    await socket.send({"action": "stop", "column": "1"})
    ended = await every_column_ends(socket, 4)
    await socket.close()

    assert ended == {0: "error", 1: "stopped", 2: "completed", 3: "completed"}
    assert numbers(socket.streamed("k2-c0-text")) == list(range(30))
    assert numbers(socket.streamed("k3-c0-text")) == list(range(30))
    frames = "".join(socket.frames)
    assert re.search(r'id="k0-run-error"[^>]*>\s*<div class="error-box"', frames)
    (slow,) = [r for r in list(simulator.requests)[before:] if r.n == 2]
    await eventually(lambda: slow.outcome == "client_closed")


async def test_stop_all_stops_every_upstream_request(alice, simulator):
    socket = await connected(alice)
    before = len(simulator.requests)
    await socket.send(compare_data(*[{"model": SLOW, "seed": column} for column in range(4)]))
    for column in range(4):
        await socket.until(rf'beforeend:#k{column}-c0-text-\d+">')
    await socket.send({"action": "stop"})
    assert await every_column_ends(socket, 4) == dict.fromkeys(range(4), "stopped")
    await socket.close()
    requests = list(simulator.requests)[before:]
    assert len(requests) == 4
    await eventually(lambda: all(r.outcome == "client_closed" for r in requests))
    assert all(r.tokens_sent < 2000 for r in requests)


async def test_a_compare_that_does_not_fit_is_refused_whole(alice, settings):
    settings.PLAYGROUND_MAX_CONCURRENT_RUNS = 3
    socket = await connected(alice)
    await socket.send(compare_data(*[{"model": BENCH.format(5)}] * 4))
    frame = await socket.until("This compare needs 4 runs at once, and only 3 of its columns fit")
    assert re.search(r'id="run-button"[^>]*>Run all</button>', frame.replace("\n", " "))
    assert await transcripts() == []
    # The refused columns' sessions end once each has said so: the process is empty again.
    await eventually(lambda: get_registry().active == 0)

    settings.PLAYGROUND_MAX_CONCURRENT_RUNS = 5
    settings.PLAYGROUND_MAX_RUNS_PER_PROCESS = 2
    await socket.send(compare_data(*[{"model": BENCH.format(5)}] * 3))
    await socket.until("The server has room for 2 more runs, and this compare needs 3")
    await socket.close()
    assert await transcripts() == []


async def test_every_columns_errors_show_at_once_and_nothing_runs(alice):
    socket = await connected(alice)
    await socket.send(compare_data({"top_p": 7}, {"temperature": 9}))
    frame = await socket.until('id="form-errors"')
    assert "Column 1, Top p" in frame
    assert "Column 2, Temperature" in frame
    assert 'href="#id_k1-temperature"' in frame
    assert re.search(r'id="id_k1-temperature_error"[^>]*>.*\S', frame)
    await socket.send({**compare_data({}, {}), "columns": "9"})
    await socket.until("A compare has 1 to 4 columns.")
    await socket.close()
    assert await transcripts() == []


async def test_view_code_shows_each_columns_request(alice):
    socket = await connected(alice)
    data = compare_data({"model": "simulator/chat"}, {"model": "simulator/reasoning"})
    await socket.send({**data, "action": "code", "k1-label": "thinks"})
    frames = ""
    while "snippet-k1-javascript-code" not in frames:
        frames += await socket.receive()
    await socket.close()
    assert "Column 1: simulator/chat" in frames
    assert "Column 2: thinks" in frames
    code = {k: "".join(re.findall(rf'k{k}-curl-code">([^<]*)', frames)) for k in (0, 1)}
    assert '"model": "simulator/chat"' in code[0]
    assert "reasoning" not in code[0]
    assert '"model": "simulator/reasoning"' in code[1]


async def test_a_blind_compare_names_nothing_until_the_vote(alice):
    socket = await connected(alice)
    models = [BENCH.format(10), BENCH.format(20), BENCH.format(30)]
    data = compare_data(*[{"model": model} for model in models], blind="on")
    data["k1-label"] = "twenty"
    await socket.send(data)
    ended: dict[int, str] = {}
    while len(ended) < 3:
        frame = await socket.receive()
        ended.update(
            {place: m.group(1) for place in range(3) if (m := blind_final(place).search(frame))}
        )
    assert "Which answer is best?" in frame, "the last answer to end brings the vote"
    await socket.send({**data, "action": "code"})
    await socket.until("View code would tell which answer is which")

    rows = await transcripts()
    before = "".join(socket.frames)
    for secret in ["simulator/chat", "twenty", "/transcripts/", str(rows[0].group)]:
        assert secret not in before, secret
    for row in rows:
        assert str(row.uuid) not in before
    assert not re.search(r'id="k\d+-(c\d|run-meta)', before), "no frame names a column"
    assert sorted(row.blind_slot for row in rows) == [0, 1, 2]
    starts = re.findall(r'class="status running" id="b(\d)-run-status"', before)
    assert starts == ["0", "1", "2"], "they start in the order of their places, not columns"
    # Each place holds its column's answer: the numbered tokens tell how many it asked for.
    for row in rows:
        counted = numbers(socket.streamed(f"b{row.blind_slot}-c0-text"))
        assert counted == list(range((row.column + 1) * 10))

    await socket.send({"action": "vote", "pick": "best"})
    await socket.until("Pick an answer, or a tie.")
    await socket.send({"action": "vote", "pick": "7"})
    await socket.until("There is no such answer to pick.")
    await socket.send({"action": "vote", "pick": "1"})
    reveal = await socket.until('class="reveal"')
    await socket.close()
    rows = await transcripts()
    assert {row.blind_slot: row.vote for row in rows} == {0: "lost", 1: "won", 2: "lost"}
    picked = next(row for row in rows if row.blind_slot == 1)
    assert f"B was column {picked.column + 1}" in reveal
    assert picked.get_absolute_url() in reveal
    assert "Your vote is in: B is best" in reveal


async def test_a_blind_answers_error_does_not_name_its_model(alice):
    socket = await connected(alice)
    data = compare_data({"model": BENCH.format(5)}, {"model": "simulator/no-such-xyz"}, blind="on")
    await socket.send(data)
    await socket.until("Which answer is best?")
    await socket.close()
    frames = "".join(socket.frames)
    assert "Model not found, inaccessible, and/or not deployed: (named after the vote)" in frames
    assert "no-such-xyz" not in frames


async def reloaded(user, runner: Socket, *patterns: str) -> Socket:
    """The page reloaded mid-compare: its socket closes once every pattern has come, and a
    new one attaches by the group's key (the runs live on through the orphan grace)."""
    for pattern in patterns:
        await runner.until(pattern)
    await runner.close()
    socket = await connected(user)
    await socket.send({"action": "attach", "group": group_key(runner)})
    return socket


def group_key(runner: Socket) -> str:
    (key,) = re.findall(r'id="current-group" value="([^"]+)"', "".join(runner.frames))
    return key


async def test_a_compare_reloaded_mid_stream_is_watched_again_column_by_column(
    alice, bob, settings
):
    settings.PLAYGROUND_ORPHAN_GRACE = 20
    runner = await connected(alice)
    columns = [
        {"model": BENCH.format(5)},
        {"model": "simulator/chat?bench=1&tokens=150&tps=100"},
        {"model": "simulator/chat?bench=1&tokens=2000&tps=20"},
    ]
    await runner.send(compare_data(*columns))
    streaming = r'beforeend:#k2-c0-text-\d+">'
    socket = await reloaded(alice, runner, column_final(0).pattern, r" 20@", streaming)
    await socket.until(r'beforeend:#k2-c0-text-\d+">')  # live again: its own Stop still works
    for who, key in [(bob, group_key(runner)), (alice, "no-such-key")]:
        stranger = await connected(who)  # told nothing of a compare not theirs to see
        await stranger.send({"action": "attach", "group": key})
        told = await stranger.until("The compare this tab was showing is no longer there")
        assert 'id="current-group" value=""' in told, "the page forgets the key"
        await stranger.close()
    await socket.send({"action": "stop", "column": "2"})
    ended = await every_column_ends(socket, 3)
    await socket.close()

    assert ended == {0: "completed", 1: "completed", 2: "stopped"}
    rows = await transcripts()
    for row in rows:
        counted = numbers(socket.streamed(f"k{row.column}-c0-text"))
        assert counted == numbers(row.choices[0]["content"]), "every token once, in its column"
    assert numbers(socket.streamed("k1-c0-text")) == list(range(150))
    assert not socket.streamed("c0-text"), "no column drawn into the single run's boxes"
    page = "".join(socket.frames)
    assert 'id="k0-run-status">completed' in page, "the column that ended shows its outcome"
    for column in (1, 2):
        assert f'class="status running" id="k{column}-run-status"' in page, "drawn in its place"


async def test_a_blind_compare_reloaded_names_nothing_and_still_brings_the_vote(alice, settings):
    settings.PLAYGROUND_ORPHAN_GRACE = 20
    runner = await connected(alice)
    slow = {"model": "simulator/chat?bench=1&tokens=2000&tps=20"}
    await runner.send(compare_data({**slow, "seed": 1}, {**slow, "seed": 2}, blind="on"))
    streaming = [rf'beforeend:#b{place}-c0-text-\d+">' for place in range(2)]
    socket = await reloaded(alice, runner, *streaming)  # no id told: the group's key only
    await socket.until(r'beforeend:#b1-c0-text-\d+">')
    await socket.send({"action": "stop"})  # Stop all, from the page that came back
    ended: dict[int, str] = {}
    while len(ended) < 2:
        frame = await socket.receive()
        ended.update({n: m.group(1) for n in range(2) if (m := blind_final(n).search(frame))})
    assert ended == {0: "stopped", 1: "stopped"}
    assert "Which answer is best?" in frame, "the last answer to end brings the vote"

    rows = await transcripts()
    before = "".join(socket.frames + runner.frames)
    assert "".join(socket.frames).count("Which answer is best?") == 1
    for secret in ["simulator/chat", "/transcripts/", str(rows[0].group)]:
        assert secret not in before, secret
    for row in rows:
        assert str(row.uuid) not in before
        counted = numbers(socket.streamed(f"b{row.blind_slot}-c0-text"))
        assert counted == numbers(row.choices[0]["content"]), "every token once, in its place"
    assert not re.search(r'id="k\d+-(c\d|run-meta)', before), "no frame names a column"
    await socket.send({"action": "vote", "pick": "0"})
    await socket.until("Your vote is in: A is best")
    await socket.close()


async def test_a_compare_that_ended_while_its_page_was_away_shows_how_each_column_ended(alice):
    runner = await connected(alice)
    await runner.send(compare_data({"model": BENCH.format(5)}, {"model": "simulator/no-such"}))
    await every_column_ends(runner, 2)
    await runner.close()
    await eventually(lambda: not get_registry().sessions)  # no column left on this process

    socket = await connected(alice)
    await socket.send({"action": "attach", "group": group_key(runner)})
    ended = await every_column_ends(socket, 2)
    await socket.close()

    assert ended == {0: "completed", 1: "error"}
    assert numbers(socket.streamed("k0-c0-text")) == list(range(5)), "drawn from its row"
    page = "".join(socket.frames)
    assert "Model not found" in page
    assert "is no longer there" not in page


async def test_a_blind_compare_that_ended_while_away_still_names_nothing_until_the_vote(alice):
    runner = await connected(alice)
    fast = {"model": BENCH.format(3)}
    await runner.send(compare_data({**fast, "seed": 1}, {**fast, "seed": 2}, blind="on"))
    await runner.until("Which answer is best?")
    await runner.close()
    await eventually(lambda: not get_registry().sessions)

    socket = await connected(alice)
    await socket.send({"action": "attach", "group": group_key(runner)})
    await socket.until("Which answer is best?")
    shown = "".join(socket.frames)
    assert shown.count("Which answer is best?") == 1
    for row in await transcripts():
        assert str(row.uuid) not in shown
        assert row.model not in shown
    await socket.send({"action": "vote", "pick": "1"})
    await socket.until("Your vote is in: B is best")
    await socket.close()


async def test_a_columns_transcript_page_watches_that_column_live_and_stops_it_alone(alice):
    runner = await connected(alice)
    columns = [{"model": "simulator/chat?bench=1&tokens=60&tps=30"}, {"model": SLOW_NUMBERED}]
    await runner.send(compare_data(*columns))
    await runner.until(r'beforeend:#k1-c0-text-\d+">')
    slow = await Transcript.objects.aget(column=1)

    watcher = await connected(alice)  # its transcript's page
    await watcher.send({"action": "attach", "run": str(slow.uuid)})
    await watcher.until(r'beforeend:#k1-c0-text-\d+">')  # live, after its snapshot
    await watcher.send({"action": "stop"})
    assert (await every_column_ends(runner, 2)) == {0: "completed", 1: "stopped"}
    await watcher.until(column_final(1).pattern)
    await runner.close()
    await watcher.close()

    slow = await Transcript.objects.aget(column=1)
    assert numbers(watcher.streamed("k1-c0-text")) == numbers(slow.choices[0]["content"])
    assert "k0-" not in "".join(watcher.frames), "only the column it asked for"
