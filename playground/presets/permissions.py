"""Looking a preset up for a user: the rule itself is `Preset.objects.visible_to(user)` and
`changeable_by(user)`; these helpers only apply it to one slug."""

import re

from django.http import Http404

from .models import Preset

SLUG = re.compile(r"[-\w]{1,32}")


def find_preset_for_user(user, slug: str, *, change: bool = False) -> Preset | None:
    """The preset if this user may see it (or change it), else None."""
    if not SLUG.fullmatch(slug):
        return None  # a tampered id (even one with a NUL) is simply not found
    allowed = Preset.objects.changeable_by(user) if change else Preset.objects.visible_to(user)
    return allowed.select_related("owner").filter(slug=slug).first()


def get_preset_for_user(user, slug: str, *, change: bool = False) -> Preset:
    """The preset, or a 404, never a 403, so a private preset's existence is not given away."""
    preset = find_preset_for_user(user, slug, change=change)
    if preset is None:
        raise Http404("No such preset, or it is not shared with you.")
    return preset


def can_change_preset(user, preset: Preset) -> bool:
    """For a preset already at hand (the page's Save and Edit links)."""
    return Preset.objects.changeable_by(user).contains(preset)
