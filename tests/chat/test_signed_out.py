"""An open socket keeps no login of its own: a user who logged out, or whose account was
deactivated, starts no more runs on a socket opened before."""

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.test import Client

from playground.transcripts.models import Transcript

from ..helpers import Socket, form_data

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry"),
]
SIGNED_OUT = "You are signed out, or your account is no longer active: sign in again to run."


@database_sync_to_async
def log_out() -> None:
    """The real logout view, with the socket's own session cookie."""
    client = Client()
    client.cookies["sessionid"] = Session.objects.get().session_key
    assert client.post("/accounts/logout/").status_code == 302
    assert not Session.objects.exists()


@database_sync_to_async
def deactivate(user) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])


@pytest.mark.parametrize("ending", ["logout", "deactivation"])
async def test_a_socket_whose_login_ended_starts_no_run(alice, ending, settings):
    settings.PLAYGROUND_ORPHAN_GRACE = 0
    socket = Socket(alice)
    assert (await socket.connect())[0]
    assert await socket.run(form_data(max_tokens=2)) == "completed"

    await (log_out() if ending == "logout" else deactivate(alice))
    await socket.send(form_data(max_tokens=2))
    frame = await socket.until("sign in again")
    await socket.close()
    assert SIGNED_OUT in frame
    assert await database_sync_to_async(Transcript.objects.count)() == 1, "no second run"
