"""The HTML the run socket sends: pieces the page swaps in by id (hx-swap-oob)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from django.template.loader import render_to_string
from django.utils.html import escape

from playground.transcripts.models import Transcript
from playground.transcripts.services import RunOutcome
from playground.upstream import Endpoint

from .code import snippets
from .rendering import render_choice_html
from .state import ChoiceState, RunState


def controls(*, running: bool) -> str:
    return render_to_string("chat/partials/controls.html", {"running": running, "oob": True})


def started(transcript: Transcript, n: int) -> str:
    return render_to_string(
        "chat/partials/started.html", {"transcript": transcript, "indexes": range(n)}
    ) + controls(running=True)


def deltas(state: RunState) -> str:
    """Text that arrived since the last frame, escaped; the page appends it."""
    parts = []
    for choice in state.choices.values():
        if choice.new_reasoning:
            text = escape("".join(choice.new_reasoning))
            parts.append(f'<div hx-swap-oob="beforeend:#c{choice.index}-reasoning">{text}</div>')
            choice.new_reasoning.clear()
        if choice.new_content:
            text = escape("".join(choice.new_content))
            parts.append(f'<div hx-swap-oob="beforeend:#c{choice.index}-text">{text}</div>')
            choice.new_content.clear()
        if choice.tools_changed:
            parts.append(_tool_calls(choice, final=False))
            choice.tools_changed = False
    return "".join(parts)


def finished_choices(state: RunState, request_body: dict[str, Any]) -> str:
    """Each choice that finished since the last frame: rendered, with its actions."""
    parts = []
    for choice in state.choices.values():
        if choice.finish_unsent:
            parts.append(choice_done(choice, request_body))
            choice.finish_unsent = False
    return "".join(parts)


def choice_done(choice: ChoiceState, request_body: dict[str, Any]) -> str:
    data = choice.as_dict()
    context = {
        "choice": data,
        "html": render_choice_html(data, request_body),
        "tool_calls_json": json.dumps(data["tool_calls"]) if data["tool_calls"] else "",
    }
    html = render_to_string("chat/partials/choice_done.html", context)
    return html + (_tool_calls(choice, final=True) if choice.tool_calls else "")


def _tool_calls(choice: ChoiceState, *, final: bool) -> str:
    calls = []
    for call in choice.as_dict()["tool_calls"]:
        arguments = call["function"]["arguments"]
        if final:
            with contextlib.suppress(ValueError, RecursionError):  # shown as it came, if not JSON
                arguments = json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
        calls.append({"id": call["id"], "name": call["function"]["name"], "arguments": arguments})
    return render_to_string(
        "chat/partials/tool_calls.html", {"index": choice.index, "calls": calls, "final": final}
    )


def finished(state: RunState, outcome: RunOutcome, transcript: Transcript) -> str:
    context = {"outcome": outcome, "transcript": transcript, "state": state}
    return render_to_string("chat/partials/finished.html", context) + controls(running=False)


def form_errors(form, formset) -> str:
    """Every field's error box, filled or emptied, so the page keeps what was typed."""
    return render_to_string("chat/partials/form_errors.html", {"form": form, "formset": formset})


def code(endpoint: Endpoint, body: dict[str, Any]) -> str:
    context = {"snippets": snippets(endpoint, body), "endpoint": endpoint}
    return render_to_string("chat/partials/code.html", context)


def notice(message: str) -> str:
    return render_to_string("chat/partials/notice.html", {"message": message})
