"""Starting a run: checks that need the database, then the transcript row."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings

from playground.core.endpoints import get_endpoint
from playground.presets.models import Preset
from playground.presets.permissions import can_view_preset
from playground.runform import RunForm, form_state
from playground.transcripts.selectors import can_view_transcript, find_transcript
from playground.transcripts.services import running_count, transcript_start
from playground.upstream import Endpoint, build_body

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
    limit = settings.PLAYGROUND_MAX_CONCURRENT_RUNS
    stale_after = timedelta(seconds=settings.PLAYGROUND_STALE_RUN_SECONDS)
    if running_count(user=user, stale_after=stale_after) >= limit:
        raise RunRefused(
            f"You have {limit} runs going, the most allowed at once: stop one or let it finish."
        )
    endpoint, body = build_request(form, formset)
    preset = Preset.objects.filter(slug=preset_slug).first() if preset_slug else None
    if preset is not None and not can_view_preset(user, preset):
        preset = None  # a tampered id: the run goes on, unlinked
    earlier = find_transcript(continued_from) if continued_from else None
    if earlier is not None and not can_view_transcript(user, earlier):
        earlier = None
    transcript = transcript_start(
        user=user,
        preset=preset,
        continued_from=earlier,
        endpoint=endpoint.name,
        model=body["model"],
        request_body=body,
        form_state=form_state(form, formset),
    )
    return Run(endpoint=endpoint, body=body, transcript=transcript)
