from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from playground.core.access import EVERY_ROW, NO_ROW, is_member, is_staff_member, owned_or_staff


def new_slug() -> str:
    """An unguessable id for share links (the primary key is never shown)."""
    return secrets.token_urlsafe(12)


class PresetQuerySet(models.QuerySet):
    """Who may do what with a preset: the one rule. Views, the socket, templates (through
    `can_change`) and the admin all derive from these three conditions."""

    def visible_to(self, user) -> PresetQuerySet:
        """What the user may open: link-only presets are open to anyone with the link."""
        return self.filter(_visible(user))

    def listed_for(self, user) -> PresetQuerySet:
        """What lists show: mine and the team's, never someone else's private or link-only."""
        return self.filter(_listed(user))

    def changeable_by(self, user) -> PresetQuerySet:
        return self.filter(owned_or_staff(user))

    def with_can_change(self, user) -> PresetQuerySet:
        """Each row's `can_change`, for a list that offers Edit only where it may."""
        return self.annotate(can_change=owned_or_staff(user))


def _listed(user) -> Q:
    if not is_member(user):
        return NO_ROW
    return Q(owner=user) | Q(visibility=Preset.Visibility.TEAM)


def _visible(user) -> Q:
    if is_staff_member(user):
        return EVERY_ROW
    return Q(visibility=Preset.Visibility.LINK) | _listed(user)


class Preset(models.Model):
    """Everything on the playground form, saved under a name and shared by link."""

    class Visibility(models.TextChoices):
        PRIVATE = "private", "private (me and staff)"
        TEAM = "team", "team (every signed-in member)"
        LINK = "link", "anyone with the link (read-only when signed out)"

    slug = models.CharField(max_length=32, unique=True, default=new_slug, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presets"
    )
    name = models.CharField(max_length=100)
    description = models.TextField(max_length=2000, blank=True)
    visibility = models.CharField(
        max_length=8, choices=Visibility.choices, default=Visibility.TEAM, db_index=True
    )
    # The playground's versioned form state, exactly as the form had it.
    form_state = models.JSONField()
    # Copied out of the state so the list can be searched and filtered.
    endpoint = models.CharField(max_length=64, blank=True)
    model = models.CharField(max_length=256, blank=True, db_index=True)
    forked_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="forks"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PresetQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="preset_unique_name_per_owner")
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("preset-link", kwargs={"slug": self.slug})
