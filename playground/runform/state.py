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
    values = MultiValueDict(
        {
            key: [_text(v) for v in value] if isinstance(value, list) else [_text(value)]
            for key, value in data.items()
            if key != "HEADERS"
        }
    )
    return RunForm(values), MessageFormSet(values, prefix=MESSAGES_PREFIX)


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
    """A state from any earlier version, with every field of today's form (defaults filled)."""
    defaults = RunForm()
    fields = {name: _initial(defaults, name) for name in defaults.fields}
    messages: list[dict[str, Any]] = []
    variables: dict[str, str] = {}
    if isinstance(state, dict):
        saved = state.get("fields")
        if isinstance(saved, dict):
            fields.update({k: v for k, v in saved.items() if k in fields})
        messages = [
            {name: message.get(name, "") for name in MESSAGE_FIELDS}
            for message in state.get("messages") or ()
            if isinstance(message, dict)
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
    if isinstance(state, dict) and isinstance(state.get("cases"), dict):
        upgraded["cases"] = state["cases"]  # a preset's test cases: playground/cases/ reads them
    return upgraded


def _variables(saved: Any) -> dict[str, str]:
    """The variables' values a state keeps (states from before variables have none)."""
    if not isinstance(saved, dict):
        return {}
    return {str(name): str(value) for name, value in saved.items() if isinstance(value, str)}


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
