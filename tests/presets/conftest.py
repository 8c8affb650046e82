import pytest

from playground.presets.models import Preset
from playground.presets.services import preset_create
from playground.runform import bind, form_state

from ..chat.conftest import form_data


def state(**fields) -> dict:
    return form_state(*bind(form_data(**fields)))


@pytest.fixture
def make_preset():
    def make(owner, visibility=Preset.Visibility.TEAM, name="Terse", **fields):
        return preset_create(
            owner=owner, name=name, visibility=visibility, form_state=state(**fields)
        )

    return make
