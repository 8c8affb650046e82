"""Starting a run: what it needs to know, worked out once, then the transcript row."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser

from playground.presets.models import Preset
from playground.presets.permissions import can_view_preset
from playground.runform import BaseMessageFormSet, RunForm, form_state
from playground.transcripts.models import Transcript
from playground.transcripts.selectors import can_view_transcript, find_transcript
from playground.transcripts.services import running_count, transcript_start
from playground.upstream import Endpoint, build_body, json_schema_of


class RunRefused(Exception):
    """A valid request that may not run now; the message says why, for the page."""


@dataclass(frozen=True)
class RunSpec:
    """Everything a run needs, from validated forms only; computed once, before it starts."""

    endpoint: Endpoint
    body: dict[str, Any]
    n: int
    # What answers are checked against: {} in plain JSON mode, None outside JSON mode.
    schema: dict[str, Any] | None
    form_state: dict[str, Any]
    preset_slug: str = ""
    continued_from: str = ""


def build_request(form: RunForm, formset: BaseMessageFormSet) -> tuple[Endpoint, dict[str, Any]]:
    """The endpoint and the exact body, from validated forms only."""
    endpoint: Endpoint = form.cleaned_data["endpoint"]
    params = form.parameters(formset.messages())
    return endpoint, build_body(endpoint.flavour, params, form.cleaned_data["extra"])


def run_spec(
    form: RunForm,
    formset: BaseMessageFormSet,
    *,
    preset_slug: str = "",
    continued_from: str = "",
) -> RunSpec:
    endpoint, body = build_request(form, formset)
    return RunSpec(
        endpoint=endpoint,
        body=body,
        n=body.get("n") or 1,
        schema=json_schema_of(body),
        form_state=form_state(form, formset),
        preset_slug=preset_slug,
        continued_from=continued_from,
    )


def run_open(*, spec: RunSpec, user: AbstractBaseUser, run_id: uuid.UUID) -> Transcript:
    """The run's transcript (status running), unless the user already has their limit going."""
    limit = settings.PLAYGROUND_MAX_CONCURRENT_RUNS
    stale_after = timedelta(seconds=settings.PLAYGROUND_STALE_RUN_SECONDS)
    if running_count(user=user, stale_after=stale_after) >= limit:
        raise RunRefused(
            f"You have {limit} runs going, the most allowed at once: stop one or let it finish."
        )
    slug = spec.preset_slug
    preset = Preset.objects.filter(slug=slug).first() if slug else None
    if preset is not None and not can_view_preset(user, preset):
        preset = None  # a tampered id: the run goes on, unlinked
    earlier = find_transcript(spec.continued_from) if spec.continued_from else None
    if earlier is not None and not can_view_transcript(user, earlier):
        earlier = None
    return transcript_start(
        uuid=run_id,
        user=user,
        preset=preset,
        continued_from=earlier,
        endpoint=spec.endpoint.name,
        model=spec.body["model"],
        request_body=spec.body,
        form_state=spec.form_state,
    )
