"""The run socket against the simulator on a real socket, through the whole ASGI stack."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async

from playground.transcripts.models import Transcript

from ..helpers import Socket, ended_transcript, form_data, wait_until
from ..hostile import chunk, pieces, sse

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry"),
]


@database_sync_to_async
def only_transcript() -> Transcript:
    (transcript,) = Transcript.objects.all()
    return transcript


async def connected(user) -> Socket:
    socket = Socket(user)
    connected, _ = await socket.connect()
    assert connected
    return socket


async def test_a_run_streams_tokens_then_the_rendered_answer_and_a_transcript(alice):
    socket = await connected(alice)
    status = await socket.run(form_data(model="simulator/chat-fast", max_tokens=30, seed=4))
    await socket.close()

    assert status == "completed"
    streamed = socket.streamed()
    assert streamed.startswith("**Simulated reply** to “Hello”.")
    transcript = await only_transcript()
    assert transcript.status == Transcript.Status.COMPLETED
    assert transcript.user_id == alice.pk
    assert transcript.choices[0]["content"] == streamed
    assert transcript.choices[0]["finish_reason"] == "length"
    assert (transcript.completion_tokens, transcript.prompt_tokens) == (30, 5)
    assert transcript.request_body == {
        "model": "simulator/chat-fast",
        "messages": [{"role": "user", "content": "Hello"}],
        "stream": True,
        "max_tokens": 30,
        "seed": 4,
    }
    assert transcript.form_state["fields"]["max_tokens"] == "30"
    assert transcript.response_id.startswith("chatcmpl-sim-")
    assert transcript.time_to_first_token_ms is not None
    assert transcript.tokens_per_second > 0
    final = "".join(socket.frames)
    assert "<strong>Simulated reply</strong>" in final, "the finished answer is Markdown"
    assert "finish: length" in final
    assert "tokens 5 / 30 / 35" in final
    assert transcript.get_absolute_url() in final


async def test_deltas_are_coalesced_into_few_frames(alice):
    socket = await connected(alice)
    await socket.run(form_data(model="simulator/chat-fast?tokens=600"))
    await socket.close()
    assert len(socket.streamed().split()) >= 550
    assert 1 <= len(socket.delta_frames()) < 600 / 10


async def test_the_plain_path_shows_the_same_answer(alice):
    socket = await connected(alice)
    status = await socket.run(form_data(stream=False, seed=9, max_tokens=10))
    await socket.close()
    assert status == "completed"
    transcript = await only_transcript()
    assert transcript.request_body["stream"] is False
    assert transcript.choices[0]["content"] == socket.streamed()


async def test_n_choices_stream_side_by_side(alice):
    socket = await connected(alice)
    await socket.run(form_data(n=3, max_tokens=8))
    await socket.close()
    frames = "".join(socket.frames)
    for index in range(3):
        assert f'id="c{index}-text"' in frames
        assert socket.streamed(f"c{index}-text")
    transcript = await only_transcript()
    assert [c["index"] for c in transcript.choices] == [0, 1, 2]


async def test_reasoning_streams_into_its_own_part(alice):
    socket = await connected(alice)
    await socket.run(form_data(model="simulator/reasoning?tps=0", max_tokens=40))
    await socket.close()
    assert socket.streamed("c0-reasoning").startswith("Let me think this through.")
    transcript = await only_transcript()
    assert transcript.choices[0]["reasoning"] == socket.streamed("c0-reasoning")


TOOLS = json.dumps(
    [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
)


async def test_tool_calls_stream_into_a_box_each_with_a_result_button(alice):
    socket = await connected(alice)
    messages = [{"role": "user", "content": "Use get_weather for Oslo"}]
    status = await socket.run(form_data(messages=messages, tools=TOOLS))
    await socket.close()

    assert status == "completed"
    transcript = await only_transcript()
    (call,) = transcript.choices[0]["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    assert "city" in json.loads(call["function"]["arguments"])
    assert transcript.choices[0]["finish_reason"] == "tool_calls"
    frames = "".join(socket.frames)
    assert 'id="c0-tool-0"' in frames, "a box per call"
    assert socket.streamed("c0-tool-0-name") == "get_weather"
    assert socket.streamed("c0-tool-0-id") == call["id"]
    assert socket.streamed("c0-tool-0-args") == call["function"]["arguments"], "sent once"
    assert 'class="add-tool-results"' in frames


async def test_stop_cancels_the_upstream_request_and_keeps_the_partial_text(alice, simulator):
    socket = await connected(alice)
    await socket.send(form_data(model="simulator/chat?tps=10&tokens=500"))
    await socket.until(r'beforeend:#c0-text-\d+">')
    await socket.send({"action": "stop"})
    await socket.until(r'class="status stopped"')
    await socket.close()

    transcript = await only_transcript()
    assert transcript.status == Transcript.Status.STOPPED
    assert transcript.choices[0]["content"].startswith("**Simulated")
    record = next(r for r in simulator.requests if r.id == transcript.response_id)
    await asyncio.to_thread(wait_until, lambda: record.outcome != "running")
    assert record.outcome == "client_closed"
    assert record.tokens_sent < 100


async def test_closing_the_tab_stops_the_run_too(alice, simulator, settings):
    settings.PLAYGROUND_ORPHAN_GRACE = 0
    socket = await connected(alice)
    await socket.send(form_data(model="simulator/chat?tps=10&tokens=500"))
    await socket.until(r'beforeend:#c0-text-\d+">')
    await socket.close()

    transcript = await ended_transcript()
    assert transcript.status == Transcript.Status.STOPPED
    assert transcript.end_reason == Transcript.EndReason.NO_WATCHER
    record = next(r for r in simulator.requests if r.id == transcript.response_id)
    await asyncio.to_thread(wait_until, lambda: record.outcome != "running")
    assert record.outcome == "client_closed"


@pytest.mark.parametrize(
    ("model", "title", "kept"),
    [
        ("simulator/chat?error=401", "The endpoint rejected the API key (401)", ""),
        ("no-such/model", "Not found (unknown model or wrong base URL) (404)", ""),
        ("simulator/chat?error=429&retry_after=30", "Rate limited by the endpoint (429)", ""),
        ("simulator/chat?error=500", "The endpoint had a server error (500)", ""),
        ("simulator/chat?error=503", "The endpoint had a server error (503)", ""),
        (
            "simulator/chat-fast?malformed_after=3",
            "The endpoint sent something that is not a valid response",
            "**Simulated reply** to",
        ),
        (
            "simulator/chat-fast?disconnect_after=3",
            "The endpoint dropped the connection mid-stream",
            "**Simulated reply** to",
        ),
    ],
)
async def test_upstream_errors_show_in_place_with_what_arrived(alice, model, title, kept):
    socket = await connected(alice)
    status = await socket.run(form_data(model=model))
    await socket.close()

    assert status == "error"
    frames = "".join(socket.frames)
    assert title in frames
    assert "Retry after 30 s." in frames or "429" not in model
    assert socket.streamed() == kept
    transcript = await only_transcript()
    assert transcript.status == Transcript.Status.ERROR
    assert transcript.error["title"] in title
    assert "".join(choice["content"] for choice in transcript.choices) == kept
    assert ("What arrived before it is kept" in frames) == bool(kept)


async def test_a_timeout_is_an_error_in_place(alice, upstream_config):
    upstream_config(read_timeout=0.3)
    socket = await connected(alice)
    status = await socket.run(form_data(model="simulator/chat?first_token_delay=5"))
    await socket.close()
    assert status == "error"
    assert "The endpoint timed out" in "".join(socket.frames)
    assert "Nothing arrived for 0.3 s." in "".join(socket.frames)


async def test_invalid_input_shows_errors_beside_the_fields_and_sends_nothing(alice, simulator):
    before = len(simulator.requests)
    socket = await connected(alice)
    await socket.send(form_data(temperature="5", stop="a\nb\nc\nd\ne", messages=[{"role": "tool"}]))
    frame = await socket.receive()
    await socket.close()

    assert (
        '<div class="field-errors" id="id_temperature_error" hx-swap-oob="true">'
        "<p>Ensure this value is less than or equal to 2.</p></div>"
    ) in frame
    assert "At most 4 stop sequences (5 given)." in frame
    assert "A tool message needs the id of the call it answers." in frame
    assert "Nothing was sent: fix these fields." in frame
    # Listed above them too, each linked to its field, the messages' first as on the page.
    assert frame.index(
        '<a href="#id_messages-0-tool_call_id">Message 1, tool call id</a>: A tool message'
    ) < frame.index('<a href="#id_temperature">Temperature</a>: Ensure this value')
    assert len(simulator.requests) == before
    assert await database_sync_to_async(Transcript.objects.count)() == 0


async def test_a_second_run_on_the_same_socket_waits_for_the_first(alice):
    socket = await connected(alice)
    await socket.send(form_data(model="simulator/chat?tps=10&tokens=500"))
    await socket.until(r'beforeend:#c0-text-\d+">')
    await socket.send(form_data())
    await socket.until("A run is going: stop it first.")
    await socket.send({"action": "stop"})
    await socket.until(r'class="status stopped"')
    await socket.close()


async def test_the_per_user_cap_on_concurrent_runs(alice, settings):
    settings.PLAYGROUND_MAX_CONCURRENT_RUNS = 1
    first, second = await connected(alice), await connected(alice)
    await first.send(form_data(model="simulator/chat?tps=10&tokens=500"))
    await first.until(r'beforeend:#c0-text-\d+">')
    await second.send(form_data())
    await second.until("You have 1 runs going, the most allowed at once")
    await first.close()
    await second.close()


async def test_a_message_that_is_not_json_gets_a_clear_answer(alice):
    socket = await connected(alice)
    await socket.communicator.send_to(text_data="run please")
    assert "The message was not a JSON object." in await socket.receive()
    await socket.close()


async def test_model_output_is_escaped_while_streaming_and_sanitised_after(alice):
    socket = await connected(alice)
    hostile = '<script>alert(1)</script> <img src=x onerror="alert(2)">'
    await socket.run(form_data(messages=[{"role": "user", "content": hostile}], max_tokens=12))
    await socket.close()
    frames = "".join(socket.frames)
    assert "<script>" not in frames
    assert "<img" not in frames
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in frames
    assert hostile in socket.streamed()


SCHEMA = json.dumps(
    {
        "type": "object",
        "properties": {"title": {"type": "string"}, "score": {"type": "number"}},
        "required": ["title", "score"],
    }
)


async def test_json_mode_output_is_pretty_printed_and_checked_against_the_schema(alice):
    socket = await connected(alice)
    await socket.run(form_data(response_format="json_object", response_schema=SCHEMA))
    await socket.close()
    frames = "".join(socket.frames)
    assert "Valid JSON that matches the schema." in frames
    assert '<pre class="json">{\n  &quot;title&quot;: ' in frames


async def test_json_cut_short_by_max_tokens_is_flagged(alice):
    socket = await connected(alice)
    await socket.run(form_data(response_format="json_object", response_schema=SCHEMA, max_tokens=3))
    await socket.close()
    assert "Not valid JSON: " in "".join(socket.frames)


async def test_a_schema_that_cannot_be_applied_still_ends_the_run_cleanly(alice):
    schema = '{"type": "object", "properties": {"a": {"$ref": "#/definitions/nope"}}}'
    socket = await connected(alice)
    status = await socket.run(form_data(response_format="json_object", response_schema=schema))
    await socket.close()
    assert status == "completed"
    assert "The schema cannot be applied" in "".join(socket.frames)
    assert (await only_transcript()).status == Transcript.Status.COMPLETED


async def test_a_hostile_frame_gets_an_answer_and_the_socket_stays_usable(alice):
    socket = await connected(alice)
    await socket.communicator.send_to(text_data="[" * 100_000)
    assert "it nests too deeply" in await socket.receive()
    await socket.send({**form_data(), "messages-0-content": ["a", "b"], "n": "x"})
    assert "Enter a whole number." in await socket.receive()
    assert await socket.run(form_data(max_tokens=3)) == "completed"
    await socket.close()


async def test_an_upstreams_own_words_arrive_as_they_were_sent(alice, scripted):
    words = "Grüße, 世界 — <b>not bold</b> & ✓"
    events = [chunk(content=piece) for piece in pieces(words, 3)]
    scripted.script("odd/pieces", sse(*events, chunk(finish_reason="stop")))
    socket = await connected(alice)
    status = await socket.run(form_data(endpoint="scripted", model="odd/pieces"))
    await socket.close()
    assert status == "completed"
    assert socket.streamed() == words
    assert (await only_transcript()).choices[0]["content"] == words


async def test_a_complete_stream_without_done_is_a_completed_run_with_a_note(alice, scripted):
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    scripted.script(
        "no/done", sse(chunk(content="All here", finish_reason="stop", usage=usage), done=False)
    )
    socket = await connected(alice)
    status = await socket.run(form_data(endpoint="scripted", model="no/done"))
    await socket.close()
    assert status == "completed"
    assert "The stream ended without data: [DONE]" in "".join(socket.frames)
    transcript = await only_transcript()
    assert (transcript.status, transcript.error) == (Transcript.Status.COMPLETED, None)
    assert transcript.choices[0]["finish_reason"] == "stop"
