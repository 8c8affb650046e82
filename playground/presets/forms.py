from django import forms

from .models import Preset


class PresetForm(forms.Form):
    """Name, description and visibility; prefixed on the playground page, beside the run form."""

    prefix = "preset"

    name = forms.CharField(
        label="Preset name", max_length=100, help_text="Up to 100 characters; yours must differ."
    )
    description = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    visibility = forms.ChoiceField(
        choices=Preset.Visibility.choices, initial=Preset.Visibility.TEAM
    )
