"""The reducer: each piece of text is kept once and handed out once, by take_pending."""

from playground.chat.state import CHUNK, RunState, TextBuffer, ToolCallPending
from playground.transcripts.models import Transcript
from playground.upstream import (
    ContentDelta,
    Finish,
    Note,
    ReasoningDelta,
    ResponseStarted,
    ToolCallDelta,
    Usage,
)

ALL = 10**9  # take_pending's bound on each text, when a test wants everything at once


def test_take_pending_hands_out_what_is_new_once():
    state = RunState(2)
    state.apply(ReasoningDelta(0, "Hmm. "))
    state.apply(ContentDelta(0, "Hel"))
    state.apply(ContentDelta(0, "lo"))
    state.apply(ContentDelta(1, "Hi"))
    first = state.take_pending(ALL)
    assert [(p.index, p.reasoning, p.content, p.content_end) for p in first] == [
        (0, "Hmm. ", "Hello", 5),
        (1, "", "Hi", 2),
    ]
    assert state.take_pending(ALL) == []

    state.apply(ContentDelta(0, "!"))
    (second,) = state.take_pending(ALL)
    assert (second.index, second.content, second.content_end) == (0, "!", 6)
    assert not second.finished
    assert state.choices[0].content.value() == "Hello!", "kept once"


def test_tool_calls_go_out_as_what_each_call_gained():
    state = RunState(1)
    state.apply(ToolCallDelta(0, 0, "call_1", "get_", '{"ci'))
    (first,) = state.take_pending(ALL)
    assert first.tool_calls == (ToolCallPending(0, True, "call_1", "get_", '{"ci'),)
    state.apply(ToolCallDelta(0, 0, None, "weather", 'ty": "Oslo"}'))
    state.apply(ToolCallDelta(0, 1, "call_2", "now", ""))
    (second,) = state.take_pending(ALL)
    assert second.tool_calls == (
        ToolCallPending(0, False, None, "weather", 'ty": "Oslo"}'),
        ToolCallPending(1, True, "call_2", "now", ""),
    )
    assert state.take_pending(ALL) == []
    assert state.outcome("completed").choices[0]["tool_calls"][0] == {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
    }


def test_text_goes_out_in_bounded_slices_and_the_finish_after_the_last():
    state = RunState(1)
    state.apply(ContentDelta(0, "abcdefg"))
    state.apply(ReasoningDelta(0, "xyz"))
    state.apply(Finish(0, "stop"))
    slices = []
    while taken := state.take_pending(3):
        (pending,) = taken
        slices.append((pending.reasoning, pending.content, pending.finished, pending.finish_reason))
    assert slices == [
        ("xyz", "abc", False, None),
        ("", "def", False, None),
        ("", "g", True, "stop"),
    ]
    assert not state.has_pending()


def test_the_end_finishes_choices_cut_short_with_how_the_run_ended():
    state = RunState(3)
    state.apply(ContentDelta(0, "Part"))
    state.apply(ContentDelta(1, "Whole"))
    state.apply(Finish(1, "length"))
    state.end("stopped")
    state.end("error")  # a second end changes nothing
    reasons = {p.index: p.finish_reason for p in state.take_pending(ALL)}
    assert reasons == {0: "stopped", 1: "length"}, "a choice with nothing stays unfinished"
    assert state.outcome("stopped", "user").end_reason == "user"


def test_a_text_buffer_keeps_tokens_in_chunks_and_its_whole_once():
    buffer = TextBuffer()
    tokens = [f"t{n} " for n in range(3 * CHUNK)]
    for token in tokens:
        buffer.append(token)
    whole = "".join(tokens)
    assert len(buffer._chunks) < len(tokens) / 100, "not a string per token"
    for start, end in [(0, 5), (CHUNK - 3, CHUNK + 3), (7, len(whole)), (len(whole) - 1, None)]:
        assert buffer.slice(start, end) == whole[start:end]
    assert buffer.value() == whole
    assert buffer.value() is buffer.value(), "joined once, then shared"
    assert buffer.slice(0) is buffer.value(), "all of it is the string itself, not a copy"


def test_the_outcome_shares_the_answer_with_the_state():
    state = RunState(1)
    for _ in range(2 * CHUNK):
        state.apply(ContentDelta(0, "word "))
    choice = state.outcome("completed").choices[0]
    assert choice["content"] is state.choices[0].content.value()


def test_a_completed_run_invents_no_finish_reason():
    state = RunState(1)
    state.apply(ContentDelta(0, "Said all it had"))
    state.end(Transcript.Status.COMPLETED)
    (pending,) = state.take_pending(ALL)
    assert pending.finished, "the choice is over, and rendered"
    assert pending.finish_reason is None


def test_a_response_in_one_body_has_no_first_token_nor_speed():
    state = RunState(1)
    state.apply(ResponseStarted("r", "m", streamed=False))
    state.apply(ContentDelta(0, "All at once"))
    state.apply(Usage(5, 700, 705))
    state.end(Transcript.Status.COMPLETED)
    timings = state.timings()
    assert timings["tokens_per_second"] is None
    assert timings["time_to_first_token_ms"] is None
    assert timings["duration_ms"] is not None


def test_the_outcome_holds_the_choices_that_came_and_the_notes():
    state = RunState(3)
    state.apply(ContentDelta(0, "Only one"))
    state.apply(Finish(0, "stop"))
    state.apply(Note("No [DONE]."))
    state.end(Transcript.Status.COMPLETED)
    outcome = state.outcome(Transcript.Status.COMPLETED)
    assert [choice["index"] for choice in outcome.choices] == [0]
    assert outcome.notes == ["No [DONE]."]
