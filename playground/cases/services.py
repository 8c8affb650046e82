"""Every write to a data set goes through here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from .checks import Check
from .models import MAX_BATCH_CELLS, MAX_BATCH_ROWS, Batch, BatchCell, DataSet, DataSetVersion
from .table import Table


def data_set_save(
    *, owner, name: str, table: Table, visibility: str = DataSet.Visibility.TEAM
) -> DataSetVersion:
    """The table as the next version of the owner's data set of this name (made if new); the
    latest version itself when nothing changed since it. Versions are never rewritten."""
    with transaction.atomic():
        data_set = _own_data_set(owner, name, visibility)
        latest = data_set.versions.order_by("-number").first()
        if latest and latest.columns == table.columns and latest.rows == table.rows:
            return latest
        version = DataSetVersion.objects.create(
            data_set=data_set,
            number=(latest.number if latest else 0) + 1,
            columns=table.columns,
            rows=table.rows,
            created_by=owner,
        )
        data_set.visibility = visibility
        data_set.save(update_fields=["visibility", "updated_at"])
    return version


def _own_data_set(owner, name: str, visibility: str) -> DataSet:
    """The owner's data set of this name, locked until the transaction ends, so two saves at
    once number their versions one after the other."""
    mine = DataSet.objects.select_for_update().filter(owner=owner, name=name)
    if found := mine.first():
        return found
    try:
        with transaction.atomic():
            return DataSet.objects.create(owner=owner, name=name, visibility=visibility)
    except IntegrityError:  # made at the same moment by another save: use that one
        return mine.get()


Place = tuple[int, int]  # a cell's row and column
# The cells of a batch that no process runs that a Resume runs again: every one that never
# finished (a pending one too: a batch that ended as a retry was written leaves it pending).
RESUMED = (BatchCell.Status.PENDING, BatchCell.Status.STOPPED, BatchCell.Status.NOT_RUN)
RETRIED = (*RESUMED, BatchCell.Status.FAILED)  # and those a Retry may run again


class BatchTaken(Exception):
    """The batch runs: another process (or page) took it first."""


class BatchTooBig(Exception):
    """A batch over the limits; the message says by how much."""


def batch_size_problem(rows: int, columns: int) -> str | None:
    if rows == 0:
        return "The data set has no test cases: add some first."
    if rows > MAX_BATCH_ROWS:
        return f"The data set has {rows:,} test cases; a batch runs at most {MAX_BATCH_ROWS:,}."
    if rows * columns > MAX_BATCH_CELLS:
        return (
            f"{rows:,} test cases × {columns} columns make {rows * columns:,} cells; a batch runs"
            f" at most {MAX_BATCH_CELLS:,}."
        )
    return None


def batch_create(
    *,
    owner,
    version: DataSetVersion,
    template: dict[str, Any],
    form_data: dict[str, Any],
    column_labels: list[str],
    concurrency: int,
) -> Batch:
    """The batch and a pending cell per row and column, in one transaction. It is shown to
    whom its data set is: a private data set's batch is private too."""
    columns = len(column_labels)
    if problem := batch_size_problem(len(version.rows), columns):
        raise BatchTooBig(problem)
    with transaction.atomic():
        batch = Batch.objects.create(
            owner=owner,
            version=version,
            template=template,
            form_data=form_data,
            column_labels=column_labels,
            concurrency=concurrency,
            visibility=version.data_set.visibility,
            heartbeat_at=timezone.now(),
        )
        BatchCell.objects.bulk_create(
            BatchCell(batch=batch, row=row, column=column)
            for row in range(len(version.rows))
            for column in range(columns)
        )
    return batch


def batch_cell_start(*, batch: Batch, place: Place, run_id) -> None:
    _cell(batch, place).update(status=BatchCell.Status.RUNNING, transcript_id=run_id, problem="")


def batch_cell_end(*, batch: Batch, place: Place, status: str, run_id, problem: str = "") -> None:
    """A cell's ending, with its run (None: refused before its row was written)."""
    _cell(batch, place).update(status=status, transcript_id=run_id, problem=problem[:500])


def batch_cell_again(*, batch: Batch, place: Place) -> None:
    """A cell its batch's running session queues again: pending."""
    _cell(batch, place).update(status=BatchCell.Status.PENDING, problem="")


