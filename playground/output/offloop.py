"""Rendering answers away from the event loop, with a bound on how long it waits.

Markdown, nh3 and schema checks cost CPU in proportion to the answer (and to the user's
schema), and the loop serves every socket of the process: they run on a small executor of
their own, not the default one that `sync_to_async` shares. The bound is on the wait: a
render that overruns gives None (the caller shows the text as sent), and the thread finishes
its work in the background (RE2 keeps schema checks linear, so it does finish).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.utils.safestring import SafeString

from . import render_choice_html
from .blocks import render_closed

_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="render")
T = TypeVar("T")


async def _off_loop(limit: float, work: Callable[..., T], *args: Any) -> T | None:
    loop = asyncio.get_running_loop()
    try:
        return await asyncio.wait_for(loop.run_in_executor(_executor, work, *args), limit)
    except TimeoutError:
        return None


async def render_closed_blocks(
    text: str, segment_starts: list[int], *, limit: float
) -> tuple[int, SafeString] | None:
    """How much of `text` is closed Markdown blocks ending where a segment starts, and those
    blocks rendered (`blocks.render_closed`)."""
    return await _off_loop(limit, render_closed, text, segment_starts)


async def render_choice(
    content: str, schema: dict[str, Any] | None, *, limit: float
) -> SafeString | None:
    """Markdown, or in JSON mode the checked and pretty-printed answer."""
    return await _off_loop(limit, render_choice_html, content, schema)
