"""Exports parsed back and compared with what was run and corrected."""

import csv
import io
import json

import pytest
from django.core.management import call_command

from playground.transcripts.export import csv_lines, jsonl_lines
from playground.transcripts.models import Transcript

from ..factories import CALL

pytestmark = pytest.mark.django_db


def records(transcripts) -> list[dict]:
    return [json.loads(line) for line in jsonl_lines(transcripts)]


def test_jsonl_holds_the_conversation_and_the_first_choice_by_default(alice, make_transcript):
    transcript = make_transcript(alice)
    (record,) = records([transcript])
    assert record == {
        "messages": [
            *transcript.request_body["messages"],
            {"role": "assistant", "content": "Paris."},
        ]
    }


def test_a_corrected_answer_wins(alice, make_transcript):
    transcript = make_transcript(alice, corrected_answer="The capital is Paris.")
    assert records([transcript])[0]["messages"][-1] == {
        "role": "assistant",
        "content": "The capital is Paris.",
    }


def test_the_chosen_choice_keeps_its_tool_calls_and_tools_go_along(alice, make_transcript):
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "Use f"},
            {"role": "assistant", "content": None, "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "call_1", "content": "1"},
        ],
        "tools": tools,
    }
    transcript = make_transcript(alice, chosen_choice=1, request_body=body)
    (record,) = records([transcript])
    assert record["messages"][:3] == body["messages"]
    assert record["messages"][-1] == {
        "role": "assistant",
        "content": "It is Paris.",
        "tool_calls": [CALL],
    }
    assert record["tools"] == tools


def test_a_run_with_no_answer_is_left_out(alice, make_transcript):
    assert records([make_transcript(alice, choices=[])]) == []


def test_csv_has_a_row_per_transcript(alice, make_transcript):
    transcript = make_transcript(alice, rating=4, labels="geo,short")
    rows = list(csv.DictReader(io.StringIO("".join(csv_lines([transcript])))))
    assert len(rows) == 1
    row = rows[0]
    assert (row["uuid"], row["user"], row["rating"], row["labels"]) == (
        str(transcript.uuid), "alice", "4", "geo,short"
    )  # fmt: skip
    assert (row["first_user_message"], row["answer"]) == ("Capital of France?", "Paris.")


def test_the_command_exports_every_approved_transcript(alice, make_transcript, tmp_path):
    approved = make_transcript(alice, review_state=Transcript.Review.APPROVED, content="Yes")
    make_transcript(alice, review_state=Transcript.Review.FLAGGED, content="No")
    make_transcript(alice, content="Unreviewed")
    target = tmp_path / "approved.jsonl"
    call_command("export_transcripts", "--output", str(target), stderr=io.StringIO())
    lines = target.read_text().splitlines()
    assert [json.loads(line)["messages"][-1]["content"] for line in lines] == ["Yes"]
    call_command("export_transcripts", "--format", "csv", "--output", str(target))
    assert [r["uuid"] for r in csv.DictReader(target.open())] == [str(approved.uuid)]


def test_a_pick_that_is_not_among_the_choices_is_left_out(alice, make_transcript):
    assert records([make_transcript(alice, chosen_choice=5)]) == []


def test_csv_cells_cannot_smuggle_a_spreadsheet_formula(alice, make_transcript):
    body = {"model": "m", "messages": [{"role": "user", "content": '=HYPERLINK("http://x")'}]}
    transcript = make_transcript(alice, request_body=body, content="@SUM(A1)")
    (row,) = csv.DictReader(io.StringIO("".join(csv_lines([transcript]))))
    assert row["first_user_message"] == '\'=HYPERLINK("http://x")'
    assert row["answer"] == "'@SUM(A1)"
