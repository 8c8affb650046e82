"""Failed logins, counted by django-axes: whose address a failure counts against, and the
page a locked-out login gets."""

import ipaddress
import math
from typing import Any

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def client_ip(request: HttpRequest) -> str | None:
    """The peer's address; behind a proxy of PLAYGROUND_TRUSTED_PROXIES, the address that proxy
    reports in PLAYGROUND_CLIENT_IP_HEADER: the header's last entry, the one the proxy wrote
    itself, since a client may send the header with any addresses of its own to rotate."""
    peer = request.META.get("REMOTE_ADDR")
    header = settings.PLAYGROUND_CLIENT_IP_HEADER
    if not header or not _is_trusted_proxy(peer):
        return peer
    meta_name = "HTTP_" + header.upper().replace("-", "_")
    reported = request.META.get(meta_name, "").rsplit(",", 1)[-1].strip()
    try:
        return str(ipaddress.ip_address(reported))
    except ValueError:
        return peer


def _is_trusted_proxy(peer: str | None) -> bool:
    """PLAYGROUND_TRUSTED_PROXIES holds addresses or networks (`10.0.0.0/8`)."""
    try:
        address = ipaddress.ip_address(peer or "")
    except ValueError:
        return False
    return any(address in network for network in settings.PLAYGROUND_TRUSTED_PROXIES)


def locked_out(request: HttpRequest, *args: Any) -> HttpResponse:
    """Our login page, saying how long to wait (axes' answer to a locked-out login, on every
    login form: ours and the admin's count together)."""
    # Each attempt while locked out starts the cool-off again (axes' default), so the wait is
    # the whole of it, from now.
    context = {
        "form": AuthenticationForm(request, initial={"username": request.POST.get("username")}),
        "next": request.POST.get("next", ""),
        "wait_minutes": math.ceil(get_cool_off(request).total_seconds() / 60),
    }
    return render(request, "registration/login.html", context, status=429)
