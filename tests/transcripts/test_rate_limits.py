"""The limits over time that protect a paid key: runs per minute and tokens per 24 hours, per
user and endpoint, counted in the database and checked in the start's own transaction."""

from datetime import datetime, timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from playground.transcripts.models import Transcript
from playground.transcripts.services import (
    RateLimitReached,
    RateLimits,
    RunOutcome,
    SignedOut,
    transcript_finish,
    transcript_start,
)

from ..helpers import session_cookie
from .test_run_cap import Starters

S = Transcript.Status
pytestmark = pytest.mark.django_db


def start(user, *, endpoint="paid", rates=None, reserve=0) -> Transcript:
    return transcript_start(
        user=user,
        endpoint=endpoint,
        model="m",
        request_body={},
        form_state={},
        rates=rates,
        reserve_tokens=reserve,
    )


def ago(**delta) -> datetime:
    return timezone.now() - timedelta(**delta)


def refusal(user, **start_kwargs) -> str:
    with pytest.raises(RateLimitReached) as refused:
        start(user, **start_kwargs)
    return str(refused.value)


def test_the_runs_of_the_last_minute_on_the_endpoint_are_counted(alice, bob, make_transcript):
    make_transcript(alice, endpoint="paid", created_at=ago(seconds=61))  # out of the window
    make_transcript(alice, endpoint="other", created_at=ago(seconds=5))  # another endpoint
    make_transcript(bob, endpoint="paid", created_at=ago(seconds=5))  # another user
    make_transcript(alice, endpoint="paid", created_at=ago(seconds=30))
    rates = RateLimits(runs_per_minute=2)
    start(alice, rates=rates)
    assert refusal(alice, rates=rates).startswith(
        "You have started 2 runs on paid in the last minute; try again in "
    )
    start(alice, endpoint="other", rates=rates)
    start(bob, rates=rates)


def test_the_wait_is_until_the_oldest_start_that_counts_leaves_the_minute(alice, make_transcript):
    for seconds in (48, 30, 10):
        make_transcript(alice, endpoint="paid", created_at=ago(seconds=seconds))
    assert refusal(alice, rates=RateLimits(runs_per_minute=3)) == (
        "You have started 3 runs on paid in the last minute; try again in 12 s."
    )
    # A lowered limit: two runs must leave, so the wait is for the second oldest.
    assert refusal(alice, rates=RateLimits(runs_per_minute=2)).endswith("try again in 30 s.")


def test_the_tokens_of_the_last_day_with_this_runs_reservation_must_fit(alice, make_transcript):
    make_transcript(alice, endpoint="paid", charged_tokens=900, created_at=ago(hours=25))
    make_transcript(alice, endpoint="other", charged_tokens=900, created_at=ago(hours=1))
    make_transcript(alice, endpoint="paid", charged_tokens=400, created_at=ago(hours=21))
    make_transcript(alice, endpoint="paid", charged_tokens=500, created_at=ago(hours=20))
    rates = RateLimits(tokens_per_day=1000)
    # 400 + 500 + 200 is over: once the run of 21 hours ago leaves, 500 + 200 fit.
    assert refusal(alice, rates=rates, reserve=200) == (
        "Your runs on paid used 900 of your 1,000 tokens for 24 hours, and this one may"
        " generate 200 (max_tokens × n); try again in 3 h 0 min, or lower max_tokens or n."
    )
    # 600 fits only once both have left, so the wait is for the newer one.
    assert "try again in 4 h 0 min" in refusal(alice, rates=rates, reserve=600)
    assert start(alice, rates=rates, reserve=100).charged_tokens == 100
    assert "used 1,000 of your 1,000 tokens" in refusal(alice, rates=rates, reserve=1)


def test_a_start_that_fits_sums_the_day_and_reads_no_run_twice(alice, make_transcript):
    """The window over the day's runs is read only when they do not fit: at every start it
    would read all of them, thousands a day for a batch."""
    for hours in (3, 2, 1):
        make_transcript(alice, endpoint="paid", charged_tokens=100, created_at=ago(hours=hours))
    rates = RateLimits(tokens_per_day=1000)
    with CaptureQueriesContext(connection) as queries:
        start(alice, rates=rates, reserve=100)
    read = " ".join(query["sql"] for query in queries.captured_queries)
    assert "SUM(" in read
    assert " OVER " not in read
    with CaptureQueriesContext(connection) as queries:
        refusal(alice, rates=rates, reserve=700)  # 400 + 700: the window says when it fits
    assert " OVER " in " ".join(query["sql"] for query in queries.captured_queries)


