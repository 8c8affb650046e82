"""Status transitions, checkpoints and the interrupted-run cleanup."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from playground.transcripts.models import Transcript
from playground.transcripts.services import (
    RunOutcome,
    transcript_checkpoint,
    transcript_finish,
    transcripts_mark_interrupted,
)

pytestmark = pytest.mark.django_db
S = Transcript.Status


@pytest.mark.parametrize("status", [S.COMPLETED, S.STOPPED, S.ERROR])
def test_a_running_transcript_is_finalised_once(alice, make_transcript, status):
    transcript = make_transcript(alice, status=S.RUNNING, choices=[])
    outcome = RunOutcome(status=status, choices=[{"index": 0, "content": "partial"}])
    assert transcript_finish(transcript=transcript, outcome=outcome)
    assert not transcript_finish(
        transcript=transcript, outcome=RunOutcome(status=S.COMPLETED, choices=[])
    )
    transcript.refresh_from_db()
    assert transcript.status == status
    assert transcript.choices == [{"index": 0, "content": "partial"}]
    assert "partial" in transcript.search_text
    assert transcript.finished_at is not None


def test_a_checkpoint_saves_text_only_while_running(alice, make_transcript):
    running = make_transcript(alice, status=S.RUNNING, choices=[])
    done = make_transcript(alice)
    assert transcript_checkpoint(transcript=running, choices=[{"index": 0, "content": "so far"}])
    assert not transcript_checkpoint(transcript=done, choices=[])
    running.refresh_from_db()
    assert running.choices == [{"index": 0, "content": "so far"}]
    assert timezone.now() - running.heartbeat_at < timedelta(seconds=5)


def test_stale_running_rows_become_interrupted_keeping_their_text(alice, make_transcript):
    old = timezone.now() - timedelta(minutes=5)
    stale = make_transcript(alice, status=S.RUNNING, heartbeat_at=old, content="half an ans")
    live = make_transcript(alice, status=S.RUNNING, heartbeat_at=timezone.now())
    finished = make_transcript(alice, status=S.COMPLETED, heartbeat_at=old)

    out = StringIO()
    call_command("mark_interrupted", "--stale-after", "60", stdout=out)

    assert out.getvalue().strip() == "Marked 1 stale run interrupted."
    for row in (stale, live, finished):
        row.refresh_from_db()
    assert stale.status == S.INTERRUPTED
    assert stale.choices[0]["content"] == "half an ans"
    assert live.status == S.RUNNING
    assert finished.status == S.COMPLETED
    assert transcripts_mark_interrupted(stale_after=timedelta(seconds=60)) == 0
