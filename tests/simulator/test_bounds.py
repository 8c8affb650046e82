"""Every knob of the simulator has a bound, its key guards every route, and no request holds
the event loop: it serves whoever reaches it, in the app's own process when mounted."""

import asyncio
import gc
import json
import time

import httpx
import pytest

from playground.simulator import Simulator

from ..helpers import ServedApp
from .conftest import HELLO

OUT_OF_BOUNDS = [
    ("tokens", 20_001, "from 0 to 20000"),
    ("tps", 5_001, "from 0 to 5000"),
    ("tps", -1, "from 0 to 5000"),
    ("first_token_delay", 61, "from 0 to 60"),
    ("retry_after", 601, "from 0 to 600"),
    ("malformed_after", 20_001, "from 0 to 20000"),
    ("disconnect_after", 20_001, "from 0 to 20000"),
    ("tokens", "inf", "from 0 to 20000"),
    ("error", "nan", ">= 0"),
]


@pytest.mark.parametrize(("option", "value", "wanted"), OUT_OF_BOUNDS)
@pytest.mark.parametrize("where", ["model name", "simulator object"])
def test_an_option_out_of_bounds_is_a_400_that_says_the_bound(post, option, value, wanted, where):
    if where == "model name":
        response = post(model=f"simulator/chat-fast?{option}={value}")
    else:
        response = post(simulator={option: value})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["message"] == f"Simulator option {option!r} wants a number {wanted}."
    assert error["param"] == "simulator"


def test_n_has_a_bound_of_its_own(post):
    response = post(n=17)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "`n` must be at most 16."


def test_the_bounds_themselves_are_accepted(post):
    options = {"tokens": 20_000, "tps": 5_000, "first_token_delay": 0, "retry_after": 600}
    response = post(simulator=options, max_tokens=3, n=16)
    assert response.status_code == 200, response.text
    assert response.json()["usage"]["completion_tokens"] == 3 * 16


def test_a_schema_that_asks_for_endless_items_gets_a_bounded_answer(post):
    nested = {"type": "array", "minItems": 10**9, "items": {"type": "integer", "minimum": "x"}}
    schema = {"type": "array", "minItems": 10**9, "items": {**nested, "items": nested}}
    response_format = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    started = time.monotonic()
    response = post(response_format=response_format)
    assert response.status_code == 200, response.text
    assert len(response.content) < 100_000
    assert time.monotonic() - started < 2


@pytest.fixture(scope="module")
def guarded():
    with ServedApp(Simulator(api_key="sim-key-for-tests")) as served:
        yield served


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/models"), ("POST", "/chat/completions"), ("GET", "/nowhere")]
)
def test_a_simulator_with_a_key_refuses_every_route_without_it(guarded, method, path):
    body = {"model": "simulator/chat-fast", "messages": HELLO}
    for headers in ({}, {"Authorization": "Bearer sim-key-for-test"}):
        response = httpx.request(method, guarded.base_url + path, json=body, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "Invalid API key provided."
    right = {"Authorization": "Bearer sim-key-for-tests"}
    response = httpx.request(method, guarded.base_url + path, json=body, headers=right)
    assert response.status_code == (404 if path == "/nowhere" else 200)


async def call(app: Simulator, body: dict) -> list[dict]:
    """One request straight into the ASGI app, whose sends never yield (as under Daphne)."""
    scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": []}
    messages = [{"type": "http.request", "body": json.dumps(body).encode(), "more_body": False}]
    sent: list[dict] = []

    async def receive():
        if not messages:
            await asyncio.Event().wait()  # the client never goes away
        return messages.pop()

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def longest_stall_while(work) -> float:
    """The longest the event loop went without running another task during `work`, in CPU
    seconds of its thread (a wall clock would count the time other processes ran too). The
    garbage collector is off meanwhile: a full collection walks every object the worker's
    earlier tests left, which is the interpreter pausing, not `work` holding the loop (a
    187 ms stall failed this once in make test, where the simulator's own are ~3 ms)."""
    gc.disable()
    try:
        longest, task = 0.0, asyncio.ensure_future(work)
        while not task.done():
            before = time.thread_time()
            await asyncio.sleep(0)
            longest = max(longest, time.thread_time() - before)
        await task
    finally:
        gc.enable()
    return longest


@pytest.mark.parametrize("stream", [False, True])
async def test_a_long_unpaced_answer_hands_the_loop_back(stream):
    body = {
        "model": "simulator/chat-fast",
        "messages": HELLO,
        "n": 2,
        "stream": stream,
        "simulator": {"tokens": 20_000},
    }
    stall = await longest_stall_while(call(Simulator(), body))
    assert stall < 0.05
