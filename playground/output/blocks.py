"""An answer rendered block by block as it streams, reading the same as if rendered whole.

The page shows an answer's raw text in segments (one `<span>` each) and its rendered blocks
above them; a marker among the segments hides those before it. A segment begins at each line
that follows a blank line, and a render always ends where a segment begins (and where
markdown-it says a top-level block begins), so the segments hidden are exactly the text
rendered, and no text is sent twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.safestring import SafeString

from .markdown import block_starts, render_markdown


class Segments:
    """Where the raw text is cut into segments, fed the text piece by piece as it is sent."""

    def __init__(self) -> None:
        self.at_line_start = True
        self.line_blank = True  # the line being read has only whitespace so far
        self.after_blank = False  # the last complete line was blank

    def starts(self, text: str, offset: int) -> list[int]:
        """Offsets (counted from the start of the answer; `text` begins at `offset`) where new
        segments begin."""
        found = []
        position = 0
        while position < len(text):
            if self.at_line_start and self.after_blank and text[position] not in "\r\n":
                found.append(offset + position)
            newline = text.find("\n", position)
            line = text[position : len(text) if newline == -1 else newline]
            self.line_blank = self.line_blank and not line.strip()
            if newline == -1:
                self.at_line_start = False
                break
            self.after_blank, self.line_blank, self.at_line_start = self.line_blank, True, True
            position = newline + 1
        return found


def closed_prefix(text: str, segment_starts: Sequence[int]) -> int:
    """The longest start of `text` that is only closed blocks and ends where a segment begins
    (0: none)."""
    starts = set(segment_starts)
    return max((start for start in block_starts(text) if start in starts), default=0)


def render_closed(text: str, segment_starts: Sequence[int]) -> tuple[int, SafeString]:
    """How much of `text` to render now, and that much rendered."""
    end = closed_prefix(text, segment_starts)
    return end, render_markdown(text[:end]) if end else SafeString("")
