import asyncio
import sys

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import defaults
from django.views.decorators.http import require_POST

from playground.upstream import Endpoint, UpstreamUnavailable, list_models

from .endpoints import all_endpoints
from .forms import ThemeForm
from .services import preference_set_theme


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


@login_required
@require_POST
def set_theme(request):
    """The theme form posts here and comes back to the page (the page's script applies the
    theme at once and posts without following the redirect)."""
    form = ThemeForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Unknown theme: choose System, Light or Dark.")
    preference_set_theme(user=request.user, theme=form.cleaned_data["theme"])
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        back = "/"
    return redirect(back)


def server_error(request):
    """Django's 500 page, except for a database that is down or too slow: a 503 that says so
    (Django calls this inside its handler of the exception, hence `sys.exc_info`)."""
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = "30"
        return response
    return defaults.server_error(request)
