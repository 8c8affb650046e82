from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from playground.cases.selectors import batch_cell_of
from playground.chat.attach import place_of
from playground.core.access import is_staff_member
from playground.output import rendered_choices

from . import services
from .forms import MyRunsFilter, VisibilityForm, VoteForm
from .models import Transcript
from .selectors import (
    can_change_transcript,
    can_vote,
    columns_of_groups,
    continuations_of,
    fork_source_of,
    forks_of,
    get_transcript_for_user,
    group_for_user,
    my_models,
    my_transcripts,
    running_now,
    siblings_of,
    thread_of,
    vote_tallies,
)


@login_required
def my_runs(request):
    filters = MyRunsFilter(request.GET or None, models=my_models(request.user))
    chosen = filters.cleaned_data if filters.is_valid() else {}
    runs = my_transcripts(request.user, **{k: v for k, v in chosen.items() if v})
    page = Paginator(runs, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    columns = columns_of_groups(request.user, [run.group for run in page.object_list])
    for run in page.object_list:
        run.compared = columns.get(run.group, [])
    context = {
        "filters": filters,
        "page": page,
        "query": query.urlencode(),
        "running_now": running_now(request.user) if is_staff_member(request.user) else None,
    }
    return render(request, "transcripts/list.html", context)


@login_required
def group(request, group):
    """A compare's columns side by side: the messages once, each column's answers; an unvoted
    blind compare's unnamed, with its vote for the one who ran it."""
    return _group_page(request, group_for_user(request.user, group), VoteForm())


@login_required
@require_POST
def vote(request, group):
    """The vote on a blind compare from its page (the socket's is gone after a reload): then
    its answers are named."""
    columns = group_for_user(request.user, group)
    form = VoteForm(request.POST)
    if form.is_valid():
        try:
            services.compare_vote(user=request.user, group=group, pick=form.cleaned_data["pick"])
        except services.VoteRefused as refused:
            form.add_error("pick", str(refused))
        else:
            return redirect("transcripts:group", group=group)
    return _group_page(request, columns, form)


def _group_page(request, columns: list[Transcript], vote_form: VoteForm):
    shown = [
        (column, rendered_choices(column.choices, column.request_body, column.logprobs))
        for column in columns
    ]
    first = columns[0]
    context = {
        "first": first,
        "columns": shown,
        "blind": first.blind_unvoted,
        "can_vote": first.blind_unvoted and can_vote(request.user, first.group),
        "vote_form": vote_form,
    }
    return render(request, "transcripts/group.html", context)


@login_required
def detail(request, uuid):
    transcript = get_transcript_for_user(request.user, uuid)
    context = {
        "transcript": transcript,
        "choices": rendered_choices(
            transcript.choices, transcript.request_body, transcript.logprobs
        ),
        "earlier": thread_of(request.user, transcript),
        "later": continuations_of(request.user, transcript),
        "fork_source": fork_source_of(request.user, transcript),
        "forks": forks_of(request.user, transcript),
        "siblings": siblings_of(request.user, transcript),
        "batch_cell": batch_cell_of(request.user, transcript),
        "can_change": can_change_transcript(request.user, transcript),
        # Watched live over the run socket, wherever the run goes on, a compare's column in
        # boxes with its own ids; a blind answer only on the page that started it.
        "live": transcript.status == Transcript.Status.RUNNING and transcript.blind_slot is None,
        "p": place_of(transcript, 0).prefix,
        "visibility_form": VisibilityForm(initial={"visibility": transcript.visibility}),
    }
    return render(request, "transcripts/detail.html", context)


@login_required
@require_POST
def set_visibility(request, uuid):
    transcript = get_transcript_for_user(request.user, uuid, change=True)
    form = VisibilityForm(request.POST)
    if form.is_valid():
        services.transcript_set_visibility(
            transcript=transcript, visibility=form.cleaned_data["visibility"]
        )
    return redirect(transcript)


@staff_member_required
def votes(request):
    """Blind votes' win rates per model and per preset, for staff to pick a model by."""
    tables = [("Models", vote_tallies("model")), ("Presets", vote_tallies("preset__name"))]
    return render(request, "transcripts/votes.html", {"tables": tables})
