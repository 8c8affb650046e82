"""Log probabilities as the page shows them: each token tinted by how likely it was, with the
most likely tokens at its place on hover or focus.

The tokens are model output: escaped like any other. The tint is a class (a strict CSP allows
no style attribute) and the alternatives sit in a data attribute that CSS shows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from playground.upstream import TokenLogprob

# Bands of probability, as the tint's class: lp-4 is the surest.
BANDS = (0.9, 0.7, 0.5, 0.3)


def logprobs_dict(index: int, tokens: Iterable[TokenLogprob]) -> dict[str, Any]:
    """A choice's log probabilities in the API's own shape, as a transcript keeps them."""
    content = [
        {
            "token": token.token,
            "logprob": token.logprob,
            "top_logprobs": [{"token": alt, "logprob": value} for alt, value in token.top],
        }
        for token in tokens
    ]
    return {"index": index, "content": content}


def _percent(logprob: float) -> str:
    return f"{math.exp(logprob) * 100:.1f}%"


def _token_html(entry: dict[str, Any]) -> SafeString:
    probability = math.exp(entry["logprob"])
    band = sum(probability >= edge for edge in BANDS)
    top = " · ".join(
        f"{json.dumps(alt['token'], ensure_ascii=False)} {_percent(alt['logprob'])}"
        for alt in entry.get("top_logprobs") or ()
    )
    described = f"{_percent(entry['logprob'])}" + (f" — {top}" if top else "")
    return format_html(
        '<span class="lp lp-{}" tabindex="0" data-top="{}">{}</span>',
        band,
        described,
        entry["token"],
    )


def logprob_pieces(content: list[dict[str, Any]], limit: float) -> Iterator[SafeString]:
    """The tokens' HTML in pieces of at most `limit` bytes of UTF-8 (a frame's bound), cut
    between tokens. One token's HTML is far below any sensible limit (tokens are cut at
    parsing)."""
    piece: list[str] = []
    size = 0
    for entry in content:
        html = _token_html(entry)
        length = len(html.encode())
        if piece and size + length > limit:
            yield mark_safe("".join(piece))  # noqa: S308 (joined format_html output)
            piece, size = [], 0
        piece.append(html)
        size += length
    if piece:
        yield mark_safe("".join(piece))  # noqa: S308 (joined format_html output)


def render_logprobs(content: list[dict[str, Any]]) -> SafeString:
    """All of a choice's tokens at once (the transcript page)."""
    return mark_safe("".join(logprob_pieces(content, limit=math.inf)))  # noqa: S308
