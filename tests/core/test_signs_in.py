"""A run's start asks whether its socket's session still signs its user in: in one query, and
with every answer Django's own check (`auth.get_user`) would give a page."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user
from django.contrib.sessions.models import Session
from django.utils import timezone

from playground.transcripts.selectors import start_ledger

from ..helpers import client_for, session_cookie

pytestmark = pytest.mark.django_db


def signs_in(session_key: str, user) -> bool:
    ledger = start_ledger(
        user=user, now=timezone.now(), stale_after=timedelta(minutes=1), session_key=session_key
    )
    return ledger.signed_in


def expire(key: str) -> None:
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(1))


def change_password(user) -> None:
    user.set_password("a new one")
    user.save()


def deactivate(user) -> None:
    user.is_active = False
    user.save()


ENDINGS = {
    "logout": lambda key, user: Session.objects.filter(session_key=key).delete(),
    "expiry": lambda key, user: expire(key),
    "password change": lambda key, user: change_password(user),
    "deactivation": lambda key, user: deactivate(user),
}


def test_a_live_session_signs_its_user_in_with_one_query(alice, django_assert_num_queries):
    key = session_cookie(alice)
    with django_assert_num_queries(1):
        assert signs_in(key, alice)


@pytest.mark.parametrize("ending", ENDINGS)
def test_a_session_whose_login_ended_signs_nobody_in(alice, ending):
    client = client_for(alice)
    key = client.cookies["sessionid"].value
    ENDINGS[ending](key, alice)
    assert not signs_in(key, alice)
    # Django's own check agrees.
    request = type("Request", (), {"session": client.session})()
    assert not get_user(request).is_authenticated


def test_a_session_signs_in_only_its_own_user(alice, bob):
    assert not signs_in(session_cookie(bob), alice)
    assert not signs_in("", alice)
    assert not signs_in("no-such-session", alice)
