from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from playground.core.access import EVERY_ROW, NO_ROW, is_member, is_staff_member, owned_or_staff
from playground.presets.models import new_slug


class DataSetQuerySet(models.QuerySet):
    """Who may do what with a data set: the one rule, for views and the admin alike."""

    def visible_to(self, user) -> DataSetQuerySet:
        """What the user may open."""
        return self.filter(_visible(user))

    def listed_for(self, user) -> DataSetQuerySet:
        """What the page offers to open: mine and the team's (staff open others' by link)."""
        return self.filter(_listed(user))

    def changeable_by(self, user) -> DataSetQuerySet:
        return self.filter(owned_or_staff(user))


def _listed(user) -> Q:
    if not is_member(user):
        return NO_ROW
    return Q(owner=user) | Q(visibility=DataSet.Visibility.TEAM)


def _visible(user) -> Q:
    return EVERY_ROW if is_staff_member(user) else _listed(user)


class DataSet(models.Model):
    """Named test cases that several presets can use; its rows live in its versions."""

    class Visibility(models.TextChoices):
        PRIVATE = "private", "private (me and staff)"
        TEAM = "team", "team (every signed-in member)"

    slug = models.CharField(max_length=32, unique=True, default=new_slug, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_sets"
    )
    name = models.CharField(max_length=100)
    visibility = models.CharField(
        max_length=8, choices=Visibility.choices, default=Visibility.TEAM, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DataSetQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="data_set_unique_name_per_owner")
        ]

    def __str__(self) -> str:
        return self.name


class DataSetVersion(models.Model):
    """One saved state of a data set, never changed once written: what a batch names by id,
    so its rows are the ones it ran over even after the set is saved again."""

    data_set = models.ForeignKey(DataSet, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()  # 1, 2, ... within its data set
    columns = models.JSONField()  # the variables' names, "expected" last
    rows = models.JSONField()  # a list per test case, a text per column
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["data_set", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["data_set", "number"], name="data_set_version_unique_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.data_set.name} v{self.number}"

    @property
    def row_count(self) -> int:
        return len(self.rows)
