from django.contrib import admin
from django.db.models import Count

from playground.core.admin import AccessRuleAdmin

from .grid import summary
from .models import Batch, BatchCell, DataSet, DataSetVersion
from .selectors import batch_cells


class ReadOnlyInline(admin.TabularInline):
    """Rows shown with their parent, never added, changed or deleted from it."""

    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class VersionInline(ReadOnlyInline):
    """A data set's versions, read only: they are written by saves and never changed, since a
    run names the version it ran over."""

    model = DataSetVersion
    fields = ("number", "test_cases", "created_by", "created_at")
    readonly_fields = fields

    @admin.display(description="test cases")
    def test_cases(self, version: DataSetVersion) -> int:
        return version.row_count


@admin.register(DataSet)
class DataSetAdmin(AccessRuleAdmin):
    list_display = ["name", "owner", "visibility", "updated_at"]
    list_filter = ["visibility", "owner"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    readonly_fields = ["slug", "created_at", "updated_at"]
    inlines = [VersionInline]


class CellInline(ReadOnlyInline):
    """A batch's cells, read only: runs write them, the grid grades them."""

    model = BatchCell
    fields = ("status", "transcript", "rating", "comment", "problem")  # its place: its name
    readonly_fields = fields
    classes = ["collapse"]  # up to 5,000 of them


BATCH_FIELDS = (
    "uuid", "owner", "version", "status", "visibility", "column_labels", "checks",
    "concurrency", "created_at", "finished_at", "heartbeat_at", "pass_rate",
)  # fmt: skip


@admin.register(Batch)
class BatchAdmin(AccessRuleAdmin):
    list_display = ["created_at", "owner", "version", "status", "cells", "pass_rate"]
    list_filter = ["status", "owner"]
    list_select_related = ["owner", "version__data_set"]
    # The pass rates run each listed batch's checks over its answers: a short page.
    list_per_page = 20
    fields = BATCH_FIELDS
    readonly_fields = tuple(name for name in BATCH_FIELDS if name != "visibility")
    inlines = [CellInline]

    def has_add_permission(self, request):
        return False  # batches come from Run all

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(cell_count=Count("cells"))

    @admin.display(description="cells", ordering="cell_count")
    def cells(self, batch: Batch) -> int:
        return batch.cell_count  # type: ignore[attr-defined]

    @admin.display(description="pass rate")
    def pass_rate(self, batch: Batch) -> str:
        """Each column's, as the summary row under the grid gives it."""
        if not any(batch.checks):
            return "no checks"
        columns = summary(batch_cells(batch), len(batch.column_labels))
        return " · ".join(
            f"{label}: {c.passed} / {c.checked}" if c.checked else f"{label}: –"
            for label, c in zip(batch.column_labels, columns, strict=True)
        )
