import pytest
from channels.db import database_sync_to_async

from playground.transcripts.models import Transcript

from ..helpers import Socket, form_data

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream"),
]


@database_sync_to_async
def last_preset():
    return Transcript.objects.select_related("preset").get().preset


@pytest.mark.parametrize(("visibility", "linked"), [("team", True), ("private", False)])
async def test_a_run_records_the_preset_it_came_from_if_the_user_may_see_it(
    alice, bob, make_preset, visibility, linked
):
    preset = await database_sync_to_async(make_preset)(alice, visibility)
    socket = Socket(bob)
    await socket.connect()
    assert await socket.run({**form_data(max_tokens=3), "preset": preset.slug}) == "completed"
    await socket.close()
    assert (await last_preset() == preset) is linked


async def test_a_tampered_preset_id_runs_unlinked(alice):
    socket = Socket(alice)
    await socket.connect()
    assert await socket.run({**form_data(max_tokens=3), "preset": "../../etc"}) == "completed"
    await socket.close()
    assert await last_preset() is None
