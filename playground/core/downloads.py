"""Files the pages and the admin hand out: CSV written safe for spreadsheets, streamed."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, Iterable
from typing import Any

from django.http import StreamingHttpResponse

# A cell a spreadsheet would run as a formula starts with one of these.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula is written as plain text (a leading ')."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """The rows as CSV lines (the csv module's quoting: commas, quotes and newlines kept),
    every cell made safe first."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(map(safe_cell, row) for row in rows)
    return buffer.getvalue()


def attachment(
    lines: Iterable[str] | AsyncIterable[str], name: str, content_type: str
) -> StreamingHttpResponse:
    """A download of `lines` as they come. Under ASGI only an async iterable is streamed (Django
    reads a sync one whole first), so a large one should be async."""
    response = StreamingHttpResponse(lines, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
