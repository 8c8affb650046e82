"""Headers for the browser: what every response carries, what signed-in pages and logouts add."""

from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.cache import add_never_cache_headers
from django.utils.deprecation import MiddlewareMixin

# Set on the request by the user_logged_out signal, read on its way out.
LOGGED_OUT = "playground_logged_out"


class BrowserHardeningMiddleware(MiddlewareMixin):
    """Placed before WhiteNoise, so static files get the headers every response carries; they
    never pass AuthenticationMiddleware, so they have no `request.user` and stay cacheable."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> Any:
        # Other sites may not embed our pages, scripts or answers as their own resources.
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)  # a member's pages stay out of every cache
        if getattr(request, LOGGED_OUT, False):
            # The page keeps a draft of the form in localStorage: gone with the session.
            response.headers["Clear-Site-Data"] = '"storage"'
        return response


def mark_logout(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    """Every logout (ours, the admin's) clears the browser's storage of this site."""
    if request is not None:
        setattr(request, LOGGED_OUT, True)
