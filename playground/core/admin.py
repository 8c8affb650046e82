from typing import Any, Protocol, cast

import axes.admin
from axes.models import AccessAttempt
from django.contrib import admin
from django.db.models import QuerySet


class AccessQuerySet(Protocol):
    """What a model's queryset offers when its access rule lives on it (presets, transcripts)."""

    def visible_to(self, user: Any) -> QuerySet: ...

    def changeable_by(self, user: Any) -> QuerySet: ...


class AccessRuleAdmin(admin.ModelAdmin):
    """Django's model permissions, and then the model's own access rule for each row: a model
    admin over a queryset with `visible_to(user)` and `changeable_by(user)`."""

    def get_queryset(self, request):
        queryset = cast(AccessQuerySet, super().get_queryset(request))
        return queryset.visible_to(request.user)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and (
            obj is None or self.model._default_manager.visible_to(request.user).contains(obj)
        )

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_change(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_change(request, obj)

    def _may_change(self, request, obj) -> bool:
        return obj is None or self.model._default_manager.changeable_by(request.user).contains(obj)


class SignInAttemptAdmin(axes.admin.AccessAttemptAdmin):
    """django-axes' failed sign-ins; deleting one unlocks its user. Its "clean up expired
    attempts" action reads an attribute that only axes' login handling sets, so from the admin
    it fails with a 500: it is left out (an expired attempt locks nobody anyway)."""

    actions: list = []


admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, SignInAttemptAdmin)
