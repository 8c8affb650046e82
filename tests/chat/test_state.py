"""The reducer: each piece of text is kept once and handed out once, by take_pending."""

from playground.chat.state import RunState
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


def test_take_pending_hands_out_what_is_new_once():
    state = RunState(2)
    state.apply(ReasoningDelta(0, "Hmm. "))
    state.apply(ContentDelta(0, "Hel"))
    state.apply(ContentDelta(0, "lo"))
    state.apply(ContentDelta(1, "Hi"))
    first = state.take_pending()
    assert [(p.index, p.reasoning, p.content) for p in first] == [
        (0, "Hmm. ", "Hello"),
        (1, "", "Hi"),
    ]
    assert state.take_pending() == []

    state.apply(ContentDelta(0, "!"))
    (second,) = state.take_pending()
    assert (second.index, second.content, second.finished) == (0, "!", None)
    assert state.choices[0].content == ["Hel", "lo", "!"], "kept once, as it came"


def test_tool_calls_go_out_whole_when_they_change():
    state = RunState(1)
    state.apply(ToolCallDelta(0, 0, "call_1", "get_", '{"ci'))
    state.apply(ToolCallDelta(0, 0, None, "weather", 'ty": "Oslo"}'))
    (pending,) = state.take_pending()
    assert pending.tool_calls == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
        }
    ]
    assert state.take_pending() == []


def test_a_finished_choice_is_handed_out_whole_once():
    state = RunState(1)
    state.apply(ContentDelta(0, "Done."))
    state.apply(Finish(0, "stop"))
    (pending,) = state.take_pending()
    assert pending.content == "Done."
    assert pending.finished["content"] == "Done."
    assert pending.finished["finish_reason"] == "stop"
    assert state.take_pending() == []


def test_the_end_finishes_choices_cut_short_with_how_the_run_ended():
    state = RunState(3)
    state.apply(ContentDelta(0, "Part"))
    state.apply(ContentDelta(1, "Whole"))
    state.apply(Finish(1, "length"))
    state.end("stopped")
    state.end("error")  # a second end changes nothing
    reasons = {p.index: p.finished["finish_reason"] for p in state.take_pending()}
    assert reasons == {0: "stopped", 1: "length"}, "a choice with nothing stays unfinished"
    assert state.outcome("stopped", "user").end_reason == "user"


def test_a_completed_run_invents_no_finish_reason():
    state = RunState(1)
    state.apply(ContentDelta(0, "Said all it had"))
    state.end(Transcript.Status.COMPLETED)
    (pending,) = state.take_pending()
    assert pending.finished is not None, "the choice is over, and rendered"
    assert pending.finished["finish_reason"] is None


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
