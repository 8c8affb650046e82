"""The test-case table as the page holds it: columns, rows of text, and the data set version
it was opened from or saved as. Kept in the page (a JSON field of its own form, never the run
form's), with a preset, and as a data set version."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

MAX_ROWS = 1_000
MAX_COLUMNS = 51  # the most variables a run takes, and "expected"
MAX_CELL_CHARS = 20_000
# The whole table's text: what the page posts back with every action stays under Django's
# 2.5 MB request bound, even all in three-byte characters, percent-encoded.
MAX_TABLE_CHARS = 250_000
EXPECTED = "expected"
COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


class BadTable(Exception):
    """A table that is not one (a tampered page, a hand-edited state): never a 500."""


@dataclass(frozen=True)
class Table:
    """A column per variable (and "expected", last), a row per test case, every cell text."""

    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    data_set: str = ""  # the slug of the data set it came from, if any
    data_set_name: str = ""
    version: int | None = None  # and which of its versions, unchanged since
    run_version: int | None = None  # the version's id, when Run all is to run it (not kept)

    @classmethod
    def of_version(cls, version: Any) -> Table:
        """A saved data set version's table (a DataSetVersion)."""
        return cls(
            columns=list(version.columns),
            rows=[list(row) for row in version.rows],
            data_set=version.data_set.slug,
            data_set_name=version.data_set.name,
            version=version.number,
        )

    def for_variables(self, names: list[str]) -> Table:
        """Its columns with a column added for each variable it lacks, "expected" last; a
        column no message uses any more goes once it is empty (a renamed variable's)."""
        used = set(names)
        kept = [
            name
            for index, name in enumerate(self.columns)
            if name != EXPECTED and (name in used or any(row[index] for row in self.rows))
        ]
        columns = kept + [name for name in names if name not in kept] + [EXPECTED]
        if columns == self.columns:
            return self
        rows = [dict(zip(self.columns, row, strict=True)) for row in self.rows]
        # Other columns than its saved version's: no longer that version.
        return replace(
            self,
            columns=columns,
            rows=[[row.get(name, "") for name in columns] for row in rows],
            version=None,
        )

    def edited(self, rows: list[list[str]]) -> Table:
        """The same columns with other rows: no longer the saved version it came from."""
        return replace(self, rows=rows, version=None)

    def labelled_rows(self) -> list[list[tuple[str, str]]]:
        """Each row's cells with their column's name, for the page's labels."""
        return [list(zip(self.columns, row, strict=True)) for row in self.rows]

    def state(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "rows": self.rows,
            "data_set": self.data_set,
            "data_set_name": self.data_set_name,
            "version": self.version,
        }

    def to_json(self) -> str:
        return json.dumps(self.state(), ensure_ascii=False)


def table_from_state(state: Any) -> Table:
    """A table from a saved or posted state; BadTable if it is not one."""
    if state in (None, "", {}):
        return Table()
    if isinstance(state, str):
        try:
            state = json.loads(state)
        except json.JSONDecodeError:
            raise BadTable("The test cases could not be read: reload the page.") from None
    if not isinstance(state, dict):
        raise BadTable("The test cases could not be read: reload the page.")
    columns, rows = state.get("columns") or [], state.get("rows") or []
    problem = _shape_problem(columns, rows)
    if problem:
        raise BadTable(problem)
    version = state.get("version")
    return Table(
        columns=list(columns),
        rows=[list(row) for row in rows],
        data_set=str(state.get("data_set") or "")[:32],
        data_set_name=str(state.get("data_set_name") or "")[:100],
        version=version if isinstance(version, int) and not isinstance(version, bool) else None,
    )


def _shape_problem(columns: Any, rows: Any) -> str | None:
    if not isinstance(columns, list) or not isinstance(rows, list):
        return "The test cases could not be read: reload the page."
    if len(columns) > MAX_COLUMNS or len(set(columns)) != len(columns):
        return f"A table takes at most {MAX_COLUMNS} columns, each named once."
    if not all(isinstance(name, str) and COLUMN.fullmatch(name) for name in columns):
        return "A column is named as a variable is: letters, digits and _."
    if len(rows) > MAX_ROWS:
        return too_many(len(rows))
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, list) or len(row) != len(columns):
            return f"Row {number} does not have a cell for each column."
        if not all(isinstance(cell, str) for cell in row):
            return f"Row {number}: every cell is text."
        if problem := cells_problem(row, columns):
            return f"Row {number}: {problem}"
    return too_long(rows)


def too_long(rows: list[list[str]]) -> str | None:
    """Whether the table's text is over its bound, and by how much."""
    size = sum(len(cell) for row in rows for cell in row)
    if size <= MAX_TABLE_CHARS:
        return None
    return f"The test cases come to {size:,} characters; a table takes at most {MAX_TABLE_CHARS:,}."


def cells_problem(cells: list[str], columns: list[str]) -> str | None:
    for name, cell in zip(columns, cells, strict=False):
        if len(cell) > MAX_CELL_CHARS:
            return (
                f"{name} is {len(cell):,} characters long; a cell takes at most {MAX_CELL_CHARS:,}."
            )
    return None


def too_many(count: int | None = None) -> str:
    how_many = f"{count:,} rows" if count is not None else f"More than {MAX_ROWS:,} rows"
    return f"{how_many}: a table takes at most {MAX_ROWS:,} test cases."
