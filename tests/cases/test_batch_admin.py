"""Batches in the admin: staff list them with their cells and pass rates, and read their cells."""

import pytest
from django.urls import reverse

from playground.cases.checks import Check, Kind
from playground.cases.services import batch_check_add

from .test_batch_export import finished_batch

pytestmark = pytest.mark.django_db
LIST = reverse("admin:cases_batch_changelist")


def test_staff_list_batches_with_their_pass_rates_and_read_their_cells(client, alice, staff):
    checked = finished_batch(alice)
    batch_check_add(batch=checked, column=0, check=Check(Kind.CONTAINS, "Oslo"))
    unchecked = finished_batch(alice)
    unchecked.cells.filter(row=1, column=0).update(rating=-1, comment="vague")
    client.force_login(staff)
    listed = client.get(LIST).content.decode()
    assert "chat: 1 / 2 · fast: –" in listed
    assert "no checks" in listed
    assert listed.count('<td class="field-cells">4</td>') == 2
    page = client.get(reverse("admin:cases_batch_change", args=[unchecked.pk])).content.decode()
    assert page.count('class="form-row has_original"') == 4
    assert "row 2, column 1" in page
    assert "<p>vague</p>" in page
    assert 'name="cells-2-comment"' not in page, "cells are read only"
    client.force_login(alice)
    assert client.get(LIST).status_code == 302, "members are sent to the admin's sign-in"
