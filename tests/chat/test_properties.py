"""Property-based tests (hypothesis) of the run form and of raw socket frames: whatever comes
in is either taken or answered with a clear error, never an exception, and the socket stays
usable. Profiles (examples per test, derandomised under CI) are in tests/conftest.py."""

import asyncio
import html
import json
import logging
import re
from collections.abc import Awaitable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.chat import fragments
from playground.chat.services import run_spec
from playground.runform import MESSAGE_FIELDS, RunForm, bind

from ..helpers import FRAME, Socket, form_data

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry"),
]
# The fixtures (users, settings, one socket) are made once per test and shared by its
# examples on purpose: one socket takes every example's frame.
SHARED_FIXTURES = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

# Text with everything a raw frame can carry: NUL, lone surrogates, any script.
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
numeric_text = st.sampled_from(
    ["", "0", "-1", "2.5", "1e309", "-1e309", "nan", "inf", "٣", " 7 ", "0x10", "1_000", "9" * 30]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**4000), max_value=10**4000)
    | st.floats()
    | any_text
    | numeric_text
)
# The shapes the page sends: a value, or a list of them for a repeated name.
field_values = scalars | st.lists(scalars, max_size=3)
FIELD_NAMES = [
    *RunForm.base_fields,
    *(f"messages-{row}-{name}" for row in range(3) for name in MESSAGE_FIELDS),
    *(f"messages-{count}" for count in ("TOTAL_FORMS", "INITIAL_FORMS", "MAX_NUM_FORMS")),
    "preset",
    "continued_from",
]
field_names = st.sampled_from(FIELD_NAMES) | any_text
# A valid form with some fields changed: near enough to valid that both outcomes occur.
changes = st.dictionaries(field_names, field_values, max_size=6)


def shown_errors(form, formset) -> list[str]:
    errors = [*form.non_field_errors(), *formset.non_form_errors()]
    errors += [e for field in form for e in field.errors]
    errors += [e for row in formset for field in row for e in field.errors]
    return errors


@SHARED_FIXTURES
@given(changes)
def test_any_field_values_are_taken_or_get_clear_field_errors(changed):
    form, formset = bind({**form_data(), **changed})
    if form.is_valid() & formset.is_valid():
        spec = run_spec(form, formset)
        json.dumps(spec.body, allow_nan=False)  # what is sent upstream is plain JSON
        json.dumps(spec.form_state, allow_nan=False)  # what the transcript keeps
        return
    errors = shown_errors(form, formset)
    assert errors, "invalid, yet no error to show"
    page = html.unescape(fragments.form_errors(form, formset))
    assert all(str(error) in page for error in errors)


def frames_of(value) -> str:
    """A JSON value as a frame: non-ASCII escaped, so lone surrogates travel as escapes."""
    return json.dumps(value)


json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner),
    max_leaves=8,
)
actions = st.sampled_from(["run", "code"]) | json_values
messages = st.builds(
    lambda action, changed: {**form_data(), **changed, "action": action}, actions, changes
)
raw_frames = (
    any_text
    | st.builds(frames_of, json_values)
    | st.builds(frames_of, st.dictionaries(any_text, json_values))
    | st.builds(frames_of, messages)
)
NOTICE = re.compile(r'<div class="error-box" role="alert">(.+?)</div>', re.S)


@pytest.fixture
async def socket(alice, settings):
    # A valid run is refused by the per-user cap: its whole path runs, no upstream request.
    settings.PLAYGROUND_MAX_CONCURRENT_RUNS = 0
    settings.PLAYGROUND_ORPHAN_GRACE = 0
    socket = Socket(alice)
    assert (await socket.connect())[0]
    yield socket
    await socket.close()


async def answer_to(socket: Socket, send: Awaitable[None], end: str) -> list[str]:
    """What answers what `send` sends: everything up to the answer to an unknown action
    named `end`, sent after it (the socket answers its messages in order, and may join the
    frames of both into one message)."""
    await send
    await socket.send({"action": end})
    frames = [await socket.receive()]
    while f"Unknown action '{end}'" not in html.unescape(frames[-1]):
        frames.append(await socket.receive())
    last = frames.pop()
    before_end = FRAME.sub("", last[: last.rindex('<div id="run-error"', 0, last.index(end))])
    return [*frames, before_end] if before_end.strip() else frames


@SHARED_FIXTURES
@given(frame=raw_frames)
async def test_any_frame_gets_a_clear_answer_and_the_socket_stays_usable(
    socket, run_registry, caplog, frame
):
    caplog.set_level(logging.WARNING)
    answer = await answer_to(
        socket, socket.communicator.send_to(text_data=frame or " "), "end-of-answer"
    )
    assert answer, "the frame got no answer"
    # A run the frame started ends on its own task: its frames belong to this answer too.
    await asyncio.gather(*(session.task for session in run_registry.sessions.values()))
    while not socket.communicator.output_queue.empty():
        answer.append(await socket.receive())
    for notice in NOTICE.findall("".join(answer)):
        assert not re.search("went wrong|failed", notice), notice
    code = await answer_to(socket, socket.send({**form_data(), "action": "code"}), "end-of-code")
    assert 'id="code-panel"' in "".join(code), "a valid request got no answer"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
