"""The key goes into the Authorization header and nowhere else."""

import logging

import pytest

from playground.simulator import Simulator
from playground.upstream import (
    Endpoint,
    ErrorEvent,
    ErrorKind,
    UpstreamUnavailable,
    list_models,
)

from ..helpers import ServedApp, collect, text_of

KEY = "fw-test-KEY-0123456789-must-not-leak"
BODY = {"model": "simulator/chat-fast", "messages": [{"role": "user", "content": "Hi"}]}


@pytest.fixture(scope="module")
def guarded():
    """A simulator that accepts only KEY."""
    with ServedApp(Simulator(api_key=KEY)) as served:
        yield served


@pytest.fixture
def endpoint(guarded, monkeypatch):
    monkeypatch.setenv("TEST_UPSTREAM_KEY", KEY)
    return Endpoint(name="guarded", base_url=guarded.base_url, key_env="TEST_UPSTREAM_KEY")


@pytest.mark.parametrize("stream", [True, False])
async def test_the_key_from_the_environment_is_sent(endpoint, stream):
    events = await collect(endpoint, **BODY, stream=stream)
    assert text_of(events)
    assert not any(isinstance(e, ErrorEvent) for e in events)


async def test_a_wrong_key_is_unauthorized(endpoint, monkeypatch):
    monkeypatch.setenv("TEST_UPSTREAM_KEY", "wrong")
    events = await collect(endpoint, **BODY)
    assert events[-1] == ErrorEvent(ErrorKind.UNAUTHORIZED, "Invalid API key provided.", 401)


async def test_the_key_appears_in_no_event_repr_or_log_line(endpoint, caplog):
    for logger in (None, "httpx", "httpcore", "playground"):
        caplog.set_level(logging.DEBUG, logger=logger)
    events = await collect(endpoint, **BODY)
    failed = await collect(endpoint, **{**BODY, "model": "nope"})
    models = await list_models(endpoint)

    assert models
    assert isinstance(failed[-1], ErrorEvent)
    assert caplog.records, "the client and httpx logged at DEBUG"
    everything = [
        repr(endpoint),
        *map(repr, events + failed + models),
        caplog.text,
        *(record.getMessage() for record in caplog.records),
    ]
    assert not [text for text in everything if KEY in text]


async def _echo_app(scope, receive, send):
    """An upstream that repeats the Authorization header back in its error message (after
    990 characters of padding under /padded/, so that a cut at 1000 would split the key)."""
    if scope["type"] != "http":
        return
    await receive()
    auth = dict(scope["headers"]).get(b"authorization", b"")
    padding = b"x" * 990 if scope["path"].startswith("/padded/") else b""
    body = b'{"error": {"message": "' + padding + b"bad credentials: " + auth + b'"}}'
    await send({"type": "http.response.start", "status": 401, "headers": []})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def echo():
    with ServedApp(_echo_app) as served:
        yield served


@pytest.mark.parametrize("prefix", ["", "/padded"])
async def test_a_key_echoed_by_the_upstream_is_scrubbed(monkeypatch, echo, prefix):
    monkeypatch.setenv("TEST_UPSTREAM_KEY", KEY)
    base_url = f"http://127.0.0.1:{echo.port}{prefix}/v1"
    endpoint = Endpoint(name="echo", base_url=base_url, key_env="TEST_UPSTREAM_KEY")
    events = await collect(endpoint, **BODY)
    with pytest.raises(UpstreamUnavailable) as listing:
        await list_models(endpoint)

    for error in (events[-1], listing.value.error):
        assert error.kind == ErrorKind.UNAUTHORIZED
        assert "bad credentials: Bearer [key]" in error.message or prefix
        assert KEY[:8] not in error.message
        assert len(error.message) <= 1002
    assert KEY[:8] not in str(listing.value)
