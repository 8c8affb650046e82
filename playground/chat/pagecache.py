"""Pieces of the playground page that are the same for every user and request, rendered once
per process: rendering the run form's ~40 fields is most of the page's CPU. They depend only
on settings (the endpoints, the limits in the fields' help), so a changed setting drops them."""

from functools import cache

from django.core.signals import setting_changed
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from playground.presets.forms import PresetForm
from playground.runform import (
    MESSAGES_PREFIX,
    BaseMessageFormSet,
    MessageFormSet,
    RunForm,
    forms_from_state,
)


@cache
def column_template() -> SafeString:
    """The empty compare column the page copies for "Add column" (its prefix k__col__)."""
    context = {"n": "__col__", "label": "", "form": RunForm(prefix="k__col__")}
    return SafeString(render_to_string("chat/partials/column.html", context))


@cache
def message_template() -> SafeString:
    """The empty message row the page copies for "Add message"."""
    row = MessageFormSet(prefix=MESSAGES_PREFIX).empty_form
    return SafeString(render_to_string("chat/partials/message_row.html", {"row": row}))


def message_rows(formset: BaseMessageFormSet) -> SafeString:
    """The conversation's rows, showing `formset`."""
    rows = (render_to_string("chat/partials/message_row.html", {"row": row}) for row in formset)
    return SafeString("".join(rows))


@cache
def default_forms() -> tuple[RunForm, BaseMessageFormSet]:
    """The forms of a page opened without a preset, a run or a compare, made once (each
    copies its ~40 fields): only ever read, to render the page."""
    return forms_from_state(None)


@cache
def default_message_rows() -> SafeString:
    """The rows of a page opened without a preset, a run or a compare: one empty message."""
    return message_rows(default_forms()[1])


def parameters(form: RunForm) -> SafeString:
    """The parameters panel's fields, showing `form` (column 1's settings)."""
    return SafeString(render_to_string("chat/partials/parameters.html", {"form": form}))


@cache
def default_parameters() -> SafeString:
    """The panel of a page opened without a preset, a run or a compare: the defaults (a
    draft is the browser's, restored by the page's script)."""
    return parameters(default_forms()[0])


@cache
def default_management_form() -> SafeString:
    """The message formset's counts on a page opened without a preset, a run or a compare."""
    return SafeString(str(default_forms()[1].management_form))


@cache
def blank_preset_fields() -> SafeString:
    """The preset bar's "Save as preset" fields, empty (a refused save shows its own form)."""
    return SafeString("".join(field.as_field_group() for field in PresetForm()))


def _forget(**kwargs: object) -> None:
    blank_preset_fields.cache_clear()
    default_management_form.cache_clear()
    column_template.cache_clear()
    message_template.cache_clear()
    default_forms.cache_clear()
    default_message_rows.cache_clear()
    default_parameters.cache_clear()


setting_changed.connect(_forget)
