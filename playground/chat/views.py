from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from playground.cases.page import cases_context
from playground.core.endpoints import get_endpoint
from playground.presets.forms import PresetForm
from playground.presets.permissions import can_change_preset, get_preset_for_user
from playground.runform import forms_from_state
from playground.transcripts.selectors import get_transcript_for_user
from playground.upstream import UpstreamUnavailable, list_models


@login_required
def playground(request: HttpRequest) -> HttpResponse:
    """The page; `?preset=<slug>` or `?transcript=<uuid>` fills the form (over the draft)."""
    state, preset, source = None, None, None
    if slug := request.GET.get("preset"):
        preset = get_preset_for_user(request.user, slug)
        state = preset.form_state
    elif transcript_id := request.GET.get("transcript"):
        source = get_transcript_for_user(request.user, transcript_id)
        state = source.form_state
    form, formset = forms_from_state(state)
    context = {
        "form": form,
        "formset": formset,
        "from_link": state is not None,
        "source": source,  # a run reopened: what Continue, regenerate and resend go on from
        "preset": preset,
        "can_change": preset is not None and can_change_preset(request.user, preset),
        "preset_form": PresetForm(),
        "share_url": request.build_absolute_uri(preset.get_absolute_url()) if preset else "",
        "max_message_bytes": settings.PLAYGROUND_MAX_MESSAGE_BYTES,
        **cases_context(request.user, state, formset.variables.names),
    }
    return render(request, "chat/playground.html", context)


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
