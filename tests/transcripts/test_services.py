"""Status transitions, checkpoints and the interrupted-run cleanup."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.checks import run_checks
from django.core.management import CommandError, call_command
from django.utils import timezone

from playground.transcripts.models import Transcript
from playground.transcripts.selectors import start_ledger
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


def test_a_run_marked_interrupted_by_mistake_still_takes_its_real_ending(alice, make_transcript):
    transcript = make_transcript(alice, status=S.INTERRUPTED, choices=[])
    outcome = RunOutcome(status=S.COMPLETED, choices=[{"index": 0, "content": "all of it"}])
    assert transcript_finish(transcript=transcript, outcome=outcome)
    transcript.refresh_from_db()
    assert (transcript.status, transcript.choices[0]["content"]) == (S.COMPLETED, "all of it")


def test_a_row_without_a_heartbeat_counts_by_its_age(alice, make_transcript):
    old = make_transcript(alice, status=S.RUNNING, heartbeat_at=None)
    Transcript.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=1))
    fresh = make_transcript(alice, status=S.RUNNING, heartbeat_at=None)
    assert transcripts_mark_interrupted(stale_after=timedelta(seconds=60)) == 1
    assert Transcript.objects.get(pk=fresh.pk).status == S.RUNNING


def test_the_cleanup_refuses_a_limit_that_would_catch_live_runs(settings):
    settings.PLAYGROUND_CHECKPOINT_SECONDS = 5
    with pytest.raises(CommandError, match="at least 15 s"):
        call_command("mark_interrupted", "--stale-after", "10")


def test_the_timing_settings_are_checked_at_start(settings):
    settings.PLAYGROUND_CHECKPOINT_SECONDS = 30
    settings.PLAYGROUND_STALE_RUN_SECONDS = 60
    assert [e.id for e in run_checks()] == ["core.E007"]


def test_a_dead_run_stops_counting_against_its_user(alice, make_transcript):
    old = timezone.now() - timedelta(minutes=5)
    for _ in range(3):
        make_transcript(alice, status=S.RUNNING, heartbeat_at=old)
    make_transcript(alice, status=S.RUNNING, heartbeat_at=timezone.now())
    ledger = start_ledger(user=alice, now=timezone.now(), stale_after=timedelta(seconds=60))
    assert ledger.running == 1
