"""The run form's kinds of field, and where each one shows on the page and goes in the body."""

from __future__ import annotations

import json
from typing import Any, ClassVar, TypeVar

from django import forms
from django.core.exceptions import ValidationError

from playground.upstream import clean_text

FieldT = TypeVar("FieldT", bound=forms.Field)


def placed(field: FieldT, section: str | None) -> FieldT:
    """Show a field in the page's `section` of the parameter panel (None: the template places
    it by hand)."""
    field.section = section  # type: ignore[attr-defined]
    return field


def parameter(
    field: FieldT,
    section: str | None = None,
    *,
    sent_as_is: bool = True,
    body_key: str | None = None,
) -> FieldT:
    """Mark a field as part of the request: its cleaned value goes into the body under its
    own name (`sent_as_is`), or the form composes it into `body_key` (its own name when not
    given)."""
    field.sent_as_is = sent_as_is  # type: ignore[attr-defined]
    field.body_key = body_key  # type: ignore[attr-defined]
    return placed(field, section)


def section_of(field: forms.Field) -> str | None:
    return getattr(field, "section", None)


def is_sent_as_is(field: forms.Field) -> bool:
    return getattr(field, "sent_as_is", False)


def body_key_of(name: str, field: forms.Field) -> str | None:
    """The body field that a form field decides; None for a field that is not a parameter."""
    if not hasattr(field, "sent_as_is"):
        return None
    return getattr(field, "body_key", None) or name


class SliderNumberInput(forms.NumberInput):
    """A number box with a slider beside it and a reset that blanks the box. The box alone is
    sent: the slider has no name (two fields of one name would reach the form as a list). The
    slider shows the box's value, the API default while the box is blank."""

    template_name = "runform/slider_number.html"

    def __init__(self, *, default: float | None, integer: bool, attrs: dict[str, Any]):
        super().__init__(attrs=attrs)
        self.default = default
        self.slider_step = "1" if integer else "0.01"

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        shown = value if value not in (None, "") else self.default
        context["widget"]["slider"] = {
            "value": "" if shown is None else shown,
            "default": "" if self.default is None else self.default,
            "step": self.slider_step,
        }
        return context


def number_field(
    *,
    help_text: str,
    min_value: int | None = None,
    max_value: int | None = None,
    integer: bool = False,
    default: float | None = None,
    slider: bool = False,
) -> forms.IntegerField | forms.FloatField:
    """A number parameter; blank means "not sent", so the API's `default` applies, and the box
    shows it as its placeholder. One with both bounds gets a slider (`n`'s upper bound is a
    setting: it passes `slider=True` with no `max_value`)."""
    field_class = forms.IntegerField if integer else forms.FloatField
    attrs = {"step": "1" if integer else "any"}
    if default is not None:
        attrs["placeholder"] = f"{default:g}"
    widget: forms.NumberInput = forms.NumberInput(attrs=attrs)
    if slider or (min_value is not None and max_value is not None):
        widget = SliderNumberInput(default=default, integer=integer, attrs=attrs)
    return field_class(
        required=False,
        min_value=min_value,
        max_value=max_value,
        help_text=help_text,
        widget=widget,
    )


def tristate_field(help_text: str) -> forms.NullBooleanField:
    return forms.NullBooleanField(
        required=False,
        help_text=help_text,
        widget=forms.Select(choices=[("", "not set"), ("true", "true"), ("false", "false")]),
    )


def parse_json(text: str, *, what: str) -> Any:
    """JSON typed into a text box: parsed, or a message that says where it broke."""
    try:
        data = json.loads(text)
        # `bind` cleaned the text, but its escapes can still spell NUL or a lone surrogate.
        return _clean_strings(data) if "\\u" in text else data
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).",
            code="json",
        ) from None
    except (ValueError, RecursionError) as exc:  # a 5000-digit number, nesting too deep
        raise ValidationError(f"{what} is not usable JSON: {exc}.", code="json") from None


def _clean_strings(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean_strings(item) for item in value]
    if isinstance(value, dict):
        return {clean_text(key): _clean_strings(item) for key, item in value.items()}
    return value


class JSONTextField(forms.CharField):
    """A text box holding JSON of one kind (an object or a list); cleans to the parsed value,
    None when blank."""

    KINDS: ClassVar[dict[type, str]] = {dict: "a JSON object", list: "a JSON list"}

    def __init__(self, *, what: str, kind: type, **kwargs: Any):
        self.what = what
        self.kind = kind
        self.max_chars: int | None = None  # checked before parsing, which costs more
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if not text:
            return None
        if self.max_chars is not None and len(text) > self.max_chars:
            raise ValidationError(
                f"{self.what} is {len(text):,} characters long; the most on this server is"
                f" {self.max_chars:,}.",
                code="max_chars",
            )
        data = parse_json(text, what=self.what)
        if not isinstance(data, self.kind):
            raise ValidationError(f"{self.what} must be {self.KINDS[self.kind]}.", code="kind")
        return data


def is_json_schema_object(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type", "object") == "object"
