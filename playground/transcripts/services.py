"""Every write to a transcript goes through here: the consumer, the admin and commands alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import Transcript
from .selectors import running_count


class RunCapReached(Exception):
    """The user already has as many runs going as they may; the message says so, for the page."""

    def __init__(self, cap: int):
        super().__init__(
            f"You have {cap} runs going, the most allowed at once: stop one or let it finish."
        )


@dataclass
class RunOutcome:
    """How a run ended, as the consumer saw it."""

    status: Transcript.Status
    choices: list[dict[str, Any]]
    end_reason: str = ""  # why a stopped run stopped (Transcript.EndReason)
    response_id: str = ""
    usage: dict[str, int] | None = None
    error: dict[str, Any] | None = None
    time_to_first_token_ms: int | None = None
    duration_ms: int | None = None
    tokens_per_second: float | None = None


def search_text(request_body: dict[str, Any], choices: list[dict[str, Any]]) -> str:
    parts = [
        m["content"] for m in request_body.get("messages", ()) if isinstance(m.get("content"), str)
    ]
    parts += [c.get("content") or "" for c in choices]
    return "\n".join(part for part in parts if part)


def transcript_start(
    *,
    user,
    endpoint: str,
    model: str,
    request_body: dict[str, Any],
    form_state: dict[str, Any],
    preset=None,
    continued_from: Transcript | None = None,
    cap: int | None = None,
    uuid: UUID | None = None,
) -> Transcript:
    """The row of a run that starts now. With `cap`, refuse (RunCapReached) when the user
    already has that many runs going, counted and inserted in one transaction that holds the
    user's lock, so that starts at once, even from several processes, cannot all pass."""
    with transaction.atomic():
        if cap is not None:
            _lock_runs_of(user)
            stale_after = timedelta(seconds=settings.PLAYGROUND_STALE_RUN_SECONDS)
            if running_count(user=user, stale_after=stale_after) >= cap:
                raise RunCapReached(cap)
        return Transcript.objects.create(
            uuid=uuid or uuid4(),
            user=user,
            preset=preset,
            endpoint=endpoint,
            model=model,
            request_body=request_body,
            form_state=form_state,
            continued_from=continued_from,
            heartbeat_at=timezone.now(),
            search_text=search_text(request_body, []),
        )


def _lock_runs_of(user) -> None:
    """Hold the user's run starts until this transaction ends. On PostgreSQL, a lock on the
    user's row (NO KEY: rows that merely point at the user, like this transcript, are not
    held up). SQLite ignores the row lock, but its IMMEDIATE transactions (see settings) take
    the database's write lock at BEGIN, which serialises every start."""
    get_user_model().objects.select_for_update(no_key=True).filter(pk=user.pk).exists()


def transcript_checkpoint(*, transcript: Transcript, choices: list[dict[str, Any]]) -> bool:
    """Save the text so far and beat the heart, while the run is still running."""
    return bool(
        Transcript.objects.filter(pk=transcript.pk, status=Transcript.Status.RUNNING).update(
            choices=choices, heartbeat_at=timezone.now()
        )
    )


def transcript_finish(*, transcript: Transcript, outcome: RunOutcome) -> bool:
    """Finalise a running transcript once; a second call changes nothing and returns False.

    A row that was marked interrupted (its server seemed gone) still takes the run's real
    ending, should the run turn out to have been alive after all.
    """
    usage = outcome.usage or {}
    unfinished = [Transcript.Status.RUNNING, Transcript.Status.INTERRUPTED]
    changed = Transcript.objects.filter(pk=transcript.pk, status__in=unfinished).update(
        status=outcome.status,
        end_reason=outcome.end_reason,
        choices=outcome.choices,
        response_id=outcome.response_id[:256],
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        total_tokens=usage.get("total_tokens"),
        error=outcome.error,
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
        time_to_first_token_ms=outcome.time_to_first_token_ms,
        duration_ms=outcome.duration_ms,
        tokens_per_second=outcome.tokens_per_second,
        search_text=search_text(transcript.request_body, outcome.choices),
    )
    return bool(changed)


def transcripts_mark_interrupted(*, stale_after: timedelta) -> int:
    """Running rows whose heartbeat is older than `stale_after` lost their server: mark them
    interrupted, keeping the text checkpointed so far. Live runs beat more often than that."""
    stale = timezone.now() - stale_after
    return Transcript.objects.filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, created_at__lt=stale),
        status=Transcript.Status.RUNNING,
    ).update(status=Transcript.Status.INTERRUPTED, finished_at=timezone.now())


def transcript_set_visibility(*, transcript: Transcript, visibility: str) -> None:
    transcript.visibility = visibility
    transcript.save(update_fields=["visibility"])


def transcripts_review(transcripts: QuerySet[Transcript], *, state: str, reviewer) -> int:
    """Mark many at once (the admin's approve / flag actions)."""
    return transcripts.update(review_state=state, reviewed_by=reviewer, reviewed_at=timezone.now())


def transcript_save_review(*, transcript: Transcript, reviewer, fields: list[str]) -> None:
    """Save review fields edited in the admin, recording who reviewed and when."""
    transcript.reviewed_by = reviewer
    transcript.reviewed_at = timezone.now()
    transcript.save(update_fields=[*fields, "reviewed_by", "reviewed_at"])
