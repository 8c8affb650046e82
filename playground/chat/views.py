from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from playground.core.endpoints import get_endpoint
from playground.transcripts.selectors import get_transcript_for_user
from playground.upstream import UpstreamUnavailable, list_models

from .forms import forms_from_state


@login_required
def playground(request):
    """The page; `?transcript=<uuid>` opens a run's form again (and wins over the draft)."""
    state = None
    if transcript_id := request.GET.get("transcript"):
        state = get_transcript_for_user(request.user, transcript_id).form_state
    form, formset = forms_from_state(state)
    context = {"form": form, "formset": formset, "from_link": state is not None}
    return render(request, "chat/playground.html", context)


@login_required
async def model_options(request):
    """The endpoint's model list as <option>s for the model picker (cached upstream)."""
    endpoint = get_endpoint(request.GET.get("endpoint", ""))
    context = {"models": [], "error": None}
    if endpoint is None:
        context["error"] = "Unknown endpoint."
    else:
        try:
            context["models"] = await list_models(endpoint)
        except UpstreamUnavailable as exc:
            context["error"] = f"{exc.error.title}: {exc.error.message}"
    return await sync_to_async(render)(request, "chat/partials/model_options.html", context)
