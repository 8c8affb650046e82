"""The transcript admin at 100,000 rows on PostgreSQL: how long the list, a filter, a sort
and a search take, and how many queries each makes.

    .venv/bin/python -m bench.admin [--rows 100000]
        [--database-url postgres://postgres@127.0.0.1:5432/playground_bench]
"""

import argparse
import random
import statistics
import time

from .common import prepare_database

WORDS = "alpha beta gamma delta release plan summary model token stream answer".split()


def fill(rows: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from playground.transcripts.models import Transcript
    from tests.factories import transcript_row

    have = Transcript.objects.count()
    users = [get_user_model().objects.get_or_create(username=f"member{n}")[0] for n in range(20)]
    rng = random.Random(7)
    batch = []
    for number in range(have, max(have, rows)):
        question = " ".join(rng.choices(WORDS, k=12)) + f" #{number}"
        answer = " ".join(rng.choices(WORDS, k=60))
        batch.append(
            transcript_row(
                rng.choice(users),
                endpoint=rng.choice(["simulator", "fireworks"]),
                model=f"accounts/fireworks/models/model-{number % 12}",
                status=rng.choice(["completed"] * 8 + ["error", "stopped"]),
                request_body={"model": "m", "messages": [{"role": "user", "content": question}]},
                choices=[{"index": 0, "content": answer, "finish_reason": "stop"}],
                total_tokens=rng.randint(20, 4000),
                duration_ms=rng.randint(100, 30000),
                review_state=rng.choice(["unreviewed"] * 6 + ["approved", "flagged"]),
                error={"title": "x"} if number % 10 == 0 else None,
                search_text=f"{question}\n{answer}",
            )
        )
        if len(batch) == 5000:
            Transcript.objects.bulk_create(batch)
            batch = []
    Transcript.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        # What autovacuum does soon after a bulk load: without statistics the planner thinks
        # a common search term matches one row.
        cursor.execute("ANALYZE transcripts_transcript")


def timed(client, label: str, query: dict) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from playground.transcripts.models import Transcript  # noqa: F401

    url = "/admin/transcripts/transcript/"
    client.get(url, query)  # warm
    times = []
    for _ in range(5):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url, query)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    print(f"{label:<34} median {statistics.median(times):7.1f} ms  ({len(queries)} queries)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/playground_bench"
    )
    args = parser.parse_args()
    prepare_database(args.database_url)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    started = time.monotonic()
    fill(args.rows)
    print(f"{args.rows} transcripts ready in {time.monotonic() - started:.0f} s")
    admin, _ = get_user_model().objects.get_or_create(username="bench-admin")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = Client()
    client.force_login(admin)
    timed(client, "list, newest first", {})
    timed(client, "filter status=error", {"status__exact": "error"})
    timed(
        client,
        "filter review=flagged + has error",
        {"review_state__exact": "flagged", "has_error": "yes"},
    )
    timed(client, "sort by tokens (desc)", {"o": "-5"})
    timed(client, "sort by latency", {"o": "6"})
    timed(client, "search 'release plan'", {"q": "release plan"})
    timed(client, "search a rare word '#99999'", {"q": "#99999"})


if __name__ == "__main__":
    main()
