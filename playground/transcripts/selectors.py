from django.core.exceptions import ValidationError
from django.http import Http404

from .models import Transcript


def can_view_transcript(user, transcript: Transcript) -> bool:
    return user.is_staff or transcript.user_id == user.pk


def get_transcript_for_user(user, uuid) -> Transcript:
    """The transcript if this user may see it; someone else's (or a bad id) is a 404."""
    try:
        transcript = Transcript.objects.select_related("user").filter(uuid=uuid).first()
    except ValidationError:  # not a UUID at all
        transcript = None
    if transcript is None or not can_view_transcript(user, transcript):
        raise Http404("No such transcript.")
    return transcript
