from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from playground.upstream import UpstreamUnavailable, list_models

from .endpoints import all_endpoints


@login_required
async def home(request):
    """The endpoints on offer and the models each one lists (or why it cannot)."""
    rows = []
    for endpoint in all_endpoints():
        try:
            rows.append({"endpoint": endpoint, "models": await list_models(endpoint)})
        except UpstreamUnavailable as exc:
            rows.append({"endpoint": endpoint, "error": exc.error})
    return render(request, "core/home.html", {"rows": rows})
