"""Every write to a data set goes through here."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from .models import DataSet, DataSetVersion
from .table import Table


def data_set_save(
    *, owner, name: str, table: Table, visibility: str = DataSet.Visibility.TEAM
) -> DataSetVersion:
    """The table as the next version of the owner's data set of this name (made if new); the
    latest version itself when nothing changed since it. Versions are never rewritten."""
    with transaction.atomic():
        data_set = _own_data_set(owner, name, visibility)
        latest = data_set.versions.order_by("-number").first()
        if latest and latest.columns == table.columns and latest.rows == table.rows:
            return latest
        version = DataSetVersion.objects.create(
            data_set=data_set,
            number=(latest.number if latest else 0) + 1,
            columns=table.columns,
            rows=table.rows,
            created_by=owner,
        )
        data_set.visibility = visibility
        data_set.save(update_fields=["visibility", "updated_at"])
    return version


def _own_data_set(owner, name: str, visibility: str) -> DataSet:
    """The owner's data set of this name, locked until the transaction ends, so two saves at
    once number their versions one after the other."""
    mine = DataSet.objects.select_for_update().filter(owner=owner, name=name)
    if found := mine.first():
        return found
    try:
        with transaction.atomic():
            return DataSet.objects.create(owner=owner, name=name, visibility=visibility)
    except IntegrityError:  # made at the same moment by another save: use that one
        return mine.get()
