"""Concurrent writers on SQLite wait their turn: "database is locked" never reaches a user."""

import threading

import pytest
from django.contrib.auth.models import Group
from django.db import connection, connections, transaction

pytestmark = pytest.mark.sqlite_only


@pytest.mark.django_db(transaction=True)
def test_concurrent_read_then_write_transactions_all_succeed():
    assert connection.vendor == "sqlite"
    failures: list[Exception] = []
    start = threading.Barrier(8)

    def writer(number: int) -> None:
        start.wait()
        try:
            for step in range(15):
                # Read, then write, in one transaction: the pattern that deadlocks a
                # deferred transaction's lock upgrade.
                with transaction.atomic():
                    Group.objects.count()
                    Group.objects.create(name=f"writer-{number}-{step}")
        except Exception as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert Group.objects.count() == 8 * 15


def test_sqlite_runs_in_wal_mode_with_immediate_transactions(settings):
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] >= 5
    assert "journal_mode=WAL" in options["init_command"]
