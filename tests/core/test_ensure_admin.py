import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory


def log_in(password: str):
    """As the login form does: axes counts every attempt against the request's address."""
    request = RequestFactory().post("/accounts/login/")
    return authenticate(request, username="admin", password=password)


def ensure_admin() -> str:
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_a_first_admin_gets_a_generated_password_printed_once():
    first = ensure_admin()
    password = re.search(r"Admin account: admin  password: (\S+)", first).group(1)
    assert len(password) >= 16
    user = log_in(password)
    assert user is not None
    assert user.is_superuser
    assert user.is_staff

    second = ensure_admin()
    assert password not in second
    assert "changepassword admin" in second
    assert log_in(password) is not None


@pytest.mark.django_db
def test_every_new_database_gets_a_different_password(django_user_model):
    first = re.search(r"password: (\S+)", ensure_admin()).group(1)
    django_user_model.objects.all().delete()
    second = re.search(r"password: (\S+)", ensure_admin()).group(1)
    assert first != second
