"""Who may see or change a preset: the views, the consumer and the admin all ask here."""

import re

from django.http import Http404

from .models import Preset

SLUG = re.compile(r"[-\w]{1,32}")


def can_view_preset(user, preset: Preset) -> bool:
    if preset.visibility == Preset.Visibility.LINK:
        return True
    if not user.is_authenticated:
        return False
    if user.is_staff or preset.owner_id == user.pk:
        return True
    return preset.visibility == Preset.Visibility.TEAM


def can_change_preset(user, preset: Preset) -> bool:
    return user.is_authenticated and (user.is_staff or preset.owner_id == user.pk)


def get_preset_for_user(user, slug: str, *, change: bool = False) -> Preset:
    """The preset if this user may see it (or change it); otherwise a 404, never a 403, so a
    private preset's existence is not given away."""
    preset = (
        Preset.objects.select_related("owner").filter(slug=slug).first()
        if SLUG.fullmatch(slug)
        else None  # a tampered id (even one with a NUL) is simply not found
    )
    allowed = can_change_preset if change else can_view_preset
    if preset is None or not allowed(user, preset):
        raise Http404("No such preset, or it is not shared with you.")
    return preset
