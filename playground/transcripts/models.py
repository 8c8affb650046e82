from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.template.defaultfilters import pluralize
from django.urls import reverse

from playground.core.access import EVERY_ROW, NO_ROW, is_member, is_staff_member


class TranscriptQuerySet(models.QuerySet):
    """Who may do what with a transcript: the one rule. Views, the socket, templates (through
    `can_change`) and the admin all derive from these three conditions."""

    def visible_to(self, user) -> TranscriptQuerySet:
        """What the user may open: their own, the team's, and every run for staff."""
        return self.filter(_visible(user))

    def listed_for(self, user) -> TranscriptQuerySet:
        """What lists show: their own and the team's, never someone else's private run (staff
        review those in the admin)."""
        return self.filter(_listed(user))

    def changeable_by(self, user) -> TranscriptQuerySet:
        return self.filter(_changeable(user))

    def named(self) -> TranscriptQuerySet:
        """Leaves out the answers of blind compares not voted on yet (`blind_unvoted`): what a
        page may name by model."""
        return self.exclude(blind_slot__isnull=False, vote="")

    def votable_by(self, user) -> TranscriptQuerySet:
        """The blind compares' rows whose vote is this user's to give: their own runs only
        (a vote is the judgement of whoever ran it blind, staff included)."""
        if not is_member(user):
            return self.none()
        return self.filter(user=user, blind_slot__isnull=False)


SLOT_LETTERS = "ABCD"  # the names of a blind compare's places
UNNAMED = "(named after the vote)"


def _listed(user) -> Q:
    if not is_member(user):
        return NO_ROW
    return Q(user=user) | Q(visibility=Transcript.Visibility.TEAM)


def _visible(user) -> Q:
    return EVERY_ROW if is_staff_member(user) else _listed(user)


def _changeable(user) -> Q:
    if not is_member(user):
        return NO_ROW
    return EVERY_ROW if user.is_staff else Q(user=user)


