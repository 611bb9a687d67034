"""Transcript search reads a stored tsvector (Call.transcript_search) instead of recomputing
to_tsvector per row: at a million calls a word in one call of six made the planner pick a sequential
scan that recomputed it for every row. PostgreSQL only; SQLite gets the empty column.

The backfill is one table rewrite: the column is added as a stored generated column (computed in the
same pass that rewrites the table, no dead rows left behind), then its expression is dropped so it
becomes a plain column a BEFORE trigger keeps from then on."""

import django.contrib.postgres.search
from django.db import migrations

SEARCH_TRIGGER = """
CREATE FUNCTION voice_call_transcript_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Django writes the stale in-memory value back on a full save(): keep the stored one unless the text moved.
    IF TG_OP = 'UPDATE' AND NEW.transcript IS NOT DISTINCT FROM OLD.transcript THEN
        NEW.transcript_search := OLD.transcript_search;
    ELSE
        NEW.transcript_search := to_tsvector('english'::regconfig, COALESCE(NEW.transcript, ''));
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER voice_call_transcript_search BEFORE INSERT OR UPDATE ON voice_call
    FOR EACH ROW EXECUTE FUNCTION voice_call_transcript_search();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.execute("ALTER TABLE voice_call ADD COLUMN transcript_search tsvector NULL")
        return
    schema_editor.execute(
        "ALTER TABLE voice_call ADD COLUMN transcript_search tsvector "
        "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, COALESCE(transcript, ''))) STORED"
    )
    schema_editor.execute("ALTER TABLE voice_call ALTER COLUMN transcript_search DROP EXPRESSION")
    schema_editor.execute(SEARCH_TRIGGER)
    schema_editor.execute("DROP INDEX IF EXISTS call_transcript_search_idx")
    schema_editor.execute("CREATE INDEX call_transcript_search_idx ON voice_call USING gin (transcript_search)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER voice_call_transcript_search ON voice_call")
        schema_editor.execute("DROP FUNCTION voice_call_transcript_search()")
        schema_editor.execute("DROP INDEX call_transcript_search_idx")
        schema_editor.execute(
            "CREATE INDEX call_transcript_search_idx ON voice_call "
            "USING gin (to_tsvector('english'::regconfig, COALESCE(transcript, '')))"
        )
    schema_editor.execute("ALTER TABLE voice_call DROP COLUMN transcript_search")


class Migration(migrations.Migration):
    dependencies = [
        ("voice", "0011_assistant_push_requested_at"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="call",
                    name="transcript_search",
                    field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]
