"""docs/security.md names the test that covers each threat: every test it names must exist.

A reference is `tests/<path>.py`, `tests/<path>.py::name`, `::name` (in the file named last
before it), a folder `tests/<path>/`, or a bare `test_name` (defined in some test file).
"""

import ast
import re
from functools import cache
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_free

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "security.md"
CODE = re.compile(r"`([^`\n]+)`")
REFERENCE = re.compile(r"(tests/[\w/]*\.py)?(?:::(\w+))?(?:\[[^\]]*\])?|(tests/[\w/]+/)|(test_\w+)")


def references(text: str) -> list[tuple[str, str | None]]:
    """(path, name) for each test the text names; name None for a whole file or folder, path
    "" for a bare test name."""
    found: list[tuple[str, str | None]] = []
    last_file = None
    for code in CODE.findall(text):
        match = REFERENCE.fullmatch(code)
        if match is None:
            continue
        path, name, folder, bare = match.groups()
        if folder or bare:
            found.append((folder or "", bare))
        elif path or name:
            last_file = path or last_file
            assert last_file, f"`{code}` names no file and follows none"
            found.append((last_file, name))
    return found


@cache
def defined(path: Path) -> frozenset[str]:
    """The functions and classes a Python file defines, at any depth."""
    tree = ast.parse(path.read_text())
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return frozenset(node.name for node in ast.walk(tree) if isinstance(node, kinds))


def exists(path: str, name: str | None) -> bool:
    if not path:
        return any(name in defined(file) for file in (ROOT / "tests").rglob("test_*.py"))
    target = ROOT / path
    return target.exists() and (name is None or name in defined(target))


def test_every_test_the_security_doc_names_exists():
    named = references(DOC.read_text())
    assert len(named) > 40, "the doc's references were not found: has their form changed?"
    assert [f"{path}::{name}" for path, name in named if not exists(path, name)] == []


def test_references_are_read_in_each_form():
    text = (
        "`tests/a.py::test_one`, `::test_two`, `tests/b.py`, `tests/c/`,"
        " `test_three`, `tests/a.py::test_four[x]`, `--flag`, `make test`"
    )
    assert references(text) == [
        ("tests/a.py", "test_one"),
        ("tests/a.py", "test_two"),
        ("tests/b.py", None),
        ("tests/c/", None),
        ("", "test_three"),
        ("tests/a.py", "test_four"),
    ]
