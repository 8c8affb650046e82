from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from .models import Transcript


def can_view_transcript(user, transcript: Transcript) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_staff or transcript.user_id == user.pk:
        return True
    return transcript.visibility == Transcript.Visibility.TEAM


def can_change_transcript(user, transcript: Transcript) -> bool:
    return user.is_authenticated and (user.is_staff or transcript.user_id == user.pk)


def find_transcript(uuid) -> Transcript | None:
    try:
        return Transcript.objects.select_related("user").filter(uuid=uuid).first()
    except ValidationError:  # not a UUID at all
        return None


def get_transcript_for_user(user, uuid, *, change: bool = False) -> Transcript:
    """The transcript if this user may see (or change) it; someone else's private one, or a
    bad id, is a 404."""
    transcript = find_transcript(uuid)
    allowed = can_change_transcript if change else can_view_transcript
    if transcript is None or not allowed(user, transcript):
        raise Http404("No such transcript, or it is not shared with you.")
    return transcript


def my_transcripts(user, *, model: str = "", status: str = "", since=None, until=None):
    runs = Transcript.objects.filter(user=user).select_related("preset")
    if model:
        runs = runs.filter(model=model)
    if status:
        runs = runs.filter(status=status)
    if since:
        runs = runs.filter(created_at__date__gte=since)
    if until:
        runs = runs.filter(created_at__date__lte=until)
    return runs.order_by("-created_at", "-pk")


def my_models(user) -> list[str]:
    return list(
        Transcript.objects.filter(user=user)
        .values_list("model", flat=True)
        .distinct()
        .order_by("model")
    )


def thread_of(user, transcript: Transcript, *, limit: int = 50) -> list[Transcript]:
    """The earlier turns this run continued, oldest first, that the user may see."""
    earlier: list[Transcript] = []
    current = transcript
    while current.continued_from_id and len(earlier) < limit:
        current = Transcript.objects.select_related("user").get(pk=current.continued_from_id)
        if not can_view_transcript(user, current):
            break
        earlier.append(current)
    return earlier[::-1]


def transcripts_of_preset(user, preset) -> QuerySet[Transcript]:
    """The runs made from a preset that this user may see: their own, or all for staff."""
    runs = Transcript.objects.filter(preset=preset).select_related("user")
    return runs if user.is_staff else runs.filter(user=user)
