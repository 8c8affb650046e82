from django import forms

from .models import MAX_COMMENT, RATINGS, DataSet


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


class GradeForm(forms.Form):
    """A cell's rating (thumbs up or down; none clears it) and comment, as the grid posts them."""

    rating = forms.TypedChoiceField(
        choices=[("", "none"), *RATINGS],
        coerce=int,
        empty_value=None,
        required=False,
        error_messages={"invalid_choice": "Rate the answer thumbs up or thumbs down."},
    )
    comment = forms.CharField(max_length=MAX_COMMENT, required=False)
