from .models import Preference


def theme_of(user) -> str:
    """The member's theme ("" follows the system); a visitor's follows the system."""
    if not user.is_authenticated:
        return ""
    return Preference.objects.filter(user=user).values_list("theme", flat=True).first() or ""
