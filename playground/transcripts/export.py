"""Transcripts as fine-tuning data (Fireworks' JSONL chat format) and as CSV."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from playground.core.downloads import csv_text

from .models import Transcript

CSV_COLUMNS = [
    "uuid", "created_at", "user", "endpoint", "model", "status", "review_state", "rating",
    "labels", "first_user_message", "answer", "prompt_tokens", "completion_tokens",
    "received_tokens", "cost_usd", "duration_ms",
]  # fmt: skip


def answer_message(transcript: Transcript) -> dict[str, Any] | None:
    """The corrected answer where a reviewer wrote one, else the chosen choice (the first by
    default), tool calls included; None when there is nothing to learn from."""
    if transcript.corrected_answer.strip():
        return {"role": "assistant", "content": transcript.corrected_answer}
    choices = transcript.choices or []
    if not choices:
        return None
    chosen = next((c for c in choices if c.get("index") == transcript.chosen_choice), None)
    if chosen is None:
        return None  # the reviewer's pick is not among the choices: leave it out, not guess
    message: dict[str, Any] = {"role": "assistant", "content": chosen.get("content") or None}
    if chosen.get("tool_calls"):
        message["tool_calls"] = chosen["tool_calls"]
    if message["content"] is None and "tool_calls" not in message:
        return None
    return message


def finetune_record(transcript: Transcript) -> dict[str, Any] | None:
    answer = answer_message(transcript)
    if answer is None:
        return None
    record: dict[str, Any] = {"messages": [*transcript.request_body["messages"], answer]}
    if transcript.request_body.get("tools"):
        record["tools"] = transcript.request_body["tools"]
    return record


def jsonl_lines(transcripts: Iterable[Transcript]) -> Iterator[str]:
    for transcript in transcripts:
        record = finetune_record(transcript)
        if record is not None:
            yield json.dumps(record, ensure_ascii=False) + "\n"


def csv_lines(transcripts: Iterable[Transcript]) -> Iterator[str]:
    yield csv_text([CSV_COLUMNS])
    for transcript in transcripts:
        answer = answer_message(transcript) or {}
        yield csv_text([[
            transcript.uuid, transcript.created_at.isoformat(), transcript.user.get_username(),
            transcript.endpoint, transcript.model, transcript.status,
            transcript.review_state, transcript.rating or "", transcript.labels,
            transcript.first_user_message, answer.get("content") or "",
            transcript.prompt_tokens, transcript.completion_tokens,
            transcript.received_tokens, transcript.cost, transcript.duration_ms,
        ]])  # fmt: skip
