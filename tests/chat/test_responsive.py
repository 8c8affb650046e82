"""The event loop serves every socket of the process: a user's schema must not freeze it."""

import asyncio
import itertools
import json

import pytest

from ..helpers import Socket, form_data

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry"),
]

# Python's `re` takes tens of seconds over `^(a+)+$` and 27 a's then a b; the simulator
# answers with the enum's first value, so the answer is exactly that string.
HOSTILE = "a" * 27 + "b"
SCHEMA = json.dumps(
    {
        "type": "object",
        "properties": {"word": {"type": "string", "enum": [HOSTILE], "pattern": "^(a+)+$"}},
        "required": ["word"],
    }
)


async def test_other_sockets_keep_streaming_while_a_pathological_schema_is_checked(alice):
    steady, hostile = Socket(alice), Socket(alice)
    await steady.connect()
    await hostile.connect()
    await steady.send(form_data(model="simulator/chat?tps=20&tokens=200"))
    await steady.until(r'beforeend:#c0-text-\d+">')

    arrivals: list[float] = []
    checked = asyncio.get_running_loop().create_future()
    after_the_check = asyncio.Event()

    async def watch_steady():
        while True:
            await steady.receive(within=30)
            arrivals.append(asyncio.get_running_loop().time())
            if checked.done() and sum(t > checked.result() for t in arrivals) >= 3:
                after_the_check.set()

    watcher = asyncio.create_task(watch_steady())
    sent = asyncio.get_running_loop().time()
    status = await hostile.run(
        form_data(
            model="simulator/chat-fast", response_format="json_object", response_schema=SCHEMA
        )
    )
    checked.set_result(asyncio.get_running_loop().time())
    # A stalled loop shows as a gap up to the steady frames after the check.
    await asyncio.wait_for(after_the_check.wait(), 10)
    watcher.cancel()
    await steady.send({"action": "stop"})
    await steady.close()
    await hostile.close()

    assert status == "completed"
    assert "does not match" in "".join(hostile.frames), "the pattern was really checked"
    during = [sent, *(t for t in arrivals if t >= sent)]
    gaps = [later - earlier for earlier, later in itertools.pairwise(during)]
    # A frame is due every 50 ms at 20 tokens/s: ten times that is the bound.
    assert len(during) > 2
    assert max(gaps) < 0.5, f"the loop stalled for {max(gaps):.2f} s"
