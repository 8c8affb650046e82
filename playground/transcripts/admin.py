"""Staff review transcripts here: read the run, rate and correct it, approve or flag it, export."""

from typing import cast

from django import forms
from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.functional import cached_property

from playground.core.admin import AccessRuleAdmin
from playground.core.downloads import attachment
from playground.output import rendered_choices

from . import services
from .export import csv_lines, jsonl_lines
from .models import Transcript

REVIEW_FIELDS = [
    "review_state", "rating", "labels", "reviewer_note", "corrected_answer", "chosen_choice",
]  # fmt: skip


RUN_FIELDS = (
    "user", "endpoint", "model", "status", "end_reason", "visibility", "preset", "continued_from",
    "forked_from", "fork_turn", "response_id",
)  # fmt: skip
TIMING_FIELDS = ("created_at", "finished_at", "timings", "usage", "error_message")
COMPARE_FIELDS = ("group", "column", "column_label", "blind_slot", "vote")


class CappedPaginator(Paginator):
    """Counts matches only up to a cap: counting 100k search hits costs more than the page."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        matches = cast(QuerySet[Transcript], self.object_list)  # the changelist's queryset
        return matches[: self.CAP + 1].count()


class HasErrorFilter(admin.SimpleListFilter):
    title = "has error"
    parameter_name = "has_error"

    def lookups(self, request, model_admin):
        return [("yes", "with an error"), ("no", "without")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(error__isnull=self.value() == "no")
        return queryset


class ReviewForm(forms.ModelForm):
    chosen_choice = forms.TypedChoiceField(
        coerce=int, help_text=Transcript._meta.get_field("chosen_choice").help_text
    )

    class Meta:
        model = Transcript
        fields = REVIEW_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # One of the run's choices, named as the page and the transcript name them (from 1).
        indexes = [choice.get("index", 0) for choice in self.instance.choices] or [0]
        chosen = cast(forms.TypedChoiceField, self.fields["chosen_choice"])
        chosen.choices = [(i, f"Choice {i + 1}") for i in indexes]


@admin.register(Transcript)
class TranscriptAdmin(AccessRuleAdmin):
    form = ReviewForm
    list_display = [
        "created_at", "user", "model", "status", "total_tokens", "latency", "review_state",
        "vote",
    ]  # fmt: skip
    list_filter = [
        "status", "review_state", HasErrorFilter, "endpoint", "model", "user", "created_at",
        "vote",
    ]  # fmt: skip
    search_fields = ["search_text"]
    list_select_related = ["user"]
    list_per_page = 50
    # Counting every row for "N of M" is the slow part of a changelist at 100k rows.
    show_full_result_count = False
    paginator = CappedPaginator
    actions = ["approve", "flag", "export_jsonl", "export_csv"]
    readonly_fields = [
        "user", "endpoint", "model", "status", "end_reason", "created_at", "finished_at", "usage",
        "timings", "error_message", "preset", "continued_from", "forked_from", "fork_turn",
        "response_id", "visibility",
        "conversation", "answers", "request_json", "reviewed_by", "reviewed_at",
        *COMPARE_FIELDS,
    ]  # fmt: skip
    fieldsets = [
        (None, {"fields": RUN_FIELDS}),
        ("When and how much", {"fields": TIMING_FIELDS}),
        ("Compare (blind votes)", {"classes": ["collapse"], "fields": COMPARE_FIELDS}),
        ("Conversation", {"fields": ["conversation", "answers"]}),
        ("Review", {"fields": [*REVIEW_FIELDS, "reviewed_by", "reviewed_at"]}),
        ("As sent", {"classes": ["collapse"], "fields": ["request_json"]}),
    ]

    class Media:
        css = {"all": ["css/review.css"]}

    def has_add_permission(self, request):
        return False  # transcripts come from runs

    @admin.display(description="latency", ordering="duration_ms")
    def latency(self, transcript):
        return "–" if transcript.duration_ms is None else f"{transcript.duration_ms} ms"

    @admin.display(description="usage (prompt / completion / total)")
    def usage(self, transcript):
        if transcript.total_tokens is None:
            return "–"
        t = transcript
        return f"{t.prompt_tokens} / {t.completion_tokens} / {t.total_tokens}"

    @admin.display(description="timings")
    def timings(self, transcript):
        """Only what the run has: an answer in one body has no first token and no speed."""
        t = transcript
        shown = [
            f"first token {t.time_to_first_token_ms} ms"
            if t.time_to_first_token_ms is not None
            else "",
            f"total {t.duration_ms} ms" if t.duration_ms is not None else "",
            f"{t.tokens_per_second} tokens/s" if t.tokens_per_second else "",
        ]
        return " · ".join(part for part in shown if part) or "–"

    @admin.display(description="error")
    def error_message(self, transcript):
        error = transcript.error or {}
        return (
            f"{error.get('title')} ({error.get('status')}): {error.get('message')}"
            if error
            else "–"
        )

    @admin.display(description="messages")
    def conversation(self, transcript):
        return render_to_string(
            "transcripts/partials/messages.html", {"messages": transcript.request_body["messages"]}
        )

    @admin.display(description="answers")
    def answers(self, transcript):
        choices = rendered_choices(transcript.choices, transcript.request_body)
        context = {"choices": choices, "transcript": transcript}
        return render_to_string("transcripts/partials/answers.html", context)

    @admin.display(description="request body")
    def request_json(self, transcript):
        return render_to_string(
            "transcripts/partials/json.html", {"value": transcript.request_body}
        )

    def save_model(self, request, obj, form, change):
        changed = [name for name in form.changed_data if name in REVIEW_FIELDS]
        if changed:
            services.transcript_save_review(transcript=obj, reviewer=request.user, fields=changed)

    @admin.action(description="Mark approved", permissions=["change"])
    def approve(self, request, queryset):
        count = services.transcripts_review(
            queryset.changeable_by(request.user),
            state=Transcript.Review.APPROVED,
            reviewer=request.user,
        )
        self.message_user(request, f"{count} transcript(s) approved.")

    @admin.action(description="Mark flagged", permissions=["change"])
    def flag(self, request, queryset):
        count = services.transcripts_review(
            queryset.changeable_by(request.user),
            state=Transcript.Review.FLAGGED,
            reviewer=request.user,
        )
        self.message_user(request, f"{count} transcript(s) flagged.")

    @admin.action(description="Export as fine-tuning JSONL")
    def export_jsonl(self, request, queryset):
        return _download(jsonl_lines(queryset.iterator()), "jsonl", "application/jsonl")

    @admin.action(description="Export as CSV")
    def export_csv(self, request, queryset):
        rows = csv_lines(queryset.select_related("user").iterator())
        return _download(rows, "csv", "text/csv")


def _download(lines, extension: str, content_type: str):
    name = f"transcripts-{timezone.now():%Y%m%d-%H%M%S}.{extension}"
    return attachment(lines, name, content_type)
