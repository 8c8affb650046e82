import functools
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum, Window
from django.db.models.fields.json import KT
from django.db.models.functions import Substr
from django.http import Http404

from playground.core.access import session_signs_in, session_store
from playground.presets.models import Preset

from .models import Transcript, TranscriptQuerySet, in_order_shown


def find_transcript_for_user(user, uuid, *, change: bool = False) -> Transcript | None:
    """The transcript if this user may see (or change) it, else None."""
    allowed = (
        Transcript.objects.changeable_by(user) if change else Transcript.objects.visible_to(user)
    )
    try:
        return allowed.select_related("user").filter(uuid=uuid).first()
    except ValidationError:  # not a UUID at all
        return None


def get_transcript_for_user(user, uuid, *, change: bool = False) -> Transcript:
    """The transcript, or a 404: someone else's private one, or a bad id."""
    transcript = find_transcript_for_user(user, uuid, change=change)
    if transcript is None:
        raise Http404("No such transcript, or it is not shared with you.")
    return transcript


def group_for_user(user, group) -> list[Transcript]:
    """A compare's transcripts that this user may see, in the order shown (`in_order_shown`);
    a 404 when none."""
    try:
        columns = list(Transcript.objects.visible_to(user).filter(group=group))
    except ValidationError:  # not a UUID at all
        columns = []
    if not columns:
        raise Http404("No such compare, or it is not shared with you.")
    return in_order_shown(columns)


def can_vote(user, group) -> bool:
    """Whether the user may vote on this blind compare now: theirs, and not voted on yet."""
    return Transcript.objects.votable_by(user).filter(group=group, vote="").exists()


def siblings_of(user, transcript: Transcript) -> list[Transcript]:
    """The other columns of the transcript's compare that the user may see (none outside
    a compare)."""
    if transcript.group is None:
        return []
    others = Transcript.objects.visible_to(user).filter(group=transcript.group)
    return in_order_shown(
        list(
            others.exclude(pk=transcript.pk).only(
                "uuid", "column", "model", "column_label", "status", "blind_slot", "vote"
            )
        )
    )


def can_change_transcript(user, transcript: Transcript) -> bool:
    """For a transcript already at hand (the page's sharing form)."""
    return Transcript.objects.changeable_by(user).contains(transcript)


RUNNING_NOW = 50  # listed at most: a team's runs going at once, for staff


def running_now(user) -> QuerySet[Transcript]:
    """The runs going on now that the user may open, newest first (staff: every one)."""
    running = Transcript.objects.visible_to(user).filter(status=Transcript.Status.RUNNING)
    return running.select_related("user").order_by("-created_at")[:RUNNING_NOW]


def _mine(user) -> TranscriptQuerySet:
    return Transcript.objects.listed_for(user).filter(user=user)


PREVIEW_CHARS = 160


def my_transcripts(
    user, *, q: str = "", model: str = "", status: str = "", since=None, until=None
) -> QuerySet[Transcript]:
    """The user's runs for the list, newest first; a compare is one row, its first column's
    (the others: `columns_of_groups`). Answers can be megabytes: the list reads only the
    first choice's opening words, cut by the database."""
    runs = (
        _mine(user)
        .filter(Q(group__isnull=True) | Q(column=0))
        .select_related("preset")
        .defer("choices", "logprobs", "search_text", "form_state", "error")
        .annotate(
            answer_preview=Substr(KT("choices__0__content"), 1, PREVIEW_CHARS),
            # A preset its owner has since made private is not named to the user.
            preset_shown=Exists(Preset.objects.visible_to(user).filter(pk=OuterRef("preset_id"))),
        )
    )
    if q:
        runs = runs.filter(search_text__icontains=q)
    if model:
        # A compare is listed when any of its columns ran the model.
        compared = _mine(user).filter(model=model, group__isnull=False).values("group")
        runs = runs.filter(Q(model=model) | Q(group__in=compared))
    if status:
        runs = runs.filter(status=status)
    if since:
        runs = runs.filter(created_at__date__gte=since)
    if until:
        runs = runs.filter(created_at__date__lte=until)
    return runs.order_by("-created_at", "-pk")


