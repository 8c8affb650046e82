"""What a page that (re)connects is told about the run it was showing: `attach`.

The page keeps the id of its running run per tab and sends it first on every connect, so a
dropped socket or a reload never leaves it showing "running" for ever. The answer comes from
the run's transcript, under the one access rule: how a run that ended ended, or that it is
still going on the server. A run still going on this process is watched live: a snapshot of
what its page was sent so far, then its frames as they come; one going on another process,
through the channel layer (`remote.py`). A compare's page keeps its group's key instead
(`attach_group_frames`): every column is drawn again into its own place.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async

from playground.transcripts.models import Transcript
from playground.transcripts.selectors import find_transcript_for_user
from playground.transcripts.services import RunOutcome
from playground.upstream import json_schema_of

from . import fragments, runframes, snapshot
from .group import RunGroup
from .registry import get_registry
from .rundb import OUTAGE
from .services import Place, column_prefix
from .session import RunSession, Saving, Watcher

UNANSWERED = (
    "The database is not answering, so how this tab's run ended cannot be shown yet: reload"
    " in a moment."
)


GROUP_GONE = "The compare this tab was showing is no longer there: see My runs."


@dataclass(frozen=True, slots=True)
class Elsewhere:
    """A run still going on no socket of this process: watched through the channel layer."""

    run_id: uuid.UUID
    place: Place = fragments.SINGLE


@dataclass(frozen=True, slots=True)
class Attached:
    frames: list[str]  # what brings the page up to date, in order
    here: tuple[uuid.UUID, ...] = ()  # runs of this process, which took the page as a watcher
    elsewhere: tuple[Elsewhere, ...] = ()
    blind: uuid.UUID | None = None  # a blind compare's group, its vote this page's to send


async def attach_frames(user: Any, run_id: Any, watcher: Watcher) -> Attached:
    """What brings the page up to date with run `run_id`; a run the user may not see is told
    apart from no run at all by nothing. A run still going on this process takes `watcher`
    among its watchers: its snapshot comes first, then its frames. A compare's column is
    drawn into its own place (its transcript's page has its boxes)."""
    try:
        transcript = await _find(user, run_id)
        if transcript is not None and transcript.blind_slot is not None:
            # A blind answer is watched by the page that started it alone: it must name
            # nothing, and nowhere else has its place.
            return Attached(await _blind_answer(transcript))
        place = fragments.SINGLE if transcript is None else place_of(transcript, 0)
        if transcript is not None and transcript.status == Transcript.Status.RUNNING:
            session = get_registry().get(transcript.uuid)
            if session is not None and (taken := await session.watch(watcher)) is not None:
                frames = await _watched(session, watcher, taken, place)
                return Attached(frames, here=(session.id,))
            transcript = await _find(user, run_id)  # it may have ended meanwhile
    except OUTAGE:
        # The id is kept, to ask again on the next connect; the page may run meanwhile.
        return Attached([fragments.notice(UNANSWERED) + fragments.controls(running=False)])
    if transcript is None:
        return Attached([fragments.run_unknown()])
    if transcript.status == Transcript.Status.RUNNING:
        elsewhere = (Elsewhere(transcript.uuid, place),)
        if place.compare:
            n = transcript.request_body.get("n") or 1
            return Attached([fragments.started(transcript, n, place)], elsewhere=elsewhere)
        return Attached([fragments.run_elsewhere(transcript)], elsewhere=elsewhere)
    return Attached(await _ended(transcript, place))


async def attach_group_frames(user: Any, key: Any, watcher: Watcher) -> Attached:
    """What brings a compare's page up to date with every column of the group it keeps the
    key of (`RunGroup.key`), each in its own place: a column still going on this process is
    watched from its snapshot on, one going on another process through the channel layer,
    and one that ended is shown as it ended. The group's rows are found under the one access
    rule: one the user may not see is none."""
    idle = fragments.controls(running=False, compare=True)
    try:
        rows = await _group_rows(user, key)
    except OUTAGE:  # the key is kept, to ask again on the next connect
        return Attached([fragments.notice(UNANSWERED) + idle])
    if not rows:  # the page forgets the key
        return Attached([fragments.notice(GROUP_GONE) + fragments.group_key("") + idle])
    group = get_registry().group(key)
    if group is not None:
        return await _group_here(user, group, {row.uuid: row for row in rows}, watcher)
    return await _group_elsewhere(rows)


async def _group_here(
    user: Any, group: RunGroup, rows: dict[uuid.UUID, Transcript], watcher: Watcher
) -> Attached:
    frames: list[str] = []
    here: list[uuid.UUID] = []
    for session in group.sessions:
        if session.id not in rows:
            continue  # its row was never written: the compare was refused
        if (taken := await session.watch(watcher)) is not None:
            frames += await _watched(session, watcher, taken, session.spec.place)
            here.append(session.id)
        else:
            frames += await _column_ended(user, group, session)
    blind = group.id if group.sessions[0].spec.place.blind else None
    return Attached(frames, here=tuple(here), blind=blind)


async def _group_elsewhere(rows: list[Transcript]) -> Attached:
    """A compare none of whose runs is on this process: it ran, or runs, on another one."""
    slots = sum(row.blind_slot is not None for row in rows)
    frames: list[str] = []
    elsewhere: list[Elsewhere] = []
    for row in rows:
        place = place_of(row, slots)
        if row.status == Transcript.Status.RUNNING:
            frames.append(fragments.started(row, row.request_body.get("n") or 1, place))
            elsewhere.append(Elsewhere(row.uuid, place))
        else:
            others = any(o.status == Transcript.Status.RUNNING for o in rows if o is not row)
            frames += await _ended(row, place, others or row is not rows[-1])
    voting = slots and not any(row.vote for row in rows)
    return Attached(frames, elsewhere=tuple(elsewhere), blind=rows[0].group if voting else None)


def place_of(row: Transcript, slots: int) -> Place:
    """Where a run is drawn, from its row (as its spec had it): a compare's column in its
    own place (`slots`: a blind compare's number of answers)."""
    if row.blind_slot is not None:
        return Place(prefix=f"b{row.blind_slot}-", blind_slots=slots)
    if row.group is None:
        return fragments.SINGLE
    return Place(prefix=column_prefix(row.column), column=row.column)


async def _column_ended(user: Any, group: RunGroup, session: RunSession) -> list[str]:
    """A column that ended before the page came back, read again from its row. Only the
    last column in the page's order may bring a blind compare's vote, so that it comes once."""
    place = session.spec.place
    try:
        row = await _find(user, str(session.id))
    except OUTAGE:
        row = None
    if row is None or row.status == Transcript.Status.RUNNING:  # its final write is retried
        return [fragments.notice(UNANSWERED, place.prefix)]
    others = group.others_running(session) or session is not group.sessions[-1]
    return await _ended(row, place, others)


async def ended_frames(
    user: Any, run_id: uuid.UUID, place: Place = fragments.SINGLE
) -> list[str] | None:
    """How a run ended, from its row, drawn into its `place`; None while its row says it is
    running."""
    transcript = await _find(user, str(run_id))
    if transcript is None:
        return [fragments.run_unknown()]
    if transcript.status == Transcript.Status.RUNNING:
        return None
    others = place.compare and await _others_running(transcript)
    return await _ended(transcript, place, others)


@database_sync_to_async
def _others_running(transcript: Transcript) -> bool:
    siblings = Transcript.objects.filter(group=transcript.group).exclude(pk=transcript.pk)
    return siblings.filter(status=Transcript.Status.RUNNING).exists()


async def may_stop(user: Any, run_id: uuid.UUID, owner: Any = None) -> bool:
    """Whether `user` may stop a run they watch: its owner, who started it (`owner`, when
    known here), or whomever the one access rule lets change its transcript."""
    if owner is not None and owner.pk == user.pk:
        return True
    return await _changeable(user, run_id)


@database_sync_to_async
def _changeable(user: Any, run_id: uuid.UUID) -> bool:
    return Transcript.objects.changeable_by(user).filter(uuid=run_id).exists()


async def _find(user: Any, run_id: Any) -> Transcript | None:
    if not (isinstance(run_id, str) and run_id):
        return None
    return await database_sync_to_async(find_transcript_for_user)(user, run_id)


@database_sync_to_async
def _group_rows(user: Any, key: Any) -> list[Transcript]:
    """A compare's rows in the page's order (a blind one's in their shuffled places)."""
    if not (isinstance(key, str) and key):
        return []
    visible = Transcript.objects.visible_to(user).filter(group_key=key)
    return list(visible.order_by("blind_slot", "column"))


async def _watched(
    session: RunSession,
    watcher: Watcher,
    taken: snapshot.Snapshot,
    place: Place = fragments.SINGLE,
) -> list[str]:
    """The snapshot drawn; a watcher that cannot be sent it is let go at once."""
    try:
        return await snapshot.draw(taken, place)
    except BaseException:
        session.detach(watcher)
        raise


async def _blind_answer(transcript: Transcript) -> list[str]:
    if transcript.status == Transcript.Status.RUNNING:
        return [fragments.run_elsewhere(transcript)]
    return await _ended(transcript)


async def _ended(
    transcript: Transcript, place: Place = fragments.SINGLE, others: bool = False
) -> list[str]:
    """As the page would have shown it live: the choice boxes, each choice as it finished,
    then the ending; in frames under the bound, each piece of text once. A compare's column
    is drawn into its `place` (`others`: another column still runs)."""
    outcome = outcome_of(transcript)
    frames = [fragments.started(transcript, transcript.request_body.get("n") or 1, place)]
    schema = json_schema_of(transcript.request_body)
    for choice in _shown(outcome):
        shown = runframes.finished_choice(choice)
        frames += await snapshot.choice_frames(shown, schema, prefix=place.prefix)
    frames.append(fragments.finished(outcome, transcript, Saving.SAVED, place, others))
    return frames


def _shown(outcome: RunOutcome) -> list[dict[str, Any]]:
    """The choices the page shows finished. A choice cut short has no finish reason of its
    own in a checkpoint (its server went away): it ends with the run's status, as live."""
    return [
        {**choice, "finish_reason": choice.get("finish_reason") or outcome.status}
        for choice in outcome.choices
        if choice.get("finish_reason") or choice.get("content") or choice.get("tool_calls")
    ]


def outcome_of(transcript: Transcript) -> RunOutcome:
    """A finished transcript's outcome, as the run's session had it when it ended."""
    usage = None
    prompt, completion, total = (
        transcript.prompt_tokens,
        transcript.completion_tokens,
        transcript.total_tokens,
    )
    if prompt is not None and completion is not None and total is not None:
        usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}
    return RunOutcome(
        status=Transcript.Status(transcript.status),
        choices=transcript.choices,
        end_reason=transcript.end_reason,
        response_id=transcript.response_id,
        usage=usage,
        error=transcript.error,
        time_to_first_token_ms=transcript.time_to_first_token_ms,
        duration_ms=transcript.duration_ms,
        tokens_per_second=transcript.tokens_per_second,
        received_tokens=transcript.received_tokens,
        logprobs=transcript.logprobs or [],
    )
