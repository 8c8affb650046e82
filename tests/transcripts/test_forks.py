"""Runs forked from an earlier run's conversation (regenerate an answer, resend a message):
linked to the run they fork and the message they fork from, under the one access rule."""

import pytest
from channels.db import database_sync_to_async

from playground.transcripts.models import Transcript

from ..helpers import Socket, client_for, ended_transcript, form_data

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry"),
]


async def fork_of(user, **links) -> Transcript:
    socket = Socket(user)
    await socket.connect()
    assert await socket.run({**form_data(max_tokens=3), **links}) == "completed"
    await socket.close()
    return await ended_transcript(await database_sync_to_async(latest_pk)())


def latest_pk() -> int:
    return Transcript.objects.latest("created_at", "pk").pk


async def test_a_fork_is_linked_to_its_source_and_message(alice, bob, make_transcript, settings):
    settings.PLAYGROUND_ORPHAN_GRACE = 0
    source = await database_sync_to_async(make_transcript)(alice)
    fork = await fork_of(alice, forked_from=str(source.uuid), fork_turn="2")
    assert (fork.forked_from_id, fork.fork_turn) == (source.pk, 2)

    page = await database_sync_to_async(lambda: client_for(alice).get(fork.get_absolute_url()))()
    assert "from its message 2" in page.content.decode()
    assert source.get_absolute_url() in page.content.decode()
    back = await database_sync_to_async(lambda: client_for(alice).get(source.get_absolute_url()))()
    assert "Forked 1 time:" in back.content.decode()
    assert fork.get_absolute_url() in back.content.decode()


@pytest.mark.parametrize(
    "links",
    [
        {"forked_from": "not-a-uuid", "fork_turn": "2"},
        {"forked_from": "00000000-0000-0000-0000-000000000000", "fork_turn": "1"},
    ],
)
async def test_a_tampered_source_links_nothing_and_the_run_goes_on(alice, settings, links):
    settings.PLAYGROUND_ORPHAN_GRACE = 0
    fork = await fork_of(alice, **links)
    assert (fork.forked_from_id, fork.fork_turn) == (None, None)


async def test_someone_elses_private_run_is_not_linked_and_a_bad_turn_is_dropped(
    alice, bob, make_transcript, settings
):
    settings.PLAYGROUND_ORPHAN_GRACE = 0
    private = await database_sync_to_async(make_transcript)(
        bob, visibility=Transcript.Visibility.PRIVATE
    )
    fork = await fork_of(alice, forked_from=str(private.uuid), fork_turn="2")
    assert fork.forked_from_id is None
    own = await database_sync_to_async(make_transcript)(alice)
    for turn in ("0", "-1", "2.5", "١", "99999"):
        fork = await fork_of(alice, forked_from=str(own.uuid), fork_turn=turn)
        assert (fork.forked_from_id, fork.fork_turn) == (own.pk, None), turn
