import contextlib
import sys

from django.core.management.base import BaseCommand

from playground.transcripts.export import csv_lines, jsonl_lines
from playground.transcripts.models import Transcript


class Command(BaseCommand):
    help = "Export every approved transcript as fine-tuning JSONL (the default) or as CSV."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
        parser.add_argument("--output", help="a file to write (default: standard output)")

    def handle(self, *args, format: str, output: str | None, **options):
        approved = (
            Transcript.objects.filter(review_state=Transcript.Review.APPROVED)
            .select_related("user")
            .order_by("created_at", "pk")
        )
        lines = (jsonl_lines if format == "jsonl" else csv_lines)(approved.iterator())
        target = (
            open(output, "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed by the with)
            if output
            else contextlib.nullcontext(sys.stdout)
        )
        with target as stream:
            stream.writelines(lines)
        if output:
            self.stderr.write(f"Wrote the approved transcripts to {output}.")
