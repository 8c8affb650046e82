"""Hostile text from an upstream and from a raw frame, through the real socket to every place a
run is kept: the transcript, its pages, the admin, the exports. NUL and lone surrogates arrive
as U+FFFD; the endpoint's key arrives nowhere."""

import io
import json
import tempfile
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command
from django.urls import reverse

from playground.transcripts.models import Transcript

from ..helpers import FINAL, Socket, client_for, ended_transcript, form_data
from ..hostile import chunk, pieces, sse

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry"),
]

BAD = "\ud800\x00"  # in JSON: the escapes \ud800 and \u0000
SAFE = "\ufffd\ufffd"
KEY = "fw_3ZkQ9xLmP2vR8tYw"
SIZES = range(1, 14)


@pytest.fixture(autouse=True)
def _no_grace(settings):
    """Each socket closes once its run has ended: no run is left to outlive it."""
    settings.PLAYGROUND_ORPHAN_GRACE = 0


async def run(user, model: str, **fields) -> tuple[str, list[str]]:
    """One run on its own socket: its final status and every frame it got."""
    socket = Socket(user)
    assert (await socket.connect())[0]
    status = await socket.run(form_data(endpoint="scripted", model=model, **fields))
    await socket.close()
    for frame in socket.frames:
        frame.encode()  # what Daphne does before it sends: a lone surrogate raises here
        assert "\x00" not in frame
    return status, socket.frames


def kept_everywhere(transcripts: list[Transcript], owner, staff) -> str:
    """Every page and export that shows these runs, each answering in full; their text."""
    transcript_pages = [client_for(owner).get(t.get_absolute_url()) for t in transcripts]
    admin = client_for(staff)
    change_pages = [
        admin.get(reverse("admin:transcripts_transcript_change", args=[t.pk])) for t in transcripts
    ]
    changelist = reverse("admin:transcripts_transcript_changelist")
    selected = {"_selected_action": [t.pk for t in transcripts]}
    downloads = [
        admin.post(changelist, {"action": action, **selected})
        for action in ("export_jsonl", "export_csv")
    ]
    for page in [*transcript_pages, *change_pages, *downloads]:
        assert page.status_code == 200
    Transcript.objects.update(review_state=Transcript.Review.APPROVED)
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "export"
        outputs = []
        for export_format in ("jsonl", "csv"):
            call_command(
                "export_transcripts", "--format", export_format, "--output", str(target),
                stderr=io.StringIO(),
            )  # fmt: skip
            outputs.append(target.read_text())
    call_command("dumpdata", "transcripts", stdout=(dumped := io.StringIO()))
    outputs.append(dumped.getvalue())
    assert all(outputs)
    pages = [page.content for page in [*transcript_pages, *change_pages]]
    exports = [b"".join(download.streaming_content) for download in downloads]
    return "\n".join([*(body.decode() for body in pages + exports), *outputs])


def every_field_bad() -> list[bytes]:
    call = {"index": 0, "id": f"call{BAD}", "function": {"name": f"f{BAD}", "arguments": ""}}
    arguments = {"index": 0, "function": {"arguments": f'{{"a": "{BAD}"}}'}}
    return sse(
        {**chunk(reasoning=f"think{BAD}", id=f"chatcmpl{BAD}"), "model": f"m{BAD}"},
        chunk(content=f"say{BAD}", id=f"chatcmpl{BAD}"),
        chunk(tool_calls=[call]),
        chunk(tool_calls=[arguments]),
        chunk(finish_reason=f"stop{BAD}"),
    )


async def test_nul_and_lone_surrogates_in_every_field_are_kept_as_replacement_characters(
    alice, staff, scripted
):
    scripted.script("bad/fields", every_field_bad())
    scripted.script("bad/error", sse(chunk(content=f"x{BAD}"), {"error": {"message": f"no{BAD}"}}))
    assert (await run(alice, "bad/fields"))[0] == "completed"
    assert (await run(alice, "bad/error"))[0] == "error"
    fields = await ended_transcript(await first_pk("bad/fields"))
    failed = await ended_transcript(await first_pk("bad/error"))
    assert fields.choices == [
        {
            "index": 0,
            "content": f"say{SAFE}",
            "reasoning": f"think{SAFE}",
            "tool_calls": [
                {
                    "id": f"call{SAFE}",
                    "type": "function",
                    "function": {"name": f"f{SAFE}", "arguments": f'{{"a": "{SAFE}"}}'},
                }
            ],
            "finish_reason": f"stop{SAFE}",
        }
    ]
    assert fields.response_id == f"chatcmpl{SAFE}"
    assert (failed.choices[0]["content"], failed.error["message"]) == (f"x{SAFE}", f"no{SAFE}")
    text = await database_sync_to_async(kept_everywhere)([fields, failed], alice, staff)
    assert f"say{SAFE}" in text


