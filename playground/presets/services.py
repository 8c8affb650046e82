"""Every write to a preset goes through here."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from playground.runform import upgrade_state

from .models import Preset


class NameTaken(Exception):
    """The owner already has a preset with this name."""


def _summary(form_state: dict[str, Any]) -> dict[str, str]:
    fields = form_state["fields"]
    return {
        "endpoint": str(fields.get("endpoint", ""))[:64],
        "model": str(fields.get("model", ""))[:256],
    }


def _saved(preset: Preset, update_fields: list[str] | None = None) -> Preset:
    try:
        with transaction.atomic():
            preset.save(update_fields=update_fields)
    except IntegrityError:
        raise NameTaken(f"You already have a preset named {preset.name!r}.") from None
    return preset


def preset_create(
    *,
    owner,
    name: str,
    form_state: dict[str, Any],
    description: str = "",
    visibility: str = Preset.Visibility.TEAM,
    forked_from: Preset | None = None,
) -> Preset:
    state = upgrade_state(form_state)
    preset = Preset(
        owner=owner,
        name=name,
        description=description,
        visibility=visibility,
        form_state=state,
        forked_from=forked_from,
        **_summary(state),
    )
    return _saved(preset)


def preset_update_state(*, preset: Preset, form_state: dict[str, Any]) -> Preset:
    preset.form_state = upgrade_state(form_state)
    for field, value in _summary(preset.form_state).items():
        setattr(preset, field, value)
    return _saved(preset, ["form_state", "endpoint", "model", "updated_at"])


def preset_update_details(
    *, preset: Preset, name: str, description: str, visibility: str
) -> Preset:
    preset.name, preset.description, preset.visibility = name, description, visibility
    return _saved(preset, ["name", "description", "visibility", "updated_at"])


def preset_fork(*, preset: Preset, owner, form_state: dict[str, Any] | None = None) -> Preset:
    """A private copy owned by `owner` (of `form_state` when given: what the page holds),
    named after the original with the first free suffix."""
    base = f"{preset.name} (fork)"[:92]
    taken = set(Preset.objects.filter(owner=owner).values_list("name", flat=True))
    for number in range(1, 1000):
        name = base if number == 1 else f"{base} {number}"
        if name in taken:
            continue
        try:
            return preset_create(
                owner=owner,
                name=name,
                description=preset.description,
                visibility=Preset.Visibility.PRIVATE,
                form_state=form_state or preset.form_state,
                forked_from=preset,
            )
        except NameTaken:  # a fork made at the same moment took it: try the next
            taken.add(name)
    raise NameTaken(f"You have too many forks of {preset.name!r}.")


def preset_delete(*, preset: Preset) -> None:
    preset.delete()
