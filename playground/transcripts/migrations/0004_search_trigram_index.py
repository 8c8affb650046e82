"""On PostgreSQL, a trigram index makes the admin's search (icontains) fast at 100k rows."""

from django.db import migrations

INDEX = "transcripts_search_text_trgm"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # The admin searches with UPPER(search_text::text) LIKE UPPER(%s): index that expression.
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON transcripts_transcript"
        " USING gin (UPPER(search_text::text) gin_trgm_ops)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("transcripts", "0003_review_heartbeat_visibility")]
    operations = [migrations.RunPython(create, drop)]
