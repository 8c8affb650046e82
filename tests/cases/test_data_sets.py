"""Data sets and the table's actions: versions never rewritten, who sees what, each action's
answer on the page (a refusal changes nothing), and a preset that keeps its table."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from playground.cases.models import DataSet, DataSetVersion
from playground.cases.selectors import data_sets_for, find_latest_version
from playground.cases.services import data_set_save
from playground.cases.table import Table
from playground.presets.models import Preset

from ..helpers import form_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_endpoints_setting")]

MESSAGES = [{"role": "user", "content": "Weather in {{city}}?"}]
TABLE = Table(["city", "expected"], [["Oslo", "rain"], ["Lima", "sun"]])


def post(client, action, table=TABLE, **extra):
    data = {**form_data(messages=MESSAGES), "cases-table": table.to_json(), **extra}
    response = client.post(f"/cases/{action}/", data)
    assert response.status_code == 200
    return response.content.decode()


def table_in(html: str) -> dict:
    start = html.index('id="cases-table" value="') + len('id="cases-table" value="')
    value = html[start : html.index('"', start)]
    return json.loads(value.replace("&quot;", '"').replace("&#x27;", "'").replace("&amp;", "&"))


def test_a_save_is_a_new_version_and_earlier_ones_stay_as_they_were(alice):
    first = data_set_save(owner=alice, name="Cities", table=TABLE)
    assert data_set_save(owner=alice, name="Cities", table=TABLE) == first
    more = Table(TABLE.columns, [*TABLE.rows, ["Rome", "sun"]])
    second = data_set_save(owner=alice, name="Cities", table=more)
    assert (first.number, second.number, second.data_set_id) == (1, 2, first.data_set_id)
    first.refresh_from_db()
    assert first.rows == TABLE.rows
    assert second.row_count == 3


def test_a_private_data_set_is_its_owners_a_team_one_everyones(alice, bob):
    data_set_save(owner=alice, name="Team", table=TABLE)
    data_set_save(owner=alice, name="Mine", table=TABLE, visibility=DataSet.Visibility.PRIVATE)
    assert [d.name for d in data_sets_for(bob)] == ["Team"]
    assert [d.name for d in data_sets_for(alice)] == ["Mine", "Team"]
    mine = DataSet.objects.get(name="Mine")
    assert find_latest_version(bob, mine.slug) is None
    assert find_latest_version(bob, "x\x00") is None


def test_rows_are_added_removed_and_columns_follow_the_variables(client, alice):
    client.force_login(alice)
    html = post(client, "add", Table(["name"], [["Ada"]]))
    assert table_in(html)["columns"] == ["name", "city", "expected"]
    assert table_in(html)["rows"] == [["Ada", "", ""], ["", "", ""]]
    assert 'aria-label="Case 2, city"' in html
    assert table_in(post(client, "remove", row="0"))["rows"] == [["Lima", "sun"]]
    assert "no longer in the table" in post(client, "remove", row="7")


def test_a_paste_replaces_the_table_a_bad_one_changes_nothing(client, alice):
    client.force_login(alice)
    html = post(client, "paste", paste="city\texpected\nBergen\train\n")
    assert "1 test case pasted." in html
    assert table_in(html)["rows"] == [["Bergen", "rain"]]
    html = post(client, "paste", paste="city\texpected\nBergen\n")
    assert "Nothing was changed:" in html
    assert "Line 2: 1 field, but the header has 2." in html
    assert table_in(html)["rows"] == TABLE.rows


def test_a_file_is_imported_whole_or_refused_whole(client, alice):
    client.force_login(alice)
    csv = SimpleUploadedFile("cases.csv", b'\xef\xbb\xbfcity,expected\n"New\nYork",snow\n')
    html = post(client, "import", file=csv)
    assert "1 test case imported from cases.csv." in html
    assert table_in(html)["rows"] == [["New\nYork", "snow"]]
    many = b"city\n" + b"x\n" * 1001
    html = post(client, "import", file=SimpleUploadedFile("many.csv", many))
    assert "More than 1,000 rows: a table takes at most 1,000 test cases." in html
    assert table_in(html)["rows"] == TABLE.rows
    html = post(client, "import", file=SimpleUploadedFile("cases.xlsx", b"PK"))
    assert "Name the file .csv, .tsv or .jsonl" in html


def test_saved_as_a_data_set_and_opened_by_a_teammate(client, alice, bob):
    client.force_login(alice)
    html = post(client, "save", **{"data-set-name": "Cities", "data-set-visibility": "team"})
    assert "Saved as Cities, version 1." in html
    version = DataSetVersion.objects.get()
    assert table_in(html)["version"] == 1
    client.force_login(bob)
    html = post(client, "open", Table(), data_set=version.data_set.slug)
    assert "Opened Cities, version 1." in html
    assert table_in(html)["rows"] == TABLE.rows
    assert "data set Cities, version 1" in html
    assert "This field is required." in post(client, "save", **{"data-set-name": ""})


def test_a_tampered_table_is_said_never_a_500(client, alice):
    client.force_login(alice)
    data = {**form_data(messages=MESSAGES), "cases-table": '{"columns": [1], "rows": []}'}
    html = client.post("/cases/add/", data).content.decode()
    assert "A column is named as a variable is" in html


def test_a_preset_keeps_its_table_and_opens_with_it(client, alice):
    client.force_login(alice)
    data = {**form_data(messages=MESSAGES), "cases-table": TABLE.to_json()}
    data.update({"preset-name": "Weather", "preset-visibility": "team"})
    assert client.post("/presets/new/", data).status_code == 200
    preset = Preset.objects.get()
    assert preset.form_state["cases"]["rows"] == TABLE.rows
    html = client.get(f"/?preset={preset.slug}").content.decode()
    assert table_in(html)["rows"] == TABLE.rows
    assert 'aria-label="Case 2, city">\nLima</textarea>' in html
