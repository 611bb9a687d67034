"""Booking proof (issue 15): ToolCallRecord.details, the booking-proof watchdog check and CallProof.
Depends on both 0006 migrations, so it also merges them."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0003_api_keys"),
        ("voice", "0008_text_messages"),
    ]

    operations = [
        migrations.AddField(
            model_name="toolcallrecord",
            name="details",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AlterField(
            model_name="incident",
            name="check_name",
            field=models.CharField(
                choices=[
                    ("ghl_connection", "GoHighLevel connection"),
                    ("calendars", "Calendars the assistant books into"),
                    ("free_slots", "Free slots in the next 7 days"),
                    ("phone_numbers", "Phone numbers"),
                    ("vapi_push", "Last push to Vapi"),
                    ("tool_errors", "Tool errors in the last hour"),
                    ("webhook_events", "Webhook events"),
                    ("call_volume", "Calls coming in"),
                    ("booking_proof", "Booking proof"),
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="watchdogcheck",
            name="check_name",
            field=models.CharField(
                choices=[
                    ("ghl_connection", "GoHighLevel connection"),
                    ("calendars", "Calendars the assistant books into"),
                    ("free_slots", "Free slots in the next 7 days"),
                    ("phone_numbers", "Phone numbers"),
                    ("vapi_push", "Last push to Vapi"),
                    ("tool_errors", "Tool errors in the last hour"),
                    ("webhook_events", "Webhook events"),
                    ("call_volume", "Calls coming in"),
                    ("booking_proof", "Booking proof"),
                ],
                max_length=20,
            ),
        ),
        migrations.CreateModel(
            name="CallProof",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Not checked yet"),
                            ("no_claims", "Nothing to prove"),
                            ("holds", "Verified in calendar"),
                            ("mismatch", "Mismatch"),
                            ("changed", "Changed in GHL after the call"),
                            ("unverified", "GHL could not be asked"),
                        ],
                        default="pending",
                        max_length=12,
                    ),
                ),
                ("claims", models.JSONField(blank=True, default=list)),
                ("mismatches", models.JSONField(blank=True, default=list)),
                ("checked_at", models.DateTimeField(blank=True, null=True)),
                ("mismatch_found_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "agency",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="call_proofs", to="tenants.agency"
                    ),
                ),
                (
                    "call",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE, related_name="proof", to="voice.call"
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["agency", "status", "-mismatch_found_at"], name="call_proof_agency_idx")
                ],
            },
        ),
    ]
