from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_POST

from playground.runform import MESSAGES_PREFIX, MessageFormSet


@login_required
@require_POST
def variables(request):
    """The variables' boxes for the messages as typed (htmx swaps them in as the user types),
    each showing the value typed so far; no error yet for a box not filled."""
    formset = MessageFormSet(request.POST, prefix=MESSAGES_PREFIX)
    return render(
        request, "cases/partials/variables.html", {"variables": formset.variables.shown()}
    )
