"""A client's day is summed in up to STRIPES rows (CallDay.stripe), each transaction adding to the one its id
picks, instead of one row: the trigger's upsert locks the row it adds to until the writing transaction commits,
so two drained batches of one client's reports (or a drained batch and a live booking's outcome UPDATE) waited
on each other for the rest of the first one's transaction (#12: seen as "UPDATE voice_call ... waiting" on a
transaction id in the drain bench). Readers sum every row of a day already (voice/dashboards/rollups.py).

Backwards, each day's stripes are summed into one row again before the old key and functions return."""

import importlib

from django.db import migrations, models

call_days = importlib.import_module("voice.migrations.0013_call_days")

STRIPES = 8
# 0013's upsert, with the stripe in its row and in its conflict target.
COLUMNS, SUMS, KEY = (
    ("cost, bookings)\nSELECT", "cost, bookings, stripe)\nSELECT"),
    ("sum(cost), sum(bookings)\nFROM", f"sum(cost), sum(bookings), mod(txid_current(), {STRIPES})::smallint\nFROM"),
    ("(COALESCE(client_id, 0)))", "(COALESCE(client_id, 0)), stripe)"),
)
STRIPED_UPSERT = call_days.UPSERT
for old, new in (COLUMNS, SUMS, KEY):
    assert STRIPED_UPSERT.count(old) == 1, old
    STRIPED_UPSERT = STRIPED_UPSERT.replace(old, new)


def _functions(upsert: str) -> str:
    return "".join(
        call_days._function(name, delta, changed, upsert).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
        for name, delta, changed in (
            ("voice_call_day_from_calls", call_days.CALL_DELTA, call_days.CALL_CHANGED),
            ("voice_call_day_from_bookings", call_days.BOOKING_DELTA, call_days.BOOKING_CHANGED),
        )
    )


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX voice_callday_key")
    schema_editor.execute(
        "CREATE UNIQUE INDEX voice_callday_key ON voice_callday (agency_id, day, (COALESCE(client_id, 0)), stripe)"
    )
    schema_editor.execute(_functions(STRIPED_UPSERT))


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(_functions(call_days.UPSERT))
    schema_editor.execute(
        "WITH folded AS (DELETE FROM voice_callday RETURNING *) "
        "INSERT INTO voice_callday (agency_id, client_id, day, calls, booked_calls, seconds, timed_calls, cost, "
        "bookings, stripe) SELECT agency_id, client_id, day, sum(calls), sum(booked_calls), sum(seconds), "
        "sum(timed_calls), sum(cost), sum(bookings), 0 FROM folded GROUP BY agency_id, client_id, day"
    )
    schema_editor.execute("DROP INDEX voice_callday_key")
    schema_editor.execute(
        "CREATE UNIQUE INDEX voice_callday_key ON voice_callday (agency_id, day, (COALESCE(client_id, 0)))"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("voice", "0018_assistant_vapi_create_claim"),
    ]

    operations = [
        migrations.AddField(
            model_name="callday",
            name="stripe",
            field=models.SmallIntegerField(db_default=0),
        ),
        migrations.RunPython(forwards, backwards),
    ]
