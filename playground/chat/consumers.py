"""The run socket: the page sends the form, gets HTML fragments back as tokens arrive."""

from __future__ import annotations

import asyncio
import contextlib
import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from . import fragments, runner
from .forms import bind
from .services import RunRefused, build_request, run_prepare


class RunConsumer(AsyncWebsocketConsumer):
    task: asyncio.Task | None = None

    async def connect(self) -> None:
        if not self.scope["user"].is_authenticated:
            await self.close(code=4401)
            return
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.stop()  # a closed tab stops its run like the Stop button

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None):
        try:
            data = json.loads(text_data or "")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            await self.send_html(fragments.notice("The message was not a JSON object."))
            return
        action = data.get("action")
        if action == "run":
            await self.start(data)
        elif action == "code":
            await self.show_code(data)
        elif action == "stop":
            await self.stop()
        else:
            await self.send_html(fragments.notice(f"Unknown action {action!r}."))

    async def start(self, data: dict) -> None:
        if self.task is not None and not self.task.done():
            await self.send_html(fragments.notice("A run is going: stop it first."))
            return
        form, formset = bind(data)
        valid = form.is_valid() & formset.is_valid()  # both, so every error shows at once
        await self.send_html(fragments.form_errors(form, formset))
        if not valid:
            return
        try:
            run = await database_sync_to_async(run_prepare)(
                user=self.scope["user"], form=form, formset=formset
            )
        except RunRefused as refused:
            await self.send_html(fragments.notice(str(refused)))
            return
        await self.send_html(fragments.started(run.transcript, run.n))
        tick = settings.PLAYGROUND_RELAY_TICK
        # The stream runs in its own task: Channels handles one message of a socket at a time,
        # so Stop must not wait behind it.
        self.task = asyncio.create_task(runner.execute(run, self.send_html, tick=tick))

    async def show_code(self, data: dict) -> None:
        form, formset = bind(data)
        valid = form.is_valid() & formset.is_valid()
        await self.send_html(fragments.form_errors(form, formset))
        if valid:
            await self.send_html(fragments.code(*build_request(form, formset)))

    async def stop(self) -> None:
        task, self.task = self.task, None
        if task is None or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def send_html(self, html: str) -> None:
        await self.send(text_data=html)
