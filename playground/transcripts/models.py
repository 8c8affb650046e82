import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse


class Transcript(models.Model):
    """One run: what was sent, everything that came back, and how it ended."""

    class Status(models.TextChoices):
        RUNNING = "running"
        COMPLETED = "completed"
        STOPPED = "stopped", "stopped by the user"
        ERROR = "error"
        INTERRUPTED = "interrupted", "interrupted (the server went away)"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="transcripts"
    )
    preset = models.ForeignKey(
        "presets.Preset", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    continued_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="continuations"
    )
    endpoint = models.CharField(max_length=64)
    model = models.CharField(max_length=256, db_index=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.RUNNING, db_index=True
    )
    # Exactly what went upstream (never the key, which only ever travels in a header).
    request_body = models.JSONField()
    # Everything on the form, so the run can be opened in the playground again.
    form_state = models.JSONField()
    # [{"index", "content", "reasoning", "tool_calls", "finish_reason"}, ...]
    choices = models.JSONField(default=list)
    response_id = models.CharField(max_length=256, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    total_tokens = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    # {"kind", "title", "message", "status", "retry_after"} when the run failed.
    error = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    time_to_first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    tokens_per_second = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "status"])]

    def __str__(self) -> str:
        return f"{self.model} · {self.get_status_display()} · {self.created_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self) -> str:
        return reverse("transcripts:detail", kwargs={"uuid": self.uuid})
