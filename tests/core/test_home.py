import pytest
from django.urls import reverse

from playground.simulator import MODELS


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("endpoints"))
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


@pytest.mark.django_db
def test_lists_each_endpoint_with_its_models(client, alice, sim_endpoints_setting):
    client.force_login(alice)
    response = client.get(reverse("endpoints"))
    assert response.status_code == 200
    page = response.content.decode()
    for model in MODELS:
        assert f"<code>{model}</code>" in page
    assert "simulated" in page


@pytest.mark.django_db
def test_an_unreachable_endpoint_shows_why_instead_of_failing(
    client, alice, settings, refused_port
):
    settings.PLAYGROUND_ENDPOINTS = [
        {"name": "gone", "base_url": f"http://127.0.0.1:{refused_port}/v1"}
    ]
    client.force_login(alice)
    response = client.get(reverse("endpoints"))
    assert response.status_code == 200
    assert "Could not connect to the endpoint" in response.content.decode()
