"""The value boxes of the messages' variables: one text field per `{{name}}` found."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from .variables import ESCAPE, MAX_VARIABLES

VARIABLES_PREFIX = "var"
HELP = (
    "Write {{name}} in any message (its name and tool messages too) for a value typed here;"
    f" a run puts each value in. Write {ESCAPE} for a literal {{{{."
)


class VariablesForm(forms.Form):
    """A box per variable, named `var-<name>`; every one needs a value for the form to run."""

    prefix = VARIABLES_PREFIX
    help_text = HELP

    def __init__(self, *args: Any, names: list[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.names = names
        limit = settings.PLAYGROUND_MAX_MESSAGE_CHARS
        for name in names:
            self.fields[name] = forms.CharField(
                label=name,
                required=False,
                strip=False,
                max_length=limit,
                widget=forms.Textarea(attrs={"rows": 1, "class": "variable-value"}),
            )

    def clean(self) -> dict[str, Any]:
        super().clean()
        if len(self.names) > MAX_VARIABLES:
            raise ValidationError(
                f"The messages use {len(self.names)} variables; a run takes at most"
                f" {MAX_VARIABLES}."
            )
        for name in self.names:
            if name in self.cleaned_data and not self.cleaned_data[name]:
                self.add_error(
                    name,
                    f"{{{{{name}}}}} has no value: type one here, or take it out of the"
                    f" messages (write {ESCAPE} to keep {{{{ as text).",
                )
        return self.cleaned_data

    def values(self) -> dict[str, str]:
        """Each variable's value as typed (blank when none), for the saved state."""
        return {name: str(self[name].value() or "") for name in self.names}

    def shown(self) -> VariablesForm:
        """The same boxes unbound, showing what was typed: a panel refreshed as the messages
        are typed shows no error for a box not filled yet."""
        return VariablesForm(names=self.names, initial=self.values())
