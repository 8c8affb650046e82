import asyncio
import html
import json
import re

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from playground.asgi import application
from playground.runform import MESSAGE_FIELDS, RunForm

from ..helpers import client_for

FINAL = re.compile(r'class="status (completed|stopped|error)" id="run-status"')


def form_data(messages=None, **fields) -> dict:
    """What the page sends: every field (blank when unset), the formset's rows and counts."""
    data = dict.fromkeys(RunForm.base_fields, "")
    data.update(action="run", endpoint="simulator", model="simulator/chat-fast", stream=True)
    data.update(fields)
    messages = messages if messages is not None else [{"role": "user", "content": "Hello"}]
    data.update(
        {
            "messages-TOTAL_FORMS": str(len(messages)),
            "messages-INITIAL_FORMS": "0",
            "messages-MIN_NUM_FORMS": "1",
            "messages-MAX_NUM_FORMS": "500",
        }
    )
    for index, message in enumerate(messages):
        for name in MESSAGE_FIELDS:
            data[f"messages-{index}-{name}"] = message.get(name, "")
    if data["stream"] is False:
        del data["stream"]  # an unticked checkbox sends nothing
    return data


def session_cookie(user) -> str:
    return client_for(user).cookies["sessionid"].value


class Socket:
    """A real websocket into the whole ASGI stack (origin check, session auth, consumer)."""

    def __init__(self, user=None, origin: bytes = b"http://127.0.0.1:8000"):
        self.user = user
        self.origin = origin
        self.communicator: WebsocketCommunicator | None = None
        self.frames: list[str] = []

    async def connect(self):
        headers = [(b"origin", self.origin)]
        if self.user is not None:
            cookie = await database_sync_to_async(session_cookie)(self.user)
            headers.append((b"cookie", f"sessionid={cookie}".encode()))
        self.communicator = WebsocketCommunicator(application, "/ws/run/", headers=headers)
        return await self.communicator.connect(timeout=5)

    async def send(self, data: dict) -> None:
        await self.communicator.send_to(text_data=json.dumps(data))

    async def receive(self, within: float = 10) -> str:
        frame = await self.communicator.receive_from(timeout=within)
        self.frames.append(frame)
        return frame

    async def until(self, pattern: str, within: float = 15) -> str:
        """Frames until one contains `pattern`; returns that frame."""
        async with asyncio.timeout(within):
            while True:
                frame = await self.receive(within=within)
                if re.search(pattern, frame):
                    return frame

    async def run(self, data: dict, within: float = 15) -> str:
        """Send a run and read every frame up to its final status; returns that status."""
        await self.send(data)
        frame = await self.until(FINAL.pattern, within)
        return FINAL.search(frame).group(1)

    async def close(self) -> None:
        await self.communicator.disconnect()

    def streamed(self, target: str = "c0-text") -> str:
        """The text appended to one box while streaming, unescaped as the browser shows it."""
        pattern = re.compile(rf'<div hx-swap-oob="beforeend:#{target}">(.*?)</div>', re.S)
        return "".join(html.unescape(m) for frame in self.frames for m in pattern.findall(frame))

    def delta_frames(self) -> list[str]:
        return [frame for frame in self.frames if 'hx-swap-oob="beforeend:' in frame]
