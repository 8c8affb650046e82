"""The HTML the run socket sends: pieces the page swaps in by id (hx-swap-oob)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from playground.runform import BaseMessageFormSet, RunForm
from playground.transcripts.models import Transcript, choices_asked, fewer_choices
from playground.transcripts.prices import run_cost
from playground.transcripts.services import RunOutcome
from playground.upstream import Endpoint

from .code import snippets
from .frames import Atom, pack, text_atoms


def controls(*, running: bool) -> str:
    return render_to_string("chat/partials/controls.html", {"running": running, "oob": True})


def started(transcript: Transcript, n: int) -> str:
    return render_to_string(
        "chat/partials/started.html", {"transcript": transcript, "indexes": range(n)}
    ) + controls(running=True)


def finished(outcome: RunOutcome, transcript: Transcript, saving: str) -> str:
    """The run's ending, and whether its transcript holds it (`saving`: "saved", "retrying"
    or "lost"; `session.Saving`). The boxes of choices that never came are taken away."""
    notes = list(outcome.notes)
    if outcome.status == Transcript.Status.INTERRUPTED and outcome.end_reason:
        notes.insert(0, Transcript.EndReason(outcome.end_reason).label)
    asked = choices_asked(transcript.request_body)
    if fewer := fewer_choices(asked, outcome.choices, outcome.status):
        notes.append(fewer)
    came = {choice["index"] for choice in outcome.choices}
    context = {
        "outcome": outcome,
        "transcript": transcript,
        "notes": notes,
        "saving": saving,
        "never_came": [index for index in range(asked) if index not in came],
        "kept": any(c["content"] or c["reasoning"] or c["tool_calls"] for c in outcome.choices),
        "cost": run_cost(transcript.model, outcome.usage),
    }
    return render_to_string("chat/partials/finished.html", context) + controls(running=False)


def run_unknown() -> str:
    """The page's stored run is none the user may see: it forgets it, and may run again."""
    return (
        notice(
            "The run this tab was showing cannot be found: it was deleted, or it is not"
            " yours to see."
        )
        + '<input type="hidden" id="current-run" value="" hx-swap-oob="true">'
        + controls(running=False)
    )


def run_elsewhere(transcript: Transcript) -> str:
    """The page's stored run goes on, but not for this socket: it says so, keeps the id to
    ask again on the next connect, and may start another run meanwhile."""
    context = {"transcript": transcript}
    return render_to_string("chat/partials/running_elsewhere.html", context) + controls(
        running=False
    )


def save_state(transcript: Transcript, saving: str) -> str:
    """How a retried final write ended: in place of the run's "not saved yet, retrying"."""
    context = {"transcript": transcript, "saving": saving, "oob": True}
    return render_to_string("chat/partials/saving.html", context)


def form_errors(form: RunForm, formset: BaseMessageFormSet) -> str:
    """Every field's error box, filled or emptied, so the page keeps what was typed; above
    them, the errors listed with links to their fields, in the page's order: the messages,
    the variables' boxes, then the panel's fields, group by group (the tools among them,
    before Advanced)."""
    listed: list[tuple[str, str, Any]] = [
        (field.auto_id, f"Message {number}, {field.label.lower()}", error)
        for number, row in enumerate(formset, start=1)
        for field in row
        for error in field.errors
    ]
    listed += [
        (field.auto_id, f"Variable {field.label}", error)
        for field in formset.variables
        for error in field.errors
    ]
    in_order = [form[name] for name in ("endpoint", "model", "stream")]
    in_order += [field for _, fields in form.sections() for field in fields]
    in_order += [form["tools"], *form.advanced_fields()]
    listed += [
        (field.auto_id, str(field.label), error) for field in in_order for error in field.errors
    ]
    context = {
        "form": form,
        "formset": formset,
        "general": [
            *form.non_field_errors(),
            *formset.non_form_errors(),
            *formset.variables.non_field_errors(),
        ],
        "listed": listed,
    }
    return render_to_string("chat/partials/form_errors.html", context)


CODE_TABS = {"curl": "curl", "python": "Python", "javascript": "JavaScript"}


def code(endpoint: Endpoint, body: dict[str, Any]) -> Iterator[str]:
    """The request as code, in frames: the snippets (the whole conversation, three times)
    are appended to the dialog as text, cut to the frame bound."""
    texts = snippets(endpoint, body)
    tabs = [(language, CODE_TABS[language], text) for language, text in texts.items()]
    dialog = render_to_string("chat/partials/code.html", {"tabs": tabs, "endpoint": endpoint})
    limit = settings.PLAYGROUND_FRAME_BYTES
    atoms = [Atom.of(dialog)]
    for language, text in texts.items():
        atoms += text_atoms(f"snippet-{language}-code", text, limit)
    return pack(atoms, limit)


def notice(message: str) -> str:
    return render_to_string("chat/partials/notice.html", {"message": message})


def too_big(size: int) -> str:
    limit = settings.PLAYGROUND_MAX_MESSAGE_BYTES
    return notice(
        f"The form came to {size / 2**20:.1f} MiB, over the {limit / 2**20:g} MiB a run may"
        " send: nothing was run. Shorten the messages or the tools."
    )


def prompt_estimate(tokens: int | None) -> str:
    return render_to_string("chat/partials/prompt_estimate.html", {"tokens": tokens})
