"""The run socket: the page sends the form, gets HTML fragments back as tokens arrive."""

from __future__ import annotations

import asyncio
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from playground.runform import bind

from . import fragments, runner
from .services import RunRefused, build_request, run_prepare

logger = logging.getLogger(__name__)


class RunConsumer(AsyncWebsocketConsumer):
    # Frames go straight to this socket (a channel-layer hop would add latency, and
    # channels_redis drops messages past its capacity), so it listens on no layer channel.
    channel_layer_alias = None
    task: asyncio.Task | None = None
    run: runner.Run | None = None

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
        except (ValueError, RecursionError):
            data = None
        if not isinstance(data, dict):
            await self.send_html(fragments.notice("The message was not a JSON object."))
            return
        action = data.get("action")
        handlers = {"run": self.start, "code": self.show_code, "stop": self.stop_action}
        if action not in handlers:
            await self.send_html(fragments.notice(f"Unknown action {action!r}."))
            return
        try:
            await handlers[action](data)
        except Exception:
            # The socket stays open, and the page keeps everything typed.
            logger.exception("The run socket failed on %r", action)
            await self.send_html(
                fragments.notice("Something went wrong on the server; please try again.")
            )

    async def start(self, data: dict) -> None:
        if self.task is not None and not self.task.done():
            await self.send_html(fragments.notice("A run is going: stop it first."))
            return
        form, formset = bind(data)
        valid = form.is_valid() & formset.is_valid()  # both, so every error shows at once
        await self.send_html(fragments.form_errors(form, formset))
        if not valid:
            return
        if not runner.ProcessRuns.reserve(settings.PLAYGROUND_MAX_RUNS_PER_PROCESS):
            await self.send_html(
                fragments.notice("The server is at its limit of runs; try again in a moment.")
            )
            return
        try:
            self.run = await database_sync_to_async(run_prepare)(
                user=self.scope["user"],
                form=form,
                formset=formset,
                preset_slug=str(data.get("preset") or ""),
                continued_from=str(data.get("continued_from") or ""),
            )
            await self.send_html(fragments.started(self.run.transcript, self.run.n))
        except BaseException as exc:
            runner.ProcessRuns.release()
            if not isinstance(exc, RunRefused):
                raise
            await self.send_html(fragments.notice(str(exc)))
            return
        # The stream runs in its own task: Channels handles one message of a socket at a time,
        # so Stop must not wait behind it.
        self.task = asyncio.create_task(
            runner.execute(
                self.run,
                self.send_html,
                tick=settings.PLAYGROUND_RELAY_TICK,
                checkpoint_every=settings.PLAYGROUND_CHECKPOINT_SECONDS,
            )
        )
        self.task.add_done_callback(runner.ProcessRuns.release)

    async def show_code(self, data: dict) -> None:
        form, formset = bind(data)
        valid = form.is_valid() & formset.is_valid()
        await self.send_html(fragments.form_errors(form, formset))
        if valid:
            await self.send_html(fragments.code(*build_request(form, formset)))

    async def stop_action(self, data: dict) -> None:
        await self.stop()

    async def stop(self) -> None:
        task, self.task = self.task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            if asyncio.current_task().cancelling():
                raise  # this consumer is being cancelled itself, not just its run
        await runner.finish_unstarted(self.run, self.send_html)

    async def send_html(self, html: str) -> None:
        await self.send(text_data=html)
