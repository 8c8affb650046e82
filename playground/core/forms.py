from django import forms
from django.forms.renderers import TemplatesSetting

from .models import Preference


class FormRenderer(TemplatesSetting):
    """Forms render from the project's templates, every field through one template: its
    label, its help (`<id>_helptext`) and its error box (`<id>_error`), which Django's
    `aria-describedby` and `aria-invalid` on the widget point at."""

    field_template_name = "partials/form_field.html"


class ThemeForm(forms.Form):
    theme = forms.ChoiceField(choices=Preference.Theme.choices, required=False, label="Theme")