class Transcript(models.Model):
    """One run: what was sent, everything that came back, and how it ended."""

    class Status(models.TextChoices):
        RUNNING = "running"
        COMPLETED = "completed"
        STOPPED = "stopped"
        ERROR = "error"
        INTERRUPTED = "interrupted", "interrupted (the server went away)"

    class EndReason(models.TextChoices):
        USER = "user", "by the user"
        NO_WATCHER = "no_watcher", "(no watcher: every page showing it had closed)"
        SERVER_RESTART = "server_restart", "(the server restarted)"

    class Visibility(models.TextChoices):
        PRIVATE = "private", "private (only me and staff)"
        TEAM = "team", "team (every signed-in member)"

    class Vote(models.TextChoices):
        WON = "won"
        LOST = "lost"
        TIE = "tie"

    class Review(models.TextChoices):
        UNREVIEWED = "unreviewed"
        APPROVED = "approved"
        FLAGGED = "flagged"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="transcripts"
    )
    preset = models.ForeignKey(
        "presets.Preset", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    continued_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="continuations"
    )
    # A run made by editing or regenerating a message of an earlier run's conversation: that
    # run, and the message (counted from 1) from which this one's conversation differs.
    forked_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="forks"
    )
    fork_turn = models.PositiveSmallIntegerField(null=True, blank=True)
    # A compare run: one transcript per column, started together, sharing this id; the column
    # (counted from 0, in the page's order) and its name on the page.
    group = models.UUIDField(null=True, blank=True, db_index=True, editable=False)
    # What the page that started the compare keeps to watch it again after a reload, on any
    # process: never the group's id, which a blind compare's page may not learn.
    group_key = models.CharField(max_length=32, blank=True, db_index=True, editable=False)
    column = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    column_label = models.CharField(max_length=80, blank=True, editable=False)
    # A blind compare: the place (0 = A) its answer was shown in, shuffled and unnamed until
    # the user's vote, and how the vote went for it.
    blind_slot = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    vote = models.CharField(max_length=4, choices=Vote.choices, blank=True, editable=False)
    endpoint = models.CharField(max_length=64)
    model = models.CharField(max_length=256, db_index=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.RUNNING, db_index=True
    )
    end_reason = models.CharField(max_length=16, choices=EndReason.choices, blank=True)
    # Exactly what went upstream (never the key, which only ever travels in a header).
    request_body = models.JSONField()
    # Everything on the form, so the run can be opened in the playground again.
    form_state = models.JSONField()
    # [{"index", "content", "reasoning", "tool_calls", "finish_reason"}, ...]
    choices = models.JSONField(default=list)
    # Apart from the choices, since they are many times their size: [{"index": 0, "content":
    # [{"token", "logprob", "top_logprobs": [{"token", "logprob"}]}]}], when asked for.
    logprobs = models.JSONField(null=True, blank=True, editable=False)
    response_id = models.CharField(max_length=256, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    total_tokens = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    # Deltas that arrived (about one token each): the size of a run whose upstream never
    # reported usage, because it was stopped or broke first.
    received_tokens = models.PositiveIntegerField(null=True, blank=True)
    # In US dollars, from PLAYGROUND_PRICES when the run ended; blank for models with no price.
    cost = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    # What this run counts against its user's daily token budget on its endpoint: max_tokens x n
    # while it runs, settled when it ends (services.transcript_finish says how).
    charged_tokens = models.PositiveIntegerField(default=0, editable=False)
    # {"kind", "title", "message", "status", "retry_after"} when the run failed.
    error = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    time_to_first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    tokens_per_second = models.FloatField(null=True, blank=True)
    # Written every few seconds while streaming; a running row whose heartbeat is stale was
    # left behind by a server that went away.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    visibility = models.CharField(
        max_length=8, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    # Every message and answer as plain text, for the admin's search.
    search_text = models.TextField(blank=True, editable=False)

    # Review, by staff in the admin.
    review_state = models.CharField(
        max_length=12, choices=Review.choices, default=Review.UNREVIEWED, db_index=True
    )
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=[(n, str(n)) for n in range(1, 6)]
    )
    labels = models.CharField(max_length=500, blank=True, help_text="Comma-separated.")
    reviewer_note = models.TextField(blank=True)
    corrected_answer = models.TextField(
        blank=True, help_text="The ideal answer; the export uses it instead of the model's."
    )
    chosen_choice = models.PositiveSmallIntegerField(
        default=0, help_text="Which choice the export takes when there is no corrected answer."
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    reviewed_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = TranscriptQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "status"]),
            models.Index(fields=["user", "-created_at"]),
            models.Index(fields=["status", "heartbeat_at"]),
            models.Index(fields=["endpoint"]),
            # The rate limits: a user's runs on one endpoint in the last minute or day, and
            # the tokens they charged, summed from the index alone at every start.
            models.Index(fields=["user", "endpoint", "created_at", "charged_tokens"]),
            # The list's model filter (distinct models) and its count, read from the index
            # alone: the rows themselves are large (the request and the answers).
            models.Index(
                fields=["user", "model", "blind_slot", "vote", "visibility", "group", "column"]
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model} · {self.status_text} · {self.created_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self) -> str:
        return reverse("transcripts:detail", kwargs={"uuid": self.uuid})

    @property
    def status_text(self) -> str:
        """The status as a sentence: "stopped by the user", "stopped (no watcher: ...)"."""
        if self.end_reason:
            return f"{self.status} {self.get_end_reason_display()}"
        return self.get_status_display()

    @property
    def blind_unvoted(self) -> bool:
        """A blind compare's answer not yet voted on: no page names its model, endpoint,
        column or settings (every viewer alike, staff too, who may be the judge; the admin
        names them, for review)."""
        return self.blind_slot is not None and not self.vote

    @property
    def place(self) -> str:
        """The letter a blind compare's answer was shown under ("A"); "" outside one."""
        return "" if self.blind_slot is None else SLOT_LETTERS[self.blind_slot]

    @property
    def shown_error(self) -> dict[str, Any] | None:
        return unnamed_error(self.error, self) if self.blind_unvoted else self.error

    @property
    def fewer_choices_note(self) -> str:
        return fewer_choices(choices_asked(self.request_body), self.choices, self.status)

    @property
    def first_user_message(self) -> str:
        for message in self.request_body.get("messages", ()):
            if message.get("role") == "user" and isinstance(message.get("content"), str):
                return message["content"]
        return ""


def in_order_shown(columns: list[Transcript]) -> list[Transcript]:
    """A compare's columns in their page order; an unvoted blind one's in the order of their
    places (A first), which says nothing of which column is which."""
    return sorted(columns, key=lambda t: (t.blind_slot or 0) if t.blind_unvoted else t.column or 0)


def unnamed_error(error: dict[str, Any] | None, transcript: Transcript) -> dict[str, Any] | None:
    """An upstream's error, its model and endpoint named by none of its words: in a blind
    compare, "model x not found" would tell which answer is which."""
    if not error:
        return error
    hidden = dict(error)
    for key in ("title", "message"):
        for name in (transcript.model, transcript.endpoint):
            hidden[key] = str(hidden.get(key) or "").replace(name, UNNAMED)
    return hidden


def choices_asked(request_body: dict[str, Any]) -> int:
    return request_body.get("n") or 1


def fewer_choices(asked: int, choices: list[dict[str, Any]], status: str) -> str:
    """Says so when a run that completed has fewer choices than were asked for (an endpoint
    that ignores n), else ""."""
    if status != Transcript.Status.COMPLETED or len(choices) >= asked:
        return ""
    return f"the endpoint returned {len(choices)} of {asked} choice{pluralize(asked)}"
