"""A batch's grid as CSV and as JSONL: a line per test case with its values and "expected", then
per column what its cell's run gave.

Both are streamed: a chunk of test cases is read and written at a time, off the event loop, so
a batch of 5,000 cells never sits whole in memory (Django under ASGI streams only an async
iterable; a sync one it reads whole first)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from asgiref.sync import sync_to_async

from playground.core.downloads import csv_text

from .grid import answer_of, stored_view
from .models import Batch, BatchCell
from .selectors import batch_cells_between
from .table import EXPECTED

CHUNK_ROWS = 100  # test cases a read: up to 500 cells and their answers
CELL_FIELDS = [
    "answer", "status", "finish_reason", "ttft_ms", "completion_tokens", "rating", "comment",
    "checks",
]  # fmt: skip


@dataclass(frozen=True)
class CaseLine:
    """One test case of the export: numbered from 1, as the grid numbers it."""

    number: int
    variables: dict[str, str]
    expected: str | None
    cells: list[dict[str, Any]]  # one per column, in order; CELL_FIELDS each


def cell_record(cell: BatchCell) -> dict[str, Any]:
    """What the export says of one cell: the whole answer (the grid shows its start)."""
    run = cell.transcript
    choice = run.choices[0] if run is not None and run.choices else {}
    shown = stored_view(cell).verdicts
    return {
        "answer": answer_of(run) if run is not None else "",
        "status": cell.status,
        "finish_reason": choice.get("finish_reason") or "",
        "ttft_ms": run.time_to_first_token_ms if run is not None else None,
        "completion_tokens": run.completion_tokens if run is not None else None,
        "rating": cell.rating,
        "comment": cell.comment,
        "checks": [{"check": v.check, "verdict": v.word, "why": v.why} for v in shown],
    }


def case_lines(batch: Batch, start: int, stop: int) -> list[CaseLine]:
    """Test cases `start` to `stop` (excluded) of the batch, with their cells."""
    cells = {
        row: [cell_record(cell) for cell in row_cells]
        for row, row_cells in groupby(batch_cells_between(batch, start, stop), lambda c: c.row)
    }
    rows = batch.version.rows
    return [
        _case_line(batch, row, cells.get(row, [])) for row in range(start, min(stop, len(rows)))
    ]


def _case_line(batch: Batch, row: int, cells: list[dict[str, Any]]) -> CaseLine:
    values = dict(zip(batch.version.columns, batch.version.rows[row], strict=True))
    expected = values.pop(EXPECTED, None)
    return CaseLine(number=row + 1, variables=values, expected=expected, cells=cells)


def csv_lines(batch: Batch) -> AsyncIterator[str]:
    names = [name for name in batch.version.columns if name != EXPECTED]
    head = ["#", *names, EXPECTED]
    head += [f"{label}: {field}" for label in column_names(batch) for field in CELL_FIELDS]

    def lines(cases: list[CaseLine]) -> str:
        return csv_text(
            [case.number, *case.variables.values(), case.expected or ""]
            + [_flat(cell[field]) for cell in case.cells for field in CELL_FIELDS]
            for case in cases
        )

    return _streamed(batch, csv_text([head]), lines)


def jsonl_lines(batch: Batch) -> AsyncIterator[str]:
    labels = column_names(batch)

    def lines(cases: list[CaseLine]) -> str:
        return "".join(
            json.dumps(
                {
                    "case": case.number,
                    "variables": case.variables,
                    "expected": case.expected,
                    "columns": [
                        {"label": label, **cell}
                        for label, cell in zip(labels, case.cells, strict=True)
                    ],
                },
                ensure_ascii=False,
            )
            + "\n"
            for case in cases
        )

    return _streamed(batch, "", lines)


def _flat(value: Any) -> Any:
    """A cell's checks in one CSV cell: "pass: contains 'Paris'; fail: ..."."""
    if isinstance(value, list):
        return "; ".join(f"{v['verdict']}: {v['check']} ({v['why']})" for v in value)
    return value


def column_names(batch: Batch) -> list[str]:
    """The columns' labels, numbered where two are alike (two columns of one model), so that
    each names one column."""
    labels = batch.column_labels
    return [
        f"{label} ({index + 1})" if labels.count(label) > 1 else label
        for index, label in enumerate(labels)
    ]


async def _streamed(
    batch: Batch, head: str, lines: Callable[[list[CaseLine]], str]
) -> AsyncIterator[str]:
    if head:
        yield head
    for start in range(0, len(batch.version.rows), CHUNK_ROWS):
        yield await sync_to_async(_chunk)(batch, start, lines)


def _chunk(batch: Batch, start: int, lines: Callable[[list[CaseLine]], str]) -> str:
    return lines(case_lines(batch, start, start + CHUNK_ROWS))
