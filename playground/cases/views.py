"""The variables' boxes and the test-case table, as htmx swaps them in.

Each table action posts the page's table (the JSON field of the cases form) and the run form
(for the variables' names), and answers with the table again, always a 200 (htmx 2 swaps no
4xx): a refused action says why above the table and changes nothing."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh, reswap, trigger_client_event

from playground.core.downloads import attachment
from playground.runform import MESSAGES_PREFIX, MessageFormSet
from playground.runform.values import VARIABLES_PREFIX

from . import export, services
from .checks import CheckForm
from .forms import GradeForm, SaveDataSetForm
from .grid import Progress, stored_view, summary, summary_row
from .importing import ImportRefused, decode, format_of, parse
from .models import Batch, BatchCell
from .page import TABLE_FIELD, NoEstimate, batch_estimate
from .selectors import (
    batch_cells,
    batch_rows,
    batches_listed,
    can_change_batch,
    data_sets_for,
    find_latest_version,
    find_version_shown,
    get_batch_for_user,
    get_cell_for_user,
)
from .table import MAX_ROWS, BadTable, Table, table_from_state, too_many

UNNAMED = "Test cases"  # a table run all before it was given a name
MAX_FILE_BYTES = 2 * 1024 * 1024  # a bigger file's table would be over its bound anyway


class Refused(Exception):
    """An action that changes nothing; the message says why."""


def variable_names(request: HttpRequest) -> list[str]:
    return MessageFormSet(request.POST, prefix=MESSAGES_PREFIX).variables.names


def render_table(request: HttpRequest, table: Table, **context) -> HttpResponse:
    context = {"cases": table, "data_sets": data_sets_for(request.user), **context}
    return render(request, "cases/partials/table.html", context)


@login_required
@require_POST
def variables(request: HttpRequest) -> HttpResponse:
    """The variables' boxes for the messages as typed, each showing the value typed so far (no
    error yet for a box not filled), and the table again when a column comes or goes."""
    formset = MessageFormSet(request.POST, prefix=MESSAGES_PREFIX)
    context: dict[str, Any] = {"variables": formset.variables.shown()}
    try:
        posted = table_from_state(request.POST.get(TABLE_FIELD))
    except BadTable:
        posted = Table()
    names = formset.variables.names
    table = posted.for_variables(names)
    if table.columns != posted.columns:
        context.update(changed_cases=table, data_sets=data_sets_for(request.user))
    elif names == shown_names(request):
        # The boxes on the page are these already: swapping them again would drop an error
        # a run just put beside one, or what is being typed into one.
        return reswap(HttpResponse(), "none")
    return render(request, "cases/partials/variables.html", context)


def shown_names(request: HttpRequest) -> list[str]:
    """The variables whose boxes the page shows, in its order (`var-<name>`)."""
    prefix = f"{VARIABLES_PREFIX}-"
    return [key.removeprefix(prefix) for key in request.POST if key.startswith(prefix)]


def table_action(change: Callable[[HttpRequest, Table], tuple[Table, str]]):
    """A view that applies `change` to the page's table (columns kept in step with the
    variables), or says why it refused."""

    @login_required
    @require_POST
    @functools.wraps(change)
    def view(request: HttpRequest) -> HttpResponse:
        names = variable_names(request)
        try:
            table = table_from_state(request.POST.get(TABLE_FIELD)).for_variables(names)
        except BadTable as bad:
            return render_table(request, Table().for_variables(names), problems=[str(bad)])
        try:
            changed, message = change(request, table)
        except ImportRefused as refused:
            return render_table(request, table, problems=refused.problems, refused=True)
        except Refused as refused:
            return render_table(request, table, problems=[str(refused)], refused=True)
        response = render_table(request, changed.for_variables(names), message=message)
        if changed.run_version is not None:
            # Once the table is drawn, the page names the version to the run socket.
            event = {"version": changed.run_version}
            trigger_client_event(response, "playground:run-all", event, after="settle")
        return response

    return view


@table_action
def show(request: HttpRequest, table: Table) -> tuple[Table, str]:
    """The table as posted: a draft the page restored, drawn by the server."""
    return table, ""


@table_action
def add_row(request: HttpRequest, table: Table) -> tuple[Table, str]:
    if len(table.rows) >= MAX_ROWS:
        raise Refused(too_many(len(table.rows) + 1))
    return table.edited([*table.rows, [""] * len(table.columns)]), ""


@table_action
def remove_row(request: HttpRequest, table: Table) -> tuple[Table, str]:
    index = request.POST.get("row", "")
    if not (index.isascii() and index.isdigit() and int(index) < len(table.rows)):
        raise Refused("That test case is no longer in the table.")
    return table.edited([row for i, row in enumerate(table.rows) if i != int(index)]), ""


@table_action
def paste(request: HttpRequest, table: Table) -> tuple[Table, str]:
    """Rows copied from a spreadsheet: tab-separated, the column names on the first line."""
    pasted = parse(request.POST.get("paste", ""), "tsv")
    return pasted, _taken(pasted, "pasted")


@table_action
def import_file(request: HttpRequest, table: Table) -> tuple[Table, str]:
    upload = request.FILES.get("file")
    if upload is None:
        raise Refused("Choose a CSV, TSV or JSONL file first.")
    kind = format_of(upload.name or "")
    if kind is None:
        raise Refused("Name the file .csv, .tsv or .jsonl, so it is read as what it is.")
    if (upload.size or 0) > MAX_FILE_BYTES:
        raise Refused(f"The file is over {MAX_FILE_BYTES // 1024 // 1024} MB.")
    imported = parse(decode(upload.read()), kind)
    return imported, _taken(imported, f"imported from {upload.name}")


@table_action
def save(request: HttpRequest, table: Table) -> tuple[Table, str]:
    form = SaveDataSetForm(request.POST)
    if not form.is_valid():
        raise Refused(" ".join(str(e) for errors in form.errors.values() for e in errors))
    version = services.data_set_save(owner=request.user, table=table, **form.cleaned_data)
    saved = Table.of_version(version)
    return saved, f"Saved as {version.data_set.name}, version {version.number}."


@table_action
def run_all(request: HttpRequest, table: Table) -> tuple[Table, str]:
    """Run all: the table as a saved data set version (saved now, unless it is one already),
    which the page then names to the run socket (the rows never travel in a run frame)."""
    if not table.rows:
        raise Refused("Add test cases first: Run all runs each of them.")
    version = find_version_shown(request.user, table)
    if version is None:
        name = request.POST.get("data-set-name", "").strip()[:100] or table.data_set_name
        version = services.data_set_save(owner=request.user, table=table, name=name or UNNAMED)
    saved = replace(Table.of_version(version), run_version=version.pk)
    return saved, f"Running all of {version.data_set.name}, version {version.number}."


@login_required
@require_POST
def estimate(request: HttpRequest) -> HttpResponse:
    """What Run all would spend, said beside its button as the form and the table change;
    a field it cannot be made of is named instead."""
    context: dict[str, Any] = {}
    try:
        rows = len(table_from_state(request.POST.get(TABLE_FIELD)).rows)
        context["estimate"] = batch_estimate(request.user, request.POST.dict(), rows)
    except (BadTable, NoEstimate) as problem:
        context["problem"] = str(problem)
    return render(request, "cases/partials/batch_estimate.html", context)


@table_action
def open_data_set(request: HttpRequest, table: Table) -> tuple[Table, str]:
    version = find_latest_version(request.user, request.POST.get("data_set", ""))
    if version is None:
        raise Refused("No such data set, or it is not shared with you.")
    opened = Table.of_version(version)
    return opened, f"Opened {version.data_set.name}, version {version.number}."


def _taken(table: Table, how: str) -> str:
    count = len(table.rows)
    return f"{count} test case{'s' if count != 1 else ''} {how}."


@login_required
def batch(request: HttpRequest, uuid) -> HttpResponse:
    """A batch's grid, from the database; live over the run socket while it runs."""
    found = get_batch_for_user(request.user, uuid)
    cells = batch_cells(found)
    context = {
        "batch": found,
        "rows": batch_rows(found, cells),
        "progress": Progress.of(cells, found.status),
        "summary": summary(cells, len(found.column_labels)),
        "running_here": True,  # the socket says otherwise once it attaches
        "can_change": can_change_batch(request.user, found),
        "check_columns": check_columns(found),
    }
    return render(request, "cases/batch.html", context)


