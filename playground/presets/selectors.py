from django.db.models import Q, QuerySet

from .models import Preset


def presets_for_list(user, *, query: str = "") -> QuerySet[Preset]:
    """Mine (any visibility) and the team's, newest first, matching `query` by name or model."""
    presets = Preset.objects.select_related("owner").filter(
        Q(owner=user) | Q(visibility=Preset.Visibility.TEAM)
    )
    if query:
        presets = presets.filter(Q(name__icontains=query) | Q(model__icontains=query))
    return presets.order_by("-created_at", "-pk")