async def test_a_json_answer_that_spells_a_lone_surrogate_is_shown(alice, staff, scripted):
    answer = '{"a": "\\ud800"}'  # clean text: the escape is six characters
    scripted.script("json/escape", sse(chunk(content=answer), chunk(finish_reason="stop")))
    status, frames = await run(alice, "json/escape", response_format="json_object")
    assert status == "completed"
    assert "&quot;\\ud800&quot;" in "".join(frames)  # pretty-printed with its escape
    transcript = await ended_transcript()
    assert transcript.choices[0]["content"] == answer
    await database_sync_to_async(kept_everywhere)([transcript], alice, staff)


async def test_tool_arguments_that_spell_a_lone_surrogate_are_shown(alice, staff, scripted):
    call = {"index": 0, "id": "call_1", "function": {"name": "f", "arguments": '{"a": "\\ud800"}'}}
    events = [chunk(tool_calls=[call]), chunk(finish_reason="tool_calls")]
    scripted.script("tools/escape", sse(*events))
    status, frames = await run(alice, "tools/escape")
    assert status == "completed"
    assert '{"a": "\\ud800"}' in "".join(frames)  # the arguments, as they streamed
    transcript = await ended_transcript()
    await database_sync_to_async(kept_everywhere)([transcript], alice, staff)


@database_sync_to_async
def first_pk(model: str) -> int:
    return Transcript.objects.get(model=model).pk


def key_everywhere() -> tuple[list[bytes], str]:
    """The key in content, reasoning and tool arguments, cut at every size from 1 to 13
    characters, as the response id, and its first 10 characters at the very end."""
    said = "".join(f"<{size}: {KEY}> " for size in SIZES)
    content = [piece for size in SIZES for piece in pieces(f"<{size}: {KEY}> ", size)]
    events = [
        *[chunk(reasoning=piece, id=KEY) for piece in content],
        *[chunk(content=piece, id=KEY) for piece in [*content, KEY[:10]]],
        chunk(tool_calls=[{"index": 0, "id": "call_1", "function": {"name": "f"}}], id=KEY),
        *[
            chunk(tool_calls=[{"index": 0, "function": {"arguments": piece}}], id=KEY)
            for piece in content
        ],
        chunk(finish_reason="stop", id=KEY),
    ]
    return sse(*events), said.replace(KEY, "[key]")


async def test_the_endpoints_key_in_an_answer_reaches_no_frame_row_page_or_export(
    alice, staff, scripted, settings, monkeypatch
):
    monkeypatch.setenv("SCRIPTED_TEST_KEY", KEY)
    settings.PLAYGROUND_ENDPOINTS = [
        {**entry, "key_env": "SCRIPTED_TEST_KEY"} if entry["name"] == "scripted" else entry
        for entry in settings.PLAYGROUND_ENDPOINTS
    ]
    script, redacted = key_everywhere()
    scripted.script("echoes/key", script)
    status, frames = await run(alice, "echoes/key")
    assert status == "completed"
    transcript = await ended_transcript()
    (choice,) = transcript.choices
    assert choice["content"] == redacted + "[key]"
    assert choice["reasoning"] == redacted
    assert choice["tool_calls"][0]["function"] == {"name": "f", "arguments": redacted}
    assert transcript.response_id == "[key]"
    text = await database_sync_to_async(kept_everywhere)([transcript], alice, staff)
    for place in [*frames, json.dumps(transcript.choices), text]:
        assert KEY[:8] not in place


async def test_a_raw_frame_with_nul_or_lone_surrogates_is_stored_and_sent_clean(alice, scripted):
    upstream = scripted.script("says/ok", sse(chunk(content="ok", finish_reason="stop")))
    tools = [{"type": "function", "function": {"name": "f", "description": BAD}}]
    data = form_data(
        endpoint="scripted",
        model="says/ok",
        messages=[{"role": "user", "content": f"Hi{BAD}"}],
        tools=json.dumps(tools),  # in the text box: \ud800 and \u0000 as escapes in JSON text
        user=f"me{BAD}",
    )
    socket = Socket(alice)
    assert (await socket.connect())[0]
    await socket.communicator.send_to(text_data=json.dumps(data))  # escapes in the frame itself
    await socket.until(FINAL.pattern)
    await socket.close()
    transcript = await ended_transcript()
    assert transcript.status == Transcript.Status.COMPLETED
    (sent,) = upstream.requests
    for body in (transcript.request_body, sent):
        assert body["messages"][0]["content"] == f"Hi{SAFE}"
        assert body["tools"][0]["function"]["description"] == SAFE
        assert body["user"] == f"me{SAFE}"
    assert transcript.form_state["messages"][0]["content"] == f"Hi{SAFE}"
