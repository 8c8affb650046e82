"""Every write to a transcript goes through here: the consumer, the admin and commands alike."""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import Transcript
from .prices import run_cost
from .selectors import StartLedger, budget_overrun, start_ledger


class SignedOut(Exception):
    """The session a start came with no longer signs its user in; the message says so."""

    def __init__(self):
        super().__init__(
            "You are signed out, or your account is no longer active: sign in again to run."
        )


class RunCapReached(Exception):
    """The user already has as many runs going as they may; the message says so, for the page."""

    def __init__(self, cap: int):
        super().__init__(
            f"You have {cap} runs going, the most allowed at once: stop one or let it finish."
        )


class GroupCapReached(RunCapReached):
    """A compare needs more runs at once than the user has left: none of its columns start."""

    def __init__(self, cap: int, asked: int, fit: int):
        Exception.__init__(
            self,
            f"This compare needs {asked} runs at once, and only {fit} of its columns fit"
            f" (at most {cap} runs at once, {cap - fit} going): nothing was run. Remove"
            " columns, or stop a run first.",
        )


class RateLimitReached(Exception):
    """The user started as much on an endpoint as they may for now; the message says which
    limit and how long to wait, for the page (`retry_in` seconds, when that is soon: the
    per-minute limit's)."""

    def __init__(self, message: str, retry_in: float | None = None):
        super().__init__(message)
        self.retry_in = retry_in


@dataclass(frozen=True)
class RateLimits:
    """What one user may start on one endpoint over time (0: no limit)."""

    runs_per_minute: int = 0
    tokens_per_day: int = 0  # generated tokens, in any 24 hours


MINUTE, DAY = timedelta(minutes=1), timedelta(days=1)


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
    received_tokens: int | None = None
    logprobs: list[dict[str, Any]] = field(default_factory=list)  # per choice, when asked for
    # What the page should know that is no error ("the stream ended without [DONE]..."): shown
    # when the run ends, not stored.
    notes: list[str] = field(default_factory=list)


# Of each answer, search reads this much: a whole long answer copied once more into every
# final write would double what a run holds in memory as it ends, for little search gains.
SEARCHED_ANSWER_CHARS = 100_000


def search_text(request_body: dict[str, Any], choices: list[dict[str, Any]]) -> str:
    parts = [
        m["content"] for m in request_body.get("messages", ()) if isinstance(m.get("content"), str)
    ]
    parts += [(c.get("content") or "")[:SEARCHED_ANSWER_CHARS] for c in choices]
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
    forked_from: Transcript | None = None,
    fork_turn: int | None = None,
    cap: int | None = None,
    rates: RateLimits | None = None,
    reserve_tokens: int = 0,
    uuid: UUID | None = None,
    group: UUID | None = None,
    group_key: str = "",
    column: int | None = None,
    column_label: str = "",
    blind_slot: int | None = None,
    session_key: str | None = None,
) -> Transcript:
    """The row of a run that starts now, charged `reserve_tokens` (its max_tokens x n) until it
    ends. With `session_key`, refuse (SignedOut) unless that session still signs the user in;
    with `cap`, refuse (RunCapReached) when the user already has that many runs going; with
    `rates`, refuse (RateLimitReached) a start over them on this endpoint. A start that
    passes reads all of it in one query, then inserts the row, in one transaction that holds
    the user's lock, so that starts at once, even from several processes, cannot all pass."""
    with _in_a_transaction():
        if session_key is not None or cap is not None or rates is not None:
            _lock_runs_of(user)
            now = timezone.now()
            ledger = _ledger(user, session_key, endpoint, rates, now)
            if cap is not None and ledger.running >= cap:
                raise RunCapReached(cap)
            if rates is not None:
                _check_rates(user, endpoint, rates, reserve_tokens, ledger, now)
        return Transcript.objects.create(
            uuid=uuid or uuid4(),
            user=user,
            preset=preset,
            endpoint=endpoint,
            model=model,
            request_body=request_body,
            form_state=form_state,
            continued_from=continued_from,
            forked_from=forked_from,
            fork_turn=fork_turn if forked_from else None,
            group=group,
            group_key=group_key,
            column=column,
            column_label=column_label,
            blind_slot=blind_slot,
            heartbeat_at=timezone.now(),
            search_text=search_text(request_body, []),
            charged_tokens=reserve_tokens,
        )