def batch_take(*, batch: Batch, place: Place | None = None) -> list[Place]:
    """A batch no process runs, taken to run again one cell (`place`: a Retry) or every cell
    that never finished (a Resume): those cells pending, and the batch running again; those
    cells (none: nothing to run, and the batch left as it was). BatchTaken when the batch
    runs: one conditional UPDATE, so that of two processes taking it at once, the second
    finds it running (it waits for the first's transaction, then matches no row)."""
    if place is None:
        cells = batch.cells.filter(status__in=RESUMED)
    else:
        cells = _cell(batch, place).filter(status__in=RETRIED)
    now = timezone.now()
    with transaction.atomic():
        taken = (
            Batch.objects.filter(pk=batch.pk)
            .exclude(status=Batch.Status.RUNNING)
            .update(status=Batch.Status.RUNNING, finished_at=None, heartbeat_at=now)
        )
        if not taken:
            raise BatchTaken
        places = [(row, column) for row, column in cells.values_list("row", "column")]
        if not places:
            transaction.set_rollback(True)
            return []
        cells.update(status=BatchCell.Status.PENDING, problem="")
    batch.status, batch.finished_at, batch.heartbeat_at = Batch.Status.RUNNING, None, now
    return sorted(places)


def batch_beat(*, batch: Batch) -> None:
    Batch.objects.filter(pk=batch.pk).update(heartbeat_at=timezone.now())


def batch_finish(*, batch: Batch, status: str) -> None:
    """The batch's ending: its cells that never started are stopped (a Stop) or not run (the
    server stopped), so that a resume knows them."""
    cell_status = (
        BatchCell.Status.NOT_RUN if status == Batch.Status.INTERRUPTED else BatchCell.Status.STOPPED
    )
    # Only the batch's one session writes its cells, and it leaves pending none but those it
    # never started.
    with transaction.atomic():
        batch.cells.filter(status=BatchCell.Status.PENDING).update(status=cell_status)
        batch.status = status
        batch.finished_at = timezone.now()
        batch.save(update_fields=["status", "finished_at"])


def batches_mark_interrupted(*, stale_after: timedelta) -> int:
    """Running batches whose server stopped beating: interrupted, their unfinished cells not
    run (a cell's own run is swept as a transcript), so the batch can be resumed."""
    stale = timezone.now() - stale_after
    with transaction.atomic():
        lost = list(
            Batch.objects.filter(status=Batch.Status.RUNNING, heartbeat_at__lt=stale).values_list(
                "pk", flat=True
            )
        )
        BatchCell.objects.filter(
            batch__in=lost, status__in=[BatchCell.Status.PENDING, BatchCell.Status.RUNNING]
        ).update(status=BatchCell.Status.NOT_RUN)
        Batch.objects.filter(pk__in=lost).update(
            status=Batch.Status.INTERRUPTED, finished_at=timezone.now()
        )
    return len(lost)


def _cell(batch: Batch, place: Place):
    row, column = place
    return BatchCell.objects.filter(batch=batch, row=row, column=column)


def batch_cell_grade(*, cell: BatchCell, rating: int | None, comment: str) -> None:
    cell.rating, cell.comment = rating, comment
    cell.save(update_fields=["rating", "comment"])


MAX_CHECKS = 10  # a column's


class TooManyChecks(Exception):
    pass


def batch_check_add(*, batch: Batch, column: int, check: Check) -> None:
    """One more automatic check on a column's cells (TooManyChecks past MAX_CHECKS)."""
    with transaction.atomic():
        checks = _locked_checks(batch)
        if len(checks[column]) >= MAX_CHECKS:
            raise TooManyChecks(f"A column has at most {MAX_CHECKS} checks.")
        stored = {"kind": check.kind.value, "text": check.text, "ignore_case": check.ignore_case}
        checks[column].append(stored)
        _save_checks(batch, checks)


def batch_check_remove(*, batch: Batch, column: int, index: int) -> None:
    """A column's check gone; nothing when it is gone already (a second click)."""
    with transaction.atomic():
        checks = _locked_checks(batch)
        if index < len(checks[column]):
            del checks[column][index]
            _save_checks(batch, checks)


def _locked_checks(batch: Batch) -> list[list[dict[str, Any]]]:
    """The batch's checks, a list per column, its row locked until the transaction ends (two
    pages changing them at once each keep the other's change)."""
    stored = Batch.objects.select_for_update().values_list("checks", flat=True).get(pk=batch.pk)
    return [
        list(stored[column]) if column < len(stored) else []
        for column in range(len(batch.column_labels))
    ]


def _save_checks(batch: Batch, checks: list[list[dict[str, Any]]]) -> None:
    batch.checks = checks
    batch.save(update_fields=["checks"])
