"""The form state: the serialisable picture of everything on the run form, kept with
transcripts and presets and as the browser's draft, and the forms bound to or rebuilt from it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.datastructures import MultiValueDict

from playground.upstream import clean_text

from .form import RunForm
from .messages import MESSAGES_PREFIX, BaseMessageFormSet, MessageForm, MessageFormSet

FORM_STATE_VERSION = 1
MESSAGE_FIELDS = tuple(MessageForm.base_fields)


def bind(data: dict[str, Any]) -> tuple[RunForm, BaseMessageFormSet]:
    """Bind the page's (or the socket's) flat field values to the form and the formset: text,
    numbers, true/false or null, or a list of them for a repeated name (the socket refuses
    any other shape before it gets here: chat/incoming.py)."""
    values = _values(data)
    return RunForm(values), MessageFormSet(values, prefix=MESSAGES_PREFIX)


def _values(data: dict[str, Any]) -> MultiValueDict:
    return MultiValueDict(
        {
            key: [_text(v) for v in value] if isinstance(value, list) else [_text(value)]
            for key, value in data.items()
            if key != "HEADERS"
        }
    )


MAX_COLUMNS = 4  # a compare's columns, the first being the page's own form
COLUMN_LABEL_CHARS = 80
# What every column of a compare shares with the first (the messages are apart, shared too).
SHARED_FIELDS = ("tools",)


class ColumnCountError(ValueError):
    """The page asked for a number of columns that a compare cannot have."""


def bind_columns(data: dict[str, Any]) -> tuple[list[RunForm], BaseMessageFormSet]:
    """The forms of a compare's columns (just one for a plain run) and the shared formset.
    The first column is the page's form; each other is the same form with the prefix
    `k<column>`, given the first one's tools, so that every column is validated alike."""
    count = column_count(data)
    values = _values(data)
    forms = [RunForm(values)]
    for column in range(1, count):
        shared = values.copy()
        for name in SHARED_FIELDS:
            shared.setlist(f"k{column}-{name}", values.getlist(name))
        forms.append(RunForm(shared, prefix=f"k{column}"))
    return forms, MessageFormSet(values, prefix=MESSAGES_PREFIX)


def column_count(data: dict[str, Any]) -> int:
    value = str(data.get("columns") or "1")
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_COLUMNS):
        raise ColumnCountError(f"A compare has 1 to {MAX_COLUMNS} columns.")
    return int(value)


def column_label(data: dict[str, Any], column: int) -> str:
    """The name the page gave a column ("gpt-oss t=0.2"); blank for none."""
    return _text(data.get(f"k{column}-label")).strip()[:COLUMN_LABEL_CHARS]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"  # what both checkboxes and true/false selects take
    # A raw frame can carry NUL or a lone surrogate (as JSON escapes): made storable here,
    # the same way as an upstream's text.
    return "" if value is None else clean_text(str(value))


def form_state(form: RunForm, formset: BaseMessageFormSet) -> dict[str, Any]:
    """Everything on the form as typed, unset fields included; JSON-serialisable."""
    fields = {name: _raw(form, name) for name in form.fields}
    messages = [{name: _raw(row, name) for name in MESSAGE_FIELDS} for row in formset.forms]
    return {
        "version": FORM_STATE_VERSION,
        "fields": fields,
        "messages": messages,
        "variables": formset.variables.values(),
    }


def _raw(form: forms.Form, name: str) -> Any:
    field = form.fields[name]
    value = field.widget.value_from_datadict(form.data, form.files, form.add_prefix(name))
    if isinstance(field, forms.BooleanField) and not isinstance(field, forms.NullBooleanField):
        return bool(value)
    if isinstance(field, forms.NullBooleanField):
        return str(value).lower() if value in (True, False, "true", "false") else ""
    return "" if value is None else value


def upgrade_state(state: Any) -> dict[str, Any]:
    """A state from any earlier version, with every field of today's form (defaults filled);
    a compare set's columns kept (`columns`: each column's name and fields, the first's
    included), when there are 2 or more."""
    fields = _upgraded_fields(state.get("fields") if isinstance(state, dict) else None)
    messages: list[dict[str, Any]] = []
    columns: list[dict[str, Any]] = []
    variables: dict[str, str] = {}
    if isinstance(state, dict):
        messages = [
            {name: message.get(name, "") for name in MESSAGE_FIELDS}
            for message in state.get("messages") or ()
            if isinstance(message, dict)
        ]
        columns = [
            {
                "label": str(column.get("label") or ""),
                "fields": _upgraded_fields(column.get("fields")),
            }
            for column in _listed(state.get("columns"))[:MAX_COLUMNS]
            if isinstance(column, dict)
        ]
        variables = _variables(state.get("variables"))
    if not messages:
        messages = [{**dict.fromkeys(MESSAGE_FIELDS, ""), "role": "user"}]
    upgraded = {
        "version": FORM_STATE_VERSION,
        "fields": fields,
        "messages": messages,
        "variables": variables,
    }
    if len(columns) > 1:
        upgraded["columns"] = columns
    if isinstance(state, dict) and isinstance(state.get("cases"), dict):
        upgraded["cases"] = state["cases"]  # a preset's test cases: playground/cases/ reads them
    return upgraded


def _variables(saved: Any) -> dict[str, str]:
    """The variables' values a state keeps (states from before variables have none)."""
    if not isinstance(saved, dict):
        return {}
    return {str(name): str(value) for name, value in saved.items() if isinstance(value, str)}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _upgraded_fields(saved: Any) -> dict[str, Any]:
    defaults = RunForm()
    fields = {name: _initial(defaults, name) for name in defaults.fields}
    if isinstance(saved, dict):
        fields.update({k: v for k, v in saved.items() if k in fields})
    return fields


def page_state(data: dict[str, Any]) -> dict[str, Any]:
    """The form state of what the page holds, as typed, a compare's columns included (a
    tampered number of columns saves the first alone)."""
    try:
        forms, formset = bind_columns(data)
    except ColumnCountError:
        form, formset = bind(data)
        forms = [form]
    state = form_state(forms[0], formset)
    if len(forms) > 1:
        state["columns"] = [
            {"label": column_label(data, column), "fields": form_state(form, formset)["fields"]}
            for column, form in enumerate(forms)
        ]
    return state


def _initial(form: RunForm, name: str) -> Any:
    value = form[name].initial
    if isinstance(form.fields[name], forms.BooleanField):
        return bool(value)
    return "" if value is None else value


def forms_from_state(state: Any) -> tuple[RunForm, BaseMessageFormSet]:
    """Unbound forms showing a saved state: a preset, a transcript, a Continue."""
    state = upgrade_state(state)
    return (
        RunForm(initial=state["fields"]),
        MessageFormSet(
            initial=state["messages"], prefix=MESSAGES_PREFIX, variables=state["variables"]
        ),
    )
