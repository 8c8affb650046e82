from django.contrib import admin

from playground.core.admin import AccessRuleAdmin

from .models import DataSet, DataSetVersion


class VersionInline(admin.TabularInline):
    model = DataSetVersion
    fields = ("number", "row_count", "created_by", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False


@admin.register(DataSet)
class DataSetAdmin(AccessRuleAdmin):
    list_display = ["name", "owner", "visibility", "updated_at"]
    list_filter = ["visibility", "owner"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    readonly_fields = ["slug", "created_at", "updated_at"]
    inlines = [VersionInline]
