"""The test cases on the playground page and in a preset's saved state, and what Run all of
them would spend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import QueryDict

from playground.chat.budget import ColumnCost, EndpointShare, batch_shares, budget_problem
from playground.runform import ColumnCountError, bind_columns

from .selectors import data_sets_for, get_batch_for_user
from .services import batch_size_problem
from .table import BadTable, Table, table_from_state

TABLE_FIELD = "cases-table"
# The run form's fields an estimate is made of: another field's error waits for the run.
ESTIMATED_FROM = ("endpoint", "max_tokens", "n")


def cases_context(user, state: Any, variable_names: list[str]) -> dict[str, Any]:
    """The page's table (a preset's own, when it has one) and the data sets to open."""
    saved = state.get("cases") if isinstance(state, dict) else None
    try:
        table = table_from_state(saved)
    except BadTable:
        table = Table()  # a state edited by hand: the page opens, without its test cases
    return {"cases": table.for_variables(variable_names), "data_sets": data_sets_for(user)}


def batch_state(user, batch_id: str) -> dict[str, Any]:
    """What a batch ran, as the page opens it again: its form (every column) and its test
    cases, as the data set version they were (a 404 for a batch the user may not see)."""
    batch = get_batch_for_user(user, batch_id)
    return {**batch.template, "cases": Table.of_version(batch.version).state()}


def with_cases(state: dict[str, Any], posted: QueryDict) -> dict[str, Any]:
    """A form state with the page's test cases, for a preset to keep; a table the page could
    not have sent (tampered) is left out."""
    try:
        table = table_from_state(posted.get(TABLE_FIELD))
    except BadTable:
        return state
    return {**state, "cases": table.state()} if table.rows else state


class NoEstimate(Exception):
    """A field the estimate is made of is wrong; the message says which, and why."""


@dataclass(frozen=True)
class Estimate:
    columns: list[ColumnCost]
    shares: list[EndpointShare]
    refused: str | None  # why Run all would be refused up front, as the form stands


def batch_estimate(user, data: dict[str, Any], rows: int) -> Estimate:
    """What Run all of `rows` test cases would spend, from the page's fields as they stand
    (`data`, as a preset saves them), by the arithmetic that refuses a batch."""
    try:
        forms, _ = bind_columns(data)
    except ColumnCountError as wrong:
        raise NoEstimate(str(wrong)) from None
    for column, form in enumerate(forms, start=1):
        form.is_valid()
        for name in ESTIMATED_FROM:
            if errors := form.errors.get(name):
                raise NoEstimate(f"Column {column}, {name}: {errors[0]}")
    shares = batch_shares(user, forms, rows)
    return Estimate(
        columns=[ColumnCost.of(form, rows) for form in forms],
        shares=shares,
        refused=batch_size_problem(rows, len(forms)) or budget_problem(shares),
    )
