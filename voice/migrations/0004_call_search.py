"""Indexes that only PostgreSQL has: full-text search of transcripts (GIN over the exact expression the
calls list queried then; migration 0012 replaced it with a stored column), the calls list's sorts exactly as
voice.selectors.CALL_SORTS orders (newest first with calls not yet started last, and so on) and the
agency-wide bookings list's order by start. SQLite gets none: it
searches by substring and holds far fewer rows."""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations, models
from django.db.models import F

from integrations.postgres import PostgresOnlyIndexes


def _indexes():
    return [
        ("Call", GinIndex(SearchVector("transcript", config="english"), name="call_transcript_search_idx")),
        ("Call", models.Index(F("agency"), F("started_at").desc(nulls_last=True), F("id").desc(), name="call_agency_newest_idx")),
        ("Call", models.Index(F("client"), F("started_at").desc(nulls_last=True), F("id").desc(), name="call_client_newest_idx")),
        # The other sorts of the agency-wide list, so none of them sorts 100,000 rows for a page of 50.
        ("Call", models.Index(F("agency"), F("started_at").asc(nulls_last=True), F("id"), name="call_agency_oldest_idx")),
        ("Call", models.Index(F("agency"), F("duration_seconds").desc(nulls_last=True), F("id").desc(), name="call_agency_longest_idx")),
        ("Call", models.Index(F("agency"), F("duration_seconds").asc(nulls_last=True), F("id"), name="call_agency_shortest_idx")),
        ("Call", models.Index(F("agency"), F("cost").desc(nulls_last=True), F("id").desc(), name="call_agency_cost_idx")),
        ("Booking", models.Index(F("start"), F("id"), name="booking_start_idx")),
    ]


class Migration(migrations.Migration):

    dependencies = [
        ("voice", "0003_call_outcome"),
    ]

    operations = [PostgresOnlyIndexes(_indexes())]
