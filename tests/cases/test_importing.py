"""Import: CSV (quotes, newlines, BOM), tab-separated pastes, JSONL; all or nothing."""

import json

import pytest

from playground.cases.importing import ImportRefused, decode, format_of, parse
from playground.cases.table import MAX_ROWS, BadTable, Table, table_from_state


def refused(text: str, kind: str) -> list[str]:
    with pytest.raises(ImportRefused) as caught:
        parse(text, kind)
    return caught.value.problems


def test_csv_with_quotes_commas_newlines_and_a_bom():
    text = '\ufeffname,expected\r\n"Lovelace, Ada","She said ""hi""\nthen left"\r\n\r\nBob,\r\n'
    assert parse(text, "csv") == Table(
        ["name", "expected"], [["Lovelace, Ada", 'She said "hi"\nthen left'], ["Bob", ""]]
    )
    assert parse(decode(text.encode("utf-8")), "csv").columns == ["name", "expected"]


def test_a_spreadsheet_paste_is_tab_separated_with_quoted_newlines():
    text = 'city\texpected\nOslo\t"Rain\nand wind"\nLima\tSun'
    assert parse(text, "tsv").rows == [["Oslo", "Rain\nand wind"], ["Lima", "Sun"]]


def test_every_bad_line_is_said_by_its_number_and_nothing_is_taken():
    text = 'a,b\n1,2\n3\n"multi\nline",4,5\n6,7\n'
    assert refused(text, "csv") == [
        "Line 3: 1 field, but the header has 2.",
        "Line 5: 3 fields, but the header has 2.",
    ]
    assert refused('a\n"never closed\n', "csv") == [
        "Line 2: unexpected end of data (a quote opened and never closed?)."
    ]


def test_a_header_names_variables_once_each():
    assert refused("first name,1st,a,a\n1,2,3,4\n", "csv") == [
        "Header: 'first name', '1st' is not a variable's name (letters, digits and _, not"
        " starting with a digit).",
        "Header: 'a' appears twice.",
    ]


def test_jsonl_takes_every_key_as_a_column_text_numbers_and_true_false():
    text = '{"q": "2+2", "expected": 4}\n\n{"q": "yes?", "flag": true, "expected": null}\n'
    assert parse(text, "jsonl") == Table(
        ["q", "expected", "flag"], [["2+2", "4", ""], ["yes?", "", "true"]]
    )


def test_jsonl_bad_lines():
    text = '{"q": 1}\n{"q": \n[1, 2]\n{"q": {"nested": 1}}\n'
    assert refused(text, "jsonl") == [
        "Line 2: not JSON (Expecting value at column 7).",
        'Line 3: not a JSON object ({"name": "value", …}).',
        "Line 4: 'q' is an object; a cell is text.",
    ]


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_more_rows_than_a_table_takes_is_refused_whole(kind):
    if kind == "csv":
        text = "n\n" + "".join(f"{i}\n" for i in range(MAX_ROWS + 1))
    else:
        text = "".join(json.dumps({"n": i}) + "\n" for i in range(MAX_ROWS + 1))
    assert refused(text, kind) == ["More than 1,000 rows: a table takes at most 1,000 test cases."]
    assert len(parse(text.rsplit("\n", 2)[0], kind).rows) == MAX_ROWS


def test_a_table_over_its_bound_of_text_is_refused_whole():
    text = "a,b\n" + f"{'x' * 15_000},{'y' * 15_000}\n" * 9
    assert refused(text, "csv") == [
        "The test cases come to 270,000 characters; a table takes at most 250,000."
    ]
    posted = {"columns": ["a", "b"], "rows": [["x" * 15_000] * 2] * 9}
    with pytest.raises(BadTable, match="270,000 characters"):
        table_from_state(posted)


def test_not_utf8_nothing_and_a_long_list_of_bad_lines():
    with pytest.raises(ImportRefused, match="not UTF-8 text"):
        decode(b"a,b\n\xff\xfe,1\n")
    assert refused("  \n", "csv") == ["There is nothing to import."]
    problems = refused("a,b\n" + "1\n" * 30, "csv")
    assert len(problems) == 21
    assert problems[-1] == "… and 10 more bad lines."


def test_the_format_is_the_files_suffix():
    assert [format_of(n) for n in ("a.CSV", "b.tsv", "c.jsonl", "d.ndjson", "e.xlsx", "f")] == [
        "csv", "tsv", "jsonl", "jsonl", None, None,
    ]  # fmt: skip


def test_a_posted_table_that_is_not_one_is_refused_never_trusted():
    good = Table(["a", "expected"], [["1", "2"]], "slug", "Set", 3)
    assert table_from_state(good.to_json()) == good
    bad_ones = [
        "{",
        "[]",
        {"columns": ["a b"], "rows": []},
        {"columns": ["a"], "rows": [[1]]},
        {"columns": ["a"], "rows": [["1", "2"]]},
        {"columns": ["a"], "rows": [[""]] * 1001},
    ]
    for bad in bad_ones:
        with pytest.raises(BadTable):
            table_from_state(bad)


def test_columns_follow_the_variables_expected_last_and_cells_kept():
    table = Table(["expected", "name"], [["x", "Ada"]], "slug", "Set", 2)
    assert table.for_variables(["city", "name"]) == Table(
        ["name", "city", "expected"], [["Ada", "", "x"]], "slug", "Set", None
    )
    same = Table(["name", "expected"], [["Ada", "x"]], "slug", "Set", 2)
    assert same.for_variables(["name"]) is same
    renamed = Table(["cty", "city", "expected"], [["", "Oslo", ""]])
    assert renamed.for_variables(["town"]).columns == ["city", "town", "expected"]
