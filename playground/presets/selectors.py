from django.db.models import Q, QuerySet

from .models import Preset


def presets_for_list(user, *, query: str = "") -> QuerySet[Preset]:
    """What lists show this user, newest first, matching `query` by name or model, each with
    `can_change`."""
    presets = Preset.objects.listed_for(user).with_can_change(user).select_related("owner")
    if query:
        presets = presets.filter(Q(name__icontains=query) | Q(model__icontains=query))
    return presets.order_by("-created_at", "-pk")
