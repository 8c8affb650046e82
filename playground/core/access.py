"""What every model's access rule is built from. Each rule itself is its model's queryset
(`Preset.objects.visible_to(user)`, `Transcript.objects.changeable_by(user)`, ...)."""

from importlib import import_module

from django.conf import settings
from django.contrib import auth
from django.db.models import Q, Value
from django.http import HttpRequest

# As conditions rather than `Q()` and `Q(pk__in=[])`: those two annotate as 1 on SQLite and
# as 0 on PostgreSQL instead of True and False.
EVERY_ROW = Q(Value(True))
NO_ROW = Q(Value(False))


def is_member(user) -> bool:
    """Signed in with an active account; an anonymous or deactivated user is nobody."""
    return bool(user.is_authenticated and user.is_active)


def is_staff_member(user) -> bool:
    return is_member(user) and user.is_staff


def signs_in(session_key: str, user) -> bool:
    """Whether the session still signs in `user`, an active member, as Django decides for a
    page (`auth.get_user`): not after a logout, its expiry, a password change or deactivation."""
    if not session_key:
        return False
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    current = auth.get_user(request)
    return is_member(current) and current.pk == user.pk
