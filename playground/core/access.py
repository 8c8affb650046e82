"""What every model's access rule is built from. Each rule itself is its model's queryset
(`Preset.objects.visible_to(user)`, `Transcript.objects.changeable_by(user)`, ...)."""

from importlib import import_module

from django.conf import settings
from django.contrib import auth
from django.db.models import Q, Value
from django.utils.crypto import constant_time_compare

# As conditions rather than `Q()` and `Q(pk__in=[])`: those two annotate as 1 on SQLite and
# as 0 on PostgreSQL instead of True and False.
EVERY_ROW = Q(Value(True))
NO_ROW = Q(Value(False))


def is_member(user) -> bool:
    """Signed in with an active account; an anonymous or deactivated user is nobody."""
    return bool(user.is_authenticated and user.is_active)


def is_staff_member(user) -> bool:
    return is_member(user) and user.is_staff


def owned_or_staff(user) -> Q:
    """Who may change an owned row (a preset, a data set): its owner, and staff."""
    if not is_member(user):
        return NO_ROW
    return EVERY_ROW if user.is_staff else Q(owner=user)


def session_signs_in(current) -> bool:
    """Whether `current`, a user row read now with `session_data` beside it (the data of the
    session a request came with, None when it has ended or expired), is an active member whom
    that session still signs in, as Django decides for a page (`auth.get_user`): not after a
    logout, its expiry, a password change or deactivation. A run's start reads both in one
    query (`start_ledger`), in its transaction; sessions are kept in the database (see
    SESSION_ENGINE)."""
    if current is None or current.session_data is None or not is_member(current):
        return False
    data = session_store()().decode(current.session_data)
    session_hash = data.get(auth.HASH_SESSION_KEY)
    return (
        data.get(auth.SESSION_KEY) == current._meta.pk.value_to_string(current)
        and data.get(auth.BACKEND_SESSION_KEY) in settings.AUTHENTICATION_BACKENDS
        and bool(session_hash)
        and any(
            constant_time_compare(session_hash, expected)
            for expected in [
                current.get_session_auth_hash(),
                *current.get_session_auth_fallback_hash(),
            ]
        )
    )


def session_store():
    """The SessionStore class of the configured engine (the database's: see SESSION_ENGINE)."""
    return import_module(settings.SESSION_ENGINE).SessionStore
