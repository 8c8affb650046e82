"""One form (and a formset of messages) validates the page and the websocket alike.

The request body is built from cleaned_data only. `form_state` is the serialisable picture
of everything on the form, kept with transcripts and presets and as the browser's draft.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.datastructures import MultiValueDict

from playground.core.endpoints import all_endpoints, get_endpoint
from playground.upstream import FIREWORKS_ONLY, Flavour

from .jsontext import JSONTextField, is_json_schema_object

ROLES = [("system", "system"), ("user", "user"), ("assistant", "assistant"), ("tool", "tool")]
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_STOP = 4


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
        data = super().clean()
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
    def get_form_kwargs(self, index):
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


MessageFormSet = forms.formset_factory(
    MessageForm,
    formset=BaseMessageFormSet,
    extra=0,
    min_num=1,
    validate_min=True,
    max_num=500,
    validate_max=True,
)
MESSAGES_PREFIX = "messages"


def _number(*, help_text: str, min_value=None, max_value=None, integer=False, **attrs):
    field_class = forms.IntegerField if integer else forms.FloatField
    widget_attrs = {"step": "1" if integer else "any", **attrs}
    return field_class(
        required=False,
        min_value=min_value,
        max_value=max_value,
        help_text=help_text,
        widget=forms.NumberInput(attrs=widget_attrs),
    )


def _tristate(help_text: str) -> forms.NullBooleanField:
    return forms.NullBooleanField(
        required=False,
        help_text=help_text,
        widget=forms.Select(choices=[("", "not set"), ("true", "true"), ("false", "false")]),
    )


class RunForm(forms.Form):
    """Endpoint, model, tools and every request parameter; blank means "not sent"."""

    endpoint = forms.ChoiceField(help_text="Where the request goes (set up by the server).")
    model = forms.CharField(
        max_length=256,
        help_text="Pick from the endpoint's list or type an id, e.g."
        " accounts/fireworks/models/llama-v3p1-8b-instruct.",
    )
    stream = forms.BooleanField(
        required=False, initial=True, help_text="Stream tokens as they arrive (always sent)."
    )
    max_tokens = _number(
        integer=True, min_value=1, help_text="Default 200. Most tokens to generate."
    )
    temperature = _number(
        min_value=0, max_value=2, help_text="0 to 2, default 1. Higher is more random."
    )
    top_p = _number(min_value=0, max_value=1, help_text="0 to 1, default 1. Nucleus sampling mass.")
    top_k = _number(
        integer=True,
        min_value=0,
        max_value=100,
        help_text="0 to 100. Sample only from the k likeliest tokens.",
    )
    frequency_penalty = _number(
        min_value=-2, max_value=2, help_text="-2 to 2, default 0. Penalise tokens by count."
    )
    presence_penalty = _number(
        min_value=-2, max_value=2, help_text="-2 to 2, default 0. Penalise any repeated token."
    )
    n = _number(integer=True, min_value=1, help_text="Default 1. Completions to generate.")
    stop = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=r"Up to 4 sequences, one per line; write \n for a newline.",
    )
    response_format = forms.ChoiceField(
        required=False,
        choices=[("", "not set (text)"), ("text", "text"), ("json_object", "json_object")],
        help_text="json_object forces valid JSON; say so in a message too.",
    )
    response_schema = JSONTextField(
        what="The schema", kind=dict, help_text="Optional JSON schema for json_object."
    )
    prompt_truncate_len = _number(
        integer=True,
        min_value=1,
        help_text="Default 1500. Evict early messages to fit the prompt in this many tokens.",
    )
    context_length_exceeded_behavior = forms.ChoiceField(
        required=False,
        choices=[("", "not set (truncate)"), ("truncate", "truncate"), ("error", "error")],
        help_text="When prompt + max_tokens overflow the context: lower max_tokens, or fail.",
    )
    user = forms.CharField(
        required=False, max_length=256, help_text="An id for your end user, for abuse checks."
    )
    tools = JSONTextField(
        what="Tools",
        kind=list,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text='JSON list of {"type": "function", "function": {"name", "description",'
        ' "parameters"}}.',
    )
    # Advanced: what today's Fireworks API adds beyond the reference.
    seed = _number(integer=True, help_text="Same seed, same output (where the model allows).")
    min_p = _number(min_value=0, max_value=1, help_text="0 to 1. Drop tokens below this share.")
    repetition_penalty = _number(
        min_value=0, max_value=2, help_text="0 to 2, 1 is none. Penalise repeats."
    )
    logprobs = _tristate("Return log probabilities of the output tokens.")
    top_logprobs = _number(
        integer=True, min_value=0, max_value=20, help_text="0 to 20 alternatives per token."
    )
    tool_choice = forms.CharField(
        required=False,
        max_length=64,
        help_text="auto, none, required, or the name of one of the tools.",
    )
    reasoning_effort = forms.ChoiceField(
        required=False,
        choices=[
            ("", "not set"),
            ("none", "none"),
            ("low", "low"),
            ("medium", "medium"),
            ("high", "high"),
        ],
        help_text="How hard a reasoning model thinks.",
    )
    echo = _tristate("Echo the prompt back in the response.")
    extra = JSONTextField(
        what="Extra fields", kind=dict, help_text="Any other fields, as a JSON object; merged last."
    )

    SECTIONS = (
        ("Sampling", ("max_tokens", "temperature", "top_p", "top_k", "frequency_penalty",
                      "presence_penalty", "n", "stop")),
        ("Output", ("response_format", "response_schema", "prompt_truncate_len",
                    "context_length_exceeded_behavior", "user")),
    )  # fmt: skip
    ADVANCED = (
        "seed", "min_p", "repetition_penalty", "logprobs", "top_logprobs", "tool_choice",
        "reasoning_effort", "echo", "extra",
    )  # fmt: skip
    # Fields whose value goes into the body under the same name when set.
    PLAIN_PARAMETERS = (
        "max_tokens", "temperature", "top_p", "top_k", "frequency_penalty", "presence_penalty",
        "n", "prompt_truncate_len", "context_length_exceeded_behavior", "user", "seed", "min_p",
        "repetition_penalty", "logprobs", "top_logprobs", "reasoning_effort", "echo",
    )  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        endpoints = all_endpoints()
        self.fields["endpoint"].choices = [(e.name, e.label or e.name) for e in endpoints]
        if endpoints and not self.is_bound:
            self.fields["endpoint"].initial = endpoints[0].name
            self.fields["model"].initial = settings.PLAYGROUND_DEFAULT_MODEL
        max_n = settings.PLAYGROUND_MAX_N
        self.fields["n"].validators.append(_at_most(max_n, "n"))
        self.fields["n"].widget.attrs["max"] = max_n
        self.fields["n"].help_text = f"1 to {max_n} here, default 1. Completions to generate."

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The parameter panel's groups, in the order the page shows them."""
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]

    def advanced_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.ADVANCED]

    def clean_model(self) -> str:
        model = self.cleaned_data["model"].strip()
        if any(ch.isspace() for ch in model):
            raise ValidationError("A model id has no spaces.")
        return model

    def clean_stop(self) -> list[str] | None:
        lines = [line for line in self.cleaned_data["stop"].splitlines() if line]
        if len(lines) > MAX_STOP:
            raise ValidationError(f"At most {MAX_STOP} stop sequences ({len(lines)} given).")
        sequences = [_unescape(line) for line in lines]
        return sequences or None

    def clean_response_schema(self) -> dict[str, Any] | None:
        schema = self.cleaned_data["response_schema"]
        if schema is not None:
            try:
                jsonschema.validators.validator_for(schema).check_schema(schema)
            except jsonschema.SchemaError as exc:
                raise ValidationError(f"Not a valid JSON schema: {exc.message}") from None
        return schema

    def clean_tools(self) -> list[dict[str, Any]] | None:
        tools = self.cleaned_data["tools"]
        if tools is None:
            return None
        problems = [
            f"Tool {position}: {problem}"
            for position, tool in enumerate(tools, start=1)
            if (problem := _tool_problem(tool))
        ]
        names = [tool["function"]["name"] for tool in tools if not _tool_problem(tool)]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        problems += [f"Two tools are named {name!r}." for name in duplicates]
        if problems:
            raise ValidationError(problems)
        return tools or None

    def clean_extra(self) -> dict[str, Any] | None:
        extra = self.cleaned_data["extra"]
        if not extra:
            return None
        owned = OWNED_BY_FORM
        if self._flavour() == Flavour.OPENAI:
            # The form refuses these for OpenAI-style servers; a user who knows the server
            # takes them (vLLM takes top_k) sends them here instead.
            owned = owned - FIREWORKS_ONLY
        owned = sorted(extra.keys() & owned)
        if owned:
            raise ValidationError(
                f"Set {', '.join(owned)} with the form, not here: the form owns those fields."
            )
        return extra or None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("response_schema") is not None and data.get("response_format") != "json_object":
            self.add_error("response_schema", "A schema needs response format json_object.")
        if data.get("top_logprobs") is not None and data.get("logprobs") is not True:
            self.add_error("top_logprobs", "top_logprobs needs logprobs set to true.")
        self._clean_tool_choice(data)
        self._clean_for_flavour(data)
        return data

    def _clean_tool_choice(self, data: dict[str, Any]) -> None:
        choice = (data.get("tool_choice") or "").strip()
        if not choice or choice in ("auto", "none", "required"):
            data["tool_choice"] = choice or None
            return
        names = {tool["function"]["name"] for tool in data.get("tools") or ()}
        if choice not in names:
            self.add_error(
                "tool_choice", f"{choice!r} is not auto, none, required or a tool's name."
            )
            return
        data["tool_choice"] = {"type": "function", "function": {"name": choice}}

    def _flavour(self) -> Flavour | None:
        endpoint = get_endpoint(self.cleaned_data.get("endpoint") or "")
        return endpoint.flavour if endpoint else None

    def _clean_for_flavour(self, data: dict[str, Any]) -> None:
        if self._flavour() != Flavour.OPENAI:
            return
        label = get_endpoint(data["endpoint"]).label
        for name in sorted(FIREWORKS_ONLY & set(self.fields)):
            if data.get(name) not in (None, ""):
                self.add_error(
                    name,
                    f"{name} is a Fireworks parameter; {label} (OpenAI-style) does not take"
                    " it. If this server does, put it in Extra fields.",
                )

    def parameters(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """What build_body takes: model, messages, stream, then each parameter or None."""
        data = self.cleaned_data
        params: dict[str, Any] = {
            "model": data["model"],
            "messages": messages,
            "stream": data["stream"],
            "tools": data["tools"],
            "tool_choice": data["tool_choice"],
            "stop": data["stop"],
            "response_format": _response_format(data),
        }
        for name in self.PLAIN_PARAMETERS:
            value = data.get(name)
            params[name] = None if value == "" else value
        return params


# The raw JSON box may not set what the form already decides.
OWNED_BY_FORM = frozenset(
    {"model", "messages", "stream", "stream_options", "tools", "tool_choice", "stop",
     "response_format"}
    | set(RunForm.PLAIN_PARAMETERS)
)  # fmt: skip


def _at_most(limit: int, name: str):
    def validate(value):
        if value is not None and value > limit:
            raise ValidationError(f"{name} is capped at {limit} on this server.")

    return validate


def _unescape(line: str) -> str:
    return re.sub(r"\\([nt\\])", lambda m: {"n": "\n", "t": "\t", "\\": "\\"}[m[1]], line)


def _tool_problem(tool: Any) -> str | None:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        return 'must be an object with "type": "function".'
    function = tool.get("function")
    if not isinstance(function, dict) or not function.get("name"):
        return 'needs "function" with a "name".'
    if not NAME_PATTERN.match(str(function["name"])):
        return "a function name may use only letters, digits, _ and - (64 at most)."
    if "parameters" in function and not is_json_schema_object(function["parameters"]):
        return '"parameters" must be a JSON schema of type object.'
    return None


def _response_format(data: dict[str, Any]) -> dict[str, Any] | None:
    kind = data.get("response_format")
    if not kind:
        return None
    response_format: dict[str, Any] = {"type": kind}
    if data.get("response_schema") is not None:
        response_format["schema"] = data["response_schema"]
    return response_format


# --- Form state -----------------------------------------------------------------------------

FORM_STATE_VERSION = 1
MESSAGE_FIELDS = tuple(MessageForm.base_fields)


def bind(data: dict[str, Any]) -> tuple[RunForm, BaseMessageFormSet]:
    """Bind the page's (or the socket's) flat field values to the form and the formset."""
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
    # NUL cannot be stored in PostgreSQL text or JSON; nobody types it on purpose.
    return "" if value is None else str(value).replace("\x00", "")


def form_state(form: RunForm, formset: BaseMessageFormSet) -> dict[str, Any]:
    """Everything on the form as typed, unset fields included; JSON-serialisable."""
    fields = {name: _raw(form, name) for name in form.fields}
    messages = [{name: _raw(row, name) for name in MESSAGE_FIELDS} for row in formset.forms]
    return {"version": FORM_STATE_VERSION, "fields": fields, "messages": messages}


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
    if isinstance(state, dict):
        saved = state.get("fields") if isinstance(state.get("fields"), dict) else {}
        fields.update({k: v for k, v in saved.items() if k in fields})
        messages = [
            {name: message.get(name, "") for name in MESSAGE_FIELDS}
            for message in state.get("messages") or ()
            if isinstance(message, dict)
        ]
    if not messages:
        messages = [{**dict.fromkeys(MESSAGE_FIELDS, ""), "role": "user"}]
    return {"version": FORM_STATE_VERSION, "fields": fields, "messages": messages}


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
        MessageFormSet(initial=state["messages"], prefix=MESSAGES_PREFIX),
    )