def check_columns(
    batch: Batch, form: CheckForm | None = None, column: int | None = None
) -> list[dict[str, Any]]:
    """Each column's checks and the form that adds one (`form`, bound, for `column`)."""
    return [
        {
            "index": index,
            "label": label,
            "checks": batch.column_checks(index),
            "form": form if index == column else CheckForm(prefix=f"check-{index}"),
        }
        for index, label in enumerate(batch.column_labels)
    ]


def _checks_panel(request: HttpRequest, batch: Batch, problem: str = "", **bound) -> HttpResponse:
    context = {
        "batch": batch,
        "can_change": can_change_batch(request.user, batch),
        "check_columns": check_columns(batch, **bound),
        "checks_problem": problem,
    }
    return render(request, "cases/partials/batch_checks.html", context)


def _changeable_column(request: HttpRequest, uuid, column: int) -> tuple[Batch, str]:
    """The batch the user may see, and why they may not change this column's checks."""
    found = get_batch_for_user(request.user, uuid)
    if not can_change_batch(request.user, found):
        return found, "Only the batch's owner (or staff) may change its checks."
    if column >= len(found.column_labels):
        return found, "The batch has no such column."
    return found, ""


@login_required
@require_POST
def add_check(request: HttpRequest, uuid, column: int) -> HttpResponse:
    """A check on a column's cells: the page again (every cell of the column has a verdict
    now), or the checks again saying why not."""
    found, problem = _changeable_column(request, uuid, column)
    form = CheckForm(request.POST, prefix=f"check-{column}")
    if problem or not form.is_valid():
        return _checks_panel(request, found, problem, form=form, column=column)
    try:
        services.batch_check_add(batch=found, column=column, check=form.check())
    except services.TooManyChecks as refused:
        return _checks_panel(request, found, str(refused), form=form, column=column)
    return HttpResponseClientRefresh()


