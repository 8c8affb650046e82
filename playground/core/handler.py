"""Django's ASGI handler, its requests' sync code run on threads kept from one request to the
next, the middleware in one go.

Django's own handler gives every request a thread-sensitive context of its own, so asgiref
runs the request's sync code (middleware, view, template) on a thread started for it and
stopped after it. Database connections belong to their thread: each request opened one and
left it behind, and CONN_MAX_AGE kept nothing (a PostgreSQL backend forked per page). Here a
request borrows an idle one-thread executor (or starts one when all are busy) and gives it back
at its end: the sync code of one request still runs on one thread, that thread alone, and its
connection serves the next request that borrows it.

The middleware chain runs sync, in one hop to that thread. Served async, Django runs each
middleware async where it can, so every process_request and process_response of the ones built
on MiddlewareMixin is a hop of its own to the thread and back, and WhiteNoise (sync only) in
their midst hops back to the event loop for the rest: some twenty hops a page. The few async
views (the model list, the endpoints page, readyz) still run on the event loop, called from the
request's thread as under WSGI.

At most REQUEST_THREADS requests run their sync code at once; the next waits its turn. Python
runs one thread at a time: ten threads at once on two cores spend their CPU handing the GIL to
each other (the transcript list cost 23.5 ms of CPU a page at 10 connections, 19.9 with 4 at
once, in bench.pages). A request for an async view takes no turn: its thread only waits for
the event loop, and a slow upstream behind the model list must not hold pages back.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, iscoroutinefunction, sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.urls import Resolver404, get_resolver

# Threads kept idle at most: a burst of requests past it starts threads that end with it.
KEPT_THREADS = 16


class KeptThreadsASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self._idle: list[ThreadPoolExecutor] = []
        self._turns = asyncio.Semaphore(settings.REQUEST_THREADS)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django serves HTTP here, not {scope['type']}.")
        # The most recently used thread first: its connection is the likeliest still open.
        executor = self._idle.pop() if self._idle else self._new_executor()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            if len(self._idle) < KEPT_THREADS:
                self._idle.append(executor)
            else:
                executor.shutdown(wait=False)

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        respond = sync_to_async(self.get_response, thread_sensitive=True)
        if _async_view(request.path_info):
            return await respond(request)
        async with self._turns:
            return await respond(request)

    @staticmethod
    def _new_executor() -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="django-request")


def _async_view(path: str) -> bool:
    try:
        return iscoroutinefunction(get_resolver().resolve(path).func)
    except Resolver404:
        return False
