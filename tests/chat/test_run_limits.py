"""The limits that protect a paid key, through the real socket: each refuses with its message
and the time to wait, per endpoint, simulated endpoints exempt, and tokens settle at the end.

`scripted` and `other` are real (not simulated) endpoints on the scripted upstream; the
rows a test needs in the window are made by the factory with their start time set."""

import html
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from playground.transcripts.models import Transcript

from ..factories import make_transcript
from ..helpers import Socket, ended_transcript, form_data
from ..hostile import chunk, sse

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_upstream", "run_registry"),
]
USAGE = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}


@pytest.fixture
def endpoints(settings, sim_endpoints_setting, scripted_server, scripted):
    """The test endpoints, plus a second paid one on the scripted upstream, and its answers: `paid`
    (with its usage) and `silent` (no usage)."""
    other = {"name": "other", "label": "Other", "base_url": scripted_server.base_url}
    settings.PLAYGROUND_ENDPOINTS = [*sim_endpoints_setting, other]
    scripted.script("paid", sse(chunk(content="Hi"), chunk(finish_reason="stop", usage=USAGE)))
    scripted.script("silent", sse(chunk(content="Hi"), chunk(finish_reason="stop")))
    return settings.PLAYGROUND_ENDPOINTS


@database_sync_to_async
def started(user, endpoint: str, seconds_ago: float, tokens: int = 0) -> None:
    when = timezone.now() - timedelta(seconds=seconds_ago)
    make_transcript(user, endpoint=endpoint, created_at=when, charged_tokens=tokens)


@database_sync_to_async
def runs_of(user) -> int:
    return Transcript.objects.filter(user=user).count()


async def connected(user) -> Socket:
    socket = Socket(user)
    assert (await socket.connect())[0]
    return socket


async def refusal(user, **fields) -> str:
    """The notice a run gets when it is refused (and no row was written for it)."""
    before = await runs_of(user)
    socket = await connected(user)
    await socket.send(form_data(**fields))
    frame = await socket.until("error-box")
    await socket.close()
    assert await runs_of(user) == before
    return html.unescape(frame.split('role="alert">')[1].split("</div>")[0])


async def runs(user, **fields) -> str:
    socket = await connected(user)
    status = await socket.run(form_data(**fields))
    await socket.close()
    return status


async def test_runs_per_minute_refuse_with_the_time_to_wait(
    alice, endpoints, settings, monkeypatch
):
    # The clock held still: on a loaded machine a second may pass before the check.
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)
    settings.PLAYGROUND_RUNS_PER_MINUTE = 2
    await started(alice, "scripted", seconds_ago=45)
    await started(alice, "scripted", seconds_ago=20)
    assert await refusal(alice, endpoint="scripted", model="paid") == (
        "You have started 2 runs on scripted in the last minute; try again in 15 s."
    )


async def test_tokens_per_day_refuse_with_the_time_to_wait(alice, endpoints, settings):
    settings.PLAYGROUND_TOKENS_PER_DAY = 1000
    await started(alice, "scripted", seconds_ago=23 * 3600, tokens=950)
    assert await refusal(alice, endpoint="scripted", model="paid", max_tokens=30, n=2) == (
        "Your runs on scripted used 950 of your 1,000 tokens for 24 hours, and this one may"
        " generate 60 (max_tokens × n); try again in 60 min, or lower max_tokens or n."
    )
    assert await runs(alice, endpoint="scripted", model="paid", max_tokens=25, n=2) == "completed"


async def test_a_simulated_endpoint_is_exempt(alice, endpoints, settings):
    settings.PLAYGROUND_RUNS_PER_MINUTE = 1
    settings.PLAYGROUND_TOKENS_PER_DAY = 1
    await started(alice, "simulator", seconds_ago=1, tokens=10)
    assert await runs(alice, max_tokens=3) == "completed"
    assert await runs(alice, max_tokens=3) == "completed"


async def test_the_limits_are_per_endpoint(alice, endpoints, settings):
    settings.PLAYGROUND_RUNS_PER_MINUTE = 1
    await started(alice, "other", seconds_ago=1)
    assert await runs(alice, endpoint="scripted", model="paid") == "completed"
    assert "on scripted in the last minute" in await refusal(
        alice, endpoint="scripted", model="paid"
    )
    assert "on other in the last minute" in await refusal(alice, endpoint="other", model="paid")


async def test_the_tokens_reserved_at_the_start_settle_at_the_finish(
    alice, endpoints, settings, scripted
):
    next(e for e in endpoints if e["name"] == "scripted")["max_tokens"] = 40  # its own cap
    await runs(alice, endpoint="scripted", model="paid", n=2)
    assert (await ended_transcript()).charged_tokens == 7, "the usage's completion tokens"
    await database_sync_to_async(Transcript.objects.all().delete)()

    # No usage: the reservation stays, a blank max_tokens counted at the endpoint's cap.
    await runs(alice, endpoint="scripted", model="silent", n=2)
    assert (await ended_transcript()).charged_tokens == 80
    await database_sync_to_async(Transcript.objects.all().delete)()

    scripted.script("down", [b'{"error": {"message": "overloaded"}}'], status=503)
    assert await runs(alice, endpoint="scripted", model="down", max_tokens=10) == "error"
    assert (await ended_transcript()).charged_tokens == 0, "the upstream generated nothing"


async def test_a_request_over_a_bound_gets_the_forms_message(alice, endpoints, settings):
    settings.PLAYGROUND_MAX_MESSAGES = 2
    socket = await connected(alice)
    await socket.send(form_data(messages=[{"role": "user", "content": "Hi"}] * 3))
    assert "A run takes at most 2 messages on this server." in await socket.until("form-errors")
    await socket.close()
    assert await runs_of(alice) == 0
