"""The run form: endpoint, model, tools and every request parameter. It validates the page
and the websocket alike, and the request body is built from its cleaned_data only."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, cast

import jsonschema
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from playground.core.endpoints import all_endpoints, max_tokens_cap
from playground.upstream import FIREWORKS_ONLY, Endpoint, Flavour

from .fields import (
    JSONTextField,
    body_key_of,
    is_json_schema_object,
    is_sent_as_is,
    number_field,
    parameter,
    placed,
    section_of,
    tristate_field,
)
from .messages import NAME_PATTERN

MAX_STOP = 4


# The page's groups of parameters, in the order it shows them (Advanced folded, last);
# endpoint, model, stream and tools it places by hand.
SAMPLING, LENGTH, OUTPUT, ADVANCED = "Sampling", "Length and stop", "Output format", "Advanced"
SECTIONS = (SAMPLING, LENGTH, OUTPUT)


class RunForm(forms.Form):
    """Endpoint, model, tools and every request parameter; blank means "not sent".

    Each parameter field says where the page shows it and how it reaches the body
    (`parameter()`); the panel's sections, the body's parameters and what the Extra box may
    not set all follow from that, in the order the fields are declared here.
    """

    endpoint = forms.ChoiceField(help_text="Where the request goes (set up by the server).")
    model = parameter(
        forms.CharField(
            max_length=256,
            help_text="Pick from the endpoint's list or type an id, e.g."
            " accounts/fireworks/models/llama-v3p1-8b-instruct.",
        )
    )
    stream = parameter(
        forms.BooleanField(
            required=False, initial=True, help_text="Stream tokens as they arrive (always sent)."
        )
    )
    max_tokens = parameter(
        number_field(
            integer=True,
            min_value=1,
            default=200,
            help_text="Default 200. Most tokens to generate.",
        ),
        LENGTH,
    )
    temperature = parameter(
        number_field(
            min_value=0,
            max_value=2,
            default=1,
            help_text="0 to 2, default 1. Higher is more random.",
        ),
        SAMPLING,
    )
    top_p = parameter(
        number_field(
            min_value=0,
            max_value=1,
            default=1,
            help_text="0 to 1, default 1. Nucleus sampling mass.",
        ),
        SAMPLING,
    )
    top_k = parameter(
        number_field(
            integer=True,
            min_value=0,
            max_value=100,
            help_text="0 to 100. Sample only from the k likeliest tokens.",
        ),
        SAMPLING,
    )
    frequency_penalty = parameter(
        number_field(
            min_value=-2,
            max_value=2,
            default=0,
            help_text="-2 to 2, default 0. Penalise tokens by count.",
        ),
        SAMPLING,
    )
    presence_penalty = parameter(
        number_field(
            min_value=-2,
            max_value=2,
            default=0,
            help_text="-2 to 2, default 0. Penalise any repeated token.",
        ),
        SAMPLING,
    )
    n = parameter(
        number_field(
            integer=True,
            min_value=1,
            default=1,
            slider=True,  # up to PLAYGROUND_MAX_N, set in __init__
            help_text="Default 1. Completions to generate.",
        ),
        SAMPLING,
    )
    stop = parameter(
        forms.CharField(
            required=False,
            strip=False,
            widget=forms.Textarea(attrs={"rows": 2}),
            help_text=r"Up to 4 sequences, one per line; write \n for a newline.",
        ),
        LENGTH,
    )
    response_format = parameter(
        forms.ChoiceField(
            required=False,
            choices=[("", "not set (text)"), ("text", "text"), ("json_object", "json_object")],
            help_text="json_object forces valid JSON; say so in a message too.",
        ),
        OUTPUT,
        sent_as_is=False,
    )
    response_schema = parameter(
        JSONTextField(
            what="The schema", kind=dict, help_text="Optional JSON schema for json_object."
        ),
        OUTPUT,
        sent_as_is=False,
        body_key="response_format",
    )
    prompt_truncate_len = parameter(
        number_field(
            integer=True,
            min_value=1,
            default=1500,
            help_text="Default 1500. Evict early messages to fit the prompt in this many tokens.",
        ),
        LENGTH,
    )
    context_length_exceeded_behavior = parameter(
        forms.ChoiceField(
            required=False,
            choices=[("", "not set (truncate)"), ("truncate", "truncate"), ("error", "error")],
            help_text="When prompt + max_tokens overflow the context: lower max_tokens, or fail.",
        ),
        LENGTH,
    )
    user = parameter(
        forms.CharField(
            required=False, max_length=256, help_text="An id for your end user, for abuse checks."
        ),
        ADVANCED,
    )
    tools = parameter(
        JSONTextField(
            what="Tools",
            kind=list,
            widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
            help_text='JSON list of {"type": "function", "function": {"name", "description",'
            ' "parameters"}}.',
        )
    )
    # Advanced: what today's Fireworks API adds beyond the reference.
    seed = parameter(
        number_field(integer=True, help_text="Same seed, same output (where the model allows)."),
        ADVANCED,
    )
    min_p = parameter(
        number_field(min_value=0, max_value=1, help_text="0 to 1. Drop tokens below this share."),
        ADVANCED,
    )
    repetition_penalty = parameter(
        number_field(
            min_value=0, max_value=2, default=1, help_text="0 to 2, 1 is none. Penalise repeats."
        ),
        ADVANCED,
    )
    logprobs = parameter(tristate_field("Return log probabilities of the output tokens."), ADVANCED)
    top_logprobs = parameter(
        number_field(
            integer=True, min_value=0, max_value=20, help_text="0 to 20 alternatives per token."
        ),
        ADVANCED,
    )
    tool_choice = parameter(
        forms.CharField(
            required=False,
            max_length=64,
            help_text="auto, none, required, or the name of one of the tools.",
        ),
        ADVANCED,
    )
    reasoning_effort = parameter(
        forms.ChoiceField(
            required=False,
            choices=[
                ("", "not set"),
                ("none", "none"),
                ("low", "low"),
                ("medium", "medium"),
                ("high", "high"),
            ],
            help_text="How hard a reasoning model thinks.",
        ),
        ADVANCED,
    )
    echo = parameter(tristate_field("Echo the prompt back in the response."), ADVANCED)
    # Not a parameter of its own: any other fields, merged into the body last.
    extra = placed(
        JSONTextField(
            what="Extra fields",
            kind=dict,
            help_text="Any other fields, as a JSON object; merged last.",
        ),
        ADVANCED,
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        endpoints = all_endpoints()
        self._endpoints = {e.name: e for e in endpoints}
        # `fields` is typed as plain Fields; this one is the ChoiceField declared above.
        endpoint_field = cast(forms.ChoiceField, self.fields["endpoint"])
        endpoint_field.choices = [(e.name, e.label or e.name) for e in endpoints]
        if endpoints and not self.is_bound:
            self.fields["endpoint"].initial = endpoints[0].name
            self.fields["model"].initial = settings.PLAYGROUND_DEFAULT_MODEL
        max_n = settings.PLAYGROUND_MAX_N
        self.fields["n"].validators.append(_at_most(max_n, "n"))
        self.fields["n"].widget.attrs["max"] = max_n
        self.fields["n"].help_text = f"1 to {max_n} here, default 1. Completions to generate."
        tools = cast(JSONTextField, self.fields["tools"])
        tools.max_chars = settings.PLAYGROUND_MAX_TOOLS_CHARS

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The parameter panel's groups, in the order the page shows them (Advanced apart)."""
        groups: dict[str, list[forms.BoundField]] = {section: [] for section in SECTIONS}
        for field in self:
            section = section_of(field.field)
            if section in groups:
                groups[section].append(field)
        return [(section, fields) for section, fields in groups.items() if fields]

    def advanced_fields(self) -> list[forms.BoundField]:
        return [field for field in self if section_of(field.field) == ADVANCED]

    def clean_endpoint(self) -> Endpoint:
        # The field's choices are these endpoints' names, so a valid name is always found.
        return self._endpoints[self.cleaned_data["endpoint"]]

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
        if "max_completion_tokens" in extra:
            raise ValidationError(
                "Set the length with max_tokens, not max_completion_tokens here: the server"
                " counts each run's tokens by max_tokens."
            )
        clashes = sorted(extra.keys() & owned)
        if clashes:
            raise ValidationError(
                f"Set {', '.join(clashes)} with the form, not here: the form owns those fields."
            )
        return extra or None

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("response_schema") is not None and data.get("response_format") != "json_object":
            self.add_error("response_schema", "A schema needs response format json_object.")
        if data.get("top_logprobs") is not None and data.get("logprobs") is not True:
            self.add_error("top_logprobs", "top_logprobs needs logprobs set to true.")
        self._clean_tool_choice(data)
        self._clean_for_flavour(data)
        self._clean_tokens(data)
        return data

    def most_tokens(self) -> int:
        """The most tokens the run may generate: max_tokens (the endpoint's cap when blank)
        times n. For a valid form."""
        max_tokens, n = self.token_terms()
        return max_tokens * n

    def token_terms(self) -> tuple[int, int]:
        """max_tokens (the endpoint's cap when blank) and n, as the run would use them."""
        data = self.cleaned_data
        max_tokens = data.get("max_tokens") or max_tokens_cap(data["endpoint"])
        return int(max_tokens), int(data.get("n") or 1)

    def _clean_tokens(self, data: dict[str, Any]) -> None:
        endpoint: Endpoint | None = data.get("endpoint")
        if endpoint is None or "max_tokens" not in data or "n" not in data:
            return  # each of them already has its own error
        cap, max_tokens = max_tokens_cap(endpoint), data["max_tokens"]
        if max_tokens is not None and max_tokens > cap:
            self.add_error("max_tokens", f"max_tokens is capped at {cap:,} on {endpoint.label}.")
            return
        most, limit = self.most_tokens(), settings.PLAYGROUND_MAX_RUN_TOKENS
        if most <= limit:
            return
        n = data["n"] or 1
        how = f"{max_tokens or cap:,} × {n}"
        if max_tokens is None:
            how += f": a blank max_tokens counts as the cap of {endpoint.label}"
        self.add_error(
            "max_tokens",
            f"max_tokens × n is {most:,} ({how}); the most on this server is {limit:,}:"
            " lower max_tokens or n.",
        )

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
        endpoint: Endpoint | None = self.cleaned_data.get("endpoint")
        return endpoint.flavour if endpoint else None

    def _clean_for_flavour(self, data: dict[str, Any]) -> None:
        endpoint: Endpoint | None = data.get("endpoint")
        if endpoint is None or endpoint.flavour != Flavour.OPENAI:
            return
        label = endpoint.label
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
        params: dict[str, Any] = {"messages": messages}
        for name, field in self.fields.items():
            if is_sent_as_is(field):
                value = data.get(name)
                params[name] = None if value == "" else value
        params["response_format"] = _response_format(data)
        return params


# The raw JSON box may not set what the form already decides: what its parameters go into,
# the messages (the formset's) and stream_options (build_body's).
OWNED_BY_FORM = frozenset(
    {"messages", "stream_options"}
    | {key for name, field in RunForm.base_fields.items() if (key := body_key_of(name, field))}
)


def _at_most(limit: int, name: str) -> Callable[[int | None], None]:
    def validate(value: int | None) -> None:
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
