"""Test cases from a file or a paste: CSV, tab-separated (what a spreadsheet copies) or JSONL.

All or nothing: either every line is good and a whole table comes back, or `ImportRefused`
lists each bad line (its number as an editor shows it) and nothing is taken.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from .table import COLUMN, MAX_COLUMNS, MAX_ROWS, Table, cells_problem, too_long, too_many

MAX_ERRORS_LISTED = 20


class ImportRefused(Exception):
    """Nothing was imported; `problems` says why, one line each."""

    def __init__(self, problems: list[str]):
        listed = problems[:MAX_ERRORS_LISTED]
        if len(problems) > MAX_ERRORS_LISTED:
            listed.append(f"… and {len(problems) - MAX_ERRORS_LISTED} more bad lines.")
        super().__init__(" ".join(listed))
        self.problems = listed


def format_of(filename: str) -> str | None:
    """The format a file's name says (.csv, .tsv or .txt, .jsonl or .ndjson), else None."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return {"csv": "csv", "tsv": "tsv", "txt": "tsv", "jsonl": "jsonl", "ndjson": "jsonl"}.get(
        suffix
    )


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRefused(
            [f"The file is not UTF-8 text (byte {exc.start + 1}): save it as UTF-8 and try again."]
        ) from None


def parse(text: str, kind: str) -> Table:
    """The table in `text` (a BOM at its start is dropped), or ImportRefused."""
    text = text.removeprefix("\ufeff").replace("\x00", "")
    if not text.strip():
        raise ImportRefused(["There is nothing to import."])
    table = _jsonl(text) if kind == "jsonl" else _delimited(text, "\t" if kind == "tsv" else ",")
    if problem := too_long(table.rows):
        raise ImportRefused([problem])
    return table


def _delimited(text: str, delimiter: str) -> Table:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    problems: list[str] = []
    try:
        header = next(reader)
        columns = _columns([name.strip() for name in header], problems)
        rows = list(_records(reader, columns, problems))
    except csv.Error as exc:
        # Past a broken quote the rest of the file cannot be read line by line.
        problems.append(f"Line {reader.line_num}: {exc} (a quote opened and never closed?).")
        rows = []
    if problems:
        raise ImportRefused(problems)
    return Table(columns, rows)


def _records(reader: Iterator[list[str]], columns: list[str], problems: list[str]):
    count = 0
    for record in reader:
        line = reader.line_num  # type: ignore[attr-defined]
        if not any(cell.strip() for cell in record):
            continue  # a blank line between cases
        count += 1
        if count > MAX_ROWS:
            problems.append(too_many())
            return
        if len(record) != len(columns):
            problems.append(
                f"Line {line}: {_fields(len(record))}, but the header has {len(columns)}."
            )
            continue
        if problem := cells_problem(record, columns):
            problems.append(f"Line {line}: {problem}")
            continue
        yield record


def _jsonl(text: str) -> Table:
    problems: list[str] = []
    objects: list[dict[str, str]] = []
    columns: dict[str, None] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(objects) >= MAX_ROWS:
            problems.append(too_many())
            break
        row = _json_row(line, problems, number)
        if row is not None:
            columns.update(dict.fromkeys(row))
            objects.append(row)
    names = _columns(list(columns), problems)
    if problems:
        raise ImportRefused(problems)
    return Table(names, [[row.get(name, "") for name in names] for row in objects])


def _json_row(line: str, problems: list[str], number: int) -> dict[str, str] | None:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        problems.append(f"Line {number}: not JSON ({exc.msg} at column {exc.colno}).")
        return None
    if not isinstance(value, dict):
        problems.append(f'Line {number}: not a JSON object ({{"name": "value", …}}).')
        return None
    row: dict[str, str] = {}
    for key, cell in value.items():
        if isinstance(cell, (dict, list)):
            kind = "an object" if isinstance(cell, dict) else "a list"
            problems.append(f"Line {number}: {key!r} is {kind}; a cell is text.")
            return None
        row[key] = "" if cell is None else json.dumps(cell) if isinstance(cell, bool) else str(cell)
    if problem := cells_problem(list(row.values()), list(row)):
        problems.append(f"Line {number}: {problem}")
        return None
    return row


def _columns(names: list[str], problems: list[str]) -> list[str]:
    if len(names) > MAX_COLUMNS:
        problems.append(f"{len(names)} columns; a table takes at most {MAX_COLUMNS}.")
    bad = [name for name in names if not COLUMN.fullmatch(name)]
    if bad:
        problems.append(
            f"Header: {', '.join(map(repr, bad))} is not a variable's name (letters, digits and"
            " _, not starting with a digit)."
        )
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        problems.append(f"Header: {', '.join(map(repr, twice))} appears twice.")
    return names


def _fields(count: int) -> str:
    return "1 field" if count == 1 else f"{count} fields"
