"""The test cases on the playground page and in a preset's saved state."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict

from .selectors import data_sets_for, get_batch_for_user
from .table import BadTable, Table, table_from_state

TABLE_FIELD = "cases-table"


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