def columns_of_groups(user, groups: list) -> dict[Any, list[Transcript]]:
    """The columns of these compares that the user may see, by group, in column order: one
    query for a page of the list."""
    columns: dict[Any, list[Transcript]] = {}
    rows = (
        Transcript.objects.visible_to(user)
        .filter(group__in=[group for group in groups if group is not None])
        .only("uuid", "group", "column", "column_label", "model", "status", "blind_slot", "vote")
        .order_by("group", "column")
    )
    for row in rows:
        columns.setdefault(row.group, []).append(row)
    return {group: in_order_shown(shown) for group, shown in columns.items()}


def my_models(user) -> list[str]:
    """The models of the user's runs, to filter by (a blind compare's once voted on)."""
    models = _mine(user).named().values_list("model", flat=True)
    return list(models.distinct().order_by("model"))


def thread_of(user, transcript: Transcript, *, limit: int = 50) -> list[Transcript]:
    """The earlier turns this run continued, oldest first, up to the first the user may not
    see."""
    visible = Transcript.objects.visible_to(user)
    earlier: list[Transcript] = []
    current = transcript
    while current.continued_from_id and len(earlier) < limit:
        previous = visible.filter(pk=current.continued_from_id).first()
        if previous is None:
            break
        earlier.append(previous)
        current = previous
    return earlier[::-1]


def continuations_of(user, transcript: Transcript) -> QuerySet[Transcript]:
    """The runs that continued this one and that the user may see, oldest first."""
    return (
        Transcript.objects.visible_to(user)
        .filter(continued_from=transcript)
        .order_by("created_at", "pk")
    )


def fork_source_of(user, transcript: Transcript) -> Transcript | None:
    """The run this one forked, if the user may see it."""
    if transcript.forked_from_id is None:
        return None
    return Transcript.objects.visible_to(user).filter(pk=transcript.forked_from_id).first()


def forks_of(user, transcript: Transcript) -> QuerySet[Transcript]:
    """The runs forked from this one that the user may see, oldest first."""
    return (
        Transcript.objects.visible_to(user)
        .filter(forked_from=transcript)
        .order_by("created_at", "pk")
    )


def transcripts_of_preset(user, preset) -> QuerySet[Transcript]:
    """The runs made from a preset that lists show this user."""
    return Transcript.objects.listed_for(user).filter(preset=preset).select_related("user")


@dataclass(frozen=True)
class StartLedger:
    """What a user's next run is checked against, read in one query: whether their session
    still signs them in (None: not asked), their runs going, the id of their n-th latest run
    on the endpoint in the last minute (None: fewer, or not asked), and the tokens their runs
    on it charge in the last 24 hours (0: not asked)."""

    signed_in: bool | None
    running: int
    nth_start_id: int | None
    tokens_today: int


def start_ledger(
    *,
    user,
    now: datetime,
    stale_after: timedelta,
    session_key: str | None = None,
    endpoint: str = "",
    nth: int = 0,
    tokens: bool = False,
) -> StartLedger:
    """The ledger of `user`'s starts now, read in one statement on their row (a start reads it
    in its transaction, once it holds the user's lock). A running run whose heartbeat is older
    than `stale_after` stops counting (its server died). Asked for only: the session, the
    per-minute figure (`nth`) and the day's tokens on `endpoint`; a figure not asked for reads
    an empty range of an index."""
    nobody = ("", now)  # an endpoint no run has: a figure not asked for reads nothing
    params = [
        *(session_key or "", now),
        *(user.pk, Transcript.Status.RUNNING.value, now - stale_after),
        *(user.pk, *((endpoint, now - timedelta(minutes=1)) if nth else nobody), max(nth - 1, 0)),
        *(user.pk, *((endpoint, now - timedelta(days=1)) if tokens else nobody)),
        user.pk,
    ]
    adapt = connection.ops.adapt_datetimefield_value
    params = [adapt(value) if isinstance(value, datetime) else value for value in params]
    # The user's row (None: deleted), with the figures as attributes.
    row: Any = next(iter(get_user_model()._default_manager.raw(_ledger_sql(), params)), None)
    return StartLedger(
        signed_in=None if session_key is None else session_signs_in(row),
        running=row.running if row else 0,
        nth_start_id=row.nth_start_id if row and nth else None,
        tokens_today=row.tokens_today if row and tokens else 0,
    )


