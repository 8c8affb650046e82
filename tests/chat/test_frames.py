"""Every frame is bounded, numbered and acknowledged, and no text goes out twice: the pieces
(cut to size) and the page's swaps, then whole runs through the ASGI stack."""

import asyncio
import html
import json
import re
from html.parser import HTMLParser

import pytest

from playground.chat.frames import HEADER, Atom, FrameNumbers, html_atoms, pack, text_atoms
from playground.output.jsoncheck import pretty_json
from playground.output.markdown import render_markdown

from ..helpers import FINAL, Socket, ended_transcript, form_data
from ..hostile import chunk, pieces, sse

LIMIT = 256 * 1024
VOID = {"br", "hr", "img", "input", "wbr"}


class Element:
    def __init__(self, tag: str, attrs: dict[str, str]):
        self.tag, self.attrs, self.children = tag, attrs, []

    def html(self, leave_out: str = "") -> str:
        """As nh3 serialises, less the ids that start with `leave_out` (added by the cut)."""
        attrs = "".join(
            f' {k}="{html.escape(v or "")}"'
            for k, v in self.attrs.items()
            if not (k == "id" and leave_out and v.startswith(leave_out))
        )
        inner = "".join(
            c.html(leave_out) if isinstance(c, Element) else html.escape(c, quote=False)
            for c in self.children
        )
        return f"<{self.tag}{attrs}>" + ("" if self.tag in VOID else f"{inner}</{self.tag}>")


