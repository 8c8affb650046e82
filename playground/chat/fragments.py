"""The HTML the run socket sends: pieces the page swaps in by id (hx-swap-oob)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.html import format_html

from playground.runform import BaseMessageFormSet, RunForm
from playground.transcripts.models import (
    SLOT_LETTERS,
    Transcript,
    choices_asked,
    fewer_choices,
    unnamed_error,
)
from playground.transcripts.prices import run_cost
from playground.transcripts.services import RunOutcome
from playground.upstream import Endpoint

from .code import snippets
from .frames import Atom, pack, text_atoms
from .services import Place

SINGLE = Place()


def controls(*, running: bool, compare: bool = False) -> str:
    context = {"running": running, "compare": compare, "oob": True}
    return render_to_string("chat/partials/controls.html", context)


def run_controls(*, running: bool, place: Place = SINGLE, others: bool = False) -> str:
    """Run and Stop; for a compare's column, its own Stop too (a blind answer has none: it
    would tell its column). Run stays disabled while any run of the compare goes (`others`:
    another still does)."""
    if not place.compare:
        return controls(running=running)
    both = controls(running=running or others, compare=True)
    if place.column is None:
        return both
    context = {"column": place.column, "running": running, "oob": True}
    return both + render_to_string("chat/partials/column_stop.html", context)


def started(transcript: Transcript, n: int, place: Place = SINGLE) -> str:
    context = {"transcript": transcript, "indexes": range(n), "p": place.prefix, "place": place}
    started = render_to_string("chat/partials/started.html", context)
    return started + run_controls(running=True, place=place)


def finished(
    outcome: RunOutcome,
    transcript: Transcript,
    saving: str,
    place: Place = SINGLE,
    others: bool = False,
) -> str:
    """The run's ending, and whether its transcript holds it (`saving`: "saved", "retrying"
    or "lost"; `session.Saving`). The boxes of choices that never came are taken away. A
    compare's run ends in its own box (`others`: another still runs); a blind compare's last
    answer to end brings the vote."""
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
        "p": place.prefix,
        "place": place,
        "error": unnamed_error(outcome.error, transcript) if place.blind else outcome.error,
    }
    ending: str = render_to_string("chat/partials/finished.html", context)
    if place.blind and not others:
        ending += vote(place.blind_slots)
    return ending + run_controls(running=False, place=place, others=others)


def vote(slots: int) -> str:
    """A blind compare's vote, once every answer has ended."""
    letters = [SLOT_LETTERS[slot] for slot in range(slots)]
    return render_to_string("chat/partials/vote.html", {"letters": letters})


def reveal(rows: list[Transcript]) -> str:
    """A blind compare's answers named, once voted on (`rows` in the order shown)."""
    context = {"rows": [(SLOT_LETTERS[row.blind_slot or 0], row) for row in rows]}
    return render_to_string("chat/partials/reveal.html", context)


def failed(place: Place = SINGLE, others: bool = False) -> str:
    """The run broke on the server (a bug): said in its own box."""
    message = "The run failed on the server; please try again."
    return notice(message, place.prefix) + run_controls(running=False, place=place, others=others)


def group_key(key: str) -> str:
    """What a compare's page keeps to watch its columns again after a reload."""
    tag = '<input type="hidden" id="current-group" value="{}" hx-swap-oob="true">'
    return format_html(tag, key)


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


def save_state(transcript: Transcript, saving: str, prefix: str = "") -> str:
    """How a retried final write ended: in place of the run's "not saved yet, retrying"."""
    context = {"transcript": transcript, "saving": saving, "oob": True, "p": prefix}
    return render_to_string("chat/partials/saving.html", context)


def form_errors(form: RunForm, formset: BaseMessageFormSet, columns: Sequence[RunForm] = ()) -> str:
    """Every field's error box, filled or emptied, so the page keeps what was typed; above
    them, the errors listed with links to their fields, in the page's order: the messages,
    the variables' boxes, then the panel's fields, group by group (the tools among them,
    before Advanced), then those of a compare's other columns (`columns`: the 2nd on)."""
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
    listed += _listed_errors(form, "Column 1, " if columns else "")
    for number, column in enumerate(columns, start=2):
        listed += _listed_errors(column, f"Column {number}, ")
    context = {
        "forms": [form, *columns],
        "formset": formset,
        "general": [
            *(error for each in (form, *columns) for error in each.non_field_errors()),
            *formset.non_form_errors(),
            *formset.variables.non_field_errors(),
        ],
        "listed": listed,
    }
    return render_to_string("chat/partials/form_errors.html", context)


def _listed_errors(form: RunForm, where: str) -> list[tuple[str, str, Any]]:
    in_order = [form[name] for name in ("endpoint", "model", "stream")]
    in_order += [field for _, fields in form.sections() for field in fields]
    in_order += [form["tools"], *form.advanced_fields()]
    return [
        (field.auto_id, f"{where}{field.label}", error)
        for field in in_order
        for error in field.errors
    ]


CODE_TABS = {"curl": "curl", "python": "Python", "javascript": "JavaScript"}


@dataclass(frozen=True)
class CodeRequest:
    """One request shown in the View code dialog; a compare shows one per column."""

    endpoint: Endpoint
    body: dict[str, Any]
    title: str = ""  # the column's heading; blank for a run of its own
    prefix: str = ""  # the ids of its tabs and snippets start with it


def code(requests: Sequence[CodeRequest]) -> Iterator[str]:
    """The requests as code, in frames: the snippets (the whole conversation, three times
    each) are appended to the dialog as text, cut to the frame bound."""
    texts = [snippets(request.endpoint, request.body) for request in requests]
    shown = [
        (request, [(language, CODE_TABS[language]) for language in text])
        for request, text in zip(requests, texts, strict=True)
    ]
    dialog = render_to_string("chat/partials/code.html", {"requests": shown})
    limit = settings.PLAYGROUND_FRAME_BYTES
    atoms = [Atom.of(dialog)]
    for request, text in zip(requests, texts, strict=True):
        for language, snippet in text.items():
            atoms += text_atoms(f"snippet-{request.prefix}{language}-code", snippet, limit)
    return pack(atoms, limit)


def notice(message: str, prefix: str = "") -> str:
    """A message in the run's error box (a compare's run: in its own)."""
    context = {"message": message, "p": prefix}
    return render_to_string("chat/partials/notice.html", context)


def too_big(size: int) -> str:
    limit = settings.PLAYGROUND_MAX_MESSAGE_BYTES
    return notice(
        f"The form came to {size / 2**20:.1f} MiB, over the {limit / 2**20:g} MiB a run may"
        " send: nothing was run. Shorten the messages or the tools."
    )


def prompt_estimate(tokens: int | None) -> str:
    return render_to_string("chat/partials/prompt_estimate.html", {"tokens": tokens})
