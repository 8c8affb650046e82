"""Every frame the run socket sends is bounded: at most PLAYGROUND_FRAME_BYTES of UTF-8, as
sent (after escaping and rendering, which can grow text six times over).

A frame is a run of atoms, each an out-of-band swap the page applies in order. Text too long
for one frame is cut into several appends to the same element, never inside a character
reference or a character. Rendered HTML too long for one frame is cut between (or inside)
elements: an element cut in two gets an id, and what follows goes into it by that id, so the
page builds the same tree as if it had come whole.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# Kept free in every frame for its sequence number (the consumer's `<!--frame N ack-->`).
HEADER = 64
# Kept free in every piece of cut HTML for the wrappers and ids it gains (one of each per
# element it is inside, and Markdown nests at most MAX_DEPTH deep).
MAX_DEPTH = 32
PER_LEVEL = 96
_TAG = re.compile(rb"""<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:[^>"']|"[^"]*"|'[^']*')*)>""")
_VOID = {b"br", b"hr", b"img", b"wbr", b"input", b"col", b"area", b"source", b"track"}
# Children of these parse only inside an element of the same kind (a <tr> inside a <div> is
# dropped), and a frame is parsed as one fragment whose first element sets the mode for the
# rest: an append into one of them is wrapped in its own kind and sent alone in its frame.
_TABLE_PARTS = {b"table", b"thead", b"tbody", b"tfoot", b"tr"}


def joinable(frame: str) -> bool:
    """Whether a frame may share a message with others: not one that appends into a table's
    part (its first element sets how the whole message is parsed)."""
    first = _TAG.match(frame.lstrip().encode()[:16])
    return first is None or first.group(2).lower() not in _TABLE_PARTS


class Unsplittable(Exception):
    """HTML that cannot be cut to size (a single tag over the bound, or nested too deep)."""


@dataclass(frozen=True, slots=True)
class Atom:
    html: str
    size: int  # bytes of UTF-8
    alone: bool = False  # sent in a frame of its own

    @classmethod
    def of(cls, html: str, *, alone: bool = False) -> Atom:
        return cls(html, len(html.encode()), alone)


def pack(atoms: Iterable[Atom], limit: int) -> Iterator[str]:
    """Atoms in frames of at most `limit` bytes (less the header kept for the sequence
    number), lazily: a long answer is never held as frames all at once."""
    budget = limit - HEADER
    frame: list[str] = []
    size = 0
    for atom in atoms:
        if atom.size > budget:
            raise ValueError(f"an atom of {atom.size} bytes does not fit a frame of {budget}")
        if frame and (atom.alone or size + atom.size > budget):
            yield "".join(frame)
            frame, size = [], 0
        if atom.alone:
            yield atom.html
            continue
        frame.append(atom.html)
        size += atom.size
    if frame:
        yield "".join(frame)


def text_atoms(target: str, text: str, limit: int, *, swap: str = "beforeend") -> Iterator[Atom]:
    """`text`, escaped, appended to #target (the first piece swapped in with `swap`)."""
    budget = limit - HEADER
    room = budget - len(_wrapper("div", swap, target)) - len("</div>")
    step = max(1, room)  # characters: each escapes to one byte or more
    first = True
    for start in range(0, len(text), step):
        data = html.escape(text[start : start + step], quote=False).encode()
        for piece in _cut(data, room):
            opening = _wrapper("div", swap if first else "beforeend", target)
            yield Atom.of(f"{opening}{piece.decode()}</div>")
            first = False
    if first and swap != "beforeend":  # nothing to append, but something to replace
        yield Atom.of(f"{_wrapper('div', swap, target)}</div>")


def _wrapper(tag: str, swap: str, target: str) -> str:
    return f'<{tag} hx-swap-oob="{swap}:#{target}">'


def _cut(data: bytes, room: int) -> Iterator[bytes]:
    start = 0
    while start < len(data):
        end = _safe_end(data, start, start + room)
        yield data[start:end]
        start = end


def _safe_end(data: bytes, start: int, end: int) -> int:
    """An end at most `end`, past `start`, not inside a UTF-8 character or a character
    reference (`&...;`)."""
    if end >= len(data):
        return len(data)
    while end > start and data[end] & 0xC0 == 0x80:  # a continuation byte: inside a character
        end -= 1
    reference = data.rfind(b"&", start, end)
    if reference >= start and data.find(b";", reference, end) == -1:
        end = reference
    if end <= start:
        raise Unsplittable("no place to cut the text")
    return end


def html_atoms(target: str, markup: str, limit: int, *, ids: str) -> Iterator[Atom]:
    """Well-formed (sanitised) `markup` appended to #target in atoms that fit a frame.

    Elements that a cut falls inside get the ids `<ids>0`, `<ids>1`, ...: the piece after the
    cut is appended into the innermost of them, and once that one closes, into the next one
    out. Raises Unsplittable (at the call, before any atom) when the markup cannot be cut.
    """
    data = markup.encode()
    room = limit - HEADER - PER_LEVEL * (MAX_DEPTH + 2)
    if len(data) <= room:
        return iter([Atom.of(f"{_wrapper('div', 'beforeend', target)}{markup}</div>")])
    cuts, named = _plan(data, room)
    numbers = {position: f"{ids}{n}" for n, position in enumerate(sorted(named))}
    return _pieces(data, cuts, target, numbers)


def _pieces(
    data: bytes, cuts: list[tuple[int, tuple]], target: str, numbers: dict[int, str]
) -> Iterator[Atom]:
    bounds = [0, *[position for position, _ in cuts], len(data)]
    inherited: tuple[tuple[bytes, int], ...] = ()
    for index in range(len(bounds) - 1):
        yield from _piece(data, bounds[index], bounds[index + 1], inherited, target, numbers)
        if index < len(cuts):
            inherited = cuts[index][1]


def _plan(data: bytes, room: int) -> tuple[list[tuple[int, tuple]], set[int]]:
    """Where to cut, with the elements open at each cut ((tag, where its name ends)), and the
    elements that need an id because a cut falls inside them."""
    stack: list[tuple[bytes, int]] = []
    cuts: list[tuple[int, tuple]] = []
    named: set[int] = set()
    piece_start = 0

    def cut(position: int) -> None:
        nonlocal piece_start
        cuts.append((position, tuple(stack)))
        named.update(name_end for _, name_end in stack)
        piece_start = position

    def fill(upto: int) -> None:
        """Cut the text before `upto` wherever it overruns a piece."""
        while upto - piece_start > room:
            text_start, most = max(position, piece_start), piece_start + room
            cut(text_start if text_start >= most else _safe_end(data, text_start, most))

    position = 0
    for match in _TAG.finditer(data):
        fill(match.start())
        if match.end() - match.start() > room // 2:
            raise Unsplittable("a tag is too long to send")
        if match.end() - piece_start > room:
            cut(match.start())
        closing, name = match.group(1), match.group(2).lower()
        if closing:
            while stack and stack.pop()[0] != name:
                pass
        elif name not in _VOID and not match.group(3).rstrip().endswith(b"/"):
            stack.append((name, match.start() + 1 + len(name)))
            if len(stack) > MAX_DEPTH:
                raise Unsplittable("nested too deep to send in pieces")
        position = match.end()
    fill(len(data))
    return cuts, named


def _piece(
    data: bytes,
    start: int,
    end: int,
    inherited: tuple[tuple[bytes, int], ...],
    container: str,
    numbers: dict[int, str],
) -> Iterator[Atom]:
    """One piece, as appends: into the innermost element it starts inside, then (once that
    one's end tag comes) into the next one out, and so on."""
    open_here = 0
    outer = list(inherited)
    parts: list[bytes] = []
    position = start
    for match in _TAG.finditer(data, start, end):
        parts.append(data[position : match.start()])
        position = match.end()
        closing, name = match.group(1), match.group(2).lower()
        if closing and open_here == 0 and outer:
            yield from _append(parts, outer, container, numbers)
            outer.pop()
            parts = []
            continue
        if closing:
            open_here -= 1
        elif name not in _VOID and not match.group(3).rstrip().endswith(b"/"):
            open_here += 1
        name_end = match.start() + 1 + len(name)
        if not closing and name_end in numbers:
            parts += [data[match.start() : name_end], f' id="{numbers[name_end]}"'.encode()]
            parts.append(data[name_end : match.end()])
        else:
            parts.append(data[match.start() : match.end()])
    parts.append(data[position:end])
    yield from _append(parts, outer, container, numbers)


def _append(
    parts: list[bytes], outer: list[tuple[bytes, int]], container: str, numbers: dict[int, str]
) -> Iterator[Atom]:
    body = b"".join(parts)
    if not body:
        return
    tag, target = b"div", container
    if outer:
        name, name_end = outer[-1]
        target = numbers[name_end]
        if name in _TABLE_PARTS:
            tag = name
    wrapper = tag.decode()
    yield Atom.of(
        f"{_wrapper(wrapper, 'beforeend', target)}{body.decode()}</{wrapper}>",
        alone=wrapper != "div",
    )


class FrameNumbers:
    """Numbers one socket's frames (`<!--frame N-->`) and counts those the page has not
    acknowledged. Every `every`-th frame asks for an acknowledgement (`<!--frame N ack-->`),
    so a run never waits on a frame the page will not acknowledge."""

    def __init__(self, every: int):
        self.every = max(1, every)
        self.sent = 0
        self.acked = 0

    @property
    def unacked(self) -> int:
        return self.sent - self.acked

    def number(self, html: str) -> str:
        self.sent += 1
        ask = " ack" if self.sent % self.every == 0 else ""
        return f"<!--frame {self.sent}{ask}-->{html}"

    def ack(self, seq: object) -> bool:
        """Take the page's acknowledgement of every frame up to `seq`; False if it is not
        one (not a number, or not a frame sent and not yet acknowledged)."""
        if type(seq) is not int or not self.acked < seq <= self.sent:
            return False
        self.acked = seq
        return True
