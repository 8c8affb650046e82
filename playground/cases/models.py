from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from playground.core.access import EVERY_ROW, NO_ROW, is_member, is_staff_member, owned_or_staff
from playground.presets.models import new_slug

from .checks import Check, Kind
from .table import EXPECTED


class DataSetQuerySet(models.QuerySet):
    """Who may do what with a data set: the one rule, for views and the admin alike."""

    def visible_to(self, user) -> DataSetQuerySet:
        """What the user may open."""
        return self.filter(_visible(user))

    def listed_for(self, user) -> DataSetQuerySet:
        """What the page offers to open: mine and the team's (staff open others' by link)."""
        return self.filter(_listed(user))

    def changeable_by(self, user) -> DataSetQuerySet:
        return self.filter(owned_or_staff(user))


def _listed(user) -> Q:
    if not is_member(user):
        return NO_ROW
    return Q(owner=user) | Q(visibility=DataSet.Visibility.TEAM)


def _visible(user) -> Q:
    return EVERY_ROW if is_staff_member(user) else _listed(user)


class DataSet(models.Model):
    """Named test cases that several presets can use; its rows live in its versions."""

    class Visibility(models.TextChoices):
        PRIVATE = "private", "private (me and staff)"
        TEAM = "team", "team (every signed-in member)"

    slug = models.CharField(max_length=32, unique=True, default=new_slug, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_sets"
    )
    name = models.CharField(max_length=100)
    visibility = models.CharField(
        max_length=8, choices=Visibility.choices, default=Visibility.TEAM, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DataSetQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="data_set_unique_name_per_owner")
        ]

    def __str__(self) -> str:
        return self.name


class DataSetVersion(models.Model):
    """One saved state of a data set, never changed once written: what a batch names by id,
    so its rows are the ones it ran over even after the set is saved again."""

    data_set = models.ForeignKey(DataSet, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()  # 1, 2, ... within its data set
    columns = models.JSONField()  # the variables' names, "expected" last
    rows = models.JSONField()  # a list per test case, a text per column
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["data_set", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["data_set", "number"], name="data_set_version_unique_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.data_set.name} v{self.number}"

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def expected(self, row: int) -> str | None:
        """The test case's "expected"; None when its table has none, or it is left empty (so
        an "equals expected" check says it cannot apply rather than wanting an empty answer)."""
        if EXPECTED not in self.columns:
            return None
        return self.rows[row][self.columns.index(EXPECTED)] or None


MAX_BATCH_ROWS = 1_000
MAX_BATCH_CELLS = 5_000


class BatchQuerySet(models.QuerySet):
    """Who may see or change a batch: the rule transcripts follow (their own and the team's,
    every one for staff; changed by the owner and staff)."""

    def visible_to(self, user) -> BatchQuerySet:
        return self.filter(_batch_visible(user))

    def listed_for(self, user) -> BatchQuerySet:
        return self.filter(_batch_listed(user))

    def changeable_by(self, user) -> BatchQuerySet:
        return self.filter(owned_or_staff(user))


def _batch_listed(user) -> Q:
    if not is_member(user):
        return NO_ROW
    return Q(owner=user) | Q(visibility=Batch.Visibility.TEAM)


def _batch_visible(user) -> Q:
    return EVERY_ROW if is_staff_member(user) else _batch_listed(user)


class Batch(models.Model):
    """Run all: one form over every row of a data set version, a cell per row and column,
    each cell's run a transcript. Run by a batch session of the process that started it."""

    class Status(models.TextChoices):
        RUNNING = "running", "running"
        STOPPED = "stopped", "stopped"
        DONE = "done", "done"
        INTERRUPTED = (
            "interrupted",
            "interrupted",
        )  # its server stopped: what never ran can be resumed

    Visibility = DataSet.Visibility

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="batches"
    )
    # A version a batch ran over stays, unless the batch goes with it (its owner deleted).
    version = models.ForeignKey(DataSetVersion, on_delete=models.RESTRICT, related_name="batches")
    # The form state it ran (messages, tools, each column's settings), as a preset keeps it.
    template = models.JSONField()
    # The run frame's fields as the socket validated them: each cell's forms are bound again
    # from these and its row's values, by the same RunForm the page uses.
    form_data = models.JSONField()
    column_labels = models.JSONField(default=list)  # one per column, in order
    # Each column's automatic checks: a list per column of {kind, text, ignore_case} (a Check of
    # cases/checks.py, as CheckForm made it).
    checks = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.RUNNING, db_index=True
    )
    concurrency = models.PositiveSmallIntegerField()
    visibility = models.CharField(max_length=8, choices=Visibility.choices, default=Visibility.TEAM)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # see chat/sweep.py

    objects = BatchQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "batches"

    def __str__(self) -> str:
        return f"Batch {self.uuid} over {self.version}"

    def get_absolute_url(self) -> str:
        return reverse("cases:batch", args=[self.uuid])

    def column_checks(self, column: int) -> list[Check]:
        stored = self.checks[column] if column < len(self.checks) else []
        return [Check(Kind(d["kind"]), d["text"], d["ignore_case"]) for d in stored]

    @property
    def has_schema_check(self) -> bool:
        """Whether a check needs its cells' request bodies (for the column's JSON schema)."""
        return any(data["kind"] == Kind.SCHEMA for column in self.checks for data in column)


RATINGS = [(1, "good"), (-1, "bad")]  # thumbs up, thumbs down
MAX_COMMENT = 1_000


class BatchCell(models.Model):
    """One row x one column of a batch, and the run that answered it."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"
        STOPPED = "stopped", "stopped"
        NOT_RUN = "not_run", "not run"  # its server stopped before it started

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="cells")
    row = models.PositiveIntegerField()
    column = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    # By the run's id, written when the cell starts, before its row exists (hence no
    # constraint); a run refused before its row was written leaves it empty.
    transcript = models.ForeignKey(
        "transcripts.Transcript",
        to_field="uuid",
        db_constraint=False,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="batch_cells",
    )
    problem = models.CharField(max_length=500, blank=True)  # why it never ran (a bad row)
    # The team's judgement of its answer, given in the grid.
    rating = models.SmallIntegerField(null=True, blank=True, choices=RATINGS)
    comment = models.CharField(max_length=MAX_COMMENT, blank=True)

    class Meta:
        ordering = ["batch", "row", "column"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "row", "column"], name="batch_cell_unique_place"
            )
        ]

    def __str__(self) -> str:
        return f"row {self.row + 1}, column {self.column + 1}"
