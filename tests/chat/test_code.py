""" "View code" gives the exact request; each snippet runs against the simulator."""

import json
import os
import subprocess
import sys

import pytest

from playground import settings as project_settings
from playground.chat.code import snippets
from playground.chat.services import build_request
from playground.runform import bind
from playground.simulator import Simulator
from playground.upstream import Endpoint

from ..helpers import ServedApp, Socket, form_data

pytestmark = pytest.mark.usefixtures("sim_endpoints_setting")
# The snippets run in processes of their own against the simulator: the same on any backend.
one_pass = pytest.mark.sqlite_only
KEY = "sk-code-test-VALUE-never-shown"


def request_for(**fields):
    form, formset = bind(form_data(**fields))
    assert form.is_valid(), form.errors
    assert formset.is_valid(), formset.errors
    return build_request(form, formset)


def run(args, code, **env):
    result = subprocess.run(
        args, input=code, capture_output=True, text=True, timeout=60, env={**os.environ, **env}
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "the snippet says nothing but the answer"
    return result.stdout


@pytest.fixture(scope="module")
def guarded():
    with ServedApp(Simulator(api_key=KEY)) as served:
        yield Endpoint(name="guarded", base_url=served.base_url, key_env="PLAYGROUND_TEST_KEY")


@one_pass
@pytest.mark.parametrize("stream", [True, False])
def test_the_curl_snippet_runs(stream):
    endpoint, body = request_for(max_tokens=5, top_k=3, stream=stream)
    output = run(["bash"], snippets(endpoint, body)["curl"])
    if stream:
        assert output.rstrip().endswith("data: [DONE]")
        assert '"object": "chat.completion.chunk"' in output
    else:
        assert json.loads(output)["usage"]["completion_tokens"] == 5


@one_pass
@pytest.mark.parametrize("stream", [True, False])
def test_the_python_snippet_runs_with_fireworks_parameters_and_prints_each_choice(stream):
    endpoint, body = request_for(max_tokens=8, n=3, top_k=3, prompt_truncate_len=500, stream=stream)
    code = snippets(endpoint, body)["python"]
    assert "extra_body={'top_k': 3, 'prompt_truncate_len': 500}" in code
    assert "max_tokens=8," in code
    answers = run([sys.executable, "-"], code).split("--- choice ")[1:]
    assert [answer.split(" ---")[0] for answer in answers] == ["1", "2", "3"]
    for answer in answers:
        assert answer.split("---\n", 1)[1].startswith("**Simulated reply** to “Hello”.")


@one_pass
@pytest.mark.parametrize("stream", [True, False])
def test_the_javascript_snippet_runs(stream):
    endpoint, body = request_for(max_tokens=4, stream=stream)
    output = run(["node", "--input-type=module", "-"], snippets(endpoint, body)["javascript"])
    assert ("data: [DONE]" in output) if stream else ('"completion_tokens": 4' in output)


@one_pass
def test_the_key_is_named_never_shown_and_still_works(guarded):
    body = {"model": "simulator/chat-fast", "messages": [{"role": "user", "content": "Hi"}]}
    body |= {"stream": False, "max_tokens": 3}
    code = snippets(guarded, body)
    for text in code.values():
        assert KEY not in text
        assert "PLAYGROUND_TEST_KEY" in text
    env = {"PLAYGROUND_TEST_KEY": KEY}
    assert json.loads(run(["bash"], code["curl"], **env))["usage"]["completion_tokens"] == 3
    assert run([sys.executable, "-"], code["python"], **env).strip()
    assert '"completion_tokens": 3' in run(
        ["node", "--input-type=module", "-"], code["javascript"], **env
    )


@pytest.mark.django_db(transaction=True)
async def test_the_mounted_simulator_key_is_shown_as_its_variable_never_its_value(
    alice, settings, fresh_upstream, run_registry
):
    """The app's own simulator endpoint sends a key made at start; View code names it."""
    settings.PLAYGROUND_ENDPOINTS = project_settings.PLAYGROUND_ENDPOINTS
    socket = Socket(alice)
    assert (await socket.connect())[0]
    await socket.send(form_data(action="code"))
    frame = await socket.until("SIMULATOR_API_KEY")
    await socket.close()
    assert os.environ["SIMULATOR_API_KEY"] not in frame
    assert "Bearer $SIMULATOR_API_KEY" in frame
