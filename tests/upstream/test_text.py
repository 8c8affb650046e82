"""Text leaving the client: NUL and lone surrogates replaced, the key redacted however it is cut."""

import pytest

from playground.upstream import (
    ContentDelta,
    ErrorEvent,
    ErrorKind,
    Finish,
    ReasoningDelta,
    ResponseStarted,
    ToolCallDelta,
)
from playground.upstream.text import EdgeText, Redactor, clean_text

from ..hostile import pieces

KEY = "fw_3ZkQ9xLmP2vR8tYw"  # 19 characters, like a real key
AROUND = "Your key is «{}», keep it secret. "


def streamed(edge: EdgeText, parts: list[str], kind=ContentDelta, choice: int = 0) -> str:
    """What `edge` lets out of one field sent as `parts`, then the rest at the end."""
    out = [edge.apply(kind(choice, part)) for part in parts] + [edge.flush()]
    return "".join(event.text for events in out for event in events)


def test_nul_and_lone_surrogates_become_the_replacement_character():
    assert clean_text("a\x00b\ud800c\udfffd") == "a\ufffdb\ufffdc\ufffdd"
    assert clean_text("é\ud83d") == "é\ufffd"
    assert clean_text("\ud83d\ude00") == "😀"  # a valid pair is one character
    text = "plain text, Grüße"
    assert clean_text(text) is text


@pytest.mark.parametrize("size", range(1, 14))
@pytest.mark.parametrize("kind", [ContentDelta, ReasoningDelta])
def test_the_key_is_redacted_however_it_is_cut(size, kind):
    text = AROUND.format(KEY) * 2
    assert streamed(EdgeText(KEY), pieces(text, size), kind) == AROUND.format("[key]") * 2


@pytest.mark.parametrize("size", range(1, 14))
def test_a_prefix_of_eight_or_more_is_redacted_and_a_shorter_one_kept(size):
    text = f"a {KEY[:8]} b {KEY[:12]}, {KEY[:7]} c {KEY[:9]}"
    expected = f"a [key] b [key], {KEY[:7]} c [key]"
    assert streamed(EdgeText(KEY), pieces(text, size)) == expected


def test_a_short_key_is_redacted_only_whole():
    redactor = Redactor("s3cr3t")
    assert redactor.whole("s3cr3t and s3cr3 and s3cr3ts3cr3t") == "[key] and s3cr3 and [key][key]"


def test_text_that_cannot_begin_the_key_is_not_held_back():
    edge = EdgeText(KEY)
    assert edge.apply(ContentDelta(0, "Hello there")) == (ContentDelta(0, "Hello there"),)
    # A tail that could begin the key waits for the next piece, at most len(key) - 1 of it.
    assert edge.apply(ContentDelta(0, "a fw_3")) == (ContentDelta(0, "a "),)
    assert edge.apply(ContentDelta(0, "Z")) == ()
    assert edge.apply(ContentDelta(0, "!")) == (ContentDelta(0, "fw_3Z!"),)
    assert edge.apply(ContentDelta(0, KEY[:-1])) == ()
    assert list(edge.held.values()) == [KEY[:-1]]
    assert edge.apply(ContentDelta(0, KEY[-1] + ".")) == (ContentDelta(0, "[key]."),)


def test_each_choice_and_field_has_its_own_tail():
    edge = EdgeText(KEY)
    events = []
    for part in pieces(KEY[:12], 5):  # a prefix that could still grow into the key
        events += edge.apply(ContentDelta(0, part))
        events += edge.apply(ReasoningDelta(1, part))
        events += edge.apply(ContentDelta(1, part.upper()))
    assert events == [ContentDelta(1, part.upper()) for part in pieces(KEY[:12], 5)]
    assert edge.apply(Finish(0, "stop")) == [ContentDelta(0, "[key]"), Finish(0, "stop")]
    assert edge.flush() == [ReasoningDelta(1, "[key]")]


def test_tool_calls_are_redacted_in_their_name_and_arguments_and_id():
    edge = EdgeText(KEY)
    events = [
        *edge.apply(ToolCallDelta(0, 0, KEY, "get_fw_3Zk", '{"key": "fw_3Zk')),
        *edge.apply(ToolCallDelta(0, 0, None, None, 'Q9xLmP2vR8tYw"}')),
        *edge.apply(ToolCallDelta(0, 1, "call_2", "g", "{}")),
        *edge.apply(Finish(0, "tool_calls")),
    ]
    assert events == [
        ToolCallDelta(0, 0, "[key]", "get_", '{"key": "'),
        ToolCallDelta(0, 0, None, None, '[key]"}'),
        ToolCallDelta(0, 1, "call_2", "g", "{}"),
        ToolCallDelta(0, 0, None, "fw_3Zk", ""),
        Finish(0, "tool_calls"),
    ]


def test_what_arrives_whole_is_cleaned_and_redacted():
    edge = EdgeText(KEY)
    started = edge.apply(ResponseStarted(KEY, "m\x00" + KEY[:10], 7))
    assert started == (ResponseStarted("[key]", "m\ufffd[key]", 7),)
    assert edge.apply(Finish(0, "st\ud800op")) == [Finish(0, "st\ufffdop")]


def test_what_is_held_goes_out_before_an_error_which_is_redacted_and_cut():
    edge = EdgeText(KEY)
    edge.apply(ContentDelta(0, "so fw_3Zk"))
    error = ErrorEvent(ErrorKind.SERVER, f"echo {KEY[:-2]}" + "x" * 2000 + KEY, 500)
    content, ended = edge.apply(error)
    assert content == ContentDelta(0, "fw_3Zk")
    assert ended.message.startswith("echo [key]xxx")
    assert ended.message.endswith("x …")
    assert KEY[:8] not in ended.message
    assert ended.status == 500


def test_a_surrogate_pair_cut_between_pieces_is_joined_and_a_lone_one_replaced():
    assert streamed(EdgeText(None), ["smile \ud83d", "\ude00!"]) == "smile 😀!"
    assert streamed(EdgeText(None), ["a\x00\ud800b", "c\ud83d"]) == "a\ufffd\ufffdbc\ufffd"
    assert streamed(EdgeText(KEY), ["\ud83d", "\ude00" + KEY]) == "😀[key]"


def test_without_a_key_and_with_clean_text_the_same_events_go_out():
    edge = EdgeText(None)
    event = ContentDelta(0, "Grüße, 世界")
    assert edge.apply(event)[0] is event
    assert not edge.held
