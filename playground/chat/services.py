"""Starting a run: checks that need the database, then the transcript row."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from playground.core.endpoints import get_endpoint
from playground.presets.permissions import find_preset_for_user
from playground.transcripts.selectors import find_transcript_for_user
from playground.transcripts.services import RunCapReached, transcript_start
from playground.upstream import Endpoint, build_body

from .forms import RunForm, form_state
from .runner import Run


class RunRefused(Exception):
    """A valid request that may not run now; the message says why, for the page."""


def build_request(form: RunForm, formset) -> tuple[Endpoint, dict[str, Any]]:
    """The endpoint and the exact body, from validated forms only."""
    endpoint = get_endpoint(form.cleaned_data["endpoint"])
    params = form.parameters(formset.messages())
    return endpoint, build_body(endpoint.flavour, params, form.cleaned_data["extra"])


def run_prepare(
    *, user, form: RunForm, formset, preset_slug: str = "", continued_from: str = ""
) -> Run:
    """Build the body from validated forms and create the transcript (status running)."""
    endpoint, body = build_request(form, formset)
    # A tampered or hidden id: the run goes on, unlinked.
    preset = find_preset_for_user(user, preset_slug) if preset_slug else None
    earlier = find_transcript_for_user(user, continued_from) if continued_from else None
    try:
        transcript = transcript_start(
            user=user,
            preset=preset,
            continued_from=earlier,
            endpoint=endpoint.name,
            model=body["model"],
            request_body=body,
            form_state=form_state(form, formset),
            cap=settings.PLAYGROUND_MAX_CONCURRENT_RUNS,
        )
    except RunCapReached as refused:
        raise RunRefused(str(refused)) from None
    return Run(endpoint=endpoint, body=body, transcript=transcript)
