from django import forms

from .models import Preference


class ThemeForm(forms.Form):
    theme = forms.ChoiceField(choices=Preference.Theme.choices, required=False, label="Theme")
