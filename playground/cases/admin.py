from django.contrib import admin

from playground.core.admin import AccessRuleAdmin

from .models import DataSet, DataSetVersion


class VersionInline(admin.TabularInline):
    """A data set's versions, read only: they are written by saves and never changed, since a
    run names the version it ran over."""

    model = DataSetVersion
    fields = ("number", "test_cases", "created_by", "created_at")
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

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
