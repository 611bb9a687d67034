"""Indexes that only PostgreSQL has: full-text search of transcripts (GIN over the exact expression the
calls list queries, voice.models.transcript_search_vector) and the calls list's default order, newest first
with calls not yet started last. SQLite gets neither: it searches by substring and has fewer rows."""

from django.contrib.postgres.indexes import GinIndex
from django.db import migrations, models
from django.db.models import F

from voice.models import transcript_search_vector


def _indexes():
    return [
        GinIndex(transcript_search_vector(), name="call_transcript_search_idx"),
        models.Index(F("agency"), F("started_at").desc(nulls_last=True), F("id").desc(), name="call_agency_newest_idx"),
        models.Index(F("client"), F("started_at").desc(nulls_last=True), F("id").desc(), name="call_client_newest_idx"),
    ]


class PostgresOnlyIndexes(migrations.operations.base.Operation):
    """Creates the indexes on PostgreSQL and does nothing elsewhere; the model state is left as it is."""

    reversible = True

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            model = to_state.apps.get_model(app_label, "Call")
            for index in _indexes():
                schema_editor.add_index(model, index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            model = from_state.apps.get_model(app_label, "Call")
            for index in _indexes():
                schema_editor.remove_index(model, index)

    def describe(self):
        return "Create PostgreSQL-only indexes for transcript search and the calls list order"


class Migration(migrations.Migration):

    dependencies = [
        ("voice", "0003_call_outcome"),
    ]

    operations = [PostgresOnlyIndexes()]
