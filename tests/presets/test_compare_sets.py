"""A preset that holds a compare set: every column's name and settings, opened again by its
share link, for its owner and for another member alike."""

import pytest
from django.urls import reverse

from playground.presets.models import Preset

from ..helpers import client_for, compare_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_endpoints_setting")]


def test_a_preset_holds_every_column_and_its_link_opens_them(alice, bob):
    data = compare_data(
        {"model": "simulator/chat"},
        {"model": "simulator/chat-fast", "temperature": "0.2"},
        {"model": "simulator/reasoning", "top_p": "0.5"},
    )
    data.update(
        {"k1-label": "fast t=0.2", "preset-name": "Three ways", "preset-visibility": "team"}
    )
    response = client_for(alice).post(reverse("presets:save-new"), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    preset = Preset.objects.get()
    columns = preset.form_state["columns"]
    assert [column["label"] for column in columns] == ["", "fast t=0.2", ""]
    assert [column["fields"]["model"] for column in columns] == [
        "simulator/chat",
        "simulator/chat-fast",
        "simulator/reasoning",
    ]
    assert columns[1]["fields"]["temperature"] == "0.2"

    shared = client_for(bob).get(preset.get_absolute_url(), follow=True)
    assert shared.context["column_count"] == 3
    html = shared.content.decode()
    assert (
        'name="k1-label" id="k1-label" class="column-label" maxlength="80" value="fast t=0.2"'
        in html
    )
    assert 'name="k1-temperature" value="0.2"' in html
    assert 'name="k2-model" value="simulator/reasoning"' in html
    assert 'name="k2-top_p" value="0.5"' in html


def test_a_preset_of_one_column_holds_no_compare_set(alice):
    data = {
        **compare_data({"model": "simulator/chat"}),
        "preset-name": "One",
        "preset-visibility": "team",
    }
    client_for(alice).post(reverse("presets:save-new"), data, HTTP_HX_REQUEST="true")
    assert "columns" not in Preset.objects.get().form_state
