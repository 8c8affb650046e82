"""The scale-out deployment of docs/deploy.md, for real: two Daphne processes started by the
launcher behind nginx with deploy/nginx.conf, on the services pass (PostgreSQL and Redis)."""

import json
import re

import httpx
import pytest
from axes.models import AccessAttempt
from django.db import connection
from websockets.sync.client import connect

from playground.transcripts.models import Transcript

from ..helpers import (
    DaphneServer,
    ack_for,
    database_url,
    endpoints_for_tests,
    form_data,
    session_cookie,
)
from ..proxy import Nginx

pytestmark = [
    pytest.mark.multiprocess,
    pytest.mark.services_only,
    pytest.mark.django_db(transaction=True),
]
# As docs/deploy.md runs Daphne behind the proxy, and only there.
BEHIND_NGINX = ("--proxy-headers", "--proxy-headers-host", "X-Real-IP")


@pytest.fixture
def deployment(simulator_server, scripted_server):
    env = {
        "DATABASE_URL": database_url(connection.settings_dict),
        "PLAYGROUND_ENDPOINTS": json.dumps(endpoints_for_tests(simulator_server, scripted_server)),
        "SIMULATOR_ENABLED": "false",
        "PLAYGROUND_ORPHAN_GRACE": "0",
    }
    with (
        DaphneServer(*BEHIND_NGINX, **env) as one,
        DaphneServer(*BEHIND_NGINX, **env) as two,
        Nginx([f"127.0.0.1:{one.port}", f"127.0.0.1:{two.port}"]) as proxy,
    ):
        yield proxy


def test_pages_and_streamed_runs_go_through_the_proxy(alice, deployment):
    assert httpx.get(f"{deployment.url}/readyz").json()["status"] == "ready"
    origin = deployment.url  # with its port: nginx must pass the Host on as it came
    headers = {"Cookie": f"sessionid={session_cookie(alice)}"}
    with connect(
        f"ws://127.0.0.1:{deployment.port}/ws/run/", origin=origin, additional_headers=headers
    ) as page:
        page.send(json.dumps(form_data(model="simulator/chat?tps=200", max_tokens=40)))
        frames = []
        while 'class="status completed"' not in (frame := page.recv(timeout=15)):
            frames.append(frame)
            if ack := ack_for(frame):  # as the page does
                page.send(json.dumps(ack))
    streamed = [frame for frame in frames if "beforeend:#c0-text-" in frame]
    assert len(streamed) > 3, "tokens arrive as they come, not buffered into one frame"
    (row,) = Transcript.objects.all()
    assert row.status == Transcript.Status.COMPLETED


def test_the_clients_address_is_the_proxys_word_not_the_clients(deployment):
    """nginx sets X-Real-IP (never appends to it), so a client cannot choose the address its
    failed logins count against."""
    with httpx.Client(base_url=deployment.url) as client:
        login = client.get("/accounts/login/").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login)[1]
        client.post(
            "/accounts/login/",
            data={"username": "alice", "password": "wrong", "csrfmiddlewaretoken": token},
            headers={"X-Real-IP": "203.0.113.9", "X-Forwarded-For": "203.0.113.9"},
        )
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["127.0.0.1"]
