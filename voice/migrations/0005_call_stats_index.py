"""A covering index for the dashboards and usage (PostgreSQL only): a month's or thirty days' calls are
summed from the index alone (index-only scan), never from the wide rows that carry transcripts."""

from django.db import migrations, models

from integrations.postgres import PostgresOnlyIndexes


class Migration(migrations.Migration):

    dependencies = [
        ("voice", "0004_call_search"),
    ]

    operations = [
        PostgresOnlyIndexes(
            [
                (
                    "Call",
                    models.Index(
                        fields=["agency", "started_at"],
                        include=["id", "client", "duration_seconds", "cost", "outcome"],
                        name="call_stats_covering_idx",
                    ),
                ),
            ]
        )
    ]