@login_required
@require_POST
def remove_check(request: HttpRequest, uuid, column: int) -> HttpResponse:
    found, problem = _changeable_column(request, uuid, column)
    index = request.POST.get("index", "")
    if not problem and not (index.isascii() and index.isdigit()):
        problem = "That check is no longer there."
    if problem:
        return _checks_panel(request, found, problem)
    services.batch_check_remove(batch=found, column=column, index=int(index))
    return HttpResponseClientRefresh()


@login_required
def batches(request: HttpRequest) -> HttpResponse:
    """The batches the user's team ran, newest first."""
    listed = batches_listed(request.user)[:100]
    return render(request, "cases/batches.html", {"batches": listed})


NOT_YOURS = "Only the batch's owner (or staff) may grade its cells."
NOT_GRADABLE = "Only a cell that ran to its end (done) can be graded."


@login_required
@require_POST
def grade(request: HttpRequest, uuid, row: int, column: int) -> HttpResponse:
    """A cell's rating and comment, by whoever may change its batch: the cell again, saying
    why in it when refused, with the comment as typed (a 200: htmx swaps no 4xx)."""
    cell = get_cell_for_user(request.user, uuid, row, column)
    form = GradeForm(request.POST)
    problem = _grade_problem(request, cell, form)
    if problem is None:
        services.batch_cell_grade(cell=cell, **form.cleaned_data)
    context = {"cell": stored_view(cell), "oob": False, "grade_problem": problem}
    if problem is not None:
        context["typed_comment"] = request.POST.get("comment", "")
        return render(request, "cases/partials/batch_cell.html", context)
    # The summary row counts the grade at once (a running batch's counts it as cells end).
    columns = summary(batch_cells(cell.batch), len(cell.batch.column_labels))
    cell_html = render_to_string("cases/partials/batch_cell.html", context, request)
    return HttpResponse(cell_html + summary_row(columns))


def _grade_problem(request: HttpRequest, cell: BatchCell, form: GradeForm) -> str | None:
    if not can_change_batch(request.user, cell.batch):
        return NOT_YOURS
    if not stored_view(cell).gradable:
        return NOT_GRADABLE
    if not form.is_valid():
        return " ".join(str(e) for errors in form.errors.values() for e in errors)
    return None


EXPORTS = {
    "csv": (export.csv_lines, "text/csv"),
    "jsonl": (export.jsonl_lines, "application/jsonl"),
}


@login_required
def batch_export(request: HttpRequest, uuid, kind: str) -> StreamingHttpResponse:
    """The batch's grid as a file, for whoever may see the batch."""
    found = get_batch_for_user(request.user, uuid)
    lines, content_type = EXPORTS[kind]
    name = f"batch-{found.created_at:%Y%m%d-%H%M%S}-{str(found.uuid)[:8]}.{kind}"
    return attachment(lines(found), name, content_type)