class Fragment(HTMLParser):
    """HTML parsed into Elements, as a browser parses a frame (well-formed input only)."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.root = Element("root", {})
        self.stack = [self.root]
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        element = Element(tag, dict(attrs))
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_endtag(self, tag):
        while self.stack[-1].tag != tag:
            self.stack.pop()
        self.stack.pop()

    def handle_data(self, data):
        self.stack[-1].children.append(data)


class Page:
    """The out-of-band swaps a frame asks for, applied as htmx applies them (by id)."""

    def __init__(self, *ids: str):
        self.elements = {i: Element("div", {"id": i}) for i in ids}

    def apply(self, frame: str) -> None:
        """Appends (and replacements) into the elements it knows; other swaps are not its."""
        for wrapper in Fragment(frame).root.children:
            if not isinstance(wrapper, Element) or "hx-swap-oob" not in wrapper.attrs:
                continue
            swap, _, target = wrapper.attrs["hx-swap-oob"].partition(":#")
            if swap not in ("beforeend", "innerHTML") or target not in self.elements:
                continue
            element = self.elements[target]
            if swap == "innerHTML":
                element.children = []
            element.children += wrapper.children
            self._register(wrapper.children)

    def _register(self, nodes) -> None:
        for node in nodes:
            if isinstance(node, Element):
                if "id" in node.attrs:
                    self.elements[node.attrs["id"]] = node
                self._register(node.children)

    def inner(self, element_id: str, leave_out: str = "") -> str:
        element = self.elements[element_id]
        return "".join(
            c.html(leave_out) if isinstance(c, Element) else html.escape(c, quote=False)
            for c in element.children
        )


def test_text_is_cut_to_the_bound_after_escaping_never_inside_a_reference():
    text = "<<<<&&\"'é😀" * 60_000  # escapes to four or five times its length
    frames = list(pack(text_atoms("c0-text-0", text, LIMIT), LIMIT))
    assert len(frames) > 4
    page = Page("c0-text-0")
    for frame in frames:
        assert len(frame.encode()) <= LIMIT - HEADER
        for piece in re.findall(r'">([^<]*)</div>', frame):
            assert not re.search(r"&[a-z]*$", piece), "a piece ends inside a reference"
        page.apply(frame)
    assert "".join(page.elements["c0-text-0"].children) == text


ANSWER = "\n\n".join(
    [
        "# Title\n\nSome *text* with [a link](http://example.com) & more < less.",
        "- a\n  - nested **bold**\n\n    paragraph in it\n- b\n" * 300,
        "| a | b |\n|---|---|\n" + "| <x> | y & z |\n" * 2000,
        "```python\n" + "print('<tag>')  # é😀\n" * 4000 + "```",
        "> quote " * 30_000,
        "1. one\n2. two\n" * 500,
    ]
)


@pytest.mark.parametrize("limit", [8 * 1024, 64 * 1024])
def test_rendered_html_cut_to_the_bound_builds_the_same_page(limit):
    rendered = render_markdown(ANSWER)
    assert len(rendered.encode()) > 4 * limit
    atoms = list(html_atoms("c0-view", rendered, limit, ids="c0-r1-"))
    assert any(atom.alone for atom in atoms), "a table's rows go in frames of their own"
    page = Page("c0-view")
    for frame in pack(atoms, limit):
        assert len(frame.encode()) <= limit - HEADER
        page.apply(frame)
    assert page.inner("c0-view", leave_out="c0-r1-") == _normal(rendered)


def _normal(markup: str) -> str:
    root = Fragment(markup).root
    return "".join(
        c.html() if isinstance(c, Element) else html.escape(c, quote=False) for c in root.children
    )


def test_atoms_too_big_for_a_frame_are_refused():
    with pytest.raises(ValueError, match="does not fit"):
        list(pack([Atom.of("x" * LIMIT)], LIMIT))


def test_frames_are_numbered_and_every_half_window_asks_for_an_acknowledgement():
    numbers = FrameNumbers(every=4)
    frames = [numbers.number("<p>x</p>") for _ in range(9)]
    assert frames[0] == "<!--frame 1--><p>x</p>"
    assert frames[3] == "<!--frame 4 ack--><p>x</p>"
    assert [f.split("-->")[0] for f in frames if " ack" in f] == [
        "<!--frame 4 ack",
        "<!--frame 8 ack",
    ]
    assert numbers.unacked == 9
    for wrong in [0, 10, "4", True, None, 4.0]:
        assert not numbers.ack(wrong)
    assert numbers.ack(4)
    assert not numbers.ack(3), "acknowledgements only move forwards"
    assert numbers.unacked == 5


def scripted_answers(scripted, model: str, answers: list[str], size: int = 4096, **extra):
    events = [
        chunk(content=piece, index=index)
        for index, answer in enumerate(answers)
        for piece in pieces(answer, size)
    ]
    events += extra.get("before_finish", [])
    events += [chunk(finish_reason="stop", index=index) for index in range(len(answers))]
    scripted.script(model, sse(*events))


async def run_to_the_end(socket: Socket, data: dict) -> str:
    assert (await socket.connect())[0]
    status = await socket.run(data, within=60)
    await socket.close()
    return status


def assert_bounded_and_numbered(frames: list[str], limit: int = LIMIT) -> None:
    for number, frame in enumerate(frames, start=1):
        assert len(frame.encode()) <= limit, f"frame {number}: {len(frame.encode())} bytes"
        assert frame.startswith(f"<!--frame {number}"), "numbered in order, from 1"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry")
async def test_eight_long_answers_of_escaping_heavy_text_go_out_bounded_and_once(alice, scripted):
    answers = [f"{index}: " + "<<<<&&>>" * 12_500 for index in range(8)]  # 100 KB, 500 KB escaped
    call = {"index": 0, "id": "call_1", "function": {"name": "f", "arguments": "{" * 600_000}}
    reasoning = chunk(reasoning="<think> " * 40_000, index=3)
    scripted_answers(
        scripted, "heavy", answers, before_finish=[reasoning, chunk(tool_calls=[call], index=5)]
    )
    socket = Socket(alice)
    assert await run_to_the_end(socket, form_data(endpoint="scripted", model="heavy", n=8)) == (
        "completed"
    )
    assert_bounded_and_numbered(socket.frames)
    for index, answer in enumerate(answers):
        assert socket.streamed(f"c{index}-text") == answer, "every piece once, in order"
    assert socket.streamed("c3-reasoning") == "<think> " * 40_000
    assert socket.streamed("c5-tool-0-args") == "{" * 600_000
    assert socket.streamed("c5-tool-0-name") == "f"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry")
async def test_markdown_is_rendered_by_block_as_it_streams_and_nothing_twice(alice, scripted):
    answer = "".join(f"Paragraph **{n}**.\n\n- item {n}\n- more\n\n" for n in range(300))
    scripted_answers(scripted, "blocks", [answer], size=50)
    scripted.scripts["blocks"].delay = 0.002
    socket = Socket(alice)
    assert await run_to_the_end(socket, form_data(endpoint="scripted", model="blocks")) == (
        "completed"
    )
    view = re.compile(r'<div hx-swap-oob="beforeend:#c0-view">(.*?)</div>', re.S)
    renders = [view.findall(frame) for frame in socket.frames]
    assert sum(1 for found in renders if found) > 2, "rendered by block, not once at the end"
    assert "".join(html for found in renders for html in found) == render_markdown(answer)
    assert socket.streamed() == answer, "the raw text once"
    last = socket.frames[-3:]
    assert answer[-40:] not in "".join(last), "the end sends no answer again"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry")
async def test_a_long_json_answer_is_checked_and_shown_in_bounded_frames(alice, scripted):
    answer = json.dumps({"items": [{"n": n, "text": "<&>" * 10} for n in range(10_000)]})
    scripted_answers(scripted, "json/long", [answer])
    socket = Socket(alice)
    data = form_data(endpoint="scripted", model="json/long", response_format="json_object")
    assert await run_to_the_end(socket, data) == "completed"
    assert_bounded_and_numbered(socket.frames)
    assert socket.streamed() == answer
    page = Page("c0-view")
    for frame in socket.frames:
        page.apply(frame)
    shown = page.inner("c0-view", leave_out="c0-r")
    assert "Valid JSON." in shown
    assert html.unescape(re.sub(r"<[^>]+>", "", shown)).endswith(pretty_json(json.loads(answer)))


async def until_quiet(socket: Socket, quiet: float = 1.0) -> None:
    """Read frames until none comes for `quiet` seconds (a receive that times out would
    cancel the application: the communicator's way of ending a test)."""
    while not await socket.communicator.receive_nothing(timeout=quiet):
        await socket.receive()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry")
async def test_the_run_holds_text_back_while_frames_are_unacknowledged(alice, scripted, settings):
    settings.PLAYGROUND_FRAME_BYTES = 16 * 1024
    settings.PLAYGROUND_ACK_TIMEOUT = 60
    settings.PLAYGROUND_ORPHAN_GRACE = 0
    answer = "".join(f"{n:06d} " for n in range(40_000))  # 280 KB: some twenty frames
    scripted_answers(scripted, "held", [answer])
    socket = Socket(alice, acks=False)
    assert (await socket.connect())[0]
    await socket.send(form_data(endpoint="scripted", model="held"))
    await until_quiet(socket)
    assert len(socket.frames) == settings.PLAYGROUND_ACK_WINDOW + 1, "held past the window"
    assert not FINAL.search("".join(socket.frames))

    await socket.send({"action": "ack", "seq": 4})
    await until_quiet(socket)
    assert len(socket.frames) == settings.PLAYGROUND_ACK_WINDOW + 5

    socket.acks = True
    await socket.send({"action": "ack", "seq": len(socket.frames)})
    await socket.until(FINAL.pattern, within=30)
    await socket.close()
    assert_bounded_and_numbered(socket.frames, 16 * 1024)
    assert socket.streamed() == answer, "coalesced while held, every piece once and in order"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry")
async def test_a_message_over_the_apps_limit_is_answered_and_the_socket_stays(alice, settings):
    settings.PLAYGROUND_MAX_MESSAGE_BYTES = 1024 * 1024
    socket = Socket(alice)
    assert (await socket.connect())[0]
    big = form_data(messages=[{"role": "user", "content": "a" * 1_400_000}])
    await socket.send(big)
    notice = await socket.until("error-box")
    assert "1.3 MiB, over the 1 MiB a run may send: nothing was run" in notice
    assert await socket.run(form_data(model="simulator/chat-fast", max_tokens=3)) == "completed"
    await socket.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry")
async def test_a_socket_that_acknowledges_nothing_is_closed_and_let_go(alice, scripted, settings):
    settings.PLAYGROUND_FRAME_BYTES = 16 * 1024
    settings.PLAYGROUND_ACK_TIMEOUT = 0.5
    settings.PLAYGROUND_ORPHAN_GRACE = 0
    scripted_answers(scripted, "unread", ["word " * 60_000])
    socket = Socket(alice, acks=False)
    assert (await socket.connect())[0]
    await socket.send(form_data(endpoint="scripted", model="unread"))
    for _ in range(settings.PLAYGROUND_ACK_WINDOW + 1):
        await socket.receive()
    closed = await socket.communicator.receive_output(timeout=10)
    assert closed == {"type": "websocket.close", "code": 1013}, "try again later: it reconnects"
    row = await ended_transcript()
    assert row.choices[0]["content"].startswith("word word")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream")
async def test_a_restart_does_not_wait_on_a_page_that_acknowledges_nothing(
    alice, scripted, settings, run_registry
):
    settings.PLAYGROUND_FRAME_BYTES = 16 * 1024
    settings.PLAYGROUND_ACK_TIMEOUT = 60
    settings.PLAYGROUND_ORPHAN_GRACE = 60
    answer = "word " * 60_000
    scripted_answers(scripted, "unread", [answer])
    socket = Socket(alice, acks=False)
    assert (await socket.connect())[0]
    await socket.send(form_data(endpoint="scripted", model="unread"))
    await until_quiet(socket)
    await asyncio.wait_for(run_registry.drain(within=5), 10)
    row = await ended_transcript(within=1)
    assert row.choices[0]["content"] == answer, "saved whole, without waiting on the page"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry")
async def test_a_block_over_64_kb_stays_raw_until_its_choice_ends(alice, scripted):
    answer = "First *block*.\n\n" + "long line\n" * 7_000 + "\nAfter it.\n\nThe end.\n"
    scripted_answers(scripted, "long/block", [answer], size=2048)
    scripted.scripts["long/block"].delay = 0.002
    socket = Socket(alice)
    data = form_data(endpoint="scripted", model="long/block")
    assert await run_to_the_end(socket, data) == "completed"
    view = re.compile(r'<div hx-swap-oob="beforeend:#c0-view">(.*?)</div>', re.S)
    renders = [html for frame in socket.frames for html in view.findall(frame)]
    assert renders[0] == "<p>First <em>block</em>.</p>\n", "rendered while it streamed"
    assert len(renders) == 2, "the long block, and what follows it, at the end"
    assert "".join(renders) == render_markdown(answer)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry")
async def test_logprobs_come_with_the_finished_choice_in_bounded_frames(alice, settings):
    settings.PLAYGROUND_FRAME_BYTES = limit = 4096
    socket = Socket(alice)
    fields = {"logprobs": "true", "top_logprobs": "3", "n": "2"}
    data = form_data(model="simulator/chat-fast?tokens=300", **fields)
    assert await run_to_the_end(socket, data) == "completed"
    assert_bounded_and_numbered(socket.frames, limit)
    row = await ended_transcript()
    for entry in row.logprobs:
        index = entry["index"]
        # Never while streaming: the box comes with the choice's end, then its tokens.
        first_box = next(n for n, f in enumerate(socket.frames) if f'id="c{index}-lp"' in f)
        assert f'id="c{index}-finish"' in "".join(socket.frames[: first_box + 1])
        tokens = "".join(
            frame for frame in socket.frames if f'hx-swap-oob="beforeend:#c{index}-lp"' in frame
        )
        assert tokens.count('class="lp lp-') == len(entry["content"]) == 300
        spelled = re.findall(r'data-top="[^"]*">([^<]*)</span>', tokens)
        assert html.unescape("".join(spelled)) == row.choices[index]["content"]
