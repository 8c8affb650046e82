from django.contrib import admin

from playground.core.admin import AccessRuleAdmin

from .models import Preset


@admin.register(Preset)
class PresetAdmin(AccessRuleAdmin):
    list_display = ["name", "owner", "model", "endpoint", "visibility", "updated_at"]
    list_filter = ["visibility", "owner", "model"]
    search_fields = ["name", "description", "model", "owner__username"]
    list_select_related = ["owner"]
    # The state is the form's business: edited here, it would drift from model and endpoint.
    readonly_fields = [
        "slug", "form_state", "endpoint", "model", "created_at", "updated_at", "forked_from",
    ]  # fmt: skip
    date_hierarchy = "created_at"
