from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from playground.chat.rendering import render_choice_html

from .selectors import get_transcript_for_user


@login_required
def detail(request, uuid):
    transcript = get_transcript_for_user(request.user, uuid)
    choices = [
        {**choice, "html": render_choice_html(choice, transcript.request_body)}
        for choice in transcript.choices
    ]
    return render(
        request,
        "transcripts/detail.html",
        {"transcript": transcript, "choices": choices},
    )
