"""Django's ASGI handler, its requests' sync code run on threads kept from one request to the
next, the middleware in one go.

Django's own handler gives every request a thread-sensitive context of its own, so asgiref
runs the request's sync code (middleware, view, template) on a thread started for it and
stopped after it. Database connections belong to their thread: each request opened one and
left it behind, and CONN_MAX_AGE kept nothing (a PostgreSQL backend forked per page). Here a
request borrows an idle one-thread executor (or starts one when all are busy) and gives it back
once its thread is free: the sync code of one request still runs on one thread, that thread
alone, and its connection serves the next request that borrows it. Twice REQUEST_THREADS are
kept idle at most; a burst past them starts threads that end with it.

The middleware chain runs sync, in one hop to that thread. Served async, Django runs each
middleware async where it can, so every process_request and process_response of the ones built
on MiddlewareMixin is a hop of its own to the thread and back, and WhiteNoise (sync only) in
their midst hops back to the event loop for the rest: some twenty hops a page. The few async
views (the model list, the endpoints page, healthz, readyz) still run on the event loop,
called from the request's thread as under WSGI.

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
from django.db import connections
from django.urls import Resolver404, get_resolver


class KeptThreadsASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self._idle: list[ThreadPoolExecutor] = []
        self._turns: asyncio.Semaphore | None = None
        self._turns_loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django serves HTTP here, not {scope['type']}.")
        # The most recently used thread first: its connection is the likeliest still open.
        executor = self._idle.pop() if self._idle else self._new_executor()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self._give_back(executor)

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        if _async_view(request.path_info):
            return await sync_to_async(self.get_response, thread_sensitive=True)(request)
        turns = self._turns_here()
        await turns.acquire()
        loop = asyncio.get_running_loop()

        def respond_in_turn(request):
            # The turn ends with the sync code, not with this await: a request cancelled as
            # its client leaves goes on running on its thread until it returns.
            try:
                return self.get_response(request)
            finally:
                loop.call_soon_threadsafe(turns.release)

        return await sync_to_async(respond_in_turn, thread_sensitive=True)(request)

    def _turns_here(self) -> asyncio.Semaphore:
        """The turns of the running loop: an asyncio primitive belongs to the first loop it
        waits on (the app is one loop's in production, one test's each in the suite)."""
        loop = asyncio.get_running_loop()
        if self._turns is None or self._turns_loop is not loop:
            self._turns = asyncio.Semaphore(settings.REQUEST_THREADS)
            self._turns_loop = loop
        return self._turns

    def _give_back(self, executor: ThreadPoolExecutor) -> None:
        """Kept for the next request once its thread is free: a request cancelled as its
        client left may still be running there. Past the threads kept, its thread ends, its
        connections closed first (left to the garbage collector, they stay open meanwhile)."""
        loop = asyncio.get_running_loop()

        def free() -> None:
            if len(self._idle) < 2 * settings.REQUEST_THREADS:
                self._idle.append(executor)
            else:
                _retire(executor)

        def when_free(_) -> None:
            try:
                loop.call_soon_threadsafe(free)
            except RuntimeError:  # the loop closed meanwhile (the server is stopping)
                _retire(executor)

        executor.submit(lambda: None).add_done_callback(when_free)

    @staticmethod
    def _new_executor() -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="django-request")


def _retire(executor: ThreadPoolExecutor) -> None:
    """The thread ends once its connections are closed."""
    executor.submit(connections.close_all)
    executor.shutdown(wait=False)


def _async_view(path: str) -> bool:
    try:
        return iscoroutinefunction(get_resolver().resolve(path).func)
    except Resolver404:
        return False
