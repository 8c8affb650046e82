"""What a page that (re)connects is told about the run it was showing: `attach`.

The page keeps the id of its running run per tab and sends it first on every connect, so a
dropped socket or a reload never leaves it showing "running" for ever. The answer comes from
the run's transcript, under the one access rule: how a run that ended ended, or that it is
still going on the server. A run still going on this process is watched live: a snapshot of
what its page was sent so far, then its frames as they come.
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
from .registry import get_registry
from .rundb import OUTAGE
from .session import RunSession, Saving, Watcher

UNANSWERED = (
    "The database is not answering, so how this tab's run ended cannot be shown yet: reload"
    " in a moment."
)


@dataclass(frozen=True, slots=True)
class Attached:
    frames: list[str]  # what brings the page up to date, in order
    here: uuid.UUID | None = None  # a run of this process, which took the page as a watcher
    elsewhere: uuid.UUID | None = None  # a run still going, on no socket of this process


async def attach_frames(user: Any, run_id: Any, watcher: Watcher) -> Attached:
    """What brings the page up to date with run `run_id`; a run the user may not see is told
    apart from no run at all by nothing. A run still going on this process takes `watcher`
    among its watchers: its snapshot comes first, then its frames."""
    try:
        transcript = await _find(user, run_id)
        if transcript is not None and transcript.group is not None:
            # A compare's columns are watched by the page that started them alone: nowhere
            # else has their places (and a blind one must name nothing).
            return Attached(await _compare_column(transcript))
        if transcript is not None and transcript.status == Transcript.Status.RUNNING:
            session = get_registry().get(transcript.uuid)
            if session is not None and (taken := await session.watch(watcher)) is not None:
                return Attached(await _watched(session, watcher, taken), here=session.id)
            transcript = await _find(user, run_id)  # it may have ended meanwhile
    except OUTAGE:
        # The id is kept, to ask again on the next connect; the page may run meanwhile.
        return Attached([fragments.notice(UNANSWERED) + fragments.controls(running=False)])
    if transcript is None:
        return Attached([fragments.run_unknown()])
    if transcript.status == Transcript.Status.RUNNING:
        return Attached([fragments.run_elsewhere(transcript)], elsewhere=transcript.uuid)
    return Attached(await _ended(transcript))


async def ended_frames(user: Any, run_id: uuid.UUID) -> list[str] | None:
    """How a run ended, from its row; None while its row says it is running."""
    transcript = await _find(user, str(run_id))
    if transcript is None:
        return [fragments.run_unknown()]
    if transcript.status == Transcript.Status.RUNNING:
        return None
    return await _ended(transcript)


async def may_stop(user: Any, run_id: uuid.UUID, owner: Any = None) -> bool:
    """Whether `user` may stop a run they watch: its owner, who started it (`owner`, when
    known here), or whomever the one access rule lets change its transcript."""
    if owner is not None and owner.pk == user.pk:
        return True
    return await Transcript.objects.changeable_by(user).filter(uuid=run_id).aexists()


async def _find(user: Any, run_id: Any) -> Transcript | None:
    if not (isinstance(run_id, str) and run_id):
        return None
    return await database_sync_to_async(find_transcript_for_user)(user, run_id)


async def _watched(session: RunSession, watcher: Watcher, taken: snapshot.Snapshot) -> list[str]:
    """The snapshot drawn; a watcher that cannot be sent it is let go at once."""
    try:
        return await snapshot.draw(taken)
    except BaseException:
        session.detach(watcher)
        raise


async def _compare_column(transcript: Transcript) -> list[str]:
    if transcript.status == Transcript.Status.RUNNING:
        return [fragments.run_elsewhere(transcript)]
    return await _ended(transcript)


async def _ended(transcript: Transcript) -> list[str]:
    """As the page would have shown it live: the choice boxes, each choice as it finished,
    then the ending; in frames under the bound, each piece of text once."""
    outcome = outcome_of(transcript)
    frames = [fragments.started(transcript, transcript.request_body.get("n") or 1)]
    schema = json_schema_of(transcript.request_body)
    for choice in _shown(outcome):
        frames += await snapshot.choice_frames(runframes.finished_choice(choice), schema)
    frames.append(fragments.finished(outcome, transcript, Saving.SAVED))
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
