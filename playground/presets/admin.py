from django.contrib import admin

from .models import Preset


@admin.register(Preset)
class PresetAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "model", "endpoint", "visibility", "updated_at"]
    list_filter = ["visibility", "owner", "model"]
    search_fields = ["name", "description", "model", "owner__username"]
    list_select_related = ["owner"]
    readonly_fields = ["slug", "created_at", "updated_at", "forked_from"]
    date_hierarchy = "created_at"
