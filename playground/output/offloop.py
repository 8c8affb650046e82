"""Rendering a finished answer away from the event loop, with a bound on how long it waits.

Markdown, nh3 and schema checks cost CPU in proportion to the answer (and to the user's
schema), and the loop serves every socket of the process: they run on a small executor of
their own, not the default one that `sync_to_async` shares. The bound is on the wait: a
render that overruns is shown as escaped text with a verdict, and the thread finishes its
work in the background (RE2 keeps schema checks linear, so it does finish).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString

from . import render_choice_html

_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="render")


async def render_choice(content: str, schema: dict[str, Any] | None, *, limit: float) -> SafeString:
    loop = asyncio.get_running_loop()
    work = loop.run_in_executor(_executor, render_choice_html, content, schema)
    try:
        return await asyncio.wait_for(work, limit)
    except TimeoutError:
        what = "Schema check" if schema is not None else "Formatting"
        return format_html(
            '<p class="verdict bad">{} timed out after {} s; the answer is shown as sent.</p>'
            '<pre class="stream-text">{}</pre>',
            what,
            f"{limit:g}",
            content,
        )
