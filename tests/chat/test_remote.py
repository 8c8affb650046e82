"""A page watching a run of another process (chat/remote.py), against a channel layer that the
test plays: frames at or below its snapshot are dropped, a gap asks for a new snapshot, and
the frames then follow it in order, each once."""

import asyncio
import uuid

from playground.chat.remote import RemoteWatch


class Layer:
    """A channel layer whose messages to the watcher the test sends, and which keeps what the
    watcher sends to the run's control group."""

    def __init__(self):
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.asked: asyncio.Queue = asyncio.Queue()  # the watcher's leases, in order

    async def new_channel(self) -> str:
        return "watcher!1"

    async def group_add(self, group, channel) -> None:
        pass

    async def group_discard(self, group, channel) -> None:
        pass

    async def group_send(self, group, message) -> None:
        if group.startswith("run-control.") and message["type"] == "run.lease":
            await self.asked.put(message["snapshot"])

    async def receive(self, channel) -> dict:
        return await self.inbox.get()


def frames(*numbers: int, over: bool = False) -> dict:
    return {"type": "run.frames", "frames": [(n, f"f{n}") for n in numbers], "over": over}


def snapshot(seq: int) -> dict:
    return {"type": "run.snapshot", "seq": seq, "frames": [f"snapshot to {seq}"], "over": False}


async def test_frames_follow_their_snapshot_once_and_a_gap_asks_again():
    layer, page = Layer(), []

    async def send(html: str) -> None:
        page.append(html)

    async def still_running() -> None:
        return None

    watch = RemoteWatch(uuid.uuid4(), layer, send, still_running)
    assert await layer.asked.get() is True, "the first lease asks for a snapshot"
    for message in (frames(4, 5, 6), snapshot(5), frames(7), frames(9, 10)):
        await layer.inbox.put(message)
    assert await asyncio.wait_for(layer.asked.get(), 5) is True, "8 never came: asked again"
    for message in (snapshot(9), frames(10, 11, over=True)):
        await layer.inbox.put(message)
    await asyncio.wait_for(watch.task, 5)

    assert page == ["snapshot to 5", "f6", "f7", "snapshot to 9", "f10", "f11"]
