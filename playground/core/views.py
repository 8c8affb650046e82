import asyncio

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from playground.upstream import Endpoint, UpstreamUnavailable, list_models

from .endpoints import all_endpoints


@login_required
async def home(request):
    """The endpoints on offer and the models each one lists (or why it cannot)."""
    rows = await asyncio.gather(*(_endpoint_row(e) for e in all_endpoints()))
    # The page reads request.user lazily (a sync query), so it renders off the event loop.
    return await sync_to_async(render)(request, "core/home.html", {"rows": rows})


async def _endpoint_row(endpoint: Endpoint) -> dict:
    try:
        return {"endpoint": endpoint, "models": await list_models(endpoint)}
    except UpstreamUnavailable as exc:
        return {"endpoint": endpoint, "error": exc.error}
