"""What the simulated model does with the request's parameters, and how it refuses bad ones."""

import json
import re
import subprocess
import sys
import time

import httpx
import pytest

from playground.simulator import app

from ..helpers import SimulatorProcess
from .conftest import HELLO


def content(response) -> str:
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


def test_a_seed_gives_the_same_reply_every_time(post):
    assert content(post(seed=42)) == content(post(seed=42))
    assert content(post(seed=42)) != content(post(seed=43))


def test_without_a_seed_replies_vary(post):
    assert content(post(tokens=None)) != content(post())


def test_temperature_zero_is_greedy_and_higher_temperatures_differ(post):
    greedy = content(post(temperature=0, seed=1))
    assert greedy == content(post(temperature=0, seed=1))
    assert greedy != content(post(temperature=2, seed=1))
    assert greedy == content(post(temperature=1, top_k=1, seed=1)), "top_k=1 is greedy too"
    assert greedy == content(post(top_p=0.01, seed=1)), "a tiny top_p keeps one word"
    assert content(post(top_k=5, seed=1)) != content(post(top_k=50, seed=1))


def test_max_tokens_cuts_with_finish_reason_length(post):
    response = post(max_tokens=7).json()
    assert response["choices"][0]["finish_reason"] == "length"
    assert response["usage"]["completion_tokens"] == 7


def test_a_stop_sequence_ends_the_reply_and_is_kept(post):
    full = content(post(seed=5))
    response = post(seed=5, stop=["."]).json()
    text = response["choices"][0]["message"]["content"]
    assert response["choices"][0]["finish_reason"] == "stop"
    assert text == full[: full.index(".") + 1]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": None}, "`model` is required."),
        ({"messages": []}, "`messages` must be a non-empty list."),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role must be one of"),
        ({"temperature": 2.1}, "`temperature` must be a number between 0 and 2."),
        ({"temperature": -0.1}, "`temperature` must be a number between 0 and 2."),
        ({"top_p": 1.5}, "`top_p` must be a number between 0 and 1."),
        ({"n": 0}, "`n` must be an integer >= 1."),
        ({"max_tokens": 0}, "`max_tokens` must be an integer >= 1."),
        ({"stop": ["a", "b", "c", "d", "e"]}, "`stop` takes up to 4 sequences."),
        ({"frequency_penalty": 3}, "`frequency_penalty` must be a number between -2 and 2."),
        ({"response_format": {"type": "xml"}}, "`response_format.type` must be"),
        ({"tools": [{"type": "function", "function": {}}]}, "tools[0] must be a function"),
        ({"model": "simulator/chat?bogus=1"}, "Unknown simulator option 'bogus'."),
    ],
)
def test_bad_requests_get_a_400_in_the_api_shape(post, body, message):
    response = post(**body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith(message)


def test_a_body_that_is_not_json_is_a_400(simulator_server):
    response = httpx.post(f"{simulator_server.base_url}/chat/completions", content=b"{oops")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The request body is not valid JSON."


def test_benchmark_mode_numbers_tokens_and_stamps_their_emission(post):
    before = time.time()
    text = content(post(simulator={"bench": True, "tokens": 30, "tps": 0}))
    stamps = re.findall(r" (\d+)@(\d+\.\d+)", text)
    assert [int(number) for number, _ in stamps] == list(range(30))
    times = [float(stamp) for _, stamp in stamps]
    assert times == sorted(times)
    assert before <= times[0] <= time.time()


def test_keepalive_only_sends_comments_until_its_limit(simulator_server, monkeypatch):
    monkeypatch.setattr(app, "KEEPALIVE_LIMIT", 0.3)
    body = {"model": "simulator/chat?keepalive_only=1", "messages": HELLO, "stream": True}
    url = f"{simulator_server.base_url}/chat/completions"
    with httpx.stream("POST", url, json=body, timeout=10) as response:
        lines = [line for line in response.iter_lines() if line]

    role_chunk, *rest = lines
    assert json.loads(role_chunk.removeprefix("data: "))["choices"][0]["delta"] == {
        "role": "assistant"
    }
    assert len(rest) >= 3
    assert set(rest) == {": keep-alive"}, "comments only, and no [DONE] at the limit"
    record = simulator_server.app.requests[-1]
    assert (record.outcome, record.tokens_sent) == ("stalled", 0)


@pytest.mark.multiprocess
def test_runs_alone_from_the_command_line():
    with SimulatorProcess() as simulator:
        response = httpx.post(
            f"{simulator.base_url}/chat/completions",
            json={"model": "simulator/chat-fast", "messages": HELLO, "max_tokens": 3},
        )
        assert response.json()["usage"]["completion_tokens"] == 3


def test_the_simulator_imports_without_django():
    """It runs alone, and may use the upstream package only while that stays Django-free."""
    code = (
        "import sys, playground.simulator, playground.upstream;"
        " print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert result.stdout.strip() == "[]"


def test_logprobs_when_asked_for_are_plausible_and_seeded(post):
    answer = post(seed=3, logprobs=True, top_logprobs=3, max_tokens=20).json()
    (choice,) = answer["choices"]
    entries = choice["logprobs"]["content"]
    assert "".join(e["token"] for e in entries) == choice["message"]["content"]
    for e in entries:
        assert e["logprob"] <= 0
        tops = [alt["logprob"] for alt in e["top_logprobs"]]
        assert len(tops) == 3
        assert tops == sorted(tops, reverse=True)
        assert e["top_logprobs"][0]["token"] == e["token"]
    again = post(seed=3, logprobs=True, top_logprobs=3, max_tokens=20).json()
    assert again["choices"][0]["logprobs"] == choice["logprobs"]
    assert "logprobs" not in post(seed=3).json()["choices"][0]


def test_logprobs_stream_with_each_content_token(post, simulator_server):
    body = {"model": "simulator/chat-fast", "messages": HELLO, "stream": True}
    body.update(logprobs=True, max_tokens=10)
    url = f"{simulator_server.base_url}/chat/completions"
    with httpx.stream("POST", url, json=body, timeout=10) as response:
        lines = [line[6:] for line in response.iter_lines() if line.startswith("data: {")]
    chunks = [json.loads(line)["choices"] for line in lines]
    tokens = [c[0] for c in chunks if c and c[0]["delta"].get("content")]
    assert len(tokens) == 10
    assert all(c["logprobs"]["content"][0]["token"] == c["delta"]["content"] for c in tokens)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"top_logprobs": 2}, "`top_logprobs` needs `logprobs` set to true."),
        ({"logprobs": True, "top_logprobs": 21}, "`top_logprobs` must be an integer from 0 to 20."),
        ({"logprobs": "yes"}, "`logprobs` must be true or false."),
    ],
)
def test_bad_logprobs_are_refused_as_the_api_refuses_them(post, fields, message):
    response = post(**fields)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == message
