"""The conversation part of the run form: one form per message, checked together as a formset."""

from __future__ import annotations

import re
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from .fields import JSONTextField

ROLES = [("system", "system"), ("user", "user"), ("assistant", "assistant"), ("tool", "tool")]
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


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
        if name and not NAME_PATTERN.match(name):
            raise ValidationError("A name may use only letters, digits, _ and - (64 at most).")
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
            self.add_error("content", f"A {role} message needs some content.")
        return data

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


class BaseMessageFormSet(forms.BaseFormSet):
    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        # Every row is a message: an empty one is an error to show, never a row to skip.
        return {**super().get_form_kwargs(index), "empty_permitted": False}

    def clean(self) -> None:
        if any(self.errors):
            return
        offered: set[str] = set()
        for form in self.forms:
            for call in form.cleaned_data.get("tool_calls") or ():
                offered.add(call["id"])
            answered = form.cleaned_data.get("tool_call_id")
            if form.cleaned_data.get("role") == "tool" and answered not in offered:
                form.add_error(
                    "tool_call_id",
                    f"No earlier assistant message made a tool call with id {answered!r}.",
                )

    def messages(self) -> list[dict[str, Any]]:
        return [form.as_message() for form in self.forms]


# formset_factory returns a subclass of the `formset` it is given; the stubs say BaseFormSet.
MessageFormSet = cast(
    type[BaseMessageFormSet],
    forms.formset_factory(
        MessageForm,
        formset=BaseMessageFormSet,
        extra=0,
        min_num=1,
        validate_min=True,
        max_num=500,
        validate_max=True,
    ),
)
MESSAGES_PREFIX = "messages"
