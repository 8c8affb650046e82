from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from playground.transcripts.services import transcripts_mark_interrupted


class Command(BaseCommand):
    help = (
        "Mark runs whose server went away (status running, heartbeat older than"
        " PLAYGROUND_STALE_RUN_SECONDS) as interrupted, keeping the text saved so far."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--stale-after",
            type=float,
            default=settings.PLAYGROUND_STALE_RUN_SECONDS,
            help="seconds without a heartbeat (default: %(default)s)",
        )

    def handle(self, *args, stale_after: float, **options):
        floor = 3 * settings.PLAYGROUND_CHECKPOINT_SECONDS
        if stale_after < floor:
            raise CommandError(
                f"--stale-after must be at least {floor:g} s (3 heartbeats), or live runs"
                " would be marked interrupted."
            )
        count = transcripts_mark_interrupted(stale_after=timedelta(seconds=stale_after))
        self.stdout.write(f"Marked {count} stale run{'s' if count != 1 else ''} interrupted.")
