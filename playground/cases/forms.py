from django import forms

from .models import DataSet


class SaveDataSetForm(forms.Form):
    """Save the table as a data set: a new one, or the next version of yours of that name."""

    prefix = "data-set"

    name = forms.CharField(
        label="Data set name",
        max_length=100,
        help_text="Yours of this name gets a new version; its earlier versions stay.",
    )
    visibility = forms.ChoiceField(
        choices=DataSet.Visibility.choices, initial=DataSet.Visibility.TEAM
    )
