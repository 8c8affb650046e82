"""What a page that (re)connects is told about the run it was showing: `attach`.

The page keeps the id of its running run per tab and sends it first on every connect, so a
dropped socket or a reload never leaves it showing "running" for ever. The answer comes from
the run's transcript, under the one access rule: how a run that ended ended, or that it is
still going on the server. Seeing a run still going live (a snapshot, then its frames) is
the next step; it grows here, behind the same message.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from playground.output.offloop import render_choice
from playground.transcripts.models import Transcript
from playground.transcripts.selectors import find_transcript_for_user
from playground.transcripts.services import RunOutcome
from playground.upstream import json_schema_of

from . import fragments, runframes
from .frames import Unsplittable, pack
from .relay import FINAL_MAX
from .rundb import OUTAGE
from .session import Saving

UNANSWERED = (
    "The database is not answering, so how this tab's run ended cannot be shown yet: reload"
    " in a moment."
)


async def attach_frames(user: Any, run_id: Any) -> list[str]:
    """The frames that bring the page up to date with run `run_id`, in order; a run the
    user may not see is told apart from no run at all by nothing."""
    transcript = None
    try:
        if isinstance(run_id, str) and run_id:
            transcript = await database_sync_to_async(find_transcript_for_user)(user, run_id)
    except OUTAGE:
        # The id is kept, to ask again on the next connect; the page may run meanwhile.
        return [fragments.notice(UNANSWERED) + fragments.controls(running=False)]
    if transcript is None:
        return [fragments.run_unknown()]
    if transcript.status == Transcript.Status.RUNNING:
        return [fragments.run_elsewhere(transcript)]
    return await _ended(transcript)


async def _ended(transcript: Transcript) -> list[str]:
    """As the page would have shown it live: the choice boxes, each choice as it finished,
    then the ending; in frames under the bound, each piece of text once."""
    outcome = outcome_of(transcript)
    frames = [fragments.started(transcript, transcript.request_body.get("n") or 1)]
    schema = json_schema_of(transcript.request_body)
    limit = settings.PLAYGROUND_FRAME_BYTES
    for choice in _shown(outcome):
        html, note = await _rendered(choice["content"], schema)
        try:
            frames += list(pack(runframes.replay(choice, html, note, limit), limit))
        except Unsplittable:
            note = "This answer cannot be sent formatted: it is shown as sent."
            frames += list(pack(runframes.replay(choice, None, note, limit), limit))
    frames.append(fragments.finished(outcome, transcript, Saving.SAVED))
    return frames


async def _rendered(content: str, schema: dict[str, Any] | None) -> tuple[str | None, str]:
    """The answer rendered, or None and why not (as a live run would say it)."""
    if schema is None and len(content) > FINAL_MAX:
        return None, "This answer is too long to format here: it is shown as sent."
    html = await render_choice(content, schema, limit=settings.PLAYGROUND_RENDER_TIMEOUT)
    if html is None:
        return None, "Formatting took too long: the answer is shown as sent."
    return html, ""


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
