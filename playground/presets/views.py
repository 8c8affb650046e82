from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, push_url

from playground.cases.page import with_cases
from playground.chat.pagecache import blank_preset_fields
from playground.runform import forms_from_state, page_state
from playground.transcripts.selectors import transcripts_of_preset

from . import services
from .forms import PresetForm
from .models import Preset
from .permissions import can_change_preset, find_preset_for_user, get_preset_for_user
from .selectors import presets_for_list


def playground_url(preset: Preset) -> str:
    return f"{reverse('playground')}?{urlencode({'preset': preset.slug})}"


def open_preset(request, slug):
    """The share link: the playground for members, a read-only page for signed-out visitors."""
    if request.user.is_authenticated:
        return redirect(playground_url(get_preset_for_user(request.user, slug)))
    preset = find_preset_for_user(request.user, slug)
    if preset is None:
        return redirect_to_login(request.get_full_path())
    form, formset = forms_from_state(preset.form_state)
    context = {
        "preset": preset,
        "formset": formset,
        "parameters": [(f.label, f.value()) for f in form if f.value() not in (None, "")],
        "sign_in_next": playground_url(preset),
    }
    return render(request, "presets/shared.html", context)


def _bar(request, preset, *, form=None, message=""):
    """The preset bar htmx swaps in; always a 200, errors included, since htmx 2 swaps no 4xx."""
    context = {
        "preset": preset,
        "can_change": preset is not None and can_change_preset(request.user, preset),
        "preset_form": form,  # a refused one, as typed
        "blank_preset_fields": blank_preset_fields(),
        "message": message,
        "share_url": request.build_absolute_uri(preset.get_absolute_url()) if preset else "",
    }
    return render(request, "presets/partials/bar.html", context)


def _state_from_page(request) -> dict:
    """The form state of what the page holds, as typed (a preset may be a half-filled template),
    with its test cases."""
    return with_cases(page_state(request.POST.dict()), request.POST)


def _refused(request, form):
    """The bar with the form's errors, still showing the preset the page holds, if any."""
    slug = request.POST.get("preset")
    preset = get_preset_for_user(request.user, slug) if slug else None
    return _bar(request, preset, form=form, message="Not saved: see below.")


@login_required
@require_POST
def save_new(request):
    form = PresetForm(request.POST)
    if not form.is_valid():
        return _refused(request, form)
    try:
        preset = services.preset_create(
            owner=request.user, form_state=_state_from_page(request), **form.cleaned_data
        )
    except services.NameTaken as taken:
        form.add_error("name", str(taken))
        return _refused(request, form)
    return push_url(_bar(request, preset, message="Saved."), playground_url(preset))


@login_required
@require_POST
def save(request, slug):
    preset = get_preset_for_user(request.user, slug, change=True)
    services.preset_update_state(preset=preset, form_state=_state_from_page(request))
    return _bar(request, preset, message="Saved.")


@login_required
@require_POST
def fork(request, slug):
    """Fork what the page holds (unsaved edits included), or the saved preset."""
    preset = get_preset_for_user(request.user, slug)
    from_page = "messages-TOTAL_FORMS" in request.POST
    copy = services.preset_fork(
        preset=preset,
        owner=request.user,
        form_state=_state_from_page(request) if from_page else None,
    )
    if request.htmx:
        return HttpResponseClientRedirect(playground_url(copy))
    return redirect(playground_url(copy))


@login_required
def edit(request, slug):
    preset = get_preset_for_user(request.user, slug, change=True)
    form = PresetForm(
        request.POST or None,
        initial={"name": preset.name, "description": preset.description,
                 "visibility": preset.visibility},
    )  # fmt: skip
    if request.method == "POST" and form.is_valid():
        try:
            services.preset_update_details(preset=preset, **form.cleaned_data)
        except services.NameTaken as taken:
            form.add_error("name", str(taken))
            preset.refresh_from_db()  # the page shows the name it still has
        else:
            messages.success(request, "Saved.")
            return redirect("presets:edit", slug=preset.slug)
    context = {
        "preset": preset,
        "form": form,
        "runs": transcripts_of_preset(request.user, preset)[:20],
        "share_url": request.build_absolute_uri(preset.get_absolute_url()),
    }
    return render(request, "presets/edit.html", context)


@login_required
def delete(request, slug):
    preset = get_preset_for_user(request.user, slug, change=True)
    if request.method == "POST":
        services.preset_delete(preset=preset)
        return redirect("presets:list")
    return render(request, "presets/delete.html", {"preset": preset})


@login_required
def preset_list(request):
    query = request.GET.get("q", "").replace("\x00", "").strip()[:200]
    page = Paginator(presets_for_list(request.user, query=query), 20).get_page(
        request.GET.get("page")
    )
    context = {"page": page, "query": urlencode({"q": query}), "search": query}
    return render(request, "presets/list.html", context)