def transcript_group_start(
    *,
    user,
    starts: list[dict[str, Any]],
    cap: int | None = None,
    session_key: str | None = None,
) -> list[Transcript]:
    """The rows of a compare's columns (each `starts` item: transcript_start's arguments),
    all or none: refused whole when `session_key` no longer signs the user in (SignedOut), or
    with `cap`, when the user has too few runs left for every column (GroupCapReached, saying
    how many fit); one column over a rate refuses them all. Its own savepoint inside a
    caller's transaction: a refusal may come after some columns' rows are in."""
    with transaction.atomic():
        _lock_runs_of(user)
        if session_key is not None or cap is not None:
            ledger = _ledger(user, session_key, "", None, timezone.now())
            if cap is not None and (fit := max(0, cap - ledger.running)) < len(starts):
                raise GroupCapReached(cap, len(starts), fit)
        return [transcript_start(user=user, **start) for start in starts]


class VoteRefused(Exception):
    """A blind compare's vote that cannot be taken; the message says why, for the page."""


def compare_vote(*, user, group: UUID, pick: int | None) -> list[Transcript]:
    """The user's vote on their blind compare: the answer shown in place `pick` won and the
    others lost, or (None) a tie. Taken once, after every answer has ended. Returns the
    compare's transcripts in the order they were shown."""
    with transaction.atomic():
        rows = list(
            Transcript.objects.votable_by(user)
            .select_for_update()
            .filter(group=group)
            .order_by("blind_slot")
        )
        if not rows:
            raise VoteRefused("There is no blind compare here to vote on.")
        if any(row.vote for row in rows):
            raise VoteRefused("This compare has been voted on already.")
        if any(row.status == Transcript.Status.RUNNING for row in rows):
            raise VoteRefused("Vote once every answer has ended.")
        if pick is not None and not 0 <= pick < len(rows):
            raise VoteRefused("There is no such answer to pick.")
        for row in rows:
            won = Transcript.Vote.WON if row.blind_slot == pick else Transcript.Vote.LOST
            row.vote = Transcript.Vote.TIE if pick is None else won
            row.save(update_fields=["vote"])
        return rows


def _ledger(
    user, session_key: str | None, endpoint: str, rates: RateLimits | None, now: datetime
) -> StartLedger:
    """The user's ledger for a start on `endpoint` (the figures `rates` need), refused when
    `session_key` no longer signs them in."""
    ledger = start_ledger(
        user=user,
        now=now,
        stale_after=timedelta(seconds=settings.PLAYGROUND_STALE_RUN_SECONDS),
        session_key=session_key,
        endpoint=endpoint,
        nth=rates.runs_per_minute if rates else 0,
        tokens=bool(rates and rates.tokens_per_day),
    )
    if ledger.signed_in is False:
        raise SignedOut()
    return ledger


def _check_rates(
    user,
    endpoint: str,
    rates: RateLimits,
    reserve_tokens: int,
    ledger: StartLedger,
    now: datetime,
) -> None:
    # The ledger names the n-th latest start only when the minute holds that many (with
    # runs_per_minute asked); its time is read to say how long to wait. A row deleted
    # meanwhile (the admin) no longer counts.
    started = ledger.nth_start_id and (
        Transcript.objects.filter(pk=ledger.nth_start_id)
        .values_list("created_at", flat=True)
        .first()
    )
    if started:
        wait = started + MINUTE - now
        raise RateLimitReached(
            f"You have started {rates.runs_per_minute} runs on {endpoint} in the last minute;"
            f" try again in {_wait(wait)}.",
            retry_in=wait.total_seconds(),
        )
    limit = rates.tokens_per_day
    if not limit:
        return
    if reserve_tokens > limit:
        raise RateLimitReached(
            f"This run may generate {reserve_tokens:,} tokens (max_tokens × n), more than the"
            f" {limit:,} a day allowed on {endpoint}: lower max_tokens or n."
        )
    # Most starts fit, as the ledger's sum says; only one that does not reads the day's runs,
    # to say when enough of them leave the window.
    room = limit - reserve_tokens
    over = ledger.tokens_today > room and budget_overrun(
        user=user, endpoint=endpoint, since=now - DAY, room=room
    )
    if over:
        leaves, used = over
        raise RateLimitReached(
            f"Your runs on {endpoint} used {used:,} of your {limit:,} tokens for 24 hours, and"
            f" this one may generate {reserve_tokens:,} (max_tokens × n); try again in"
            f" {_wait(leaves + DAY - now)}, or lower max_tokens or n."
        )


