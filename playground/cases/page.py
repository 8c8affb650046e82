"""The test cases on the playground page and in a preset's saved state."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict

from .selectors import data_sets_for
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


def with_cases(state: dict[str, Any], posted: QueryDict) -> dict[str, Any]:
    """A form state with the page's test cases, for a preset to keep; a table the page could
    not have sent (tampered) is left out."""
    try:
        table = table_from_state(posted.get(TABLE_FIELD))
    except BadTable:
        return state
    return {**state, "cases": table.state()} if table.rows else state
