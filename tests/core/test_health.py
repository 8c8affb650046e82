"""What a proxy asks a process: up (/healthz) and ready (/readyz), with no login."""

import pytest
from django.test import Client

from ..outages import database_unreachable

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_live_process_is_healthy_without_a_login():
    response = Client().get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok")
    assert "no-cache" in response["Cache-Control"]


def test_ready_while_the_database_answers(settings):
    body = Client().get("/readyz").json()
    layer = "ok" if settings.REDIS_URL else "in-memory"
    assert body == {"status": "ready", "database": "ok", "channel_layer": layer}


def test_not_ready_while_the_database_is_down(refused_port):
    client = Client()
    with database_unreachable(refused_port):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unready"
    assert response.json()["database"].startswith("error (")


def test_redis_down_degrades_but_stays_ready(settings, refused_port):
    """Failing readiness for Redis would take every process out of the proxy at once."""
    settings.REDIS_URL = f"redis://127.0.0.1:{refused_port}/0"
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "database": "ok",
        "channel_layer": "unreachable",
    }
