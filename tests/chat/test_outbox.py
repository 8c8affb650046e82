"""One socket's frames from all its runs: one message per tick at most, in order, joined
under the frame bound, a table part never joined (it sets how the whole message parses)."""

import asyncio

import pytest

from playground.chat.frames import HEADER
from playground.chat.outbox import Outbox

pytestmark = pytest.mark.sqlite_only  # no database, no layer: the same on any backend
TICK = 0.05


class Socket:
    def __init__(self):
        self.messages: list[str] = []
        self.sent = asyncio.Event()

    async def send(self, message: str) -> None:
        self.messages.append(message)
        self.sent.set()


def div(target: str, text: str) -> str:
    return f'<div hx-swap-oob="beforeend:#{target}">{text}</div>'


async def test_frames_of_several_runs_within_a_tick_go_as_one_message_in_order():
    socket = Socket()
    outbox = Outbox(socket.send, lambda: True, tick=TICK, limit=10_000)
    await outbox.put(div("k0-c0-text-0", "first"))  # a quiet socket: this one goes at once
    await socket.sent.wait()
    for column in range(4):
        await outbox.put(div(f"k{column}-c0-text-0", f"column {column}"))
    await asyncio.sleep(4 * TICK)
    assert socket.messages == [
        div("k0-c0-text-0", "first"),
        "".join(div(f"k{column}-c0-text-0", f"column {column}") for column in range(4)),
    ]
    assert len(outbox) == 0


async def test_a_message_stays_under_the_bound_and_a_table_part_goes_alone():
    socket = Socket()
    outbox = Outbox(socket.send, lambda: True, tick=0, limit=HEADER + 100)
    frames = [div("a", "x" * 40), div("b", "y" * 40), div("c", "z" * 40)]
    row = '<tbody hx-swap-oob="beforeend:#t1"><tr><td>1</td></tr></tbody>'
    for frame in [*frames, row, div("d", "w")]:
        await outbox.put(frame)
    await asyncio.sleep(0.05)
    assert socket.messages == [frames[0], frames[1], frames[2], row, div("d", "w")]
    assert all(len(message) <= 100 for message in socket.messages)


async def test_a_send_that_failed_is_told_to_the_next_put():
    async def closed(message: str) -> None:
        raise ConnectionError("gone")

    outbox = Outbox(closed, lambda: True, tick=TICK, limit=10_000)
    await outbox.put(div("a", "x"))
    await asyncio.sleep(0.05)
    assert len(outbox) == 0, "nothing kept for a socket that is gone"
    with pytest.raises(ConnectionError):
        await outbox.put(div("b", "y"))


async def test_a_socket_with_one_run_sends_each_frame_as_it_comes():
    """Its relay paces it already: no task, no wait, nothing joined."""
    socket = Socket()
    outbox = Outbox(socket.send, lambda: False, tick=TICK, limit=10_000)
    for n in range(3):
        await outbox.put(div("c0-text-0", str(n)))
        assert socket.messages[-1] == div("c0-text-0", str(n))
    assert len(outbox) == 0
