from typing import cast

from django import forms

from .models import Transcript


class MyRunsFilter(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=200,
        label="Search",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "text in the messages or answers"}
        ),
    )
    model = forms.ChoiceField(required=False)
    status = forms.ChoiceField(
        required=False, choices=[("", "any status"), *Transcript.Status.choices]
    )
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, models: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        model_field = cast(forms.ChoiceField, self.fields["model"])  # the field declared above
        model_field.choices = [("", "any model"), *((m, m) for m in models)]


class VisibilityForm(forms.Form):
    visibility = forms.ChoiceField(choices=Transcript.Visibility.choices)


class VoteForm(forms.Form):
    """A blind compare's vote, from its page or the socket: a place's number (0 = A), or
    "tie"; `cleaned_data["pick"]` is the number, None for a tie (compare_vote checks the
    place is one of the compare's)."""

    pick = forms.CharField(max_length=4, error_messages={"required": "Pick an answer, or a tie."})

    def clean_pick(self) -> int | None:
        pick = self.cleaned_data["pick"]
        if pick == "tie":
            return None
        if not (pick.isascii() and pick.isdigit() and len(pick) < 3):
            raise forms.ValidationError("Pick an answer, or a tie.")
        return int(pick)
