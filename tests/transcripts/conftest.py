import pytest

from playground.transcripts.models import Transcript

CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}


@pytest.fixture
def make_transcript():
    def make(user, *, content="Paris.", **fields):
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
        values.update(fields)
        return Transcript.objects.create(user=user, **values)

    return make
