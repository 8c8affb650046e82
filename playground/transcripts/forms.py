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
