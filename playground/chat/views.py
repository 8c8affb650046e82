from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from playground.cases.page import batch_state, cases_context
from playground.core.endpoints import get_endpoint
from playground.presets.permissions import can_change_preset, get_preset_for_user
from playground.runform import (
    MAX_COLUMNS,
    SHARED_FIELDS,
    RunForm,
    forms_from_state,
    upgrade_state,
)
from playground.transcripts.models import SLOT_LETTERS, Transcript
from playground.transcripts.selectors import get_transcript_for_user, group_for_user
from playground.upstream import UpstreamUnavailable, list_models

from .pagecache import (
    blank_preset_fields,
    column_template,
    default_forms,
    default_management_form,
    default_message_rows,
    default_parameters,
    message_rows,
    message_template,
    parameters,
)


@login_required
def playground(request: HttpRequest) -> HttpResponse:
    """The page; `?preset=<slug>`, `?transcript=<uuid>`, a compare's `?group=<uuid>` (every
    column) or a batch's `?batch=<uuid>` (its columns and test cases) fills the form (over
    the draft)."""
    state, preset, source, group = None, None, None, []
    if slug := request.GET.get("preset"):
        preset = get_preset_for_user(request.user, slug)
        state = preset.form_state
    elif transcript_id := request.GET.get("transcript"):
        source = _named(get_transcript_for_user(request.user, transcript_id))
        state = source.form_state
    elif group_id := request.GET.get("group"):
        group = group_for_user(request.user, group_id)
        _named(group[0])
        state = group[0].form_state
    elif batch_id := request.GET.get("batch"):
        state = batch_state(request.user, batch_id)
    form, formset = default_forms() if state is None else forms_from_state(state)
    columns = [(t.column_label, upgrade_state(t.form_state)["fields"]) for t in group]
    if state is not None and not group:  # a preset may hold a compare set
        columns = [(c["label"], c["fields"]) for c in upgrade_state(state).get("columns", [])]
    context = {
        "message_rows": default_message_rows() if state is None else message_rows(formset),
        "message_template": message_template(),
        "parameters": default_parameters() if state is None else parameters(form),
        "formset": formset,
        "management_form": (
            default_management_form() if state is None else formset.management_form
        ),
        **compare_context(columns),
        "from_link": state is not None,
        "source": source,  # a run reopened: what Continue, regenerate and resend go on from
        "preset": preset,
        "can_change": preset is not None and can_change_preset(request.user, preset),
        "blank_preset_fields": blank_preset_fields(),
        "share_url": request.build_absolute_uri(preset.get_absolute_url()) if preset else "",
        "max_message_bytes": settings.PLAYGROUND_MAX_MESSAGE_BYTES,
        **cases_context(request.user, state, formset.variables.names),
    }
    return render(request, "chat/playground.html", context)


def _named(transcript: Transcript) -> Transcript:
    """The run, unless it is an unvoted blind compare's: its settings would say which answer
    is which (a 404 that says so)."""
    if transcript.blind_unvoted:
        raise Http404(BLIND_UNNAMED)
    return transcript


BLIND_UNNAMED = (
    "This blind compare is named after the vote: vote on it on its side-by-side page, then"
    " open it in the playground."
)


def compare_context(saved: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """A compare's columns past the first (`saved`: each column's name and fields), each the
    run form with its prefix; the empty column the page copies for "Add column"."""
    columns = [
        {"number": column, "label": label, "form": RunForm(prefix=f"k{column}", initial=fields)}
        for column, (label, fields) in enumerate(saved[1:MAX_COLUMNS], start=1)
    ]
    fields = [name for name in RunForm.base_fields if name not in SHARED_FIELDS]
    return {
        "columns": columns,
        "first_label": saved[0][0] if saved else "",
        "column_count": len(columns) + 1,
        "column_template": column_template(),
        "column_fields": " ".join(fields),
        "max_columns": MAX_COLUMNS,
        # Strings: a number in a template is localized, each time (40 of them cost 0.5 ms).
        "blind_places": [(str(n), letter) for n, letter in enumerate(SLOT_LETTERS[:MAX_COLUMNS])],
    }


@login_required
async def model_options(request: HttpRequest) -> HttpResponse:
    """The endpoint's model list as <option>s for the model picker (cached upstream)."""
    endpoint = get_endpoint(request.GET.get("endpoint", ""))
    context: dict[str, Any] = {"models": [], "error": None}
    if endpoint is not None:
        context["endpoint_label"] = endpoint.label or endpoint.name
    if endpoint is None:
        context["error"] = "Unknown endpoint."
    else:
        try:
            context["models"] = await list_models(endpoint)
        except UpstreamUnavailable as exc:
            context["error"] = f"{exc.error.title}: {exc.error.message}"
    return await sync_to_async(render)(request, "chat/partials/model_options.html", context)
