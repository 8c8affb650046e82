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


async def test_a_tampered_preset_id_runs_unlinked(alice):
    socket = Socket(alice)
    await socket.connect()
    assert await socket.run({**form_data(max_tokens=3), "preset": "../../etc"}) == "completed"
    await socket.close()
    assert await last_preset() is None