def _wait(delta: timedelta) -> str:
    """A wait as people say it: "12 s", "25 min", "3 h 10 min" (rounded up)."""
    seconds = max(1, math.ceil(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def _in_a_transaction() -> contextlib.AbstractContextManager:
    """A start's transaction of its own, or the caller's (the run workers', a compare's): a
    savepoint would cost a start two more statements, and its refusal has nothing to undo (it
    comes before the insert, its one write)."""
    return contextlib.nullcontext() if connection.in_atomic_block else transaction.atomic()


def _lock_runs_of(user) -> None:
    """Hold the user's run starts until this transaction ends. On PostgreSQL, a lock on the
    user's row (NO KEY: rows that merely point at the user, like this transcript, are not
    held up). SQLite ignores the row lock, but its IMMEDIATE transactions (see settings) take
    the database's write lock at BEGIN, which serialises every start: there the query would
    be one more for nothing."""
    if connection.features.has_select_for_update:
        get_user_model().objects.select_for_update(no_key=True).filter(pk=user.pk).exists()


def transcript_checkpoint(
    *, transcript: Transcript, choices: list[dict[str, Any]], received_tokens: int | None = None
) -> bool:
    """Save the text so far and beat the heart, while the run is still running."""
    return bool(
        Transcript.objects.filter(pk=transcript.pk, status=Transcript.Status.RUNNING).update(
            choices=choices, received_tokens=received_tokens, heartbeat_at=timezone.now()
        )
    )


def transcript_finish(*, transcript: Transcript, outcome: RunOutcome) -> bool:
    """Finalise a running transcript once; a second call changes nothing and returns False.

    A row that was marked interrupted (its server seemed gone) still takes the run's real
    ending, should the run turn out to have been alive after all.
    """
    usage = outcome.usage or {}
    unfinished = [Transcript.Status.RUNNING, Transcript.Status.INTERRUPTED]
    charge = _settled_charge(outcome)
    settled = {} if charge is None else {"charged_tokens": charge}
    changed = Transcript.objects.filter(pk=transcript.pk, status__in=unfinished).update(
        **settled,
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
        received_tokens=outcome.received_tokens,
        logprobs=outcome.logprobs or None,
        cost=run_cost(transcript.model, outcome.usage),
        search_text=search_text(transcript.request_body, outcome.choices),
    )
    return bool(changed)


def _settled_charge(outcome: RunOutcome) -> int | None:
    """What a run that ended counts against its user's daily tokens, None to keep what it
    reserved. The completion tokens the upstream reported, when it did. Nothing, when nothing
    came back: the upstream refused the request or was not reached, so it generated nothing,
    and retrying through an outage must not spend the day's budget. Otherwise (a stream that
    was stopped or broke before its usage) the reservation: what the upstream generated, and
    bills, is unknown, and may be more than arrived, since it may go on after we hang up."""
    completion_tokens = (outcome.usage or {}).get("completion_tokens")
    if completion_tokens is not None:
        return completion_tokens
    answered = outcome.response_id or any(
        choice.get("content") or choice.get("reasoning") or choice.get("tool_calls")
        for choice in outcome.choices
    )
    return None if answered else 0


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
