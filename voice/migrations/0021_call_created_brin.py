"""The hourly look for calls whose proof check was lost (voice.proof.services.proof_calls_missing) reads the calls
created in the last two days. Without an index on created_at it read every page of voice_call: 970 ms and 166,667
pages at 1M calls, each hour, evicting the cache. A BRIN index (56 kB at 1M calls; next to nothing to keep up, as
calls are appended in created_at order) narrows it to the last pages: 43 ms, 3,732 pages (#12). PostgreSQL only,
built without blocking writes."""

from django.db import migrations

INDEX = "call_created_brin"


def index_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        table = schema_editor.quote_name(apps.get_model("voice", "Call")._meta.db_table)
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON {table} USING brin (created_at)")


def index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False  # CONCURRENTLY cannot run inside a transaction
    dependencies = [("voice", "0020_call_words_lz4")]

    operations = [migrations.RunPython(index_create, index_drop)]