def test_a_start_reads_its_session_and_every_limit_in_one_query(alice, make_transcript):
    """Signed in, runs going, the minute's starts and the day's tokens: one statement after
    the user's lock (PostgreSQL's; SQLite's transaction holds the whole database), then the
    row."""
    make_transcript(alice, endpoint="paid", charged_tokens=100, created_at=ago(hours=1))
    key = session_cookie(alice)
    with CaptureQueriesContext(connection) as queries:
        transcript_start(
            user=alice,
            endpoint="paid",
            model="m",
            request_body={},
            form_state={},
            session_key=key,
            cap=3,
            rates=RateLimits(runs_per_minute=5, tokens_per_day=1000),
            reserve_tokens=100,
        )
    sent = [query["sql"] for query in queries.captured_queries if "SAVEPOINT" not in query["sql"]]
    *lock, read, insert = sent
    assert [sql.endswith("FOR NO KEY UPDATE") for sql in lock] == (
        [True] if connection.features.has_select_for_update else []
    )
    assert read.startswith("SELECT")
    assert insert.startswith("INSERT")
    for figure in ["session_data", "running", "nth_start_id", "tokens_today"]:
        assert f"AS {figure}" in read


def test_a_start_whose_session_ended_is_refused_and_saves_nothing(alice):
    key = session_cookie(alice)
    Session.objects.filter(session_key=key).delete()
    with pytest.raises(SignedOut, match="You are signed out"):
        transcript_start(
            user=alice, endpoint="paid", model="m", request_body={}, form_state={}, session_key=key
        )
    assert not Transcript.objects.exists()


def test_a_run_bigger_than_the_whole_day_is_refused_without_a_wait(alice):
    assert refusal(alice, rates=RateLimits(tokens_per_day=1000), reserve=1001) == (
        "This run may generate 1,001 tokens (max_tokens × n), more than the 1,000 a day"
        " allowed on paid: lower max_tokens or n."
    )


def test_waits_read_as_people_say_them(alice, make_transcript):
    rates = RateLimits(tokens_per_day=10)
    row = make_transcript(alice, endpoint="paid", charged_tokens=10, created_at=ago(hours=23))
    for created, wait in [
        (ago(hours=23), "60 min"),
        (ago(hours=23, minutes=58, seconds=30), "90 s"),
        (ago(hours=2), "22 h 0 min"),
    ]:
        Transcript.objects.filter(pk=row.pk).update(created_at=created)
        assert f"try again in {wait}," in refusal(alice, rates=rates, reserve=1)


def test_no_limits_no_check(alice, make_transcript):
    make_transcript(alice, endpoint="paid", charged_tokens=10**6, created_at=ago(seconds=1))
    start(alice, rates=RateLimits(), reserve=10**6)
    start(alice, reserve=10**6)


def finish(transcript: Transcript, **outcome) -> int:
    outcome = {"status": S.COMPLETED, "choices": [], **outcome}
    assert transcript_finish(transcript=transcript, outcome=RunOutcome(**outcome))
    transcript.refresh_from_db()
    return transcript.charged_tokens


ANSWER = [{"index": 0, "content": "Hi", "reasoning": "", "tool_calls": [], "finish_reason": None}]


def test_the_finish_settles_the_reservation(alice):
    usage = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}
    assert finish(start(alice, reserve=800), usage=usage, response_id="r") == 7
    # Stopped before its usage came: what the upstream generated is unknown.
    assert finish(start(alice, reserve=800), status=S.STOPPED, choices=ANSWER) == 800
    assert finish(start(alice, reserve=800), status=S.ERROR, response_id="r") == 800
    # Refused by the upstream, or never reached: nothing was generated.
    assert finish(start(alice, reserve=800), status=S.ERROR, error={"kind": "http"}) == 0


@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
def test_starts_at_once_from_two_processes_never_pass_the_runs_per_minute(django_user_model):
    """6 starts at once, 3 in each of 2 processes, against 3 a minute, 10 times over."""
    users = [django_user_model.objects.create_user(f"racer{n}") for n in range(10)]
    with Starters(cap=0, per_minute=3) as starters:
        outcomes = [sorted(starters.start_at_once(user)) for user in users]
    started = [Transcript.objects.filter(user=user).count() for user in users]
    assert started == [3] * len(users)
    assert outcomes == [["refused"] * 3 + ["started"] * 3] * len(users)
