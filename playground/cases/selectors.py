"""Reading data sets for a user: the rule is `DataSet.objects.visible_to(user)`."""

from __future__ import annotations

from django.db.models import Count, Max, QuerySet

from playground.presets.permissions import SLUG

from .models import DataSet, DataSetVersion


def data_sets_for(user) -> QuerySet[DataSet]:
    """What the page offers the user to open, by name, each with its latest version's number."""
    return (
        DataSet.objects.listed_for(user)
        .select_related("owner")
        .annotate(latest=Max("versions__number"), version_count=Count("versions"))
        .filter(version_count__gt=0)
        .order_by("name", "pk")  # an aggregate's query leaves Meta.ordering out
    )


def find_latest_version(user, slug: str) -> DataSetVersion | None:
    """The latest version of a data set the user may see, else None (a tampered slug too)."""
    if not SLUG.fullmatch(slug):
        return None
    return (
        DataSetVersion.objects.filter(data_set__in=DataSet.objects.visible_to(user))
        .filter(data_set__slug=slug)
        .select_related("data_set")
        .order_by("-number")
        .first()
    )
