"""The run form, its messages and its saved state: shared by the playground, presets and
transcripts, so that none of them imports another for it. A plain package (no models)."""

from .fields import JSONTextField
from .form import OWNED_BY_FORM, RunForm
from .messages import MESSAGES_PREFIX, BaseMessageFormSet, MessageForm, MessageFormSet
from .state import (
    FORM_STATE_VERSION,
    MAX_COLUMNS,
    MESSAGE_FIELDS,
    SHARED_FIELDS,
    ColumnCountError,
    bind,
    bind_columns,
    column_label,
    form_state,
    forms_from_state,
    page_state,
    upgrade_state,
)

__all__ = [
    "FORM_STATE_VERSION",
    "MAX_COLUMNS",
    "MESSAGES_PREFIX",
    "MESSAGE_FIELDS",
    "OWNED_BY_FORM",
    "SHARED_FIELDS",
    "BaseMessageFormSet",
    "ColumnCountError",
    "JSONTextField",
    "MessageForm",
    "MessageFormSet",
    "RunForm",
    "bind",
    "bind_columns",
    "column_label",
    "form_state",
    "forms_from_state",
    "page_state",
    "upgrade_state",
]
