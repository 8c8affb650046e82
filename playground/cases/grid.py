"""What a batch's grid shows of each cell, and its progress line: the same pieces for the page
as it renders from the database and for the frames of a batch going live."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from statistics import fmean
from typing import Any

from django.template.loader import render_to_string

from playground.upstream import json_schema_of

from .checks import Check, Kind, run_check
from .models import BatchCell

PREVIEW_CHARS = 600  # of a cell's answer; the whole is on its transcript's page
PROBLEM_CHARS = 500
Status = BatchCell.Status
# How a cell's run ended, as its transcript says it.
ENDED_AS = {
    "completed": Status.DONE,
    "error": Status.FAILED,
    "stopped": Status.STOPPED,
    "interrupted": Status.STOPPED,
}
OVER = (Status.DONE, Status.FAILED, Status.STOPPED, Status.NOT_RUN)


@dataclass(frozen=True)
class Shown:
    """A check's verdict on a cell, as the grid and the exports say it."""

    check: str  # what it checks, in words
    passed: bool | None  # None: it could not apply
    why: str

    @property
    def word(self) -> str:
        return {True: "pass", False: "fail", None: "n/a"}[self.passed]


@dataclass(frozen=True)
class CellView:
    row: int
    column: int
    status: str
    answer: str = ""
    cut: bool = False  # the answer is longer than shown
    finish_reason: str = ""
    ttft_ms: int | None = None
    tokens: int | None = None
    transcript: uuid.UUID | None = None
    problem: str = ""
    rating: int | None = None  # +1, -1: see BatchCell
    comment: str = ""
    verdicts: tuple[Shown, ...] = ()  # its column's checks, once it is done
    cost: Decimal | None = None  # in US dollars, when its model has a price

    @property
    def gradable(self) -> bool:
        return self.status == Status.DONE

    @property
    def retryable(self) -> bool:
        return self.status in (Status.FAILED, Status.STOPPED, Status.NOT_RUN)

    @property
    def status_text(self) -> str:
        return Status(self.status).label


def cell_view(
    row: int,
    column: int,
    status: str,
    transcript: Any = None,
    problem: str = "",
    *,
    checks: list[Check] | None = None,
    expected: str | None = None,
) -> CellView:
    """A cell as shown: its status, and what its run's transcript (if any) says (a frame's
    worth at most: the answer and the problem cut short), with its column's checks' verdicts
    on the whole answer once done."""
    if transcript is None:
        return CellView(row, column, status, problem=problem[:PROBLEM_CHARS])
    choice = transcript.choices[0] if transcript.choices else {}
    answer = answer_of(transcript)
    error = transcript.shown_error
    return CellView(
        row,
        column,
        status,
        answer=answer[:PREVIEW_CHARS],
        cut=len(answer) > PREVIEW_CHARS,
        finish_reason=choice.get("finish_reason") or "",
        ttft_ms=transcript.time_to_first_token_ms,
        tokens=transcript.completion_tokens,
        transcript=transcript.uuid,
        cost=transcript.cost,
        problem=(problem or (str(error.get("message") or "") if error else ""))[:PROBLEM_CHARS],
        verdicts=verdicts(checks or [], transcript, expected) if status == Status.DONE else (),
    )


def answer_of(transcript: Any) -> str:
    """The run's answer: its first choice's text, whole."""
    choice = transcript.choices[0] if transcript.choices else {}
    return choice.get("content") or ""


def verdicts(checks: list[Check], transcript: Any, expected: str | None) -> tuple[Shown, ...]:
    """Each check's verdict on the run's whole answer (the schema: its request's)."""
    if not checks:
        return ()
    answer = answer_of(transcript)
    needs_schema = any(check.kind is Kind.SCHEMA for check in checks)
    schema = json_schema_of(transcript.request_body) if needs_schema else None
    ran = [(check, run_check(check, answer, expected=expected, schema=schema)) for check in checks]
    # A schema's reason may quote the answer: cut short, as a problem is, to keep frames small.
    return tuple(
        Shown(str(check), verdict.passed, verdict.why[:PROBLEM_CHARS]) for check, verdict in ran
    )


