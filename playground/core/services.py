from .models import Preference


def preference_set_theme(*, user, theme: str) -> None:
    Preference.objects.update_or_create(user=user, defaults={"theme": theme})
