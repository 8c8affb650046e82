"""The HTML the run socket sends: pieces the page swaps in by id (hx-swap-oob)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from playground.runform import BaseMessageFormSet, RunForm
from playground.transcripts.models import Transcript
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
    or "lost"; `session.Saving`)."""
    note = ""
    if outcome.status == Transcript.Status.INTERRUPTED and outcome.end_reason:
        note = Transcript.EndReason(outcome.end_reason).label
    context = {"outcome": outcome, "transcript": transcript, "note": note, "saving": saving}
    return render_to_string("chat/partials/finished.html", context) + controls(running=False)


def save_state(transcript: Transcript, saving: str) -> str:
    """How a retried final write ended: in place of the run's "not saved yet, retrying"."""
    context = {"transcript": transcript, "saving": saving, "oob": True}
    return render_to_string("chat/partials/saving.html", context)


def form_errors(form: RunForm, formset: BaseMessageFormSet) -> str:
    """Every field's error box, filled or emptied, so the page keeps what was typed."""
    return render_to_string("chat/partials/form_errors.html", {"form": form, "formset": formset})


def code(endpoint: Endpoint, body: dict[str, Any]) -> Iterator[str]:
    """The request as code, in frames: the snippets (the whole conversation, three times)
    are appended to the dialog as text, cut to the frame bound."""
    texts = snippets(endpoint, body)
    dialog = render_to_string("chat/partials/code.html", {"snippets": texts, "endpoint": endpoint})
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
