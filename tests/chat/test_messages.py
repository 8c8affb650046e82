"""Whatever a socket is sent, it answers with a clear message and stays usable: raw frames
in every odd shape, through the whole ASGI stack."""

import html
import json
import logging

import pytest

from ..helpers import Socket, form_data

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sim_endpoints_setting", "fresh_upstream", "run_registry"),
]

NOT_AN_OBJECT = "The message was not a JSON object."
UNREADABLE = "The message could not be read: it nests too deeply or has a number too long."
NOT_A_NAME = "The action must be a name, not"
NO_ACTION = "The message names no action"
SHAPE = "a field must be text, a number, true/false, null or a list of those."


def code(**fields) -> dict:
    return {**form_data(**fields), "action": "code"}


def raw(data: dict) -> str:
    return json.dumps(data)


FRAMES = {
    "action a list": ('{"action": ["run"]}', f"{NOT_A_NAME} a list"),
    "action a dict": ('{"action": {"run": true}}', f"{NOT_A_NAME} an object"),
    "action a number": ('{"action": 1}', f"{NOT_A_NAME} a number"),
    "action NaN": ('{"action": NaN}', f"{NOT_A_NAME} a number"),
    "action true": ('{"action": true}', f"{NOT_A_NAME} true/false"),
    "action unknown": (
        '{"action": "runn"}',
        "Unknown action 'runn': send one of run, code, count, stop, attach",
    ),
    "action null": ('{"action": null}', NO_ACTION),
    "no action": ("{}", NO_ACTION),
    "a lone surrogate as action": ('{"action": "\\ud800"}', "Unknown action '\\ud800'"),
    "a list": ('["run"]', NOT_AN_OBJECT),
    "a number": ("42", NOT_AN_OBJECT),
    "a string": ('"run"', NOT_AN_OBJECT),
    "null": ("null", NOT_AN_OBJECT),
    "blank": (" ", NOT_AN_OBJECT),
    "not JSON": ("{action: run}", NOT_AN_OBJECT),
    "a 5000-digit number": ('{"action": "code", "seed": 1' + "0" * 5000 + "}", UNREADABLE),
    "nested past the parser": ("[" * 100_000, UNREADABLE),
    "a field that is an object": (raw({**code(), "n": {"x": 1}}), f"'n' holds an object: {SHAPE}"),
    "a list inside a list": (raw({**code(), "messages-0-content": [["a"]]}), SHAPE),
    "deep nesting in a field": (
        raw(code()).replace('"tools": ""', '"tools": ' + "[" * 900 + "]" * 900),
        SHAPE,
    ),
    "an object for the preset": (raw({**form_data(), "preset": {"slug": "x"}}), SHAPE),
    "NaN for a number": (
        raw(code()).replace('"temperature": ""', '"temperature": NaN'),
        "Enter a number.",
    ),
    "Infinity for n": (raw(code()).replace('"n": ""', '"n": Infinity'), "Enter a whole number."),
    "a huge n": (raw(code(n=10**4000)), "n is capped at"),
    "a tampered formset count": (
        raw({**code(), "messages-TOTAL_FORMS": "many"}),
        "Please submit at least 1 form.",
    ),
    "a formset count beyond the limit": (
        raw({**code(), "messages-TOTAL_FORMS": 10**9}),
        "A run takes at most",
    ),
    "a binary frame": (b'{"action": "stop"}', NOT_AN_OBJECT),
    # Quoted back cut short, never whole.
    "a long unknown action": (raw({"action": "x" * 200_000}), f"Unknown action '{'x' * 40}'…:"),
}


async def test_every_frame_gets_a_clear_answer_and_the_socket_stays_usable(alice, caplog):
    """All the rows on one socket: after each, a valid request must still be answered."""
    caplog.set_level(logging.WARNING)
    socket = Socket(alice)
    assert (await socket.connect())[0]
    wrong = {}
    for name, (frame, expected) in FRAMES.items():
        if isinstance(frame, bytes):
            await socket.communicator.send_to(bytes_data=frame)
        else:
            await socket.communicator.send_to(text_data=frame)
        answer = html.unescape(await socket.receive())
        if expected not in answer:
            wrong[name] = answer[:300]
        await socket.send(code())
        await socket.until('id="code-panel"')
    await socket.close()
    assert wrong == {}
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
