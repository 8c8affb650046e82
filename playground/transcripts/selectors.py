from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from .models import Transcript


def can_view_transcript(user, transcript: Transcript) -> bool:
    return user.is_staff or transcript.user_id == user.pk


def transcripts_of_preset(user, preset) -> QuerySet[Transcript]:
    """The runs made from a preset that this user may see: their own, or all for staff."""
    runs = Transcript.objects.filter(preset=preset).select_related("user")
    return runs if user.is_staff else runs.filter(user=user)


def get_transcript_for_user(user, uuid) -> Transcript:
    """The transcript if this user may see it; someone else's (or a bad id) is a 404."""
    try:
        transcript = Transcript.objects.select_related("user").filter(uuid=uuid).first()
    except ValidationError:  # not a UUID at all
        transcript = None
    if transcript is None or not can_view_transcript(user, transcript):
        raise Http404("No such transcript.")
    return transcript