@functools.cache
def _ledger_sql() -> str:
    """The ledger's statement, as SQL: built by the ORM, its four subqueries cost more Python
    (2.4 ms a start) than the query itself. Written once, from the models' names."""
    q = connection.ops.quote_name
    users, runs = get_user_model()._meta, Transcript._meta
    sessions = session_store().get_model_class()._meta
    run = {f.name: q(f.column) for f in runs.concrete_fields if f.name in RUN_COLUMNS}
    session = {f.name: q(f.column) for f in sessions.concrete_fields if f.name in SESSION_COLUMNS}
    user_columns = ", ".join(f"u.{q(field.column)}" for field in users.concrete_fields)
    table, key = q(runs.db_table), q(users.pk.column)
    # Only the models' quoted names are formatted in; every value is a parameter.
    sql = f"""
        SELECT {user_columns},
            (SELECT {session["session_data"]} FROM {q(sessions.db_table)}
             WHERE {session["session_key"]} = %s AND {session["expire_date"]} > %s
            ) AS session_data,
            (SELECT COUNT(*) FROM {table} WHERE {run["user"]} = %s AND {run["status"]} = %s
             AND {run["heartbeat_at"]} >= %s) AS running,
            (SELECT {run["id"]} FROM {table} WHERE {run["user"]} = %s AND {run["endpoint"]} = %s
             AND {run["created_at"]} >= %s ORDER BY {run["created_at"]} DESC, {run["id"]} DESC
             LIMIT 1 OFFSET %s) AS nth_start_id,
            (SELECT COALESCE(SUM({run["charged_tokens"]}), 0) FROM {table}
             WHERE {run["user"]} = %s AND {run["endpoint"]} = %s AND {run["created_at"]} >= %s
            ) AS tokens_today
        FROM {q(users.db_table)} u WHERE u.{key} = %s
    """  # noqa: S608
    return " ".join(sql.split())  # on one line, as the ORM's are logged


RUN_COLUMNS = ["id", "user", "status", "heartbeat_at", "endpoint", "created_at", "charged_tokens"]
SESSION_COLUMNS = ["session_key", "session_data", "expire_date"]


def budget_overrun(
    *, user, endpoint: str, since: datetime, room: int
) -> tuple[datetime, int] | None:
    """When the newest run of the user's on `endpoint` since `since` that must leave the
    window for its tokens to fit in `room` started (it and every run before it), and the
    window's total; None when they fit (a run settled since the ledger said they did not).
    One query, so that the two figures agree."""
    in_window = Transcript.objects.filter(user=user, endpoint=endpoint, created_at__gte=since)
    newest_first = (F("created_at").desc(), F("pk").desc())
    runs = in_window.annotate(
        total=Window(Sum("charged_tokens")),
        from_here=Window(Sum("charged_tokens"), order_by=newest_first),
    )
    over = runs.filter(from_here__gt=room).order_by(*newest_first)
    return over.values_list("created_at", "total").first()


@dataclass(frozen=True)
class VoteTally:
    """How one model (or preset) fared in blind votes: a tie counts half a win."""

    name: str
    votes: int
    won: int
    tied: int

    @property
    def win_rate(self) -> float:
        return (self.won + self.tied / 2) / self.votes

    @property
    def interval(self) -> tuple[float, float]:
        """The win rate's 95 % Wilson score interval."""
        n, p, z = self.votes, self.win_rate, 1.96
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return max(0.0, centre - half), min(1.0, centre + half)


def vote_tallies(by: str) -> list[VoteTally]:
    """Every blind vote's outcome, per model (`by="model"`) or per preset (`"preset__name"`),
    most votes first."""
    V = Transcript.Vote
    voted = Transcript.objects.exclude(vote="").exclude(**{f"{by}__isnull": True})
    rows = voted.values(by).annotate(
        votes=Count("pk"),
        won=Count("pk", filter=Q(vote=V.WON)),
        tied=Count("pk", filter=Q(vote=V.TIE)),
    )
    tallies = [VoteTally(row[by], row["votes"], row["won"], row["tied"]) for row in rows]
    return sorted(tallies, key=lambda tally: (-tally.votes, tally.name))


def tokens_charged_since(*, user, endpoint: str, since: datetime) -> int:
    """The tokens the user's runs on `endpoint` since `since` count against their daily
    budget (a running run's max_tokens x n, a finished one's real usage)."""
    runs = Transcript.objects.filter(user=user, endpoint=endpoint, created_at__gte=since)
    return runs.aggregate(total=Sum("charged_tokens"))["total"] or 0
