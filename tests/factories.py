"""Rows for tests and benchmarks: a preset made as the page saves one, a finished run."""

from playground.presets.models import Preset
from playground.presets.services import preset_create
from playground.runform import bind, form_state
from playground.transcripts.models import Transcript

from .helpers import form_data

CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}


def form_state_of(**fields) -> dict:
    """The form state of a page filled with `fields` (as `form_data` takes them)."""
    return form_state(*bind(form_data(**fields)))


def make_preset(owner, visibility=Preset.Visibility.TEAM, name="Terse", **fields) -> Preset:
    return preset_create(
        owner=owner, name=name, visibility=visibility, form_state=form_state_of(**fields)
    )


def transcript_row(user, *, content: str = "Paris.", **fields) -> Transcript:
    """A finished run, unsaved: two choices, the second calling a tool; `fields` override."""
    values = {
        "endpoint": "simulator",
        "model": "simulator/chat",
        "status": Transcript.Status.COMPLETED,
        "request_body": {
            "model": "simulator/chat",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Capital of France?"},
            ],
            "stream": True,
        },
        "form_state": {"version": 1, "fields": {}, "messages": []},
        "choices": [
            {
                "index": 0,
                "content": content,
                "reasoning": "",
                "tool_calls": [],
                "finish_reason": "stop",
            },
            {
                "index": 1,
                "content": "It is Paris.",
                "reasoning": "",
                "tool_calls": [CALL],
                "finish_reason": "tool_calls",
            },
        ],
        "total_tokens": 30,
        "prompt_tokens": 20,
        "completion_tokens": 10,
        "duration_ms": 500,
        "search_text": f"Capital of France?\n{content}",
    }
    return Transcript(user=user, **{**values, **fields})


def make_transcript(user, *, content: str = "Paris.", **fields) -> Transcript:
    transcript = transcript_row(user, content=content, **fields)
    transcript.save(force_insert=True)
    if "created_at" in fields:  # the insert stamped it with now (auto_now_add)
        Transcript.objects.filter(pk=transcript.pk).update(created_at=fields["created_at"])
        transcript.created_at = fields["created_at"]
    return transcript
