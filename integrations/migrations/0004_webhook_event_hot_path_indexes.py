import django.db.models.deletion
from django.db import migrations, models

# The FK indexes Django named when the table was created (0001), dropped by name: an AlterField would also drop and
# re-add each foreign key, which revalidates it over the whole table under an exclusive lock.
FK_INDEXES = ("integrations_webhookevent_agency_id_a2b5e0ea", "integrations_webhookevent_client_id_c3b532c4")


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0003_webhook_claimed_by"),
        ("tenants", "0005_client_call_start"),
    ]

    operations = [
        # The partial client index is built before the full one goes, so a client's rows are never unindexed.
        migrations.AddIndex(
            model_name="webhookevent",
            index=models.Index(
                condition=models.Q(("client__isnull", False)), fields=["client"], name="webhook_client_idx"
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="webhookevent",
                    name="agency",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="webhook_events",
                        to="tenants.agency",
                    ),
                ),
                migrations.AlterField(
                    model_name="webhookevent",
                    name="client",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="webhook_events",
                        to="tenants.clientaccount",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    [f'DROP INDEX IF EXISTS "{name}"' for name in FK_INDEXES],
                    reverse_sql=[
                        f'CREATE INDEX IF NOT EXISTS "{name}" ON "integrations_webhookevent" ("{column}")'
                        for name, column in zip(FK_INDEXES, ("agency_id", "client_id"), strict=True)
                    ],
                ),
            ],
        ),
    ]