def stored_view(cell: BatchCell) -> CellView:
    """A cell from its row, its transcript selected with it."""
    batch = cell.batch
    shown = cell_view(
        cell.row,
        cell.column,
        cell.status,
        cell.transcript,
        cell.problem,
        checks=batch.column_checks(cell.column),
        expected=batch.version.expected(cell.row),
    )
    return replace(shown, rating=cell.rating, comment=cell.comment)


def with_grade(live: CellView, stored: CellView | None) -> CellView:
    """A cell as a batch session holds it, with the grade given to it since (on its page, not
    through the session): the stored cell, when it is the same finished run."""
    if stored is None or not live.gradable:
        return live
    same_run = (stored.status, stored.transcript) == (live.status, live.transcript)
    return stored if same_run else live


@dataclass(frozen=True)
class Progress:
    total: int
    counts: Counter[str]
    status: str  # the batch's
    left_seconds: float | None = None  # the estimate while it runs here

    @classmethod
    def of(cls, cells: Iterable[CellView], status: str, left: float | None = None) -> Progress:
        listed = list(cells)
        return cls(len(listed), Counter(cell.status for cell in listed), status, left)

    @property
    def over(self) -> int:
        return sum(self.counts[status] for status in OVER)

    @property
    def text(self) -> str:
        """'37 / 120 done, 3 failed, ~40 s left'."""
        parts = [f"{self.over} / {self.total} done"]
        parts += [
            f"{self.counts[status]} {Status(status).label}"
            for status in (Status.FAILED, Status.STOPPED, Status.NOT_RUN)
            if self.counts[status]
        ]
        if self.left_seconds is not None:
            parts.append(f"~{round(self.left_seconds):,} s left")
        return ", ".join(parts)


@dataclass(frozen=True)
class ColumnSummary:
    """A column's figures under the grid, to tell the best column at a glance."""

    checked: int  # done cells on which a check applied
    passed: int  # of those, the ones no check failed
    rated: int
    liked: int  # thumbs up
    mean_ttft_ms: float | None
    tokens: int  # completion tokens, all cells
    cost: Decimal | None  # None when no cell's model has a price
    best: bool = False

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.checked if self.checked else None

    @property
    def like_rate(self) -> float | None:
        return self.liked / self.rated if self.rated else None


def summary(cells: list[CellView], width: int) -> list[ColumnSummary]:
    """Each column's figures; the best is the one with the highest pass rate (the most rated
    good without checks), marked when it is ahead of at least one other column's."""
    columns = [_column_summary([c for c in cells if c.column == k]) for k in range(width)]
    rates = [c.pass_rate if c.checked else c.like_rate for c in columns]
    known = [rate for rate in rates if rate is not None]
    if len(known) < 2 or known.count(max(known)) > 1:
        return columns
    return [replace(c, best=rate == max(known)) for c, rate in zip(columns, rates, strict=True)]


def summary_row(columns: list[ColumnSummary]) -> str:
    """The summary row's columns, each swapped into its place under the grid."""
    return "".join(
        render_to_string(
            "cases/partials/column_summary.html", {"column": column, "index": index, "oob": True}
        )
        for index, column in enumerate(columns)
    )


def _column_summary(cells: list[CellView]) -> ColumnSummary:
    checked = [c for c in cells if any(v.passed is not None for v in c.verdicts)]
    rated = [c for c in cells if c.rating is not None]
    ttfts = [c.ttft_ms for c in cells if c.ttft_ms is not None]
    costs = [c.cost for c in cells if c.cost is not None]
    return ColumnSummary(
        checked=len(checked),
        passed=sum(all(v.passed is not False for v in c.verdicts) for c in checked),
        rated=len(rated),
        liked=sum(c.rating == 1 for c in rated),
        mean_ttft_ms=fmean(ttfts) if ttfts else None,
        tokens=sum(c.tokens or 0 for c in cells),
        cost=sum(costs, Decimal(0)) if costs else None,
    )
