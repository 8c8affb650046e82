"""The prompt's token estimate as the page types, and the cost of a run once it ends."""

from decimal import Decimal

import pytest
from channels.db import database_sync_to_async

from playground.chat.estimate import count_tokens
from playground.transcripts.models import Transcript

from ..helpers import Socket, form_data

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry"),
]


def test_special_tokens_typed_in_a_message_are_counted_as_text():
    # As plain text "<|endoftext|>" is 7 cl100k tokens; as a special token it would raise.
    assert count_tokens(["<|endoftext|>"], messages=1) == 7 + 3 + 3


async def test_the_page_is_told_the_prompts_size_as_it_types(alice):
    socket = Socket(alice)
    await socket.connect()
    messages = [{"role": "user", "content": "Hello, world!"}]  # user: 1 token, the text 4
    await socket.send({**form_data(messages), "action": "count"})
    assert "≈ 11 prompt tokens (cl100k estimate)" in await socket.until("prompt-estimate")

    half_typed = [*messages, {"role": "assistant", "content": ""}]  # invalid, still counted
    await socket.send({**form_data(half_typed), "action": "count"})
    assert "≈ 15 prompt tokens" in await socket.until("prompt-estimate")
    await socket.close()


async def test_a_priced_model_shows_and_keeps_what_the_run_cost(alice, settings):
    settings.PLAYGROUND_ORPHAN_GRACE = 0
    settings.PLAYGROUND_PRICES = {
        "simulator/chat-fast": {"input": Decimal("2"), "output": Decimal("10")}
    }
    socket = Socket(alice)
    await socket.connect()
    assert await socket.run(form_data(max_tokens=30)) == "completed"
    await socket.close()
    # 5 prompt tokens at $2 and 30 completion tokens at $10 per million.
    assert "cost $0.000310" in "".join(socket.frames)
    transcript = await database_sync_to_async(Transcript.objects.get)()
    assert transcript.cost == Decimal("0.000310")


async def test_an_unpriced_model_shows_no_cost(alice, settings):
    settings.PLAYGROUND_ORPHAN_GRACE = 0
    settings.PLAYGROUND_PRICES = {"another/model": {"input": Decimal(1), "output": Decimal(1)}}
    socket = Socket(alice)
    await socket.connect()
    assert await socket.run(form_data(max_tokens=5)) == "completed"
    await socket.close()
    assert "cost $" not in "".join(socket.frames)
    transcript = await database_sync_to_async(Transcript.objects.get)()
    assert transcript.cost is None
