"""What a proxy or an orchestrator asks a process: is it up (/healthz), may it take traffic
(/readyz). Neither needs a login, and neither says more than ok or the kind of failure."""

from __future__ import annotations

import asyncio

import redis.asyncio as redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

CHECK_TIMEOUT = 2.0  # seconds, for each dependency


@never_cache
@require_GET
async def healthz(request: HttpRequest) -> HttpResponse:
    """The process serves requests; nothing else is asked. Async, so that it answers from the
    event loop and waits for no page's turn (playground/core/handler.py): pages slow on a
    locked database must not make a liveness probe kill the process."""
    return HttpResponse("ok", content_type="text/plain")


@never_cache
@require_GET
async def readyz(request: HttpRequest) -> JsonResponse:
    """Ready when the database answers. Redis down only degrades the process (live watching
    from other processes stops; runs go on): failing readiness for it would pull every process
    out of the proxy at once, so it is reported with a 200."""
    database, channel_layer = await asyncio.gather(_database(), _channel_layer())
    ready = database == "ok"
    status = "degraded" if ready and channel_layer == "unreachable" else "ready"
    body = {
        "status": status if ready else "unready",
        "database": database,
        "channel_layer": channel_layer,
    }
    return JsonResponse(body, status=200 if ready else 503)


def _select_one() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()  # a thread of its own: leave no connection behind


async def _database() -> str:
    try:
        await asyncio.wait_for(sync_to_async(_select_one, thread_sensitive=False)(), CHECK_TIMEOUT)
    except TimeoutError:
        return "timeout"
    except Exception as exc:
        return f"error ({type(exc).__name__})"
    return "ok"


async def _channel_layer() -> str:
    if not settings.REDIS_URL:
        return "in-memory"
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=CHECK_TIMEOUT, socket_connect_timeout=CHECK_TIMEOUT
    )
    try:
        await asyncio.wait_for(client.ping(), CHECK_TIMEOUT)
    except (TimeoutError, redis.RedisError, OSError):
        return "unreachable"
    finally:
        await client.aclose()
    return "ok"
