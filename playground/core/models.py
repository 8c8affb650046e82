from django.conf import settings
from django.db import models


class Preference(models.Model):
    """What a member chose for the pages, kept on the server so every browser shows it from
    the first paint (a choice kept in the browser would flash: the CSP allows no inline script
    to apply it before the page draws)."""

    class Theme(models.TextChoices):
        SYSTEM = "", "System"
        LIGHT = "light", "Light"
        DARK = "dark", "Dark"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference"
    )
    theme = models.CharField(max_length=8, choices=Theme.choices, blank=True)

    def __str__(self) -> str:
        return f"{self.user} · theme {self.get_theme_display()}"
