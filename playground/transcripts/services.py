"""Every write to a transcript goes through here: the consumer, the admin and commands alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone

from .models import Transcript


@dataclass
class RunOutcome:
    """How a run ended, as the consumer saw it."""

    status: Transcript.Status
    choices: list[dict[str, Any]]
    response_id: str = ""
    usage: dict[str, int] | None = None
    error: dict[str, Any] | None = None
    time_to_first_token_ms: int | None = None
    duration_ms: int | None = None
    tokens_per_second: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def transcript_start(
    *,
    user,
    endpoint: str,
    model: str,
    request_body: dict[str, Any],
    form_state: dict[str, Any],
    preset=None,
    continued_from: Transcript | None = None,
) -> Transcript:
    return Transcript.objects.create(
        user=user,
        preset=preset,
        endpoint=endpoint,
        model=model,
        request_body=request_body,
        form_state=form_state,
        continued_from=continued_from,
    )


def transcript_finish(*, transcript: Transcript, outcome: RunOutcome) -> bool:
    """Finalise a running transcript once; a second call changes nothing and returns False."""
    usage = outcome.usage or {}
    changed = Transcript.objects.filter(pk=transcript.pk, status=Transcript.Status.RUNNING).update(
        status=outcome.status,
        choices=outcome.choices,
        response_id=outcome.response_id[:256],
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        total_tokens=usage.get("total_tokens"),
        error=outcome.error,
        finished_at=timezone.now(),
        time_to_first_token_ms=outcome.time_to_first_token_ms,
        duration_ms=outcome.duration_ms,
        tokens_per_second=outcome.tokens_per_second,
    )
    return bool(changed)


def running_count(*, user, within: timedelta) -> int:
    """The user's runs still going; rows older than the longest possible run are dead ones."""
    since = timezone.now() - within
    return Transcript.objects.filter(
        user=user, status=Transcript.Status.RUNNING, created_at__gte=since
    ).count()
