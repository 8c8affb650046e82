"""The conversation part of the run form: one form per message, checked together as a formset."""

from __future__ import annotations

import re
from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from .fields import JSONTextField
from .values import VariablesForm
from .variables import has_variables, names_in, substitute, substitute_message

ROLES = [("system", "system"), ("user", "user"), ("assistant", "assistant"), ("tool", "tool")]
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
NAME_RULE = "A name may use only letters, digits, _ and - (64 at most)."
# The parts of a message, as typed, where variables may be.
TEMPLATE_PARTS = ("name", "content", "tool_call_id", "tool_calls")


class MessageForm(forms.Form):
    role = forms.ChoiceField(choices=ROLES, initial="user")
    name = forms.CharField(
        required=False, max_length=64, help_text="Optional participant name (letters, digits, _ -)."
    )
    content = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Type a message…"}),
    )
    tool_call_id = forms.CharField(
        required=False, max_length=128, help_text="The tool call this message answers."
    )
    tool_calls = JSONTextField(
        what="Tool calls",
        kind=list,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text='JSON list: [{"id": ..., "type": "function", "function": {...}}]',
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        # A name with variables is checked once they are put in (the formset's clean).
        if name and not NAME_PATTERN.match(name) and not has_variables(name):
            raise ValidationError(NAME_RULE)
        return name

    def clean_tool_calls(self) -> list[dict[str, Any]] | None:
        calls = self.cleaned_data["tool_calls"]
        if not calls:
            return None
        for position, call in enumerate(calls, start=1):
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict) or not all(
                isinstance(value, str) and value for value in (call.get("id"), function.get("name"))
            ):
                raise ValidationError(f"Tool call {position} needs an id and a function name.")
            if not isinstance(function.get("arguments", ""), str):
                raise ValidationError(f"Tool call {position}: arguments must be a JSON string.")
        return [
            {
                "id": call["id"],
                "type": "function",
                "function": {
                    "name": call["function"]["name"],
                    "arguments": call["function"].get("arguments", ""),
                },
            }
            for call in calls
        ]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        role = data.get("role")
        if role == "tool" and not data.get("tool_call_id"):
            self.add_error("tool_call_id", "A tool message needs the id of the call it answers.")
        if data.get("tool_calls") and role != "assistant":
            self.add_error("tool_calls", "Only an assistant message carries tool calls.")
        if role and not data.get("content") and not data.get("tool_calls"):
            self.add_error("content", _needs_content(role))
        limit = settings.PLAYGROUND_MAX_MESSAGE_CHARS
        if self.size() > limit:
            calls = " with its tool calls" if self["tool_calls"].value() else ""
            self.add_error(
                "content",
                f"This message is {self.size():,} characters long{calls}; the most on this"
                f" server is {limit:,}.",
            )
        return data

    def size(self, values: dict[str, str] | None = None) -> int:
        """The characters of its content and tool calls, as typed (with `values` put in)."""
        texts = [self[name].value() or "" for name in ("content", "tool_calls")]
        return sum(len(substitute(text, values) if values else text) for text in texts)

    def templates(self) -> list[str]:
        """The texts, as typed, that may hold variables."""
        return [str(self[name].value() or "") for name in TEMPLATE_PARTS]

    def as_message(self) -> dict[str, Any]:
        data = self.cleaned_data
        message: dict[str, Any] = {"role": data["role"], "content": data["content"] or None}
        if data["name"]:
            message["name"] = data["name"]
        if data["role"] == "tool":
            message["tool_call_id"] = data["tool_call_id"]
        if data["tool_calls"]:
            message["tool_calls"] = data["tool_calls"]
        return message


def _needs_content(role: str) -> str:
    if role == "assistant":
        return "An assistant message needs some content or tool calls."
    return f"A {role} message needs some content."


class BaseMessageFormSet(forms.BaseFormSet):
    default_error_messages = {
        "too_many_forms": "A run takes at most %(num)d messages on this server.",
    }

    def __init__(self, *args: Any, variables: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # Read per formset, not when the class is made, so the setting is the one in force;
        # no more rows than that are even built.
        self.max_num = self.absolute_max = settings.PLAYGROUND_MAX_MESSAGES
        # The boxes of the variables the messages use: bound to the same data (`var-<name>`),
        # or showing a saved state's `variables`.
        names = names_in(text for form in self.forms for text in form.templates())
        if self.is_bound:
            self.variables = VariablesForm(self.data, names=names)
        else:
            self.variables = VariablesForm(names=names, initial=variables or {})
        self._messages: list[dict[str, Any]] = []

    def is_valid(self) -> bool:
        return self.variables.is_valid() & super().is_valid()

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        # Every row is a message: an empty one is an error to show, never a row to skip.
        return {**super().get_form_kwargs(index), "empty_permitted": False}

    def clean(self) -> None:
        if any(self.errors) or not self.variables.is_valid():
            return
        values = self.variables.cleaned_data
        self._messages = [substitute_message(form.as_message(), values) for form in self.forms]
        total = sum(form.size(values) for form in self.forms)
        limit = settings.PLAYGROUND_MAX_CONVERSATION_CHARS
        if total > limit:
            raise ValidationError(
                f"The messages are {total:,} characters long in all; the most on this server"
                f" is {limit:,}."
            )
        offered: set[str] = set()
        for form, message in zip(self.forms, self._messages, strict=True):
            for call in message.get("tool_calls") or ():
                offered.add(call["id"])
            answered = message.get("tool_call_id")
            if message["role"] == "tool" and answered not in offered:
                form.add_error(
                    "tool_call_id",
                    f"No earlier assistant message made a tool call with id {answered!r}.",
                )
            name = message.get("name", "")
            if name and not NAME_PATTERN.match(name):
                form.add_error("name", f"With its variables put in it reads {name!r}. {NAME_RULE}")

    def messages(self) -> list[dict[str, Any]]:
        """The messages as sent: every variable put in. For a valid formset."""
        return self._messages


# formset_factory returns a subclass of the `formset` it is given; the stubs say BaseFormSet.
MessageFormSet = cast(
    type[BaseMessageFormSet],
    forms.formset_factory(
        MessageForm,
        formset=BaseMessageFormSet,
        extra=0,
        min_num=1,
        validate_min=True,
        validate_max=True,  # at PLAYGROUND_MAX_MESSAGES (see BaseMessageFormSet)
    ),
)
MESSAGES_PREFIX = "messages"
