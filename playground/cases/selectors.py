"""Reading data sets for a user: the rule is `DataSet.objects.visible_to(user)`."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Count, Max, QuerySet
from django.http import Http404

from playground.presets.permissions import SLUG

from .grid import CellView, stored_view
from .models import Batch, BatchCell, DataSet, DataSetVersion


def data_sets_for(user) -> QuerySet[DataSet]:
    """What the page offers the user to open, by name, each with its latest version's number."""
    return (
        DataSet.objects.listed_for(user)
        .select_related("owner")
        .annotate(latest=Max("versions__number"), version_count=Count("versions"))
        .filter(version_count__gt=0)
        .order_by("name", "pk")  # an aggregate's query leaves Meta.ordering out
    )


def find_latest_version(user, slug: str) -> DataSetVersion | None:
    """The latest version of a data set the user may see, else None (a tampered slug too)."""
    if not SLUG.fullmatch(slug):
        return None
    return (
        DataSetVersion.objects.filter(data_set__in=DataSet.objects.visible_to(user))
        .filter(data_set__slug=slug)
        .select_related("data_set")
        .order_by("-number")
        .first()
    )


def find_version_shown(user, table) -> DataSetVersion | None:
    """The saved version the table is, unchanged, if the user may see it."""
    if table.version is None or not SLUG.fullmatch(table.data_set):
        return None
    version = (
        DataSetVersion.objects.filter(data_set__in=DataSet.objects.visible_to(user))
        .select_related("data_set")
        .filter(data_set__slug=table.data_set, number=table.version)
        .first()
    )
    if version is None or version.columns != table.columns or version.rows != table.rows:
        return None
    return version


def find_version_for_user(user, pk: object) -> DataSetVersion | None:
    """A data set version by id if the user may see its data set, else None."""
    text = str(pk or "")
    if not (text.isascii() and text.isdigit()):
        return None
    visible = DataSetVersion.objects.filter(data_set__in=DataSet.objects.visible_to(user))
    return visible.select_related("data_set").filter(pk=int(text)).first()


def find_batch_for_user(user, batch_id: object, *, change: bool = False) -> Batch | None:
    """The batch if this user may see (or change) it, else None (a bad id too)."""
    allowed = Batch.objects.changeable_by(user) if change else Batch.objects.visible_to(user)
    try:
        return allowed.select_related("owner", "version__data_set").filter(uuid=batch_id).first()
    except ValidationError:
        return None


def get_batch_for_user(user, batch_id: object) -> Batch:
    batch = find_batch_for_user(user, batch_id)
    if batch is None:
        raise Http404("No such batch, or it is not shared with you.")
    return batch


def batch_cells(batch: Batch) -> list[CellView]:
    """Every cell of the batch as the grid shows it, row by row."""
    cells = _with_runs(batch, batch.cells.all())
    return [stored_view(cell) for cell in cells.order_by("row", "column")]


def batch_ratings(batch: Batch) -> dict[tuple[int, int], int | None]:
    """Each cell's rating by its place (row, column): what a running batch's summary needs of
    the grades, read without the runs."""
    ratings = batch.cells.values_list("row", "column", "rating")
    return {(row, column): rating for row, column, rating in ratings}


def _with_runs(batch: Batch, cells: QuerySet[BatchCell]) -> QuerySet[BatchCell]:
    """The cells with their runs, leaving out the runs' large fields that go unread (the
    request, unless a check needs its JSON schema)."""
    unread = ["transcript__form_state", "transcript__logprobs"]
    if not batch.has_schema_check:
        unread.append("transcript__request_body")
    return cells.select_related("transcript").defer(*unread)


def batches_listed(user, version: DataSetVersion | None = None) -> QuerySet[Batch]:
    """The batches the user's lists show (theirs and the team's), newest first."""
    batches = Batch.objects.listed_for(user).select_related("owner", "version__data_set")
    return batches.filter(version=version) if version is not None else batches


def batch_rows(batch: Batch, cells: list[CellView]) -> list[tuple[list[str], list[CellView]]]:
    """The grid: each test case's values, beside its cells (`batch_cells`) in column order."""
    width = len(batch.column_labels)
    return [
        (values, cells[index * width : (index + 1) * width])
        for index, values in enumerate(batch.version.rows)
    ]


def batch_cell_of(user, transcript) -> BatchCell | None:
    """The batch cell a run answered, if it is one and the user may see its batch."""
    visible = Batch.objects.visible_to(user)
    cells = BatchCell.objects.filter(transcript=transcript, batch__in=visible)
    return cells.select_related("batch").first()


def can_change_batch(user, batch: Batch) -> bool:
    return Batch.objects.changeable_by(user).filter(pk=batch.pk).exists()


def batch_cells_between(batch: Batch, start: int, stop: int) -> list[BatchCell]:
    """The cells of test cases `start` to `stop` (excluded), each with its run, row by row:
    one read of an export's chunk."""
    return list(_with_runs(batch, batch.cells.filter(row__gte=start, row__lt=stop)))


def get_cell_for_user(user, batch_id: object, row: int, column: int) -> BatchCell:
    """A cell of a batch the user may see, with its batch and run, else a 404."""
    batch = get_batch_for_user(user, batch_id)
    found = batch.cells.select_related("transcript").filter(row=row, column=column).first()
    if found is None:
        raise Http404("No such cell in this batch.")
    found.batch = batch
    return found
